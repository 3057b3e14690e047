"""Diagnose: from sending attempts to explained, ranked issues per tracker.

``diagnose`` runs the stages of the package over the attempt table and returns a
:class:`Diagnosis`: the tracker list the platform shows, but with every issue of every tracker
found, explained and ranked by impact.

>>> import postback_kit as pk
>>> d = pk.diagnose(pk.load("data/samples/csv"))             # doctest: +SKIP
>>> print(d)                                                 # doctest: +SKIP
>>> d.to_json()                                              # doctest: +SKIP

An **issue** is one ``(tracking_id, outcome, signature)`` among the attempts that did not deliver
(plus false failures, which delivered but make the platform retry). Its impact is the number of
conversions it left undelivered, then the deliveries it hit, then its attempts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import warnings
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from . import cache as cachelib
from .classify import FAILING_OUTCOMES, classify
from .deliveries import DELIVERY_KEY, retry_behavior, with_delivery_id
from .deliveries import deliveries as build_deliveries
from .errors import LoadWarning, PostbackKitError
from .knowledge import Hypothesis, KnowledgeBase
from .params import PARAMETER_COLUMNS, parse_parameters, suspect_parameters
from .schema import FIELD_NAMES, PII_FIELDS, require_columns
from .segments import SEGMENT_COLUMNS, find_segment, segment_units
from .signatures import NO_ANSWER_CODE
from .timeline import as_utc, bucket_counts, choose_bucket, classify_pattern

__all__ = ["Diagnosis", "Issue", "TrackerDiagnosis", "diagnose", "triage"]

REQUIRED = ("tracking_id", "response_code", "attempt_timestamp")
"""Columns without which there is nothing to diagnose."""

FAILURE_OUTCOMES = FAILING_OUTCOMES
ISSUE_OUTCOMES = (*FAILURE_OUTCOMES, "false_failure")

# response_codes: the attempts that got no answer (a null response_code) are counted under the
# key NO_ANSWER_CODE ("no answer"): JSON objects cannot have a null key; Explanation says the same.

_TS = "attempt_timestamp"

EXAMPLE_COLUMNS = (
    "attempt_timestamp",
    "response_code",
    "response_body",
    "postback_url",
    "notifying_status",
)
"""The columns of an issue's example attempt (and of the report's examples table)."""

ATTEMPT_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *REQUIRED,
            "response_body",
            "notifying_status",
            *DELIVERY_KEY,
            "conversion_datetime",
            "tracker_name",
            "publisher_name",
            *SEGMENT_COLUMNS,
            *PARAMETER_COLUMNS,
            *EXAMPLE_COLUMNS,
            *PII_FIELDS,
        )
    )
)
"""The documented fields ``diagnose`` collects (with the columns the export has that the docs
do not list): those its stages and the views of ``Diagnosis.attempts`` read, and the user and
device identifiers the partner-facing views hide. The others (``device_model``, the install and
click times, ``*_datetime`` next to their ``*_timestamp``, …) are not read into memory."""


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


@dataclass
class Issue:
    """One problem of one tracker: a failure class and a body signature, with its evidence."""

    tracking_id: str
    signature: str
    category: str
    message: str | None
    response_codes: dict[str, int]
    attempts: int
    deliveries: int
    undelivered: int
    retrying: int
    first_seen: datetime | None
    last_seen: datetime | None
    pattern: str
    started_at: datetime | None
    ended_at: datetime | None
    coverage: float
    retry_behavior: str
    segment: dict[str, Any] | None
    suspect_parameters: list[dict[str, Any]]
    hypothesis: Hypothesis
    example: dict[str, Any]

    @property
    def key(self) -> str:
        """Stable identity across exports: tracker, class and signature."""
        return f"{self.tracking_id}|{self.category}|{self.signature}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracking_id": self.tracking_id,
            "signature": self.signature,
            "category": self.category,
            "message": self.message,
            "response_codes": self.response_codes,
            "attempts": self.attempts,
            "deliveries": self.deliveries,
            "undelivered": self.undelivered,
            "retrying": self.retrying,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "pattern": self.pattern,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "coverage": round(self.coverage, 4),
            "retry_behavior": self.retry_behavior,
            "segment": self.segment,
            "suspect_parameters": self.suspect_parameters,
            "hypothesis": self.hypothesis.to_dict(),
            "example": {
                k: _iso(v) if isinstance(v, datetime) else v for k, v in self.example.items()
            },
        }


@dataclass
class TrackerDiagnosis:
    """A row of the tracker list with all of the tracker's issues, ranked by impact."""

    tracking_id: str
    tracker_name: str | None
    publisher_name: str | None
    attempts: int
    deliveries: int
    delivered: int
    undelivered: int
    retrying: int
    failed_attempts: dict[str, int]
    status: str
    issues: list[Issue] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """The tracker-list row: what :meth:`Diagnosis.triage` and the text report show.

        ``tracking_id``, ``tracker_name``, ``publisher_name``, ``status``, ``attempts``,
        ``deliveries``, ``undelivered``, ``retrying``, ``failed_<outcome>`` per issue class,
        ``failure_share`` (failed attempts ÷ attempts), ``issues``, ``top_issue`` and
        ``top_category`` (the most harmful issue).
        """
        top = self.issues[0] if self.issues else None
        failed = sum(self.failed_attempts.get(o, 0) for o in FAILURE_OUTCOMES)
        return {
            "tracking_id": self.tracking_id,
            "tracker_name": self.tracker_name,
            "publisher_name": self.publisher_name,
            "status": self.status,
            "attempts": self.attempts,
            "deliveries": self.deliveries,
            "undelivered": self.undelivered,
            "retrying": self.retrying,
            **{f"failed_{o}": self.failed_attempts.get(o, 0) for o in ISSUE_OUTCOMES},
            "failure_share": failed / self.attempts if self.attempts else 0.0,
            "issues": len(self.issues),
            "top_issue": top.signature if top else None,
            "top_category": top.category if top else None,
        }

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "issues"}
        out["issues"] = [i.to_dict() for i in self.issues]
        return out


class _Frame:
    """``Diagnosis.attempts`` and ``.deliveries``: a frame, or the Parquet file a cached
    diagnosis keeps it in, read on first use (the tracker list of a reopened export needs
    neither: it is a read of a few kilobytes)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> pl.DataFrame:
        if obj is None:
            raise AttributeError(self.name)  # no class-level default
        value = obj.__dict__[self.name]
        if isinstance(value, Path):
            try:
                value = pl.read_parquet(value)
            except OSError as exc:
                raise PostbackKitError(
                    f"the {self.name} of this cached diagnosis cannot be read.",
                    found=str(exc),
                    hint="the cache folder was cleaned meanwhile: diagnose the export again.",
                ) from exc
            obj.__dict__[self.name] = value
        return value

    def __set__(self, obj: Any, value: pl.DataFrame | Path) -> None:
        obj.__dict__[self.name] = value


@dataclass
class Diagnosis:
    """The result of :func:`diagnose`: trackers with their ranked issues, and the frames behind.

    ``attempts`` (classified attempts, one row per attempt, with ``outcome``, ``signature`` and
    ``delivery_id``) and ``deliveries`` (one row per postback) are kept for the views; they are
    not part of ``to_dict()``.
    """

    trackers: list[TrackerDiagnosis]
    export: dict[str, Any]
    attempts: pl.DataFrame = field(default=_Frame(), repr=False)  # type: ignore[assignment]
    deliveries: pl.DataFrame = field(default=_Frame(), repr=False)  # type: ignore[assignment]
    bucket: str = "1h"
    from_cache: bool = field(default=False, compare=False)
    """Whether this diagnosis was read from the cache instead of computed (see ``diagnose``)."""

    @property
    def issues(self) -> list[Issue]:
        """Every issue of every tracker, ranked by impact."""
        return sorted((i for t in self.trackers for i in t.issues), key=_rank)

    def tracker(self, tracking_id: str | int) -> TrackerDiagnosis:
        """The tracker with this ID (or name)."""
        key = str(tracking_id)
        for t in self.trackers:
            if key in (t.tracking_id, t.tracker_name):
                return t
        known = ", ".join(t.tracking_id for t in self.trackers[:10])
        raise PostbackKitError(
            f"no tracker {key!r} in this export.",
            found=f"trackers {known}",
            hint="use the tracking_id from the tracker list.",
        )

    def triage(self) -> pl.DataFrame:
        """The tracker list as a frame: one row per tracker (:meth:`TrackerDiagnosis.row`),
        worst first."""
        return pl.DataFrame([t.row() for t in self.trackers], infer_schema_length=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "export": self.export,
            "bucket": self.bucket,
            "trackers": [t.to_dict() for t in self.trackers],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int = 2) -> str:
        """The diagnosis as JSON (the CLI's ``--format json``); also written to ``path``."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)
        if path is not None:
            Path(path).write_text(text + "\n", "utf-8")
        return text

    def __str__(self) -> str:
        from .textreport import render_text

        return render_text(self)


def _rank(issue: Issue) -> tuple[int, int, int, str, str, str]:
    """Sort key of issues, worst first: impact (postbacks not delivered: lost or still retrying
    at the export's end, then postbacks, then attempts), and for equal impact tracker, class and
    signature, so that the order never depends on the order of the rows."""
    return (
        -(issue.undelivered + issue.retrying),
        -issue.deliveries,
        -issue.attempts,
        issue.tracking_id,
        issue.category,
        issue.signature,
    )


def _export_info(att: pl.DataFrame) -> dict[str, Any]:
    span = att.select(
        start=pl.col("attempt_timestamp").min(), end=pl.col("attempt_timestamp").max()
    )
    start, end = span.row(0)
    return {
        "attempts": att.height,
        "start": _iso(start),
        "end": _iso(end),
        "trackers": att["tracking_id"].n_unique(),
    }


_I = "__i"
"""An attempt's row in the classified table (``Diagnosis.attempts``)."""
_T = "__t"
"""A tracker's number in ``diagnose``."""


def _codes(hits: pl.DataFrame) -> dict[str, int]:
    # equal counts in code order (no answer last): the first code picks the hypothesis
    counts = hits.group_by("response_code").len()
    counts = counts.sort(["len", "response_code"], descending=[True, False], nulls_last=True)
    return {(NO_ANSWER_CODE if c is None else str(c)): n for c, n in counts.iter_rows()}


def _example(hits: pl.DataFrame, examples: pl.DataFrame) -> dict[str, Any]:
    """The issue's latest attempt: ``hits`` has ``__i``, the attempt's row in ``examples``."""
    latest = hits.select(_TS, _I).sort(_TS, descending=True)[_I][0]
    row = examples.row(latest, named=True)
    return {k: (str(v) if k == "notifying_status" and v is not None else v) for k, v in row.items()}


def _first(df: pl.DataFrame, column: str) -> str | None:
    if column not in df.columns:
        return None
    values = df[column].drop_nulls()
    return None if values.is_empty() else str(values.mode().sort()[0])


def _first_per(frame: pl.DataFrame, by: str, column: str) -> dict[Any, str | None]:
    """:func:`_first` of ``column`` for every group of ``by`` at once: its most frequent value
    (the smallest of equally frequent ones); groups without a value are left out."""
    if column not in frame.columns:
        return {}
    counts = (
        frame.group_by(by, column)
        .len()
        .drop_nulls(column)
        .sort(by, "len", column, descending=[False, True, False])  # as _first sorts the modes
        .unique(by, keep="first")
        .with_columns(pl.col(column).cast(pl.String))
    )
    return dict(zip(counts[by], counts[column], strict=True))


def triage(frame: pl.LazyFrame | pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
    """Just the tracker list (``diagnose(frame).triage()``)."""
    return diagnose(frame, **kwargs).triage()


def diagnose(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    tracker: str | int | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    rules: str | os.PathLike[str] | None = None,
    knowledge: KnowledgeBase | None = None,
    bucket: str | None = None,
    progress: bool | None = None,
    cache: bool = True,
) -> Diagnosis:
    """Find, explain and rank every issue of every tracker in an attempt table.

    Parameters
    ----------
    frame
        The attempt table, as returned by :func:`postback_kit.load`.
    tracker
        Only this tracker (``tracking_id`` or tracker name). Whether a postback is still being
        retried is judged at the end of the whole export, not at the tracker's last attempt.
    since, until
        Only the attempts from ``since`` (included) to ``until`` (excluded): datetimes or ISO
        8601 text, UTC unless they carry an offset (``"2026-11-05"``, ``"2026-11-05T14:00+03:00"``).
    rules
        A TOML file of your own knowledge-base rules; they take precedence over the built-in ones.
    knowledge
        A ready :class:`KnowledgeBase` (instead of ``rules``).
    bucket
        Time bucket for patterns (``"15m"``, ``"1h"``, …); chosen from the export's span when
        omitted.
    cache
        When ``frame`` is the very frame ``load`` returned with its cache on, the diagnosis is
        kept next to the export's cache entry and read back by the next call with the same
        export, arguments, rules (their content) and toolkit version: reopening an export is
        then a read, not a recomputation (``Diagnosis.from_cache`` says which). A frame derived
        from it (filtered, collected, …) is always computed; ``False`` always computes.

    >>> d = pk.diagnose(pk.load("data/samples/csv"), since="2026-11-03")  # doctest: +SKIP
    """
    kb = knowledge or (KnowledgeBase.with_rules(rules) if rules else KnowledgeBase.default())
    lo, hi = as_utc(since), as_utc(until)
    entry = cachelib.origin(frame) if cache else None
    if entry is None:
        return _diagnose(frame, kb, tracker, lo, hi, bucket, progress)
    key = _cache_key(entry.key, kb, tracker, lo, hi, bucket)
    cached = _read_cached(entry.root, key)
    if cached is not None:
        return cached
    result = _diagnose(frame, kb, tracker, lo, hi, bucket, progress)
    _store(entry.root, key, result)
    return result


# ---------------------------------------------------------------------------- the cache

_CACHE_FORMAT = "1"  # bump when what _store writes changes shape
# the only classes a cached diagnosis may name (read_pickle refuses anything else)
_PICKLED_CLASSES: tuple[type, ...] = (
    Issue,
    TrackerDiagnosis,
    Hypothesis,
    datetime,
    date,
    time,
    timedelta,
    timezone,
    ZoneInfo,
)


def _cache_key(
    export_key: str,
    kb: KnowledgeBase,
    tracker: str | int | None,
    since: datetime | None,
    until: datetime | None,
    bucket: str | None,
) -> str:
    """The diagnosis's cache key: the export's content key, the arguments, the knowledge base's
    content, the toolkit's code and the polars version (a digest: no argument appears as is)."""
    parts = (
        f"diagnosis v{_CACHE_FORMAT}",
        export_key,
        cachelib.code_digest(),
        kb.fingerprint,
        pl.__version__,
        repr((None if tracker is None else str(tracker), _iso(since), _iso(until), bucket)),
    )
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


def _cache_files(root: Path, key: str) -> tuple[Path, Path, Path]:
    stem = f"{key}.diagnosis"
    return (
        root / f"{stem}.attempts.parquet",
        root / f"{stem}.deliveries.parquet",
        root / f"{stem}.pickle",
    )


def _read_cached(root: Path, key: str) -> Diagnosis | None:
    """The cached diagnosis, or None when there is none (or it cannot be read: recomputed)."""
    attempts, dlv, result = _cache_files(root, key)
    if not (result.exists() and attempts.exists() and dlv.exists()):
        return None
    try:
        trackers, export, bucket = cachelib.read_pickle(result, _PICKLED_CLASSES)
        for path in (attempts, dlv):
            pl.read_parquet_schema(path)  # a damaged file is found now, not on first use
        cachelib.touch(result)
        # the frames are read by Diagnosis on first use (_Frame)
        return Diagnosis(trackers, export, attempts, dlv, bucket, True)  # type: ignore[arg-type]
    except Exception:
        return None


def _store(root: Path, key: str, d: Diagnosis) -> None:
    """Keep ``d`` under ``key``: the frames first, the pickle (what a reader looks for) last."""
    attempts, dlv, result = _cache_files(root, key)
    data = cachelib.dump_pickle((d.trackers, d.export, d.bucket))
    try:
        cachelib.read_pickle_bytes(data, _PICKLED_CLASSES)  # what cannot be read back is not kept
        # lz4 without statistics: written in about half the time of zstd (1M attempts: 1.6 s
        # against 1.9-3.2 s, 111 MiB against 67 MiB), read as fast (0.6-0.7 s)
        for frame, path in ((d.attempts, attempts), (d.deliveries, dlv)):
            cachelib.atomic_write(path, functools.partial(_write_lz4, frame))
        cachelib.atomic_write(result, lambda p: p.write_bytes(data))
    except (OSError, pickle.UnpicklingError) as exc:
        warnings.warn(
            f"the diagnosis could not be kept in the cache folder {root} ({exc}); the next "
            "call computes it again.",
            LoadWarning,
            stacklevel=3,
        )


def _write_lz4(frame: pl.DataFrame, path: Path) -> None:
    frame.write_parquet(path, compression="lz4", statistics=False)


def _diagnose(
    frame: pl.LazyFrame | pl.DataFrame,
    kb: KnowledgeBase,
    tracker: str | int | None,
    since: datetime | None,
    until: datetime | None,
    bucket: str | None,
    progress: bool | None,
) -> Diagnosis:
    lf = frame.lazy()
    require_columns(lf, REQUIRED, needed_for="diagnose")
    names = lf.collect_schema().names()
    lf = lf.select([c for c in names if c in ATTEMPT_COLUMNS or c not in FIELD_NAMES])
    if since is not None:
        lf = lf.filter(pl.col(_TS) >= since)
    if until is not None:
        lf = lf.filter(pl.col(_TS) < until)
    whole_end = None
    if tracker is not None:
        whole_end = lf.select(pl.col(_TS).max()).collect().item()
        key = str(tracker)
        cond = pl.col("tracking_id") == key
        if "tracker_name" in names:
            cond = cond | (pl.col("tracker_name") == key)
        lf = lf.filter(cond)

    bar = _progress(progress)
    bar.set_description("classifying attempts")
    att = with_delivery_id(classify(lf, kb)).collect()
    bar.update(1)
    if att.is_empty():
        empty = att.clear()
        return Diagnosis(
            [],
            {"attempts": 0, "start": None, "end": None, "trackers": 0},
            empty,
            empty,
            bucket or "1h",
        )
    export_end = att["attempt_timestamp"].max() if whole_end is None else whole_end
    bar.set_description("folding retries into deliveries")
    dlv = build_deliveries(att.lazy(), export_end=export_end).collect()  # type: ignore[arg-type]
    bar.update(1)
    info = _export_info(att)
    every = bucket or choose_bucket(att["attempt_timestamp"].min(), export_end)  # type: ignore[arg-type]

    bar.set_description("explaining issues")
    trackers = []
    per_tracker_dlv = dlv.partition_by("tracking_id", as_dict=True)
    # one tracker's rows at a time (a partition_by of every column would copy the whole table),
    # and of those only the short columns every issue reads: the segment columns are folded per
    # delivery for every tracker at once, the URLs (parameters) and the bodies (examples) are
    # gathered for the rows that need them only; __t numbers the trackers (integer group keys)
    index = pl.int_range(pl.len(), dtype=pl.UInt32).alias(_I)
    rows_of = att.select("tracking_id", index).group_by("tracking_id", maintain_order=True).agg(_I)
    numbered = att.join(
        rows_of.select("tracking_id").with_row_index(_T),
        on="tracking_id",
        how="left",
        nulls_equal=True,  # attempts without a tracking_id are one tracker too
        maintain_order="left",
    )
    stage = att.select("delivery_id", "outcome", "signature", "message", "response_code", _TS)
    units_of = segment_units(
        numbered.select(_T, "delivery_id", _TS, *(c for c in SEGMENT_COLUMNS if c in att.columns)),
        by=[_T],
    ).partition_by(_T, as_dict=True, include_key=False, maintain_order=True)
    # the parameter stage sees one row per delivery and issue (retries repeat the same URL)
    per_issue = [_T, "delivery_id", "outcome", "signature"]
    params_at = (
        numbered.select(*per_issue, index)
        .filter(pl.col("outcome").is_in(["success", *ISSUE_OUTCOMES]))
        .unique(per_issue, keep="first", maintain_order=True)
        .group_by(_T, maintain_order=True)
        .agg(_I)
    )
    param_at = dict(zip(params_at[_T], params_at[_I], strict=True))
    param_columns = att.select(
        "delivery_id", "outcome", "signature", *(c for c in PARAMETER_COLUMNS if c in att.columns)
    )
    examples = att.select(c for c in EXAMPLE_COLUMNS if c in att.columns)
    named = {c: _first_per(numbered, _T, c) for c in ("tracker_name", "publisher_name")}
    for k, tid in enumerate(rows_of["tracking_id"]):
        at = rows_of[_I][k]
        t_att = stage[at].with_columns(at.alias(_I))
        t_dlv = per_tracker_dlv.get((tid,), dlv.clear())
        trackers.append(
            _diagnose_tracker(
                str(tid),
                t_att,
                t_dlv,
                kb,
                every,
                units=units_of[(k,)],
                param_rows=param_columns[param_at.get(k, pl.Series(_I, [], pl.UInt32))],
                examples=examples,
                names={c: v.get(k) for c, v in named.items()},
            )
        )
    bar.update(1)
    bar.close()
    trackers.sort(
        key=lambda t: (
            t.status != "failing",
            -t.undelivered,
            -sum(t.failed_attempts.values()),
            t.tracking_id,
        )
    )
    return Diagnosis(trackers, info, att, dlv, every)


def _diagnose_tracker(
    tid: str,
    att: pl.DataFrame,
    dlv: pl.DataFrame,
    kb: KnowledgeBase,
    every: str,
    *,
    units: pl.DataFrame,
    param_rows: pl.DataFrame,
    examples: pl.DataFrame,
    names: dict[str, str | None],
) -> TrackerDiagnosis:
    """All issues of one tracker. The tracker's attempts (``att``: the short columns and
    ``__i``, their row in ``examples``) are split by issue once (``partition_by``), bucketed
    once for every issue (``bucket_counts`` by outcome and signature); ``units`` are its
    deliveries (:func:`segment_units`), ``param_rows`` its rows the parameter stage compares
    (one per delivery and issue: retries repeat the same URL), ``names`` its tracker and
    publisher name."""
    is_issue = pl.col("outcome").is_in(ISSUE_OUTCOMES)
    ok = pl.col("outcome") == "success"
    issue_att = att.filter(is_issue)
    failed = issue_att.group_by("outcome").len().sort("outcome")  # in the order of OUTCOMES
    failed_attempts = {str(o): n for o, n in failed.iter_rows()}
    final = dlv.group_by("final_outcome").len()
    finals = {str(o): n for o, n in final.iter_rows()}
    # patterns are read on deliveries, each at its first attempt: retries would make an issue
    # look stickier (and more covering) than it is, and its end hours later than it stopped
    totals = bucket_counts(dlv.select(pl.col("first_attempt").alias(_TS)), every)
    key = ["outcome", "signature"]
    hit_units = (
        issue_att.select(*key, "delivery_id")
        .unique()
        .join(dlv.select("delivery_id", pl.col("first_attempt").alias(_TS)), on="delivery_id")
    )
    hit_buckets = (
        bucket_counts(hit_units, every, key).partition_by(key, as_dict=True)
        if not hit_units.is_empty()
        else {}
    )
    parsed_params = parse_parameters(param_rows)  # once per tracker, reused by every issue

    issues = []
    per_issue = issue_att.partition_by(key, as_dict=True, maintain_order=True)
    order = sorted(per_issue, key=lambda k: (-per_issue[k].height, str(k[0]), str(k[1])))
    for outcome, signature in order:
        hits = per_issue[(outcome, signature)]
        hit = (pl.col("outcome") == outcome) & pl.col("signature").eq_missing(signature)
        hit_ids = hits["delivery_id"].unique().implode()
        hit_dlv = dlv.filter(pl.col("delivery_id").is_in(hit_ids))
        fates = hit_dlv["final_outcome"].cast(pl.String).value_counts()
        fate = dict(zip(fates["final_outcome"], fates["count"], strict=True))
        pattern = classify_pattern(hit_buckets[(outcome, signature)], totals, every)
        first_seen, last_seen = hits[_TS].min(), hits[_TS].max()
        segment = find_segment(
            units,
            pl.col("delivery_id").is_in(hit_ids),
            window=(first_seen, last_seen),  # type: ignore[arg-type]
        )
        suspects = suspect_parameters(parsed_params, hit, ok)
        message = _first(hits, "message")
        codes = _codes(hits)
        top_code = next((int(c) for c in codes if c != NO_ANSWER_CODE), None)
        issues.append(
            Issue(
                tracking_id=tid,
                signature=str(signature),
                category=str(outcome),
                message=message,
                response_codes=codes,
                attempts=hits.height,
                deliveries=hit_dlv.height,
                undelivered=fate.get("undelivered", 0),
                retrying=fate.get("retrying", 0),
                first_seen=first_seen,  # type: ignore[arg-type]
                last_seen=last_seen,  # type: ignore[arg-type]
                pattern=pattern.name,
                started_at=pattern.started_at,
                ended_at=pattern.ended_at,
                coverage=pattern.coverage,
                retry_behavior=retry_behavior(hit_dlv, str(outcome)),
                segment=segment.to_dict() if segment else None,
                suspect_parameters=[s.to_dict() for s in suspects[:5]],
                hypothesis=kb.match(str(outcome), top_code, str(signature), message),
                example=_example(hits, examples),
            )
        )
    issues.sort(key=_rank)
    return TrackerDiagnosis(
        tracking_id=tid,
        tracker_name=names.get("tracker_name"),
        publisher_name=names.get("publisher_name"),
        attempts=att.height,
        deliveries=dlv.height,
        delivered=finals.get("delivered", 0),
        undelivered=finals.get("undelivered", 0),
        retrying=finals.get("retrying", 0),
        failed_attempts=failed_attempts,
        status="failing" if any(i.category in FAILURE_OUTCOMES for i in issues) else "healthy",
        issues=issues,
    )


class _NoBar:
    def set_description(self, _text: str) -> None: ...
    def update(self, _n: int) -> None: ...
    def close(self) -> None: ...


def _progress(progress: bool | None) -> Any:
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=3, desc="diagnosing", unit="step")
