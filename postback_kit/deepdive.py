"""Deep dive into one tracker: is it one error or several, everywhere or in part, since when?

Step 3 of the analyst's workflow (the export of one tracker): for the issue picked from the
tracker list, the error frequency over time, the response codes, the URL parameters of failing
against succeeding postbacks, the segment a partial issue lives in, and what retries did (cured,
lost, still retrying, time to delivery).

:func:`deep_dive` prepares one tracker of a :class:`~postback_kit.diagnose.Diagnosis` once: its
attempts and deliveries, and attempt counts per small time bucket, class, signature and response
code. Every view of a selection (issue, time range, bucket size, stacking, classes) is then
computed from those aggregates or from the tracker's frame alone, so a picker change is cheap;
the parameter and segment tables (which parse URLs) are cached per issue and time range.

>>> d = pk.diagnose(pk.load("data/samples/csv"))                  # doctest: +SKIP
>>> dd = deep_dive(d, d.trackers[0].tracking_id)                  # doctest: +SKIP
>>> issue = dd.issues[0].key                                      # doctest: +SKIP
>>> print(dd.verdict(issue).text)                                 # doctest: +SKIP
One error type. Partial: it hits 31 % of the tracker's postbacks, ... os_name = ios ...
>>> dd.timeline(issue, every="1h", by="signature")                # doctest: +SKIP
>>> dd.parameters(issue).filter(pl.col("suspect"))                # doctest: +SKIP
>>> dd.delivery_summary(issue).to_dict()                          # doctest: +SKIP

Every result is a polars frame or a small dataclass with ``to_dict()``; charts for them are in
:mod:`postback_kit.charts` ("Deep dive"), widgets in :mod:`postback_kit.ui`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from .diagnose import ISSUE_OUTCOMES as _DIAGNOSE_ISSUE_OUTCOMES
from .errors import ConfigError, PostbackKitError
from .params import parameter_table
from .segments import MIN_HITS, WHOLE_TRAFFIC, Segment, find_segment, segment_table
from .signatures import code_text
from .timeline import BUCKETS, _truncate, pattern_label
from .timeline import as_utc as _utc

if TYPE_CHECKING:
    from .diagnose import Diagnosis, Issue

__all__ = [
    "FATES",
    "STACK_BY",
    "TTD_BINS",
    "DeepDive",
    "DeliverySummary",
    "Verdict",
    "bundled_sample",
    "deep_dive",
    "resolve_export",
]

ISSUE_OUTCOMES: tuple[str, ...] = _DIAGNOSE_ISSUE_OUTCOMES
"""Outcomes that make an issue (the failing ones and ``false_failure``), as in ``diagnose``."""

ALL = "all"
"""The issue key that stands for all issues of the tracker."""


STACK_BY: dict[str, str] = {"class": "outcome", "signature": "signature", "code": "code"}
"""What the error-frequency chart can stack failures by: label → column."""

FATES: tuple[str, ...] = ("delivered first try", "cured by retries", "lost", "still retrying")
"""What became of a postback (see :class:`DeliverySummary`)."""

TTD_BINS: tuple[tuple[str, timedelta | None], ...] = (
    ("first try", timedelta(0)),
    ("< 5 min", timedelta(minutes=5)),
    ("5–15 min", timedelta(minutes=15)),
    ("15–60 min", timedelta(hours=1)),
    ("1–3 h", timedelta(hours=3)),
    ("3–24 h", timedelta(hours=24)),
    ("> 24 h", None),
)
"""Bins of the time to delivery: label and upper bound (inclusive for ``first try``)."""

MAX_SERIES = 8
"""Series the error-frequency chart stacks; smaller ones are summed into ``other failures``."""
MAX_BUCKETS = 1000
"""Bucket sizes giving more buckets than this over the export are not offered."""
SUSPECT_MIN_SHARE = 0.5
SUSPECT_MIN_SCORE = 0.3
"""A parameter problem is a suspect with at least this share of the failing attempts and this
score (share failing − share succeeding): the defaults of
:func:`~postback_kit.params.suspect_parameters`."""
SEGMENT_MIN_SHARE = 0.9
SEGMENT_MIN_LIFT = 1.5
"""A dimension value explains a partial issue with this share and lift (``find_segment``)."""
EVERYWHERE_MIN_SHARE = 0.95
"""An issue hitting at least this share of the tracker's postbacks is not partial."""
EXAMPLE_CHARS = 300
"""Example bodies are cut to this length for tooltips (the full body is in the frames)."""

_TS = "attempt_timestamp"
T = TypeVar("T")
_DT = pl.Datetime("us", "UTC")


def _cut(text: pl.Expr) -> pl.Expr:
    return (
        pl.when(text.str.len_chars() > EXAMPLE_CHARS)
        .then(text.str.slice(0, EXAMPLE_CHARS - 1) + "…")
        .otherwise(text)
    )


def bundled_sample() -> Path:
    """The bundled sample export: ``$POSTBACK_KIT_SAMPLE`` (its ``csv`` folder when it has one),
    else ``data/samples/csv`` of the project folder above the current one."""
    env = os.environ.get("POSTBACK_KIT_SAMPLE")
    if env:
        path = Path(env)
        return path / "csv" if (path / "csv").is_dir() else path
    for folder in (Path.cwd(), *Path.cwd().parents):
        candidate = folder / "data" / "samples" / "csv"
        if candidate.is_dir():
            return candidate
    raise PostbackKitError(
        "no bundled sample export found.",
        found=f"no data/samples/csv above {Path.cwd()} and no POSTBACK_KIT_SAMPLE",
        hint="pass an export path, or run `make sample`.",
    )


def resolve_export(path: str | os.PathLike[str] | None) -> Path:
    """The export to load: ``path`` as given when it exists, else relative to a folder above the
    current one (a notebook runs in ``notebooks/``); :func:`bundled_sample` for None or ``""``."""
    if path is None or str(path) == "":
        return bundled_sample()
    given = Path(path)
    if given.exists() or given.is_absolute():
        return given
    for folder in Path.cwd().parents:
        if (folder / given).exists():
            return folder / given
    return given


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Verdict:
    """The answers to step 3 of the workflow for one selection.

    Is it the same error everywhere or several types? Constant or partial? Since when?
    """

    issue: str | None
    """The issue key, or None for all issues of the tracker."""
    kinds: int
    """Issues (class × signature) of the tracker in the time range."""
    top_share: float
    """Share of the tracker's failed attempts in range that the selection (or, for all issues,
    the biggest issue) accounts for."""
    attempts: int
    """Attempts of the selection in range."""
    postbacks: int
    """Postbacks (deliveries) of the tracker in range."""
    hit_postbacks: int
    """Postbacks of the tracker in range that the selection hit at least once."""
    scope: str
    """``everywhere`` (at least 95 % of the postbacks), ``partial`` or ``none``."""
    pattern: str | None
    """The issue's pattern in time over the export (from the diagnosis); None for all issues."""
    started_at: datetime | None
    ended_at: datetime | None
    segment: Segment | None
    """The dimension value that explains a partial issue, when one does."""
    text: str
    """The same in one paragraph."""

    @property
    def hit_share(self) -> float:
        """Share of the tracker's postbacks in range hit by the selection."""
        return self.hit_postbacks / self.postbacks if self.postbacks else 0.0

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "issue": self.issue,
            "kinds": self.kinds,
            "top_share": round(self.top_share, 4),
            "attempts": self.attempts,
            "postbacks": self.postbacks,
            "hit_postbacks": self.hit_postbacks,
            "hit_share": round(self.hit_share, 4),
            "scope": self.scope,
            "pattern": self.pattern,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "segment": None if self.segment is None else self.segment.to_dict(),
            "text": self.text,
        }


@dataclass(frozen=True)
class DeliverySummary:
    """What became of the postbacks of a selection (first attempt in the time range).

    Every postback has one fate of :data:`FATES`: delivered at the first attempt, delivered
    after failed attempts (cured by retries), never delivered and given up (lost), not delivered
    and still inside the platform's retry window when the export ends (still retrying).
    """

    postbacks: int
    first_try: int
    cured: int
    lost: int
    retrying: int
    duplicates: int
    """Extra deliveries: the partner received a conversion more than once."""
    median_attempts: float | None
    median_time_to_delivery: timedelta | None
    """Over the postbacks cured by retries."""
    p90_time_to_delivery: timedelta | None
    """90th percentile over the postbacks cured by retries."""

    @property
    def cured_share(self) -> float | None:
        """Cured share of the settled postbacks that failed at first (cured or lost)."""
        settled = self.cured + self.lost
        return self.cured / settled if settled else None

    def fates(self) -> pl.DataFrame:
        """``fate``, ``postbacks``, ``share``: one row per :data:`FATES` entry, in that order."""
        counts = [self.first_try, self.cured, self.lost, self.retrying]
        total = self.postbacks
        return pl.DataFrame(
            {
                "fate": list(FATES),
                "postbacks": counts,
                "share": [c / total if total else 0.0 for c in counts],
            },
            schema={"fate": pl.String, "postbacks": pl.Int64, "share": pl.Float64},
        )

    def to_dict(self) -> dict[str, Any]:
        def secs(t: timedelta | None) -> float | None:
            return None if t is None else round(t.total_seconds(), 1)

        share = self.cured_share
        return {
            "postbacks": self.postbacks,
            "first_try": self.first_try,
            "cured": self.cured,
            "lost": self.lost,
            "retrying": self.retrying,
            "duplicates": self.duplicates,
            "cured_share": None if share is None else round(share, 4),
            "median_attempts": self.median_attempts,
            "median_time_to_delivery": secs(self.median_time_to_delivery),
            "p90_time_to_delivery": secs(self.p90_time_to_delivery),
        }


# --------------------------------------------------------------------------- preparation


def bucket_options(start: datetime | None, end: datetime | None) -> list[str]:
    """Bucket sizes of :data:`~postback_kit.timeline.BUCKETS` giving at most
    :data:`MAX_BUCKETS` buckets over ``start``–``end`` (at least the largest one)."""
    if start is None or end is None:
        return [name for name, _ in BUCKETS]
    span = abs(end - start)
    names = [name for name, size in BUCKETS if span / size <= MAX_BUCKETS]
    return names or [BUCKETS[-1][0]]


def _issue_expr(issue: Issue | None) -> pl.Expr:
    if issue is None:
        return pl.col("outcome").cast(pl.String).is_in(ISSUE_OUTCOMES).fill_null(False)
    return (
        (pl.col("outcome").cast(pl.String) == issue.category)
        & (pl.col("signature") == issue.signature)
    ).fill_null(False)


@dataclass
class DeepDive:
    """One tracker of a diagnosis, prepared for the deep dive (see :func:`deep_dive`).

    ``attempts`` and ``deliveries`` are the tracker's rows of the diagnosis frames; ``counts``
    holds its attempts per ``fine_every`` bucket, class (``outcome``), ``signature``, response
    ``code`` (text, ``no answer`` for none) and ``failing``; ``examples`` one real response body
    per class, signature and code. The methods compute each view of a selection from these.
    """

    tracking_id: str
    tracker_name: str | None
    issues: list[Issue]
    attempts: pl.DataFrame = field(repr=False)
    deliveries: pl.DataFrame = field(repr=False)
    counts: pl.DataFrame = field(repr=False)
    examples: pl.DataFrame = field(repr=False)
    start: datetime | None
    end: datetime | None
    every: str
    """The default bucket size (the diagnosis's)."""
    fine_every: str
    """The bucket of ``counts``: the smallest of :attr:`buckets`."""
    buckets: list[str]
    """Bucket sizes offered for this export."""
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    # -- selection helpers

    @property
    def label(self) -> str:
        """``name (tracking_id)``, or the ID alone."""
        if self.tracker_name:
            return f"{self.tracker_name} ({self.tracking_id})"
        return self.tracking_id

    def issue(self, key: str | None) -> Issue | None:
        """The issue with this key, signature or ``class · signature`` (None, ``""`` or
        ``"all"``: all issues)."""
        if key is None or key in ("", ALL):
            return None
        for i in self.issues:
            if key in (i.key, i.signature, f"{i.category} · {i.signature}"):
                return i
        known = "; ".join(i.key for i in self.issues[:5]) or "none"
        raise PostbackKitError(
            f"no issue {key!r} for tracker {self.tracking_id}.",
            found=f"issues {known}",
            hint="use an issue key (tracking_id|class|signature), a signature, or None for all.",
        )

    def issue_options(self) -> list[tuple[str, str]]:
        """``(label, key)`` pairs for a picker: all issues (key ``"all"``) first, then each
        issue, worst first."""
        opts: list[tuple[str, str]] = [(f"all issues ({len(self.issues)})", ALL)]
        for i in self.issues:
            sig = i.signature if len(i.signature) <= 70 else i.signature[:69] + "…"
            opts.append(
                (
                    f"{i.category} · {sig} "
                    f"({i.attempts:,} attempts, {i.undelivered:,} undelivered)",
                    i.key,
                )
            )
        return opts

    def classes(self) -> list[str]:
        """Failure classes present for this tracker (issue outcomes), in canonical order."""
        present = set(self.counts.filter("failing")["outcome"].to_list())
        return [o for o in ISSUE_OUTCOMES if o in present]

    def _range(self, since: datetime | str | None, until: datetime | str | None) -> pl.Expr:
        lo, hi = _utc(since), _utc(until)
        cond = pl.lit(True)
        if lo is not None:
            cond = cond & (pl.col(_TS) >= lo)
        if hi is not None:
            cond = cond & (pl.col(_TS) < hi)
        return cond

    def _memo(
        self,
        compute: Callable[[Issue | None, datetime | str | None, datetime | str | None], T],
        chosen: Issue | None,
        since: datetime | str | None,
        until: datetime | str | None,
    ) -> T:
        """``compute(chosen, since, until)``, computed once per view, issue and time range."""
        key = (compute.__name__, chosen.key if chosen else None, _utc(since), _utc(until))
        if key not in self._cache:
            self._cache[key] = compute(chosen, since, until)
        out: T = self._cache[key]
        return out

    def _in_range(self, since: datetime | str | None, until: datetime | str | None) -> pl.DataFrame:
        return self._memo(self._attempts_in_range, None, since, until)

    def _attempts_in_range(
        self, _chosen: Issue | None, since: datetime | str | None, until: datetime | str | None
    ) -> pl.DataFrame:
        return self.attempts.filter(self._range(since, until))

    def _counts_in_range(
        self, since: datetime | str | None, until: datetime | str | None
    ) -> pl.DataFrame:
        lo, hi = _utc(since), _utc(until)
        cond = pl.lit(True)
        if lo is not None:
            cond = cond & (pl.col("bucket") >= _truncate(lo, self.fine_every))
        if hi is not None:
            cond = cond & (pl.col("bucket") < hi)
        return self.counts.filter(cond)

    # -- views

    def timeline(
        self,
        issue: str | None = None,
        *,
        every: str | None = None,
        by: str = "class",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        classes: list[str] | tuple[str, ...] | None = None,
    ) -> pl.DataFrame:
        """Attempts per bucket and series, the data of ``charts.error_timeline``.

        Failing attempts of the selection (one issue, or every issue whose class is in
        ``classes``) are series by ``by`` (``class``, ``signature`` or ``code``, see
        :data:`STACK_BY`); the :data:`MAX_SERIES` biggest series are kept, smaller ones become
        ``other failures``. Every other attempt counts as ``delivered`` (or ``other
        attempts`` for failures outside the selection), ``failing`` false: the traffic
        behind the bars. Columns ``bucket``, ``series``, ``failing``, ``count``, ``example``,
        as :func:`postback_kit.timeline.series_counts`; empty buckets have 0.
        """
        every = every or self.every
        if every not in self.buckets:
            raise ConfigError(
                f"{every!r} is not a bucket size offered for this export",
                found=repr(every),
                hint=f"use one of {', '.join(self.buckets)}",
            )
        if by not in STACK_BY:
            raise ConfigError(
                f"cannot stack by {by!r}",
                found=repr(by),
                hint=f"use one of {', '.join(STACK_BY)}",
            )
        col = STACK_BY[by]
        chosen = self.issue(issue)
        sel = _issue_expr(chosen)
        if chosen is None and classes is not None:
            sel = sel & pl.col("outcome").is_in(list(classes))
        base = self._counts_in_range(since, until).with_columns(
            sel.alias("__sel"), pl.col(col).alias("__by")
        )
        sizes = (
            base.filter("__sel")
            .group_by("__by")
            .agg(pl.col("count").sum())
            .sort(["count", "__by"], descending=[True, False])
        )
        top = sizes["__by"].head(MAX_SERIES).to_list()
        series = (
            pl.when(pl.col("__sel") & pl.col("__by").is_in(top))
            .then(pl.col("__by"))
            .when(pl.col("__sel"))
            .then(pl.lit("other failures"))
            .when(pl.col("failing"))
            .then(pl.lit("other attempts"))
            .otherwise(pl.lit("delivered"))
        )
        grouped = (
            base.with_columns(
                series.alias("series"),
                pl.col("__sel").alias("failing"),
                pl.col("bucket").dt.truncate(every),
            )
            .group_by("bucket", "series", "failing")
            .agg(pl.col("count").sum().cast(pl.Int64))
        )
        ex = (
            self.examples.with_columns(pl.col(col).alias("series"))
            .sort("n", descending=True)
            .group_by("series", maintain_order=True)
            .agg(pl.col("example").first())
        )
        lo, hi = _utc(since) or self.start, _utc(until) or self.end
        schema: dict[str, Any] = {
            "bucket": _DT,
            "series": pl.String,
            "failing": pl.Boolean,
            "count": pl.Int64,
            "example": pl.String,
        }
        if lo is None or hi is None or grouped.is_empty():
            return pl.DataFrame(schema=schema)
        first = _truncate(lo, every)
        last = (
            _truncate(hi - timedelta(microseconds=1), every)
            if _utc(until)
            else _truncate(hi, every)
        )
        grid = pl.select(
            pl.datetime_range(first, max(first, last), every, time_unit="us").alias("bucket")
        )
        grid = grid.with_columns(pl.col("bucket").cast(_DT)).join(
            grouped.select("series", "failing").unique(), how="cross"
        )
        order = {
            s: i for i, s in enumerate([*top, "other failures", "other attempts", "delivered"])
        }
        return (
            grid.join(grouped, on=["bucket", "series", "failing"], how="left")
            .with_columns(pl.col("count").fill_null(0))
            .join(ex, on="series", how="left")
            .with_columns(
                pl.when(pl.col("failing")).then(pl.col("example")).alias("example"),
                pl.col("series").replace_strict(order, default=len(order)).alias("__o"),
            )
            .sort("bucket", "__o", "series")
            .select(list(schema))
        )

    def codes(
        self,
        issue: str | None = None,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> pl.DataFrame:
        """Attempts per response code and class of the tracker in range.

        Columns ``code`` (text, ``no answer``), ``outcome``, ``attempts``, ``share`` (of the
        tracker's attempts in range), ``selected`` (the rows of the chosen issue; every failing
        row for all issues), ``example`` (a body, cut for tooltips). Most attempts first.
        """
        chosen = self.issue(issue)
        base = self._counts_in_range(since, until).with_columns(
            _issue_expr(chosen).alias("selected")
        )
        grouped = base.group_by("code", "outcome", "selected").agg(
            pl.col("count").sum().cast(pl.Int64).alias("attempts")
        )
        ex = (
            self.examples.sort("n", descending=True)
            .group_by("code", "outcome", maintain_order=True)
            .agg(pl.col("example").first())
        )
        total = int(grouped["attempts"].sum()) if grouped.height else 0
        return (
            grouped.filter(pl.col("attempts") > 0)
            .join(ex, on=["code", "outcome"], how="left")
            .with_columns(
                (pl.col("attempts") / total if total else pl.lit(0.0)).alias("share"),
            )
            .sort(["attempts", "code", "outcome"], descending=[True, False, False])
            .select("code", "outcome", "attempts", "share", "selected", "example")
        )

    def parameters(
        self,
        issue: str | None = None,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = 20,
    ) -> pl.DataFrame:
        """URL parameters of the failing attempts against the succeeding ones, in range.

        :func:`~postback_kit.params.parameter_table` of the selection's attempts (``failing``)
        against the tracker's successful ones (``ok``), rows with neither dropped, plus
        ``suspect`` (the problem separates them: see :data:`SUSPECT_MIN_SHARE`); best score
        first, at most ``limit`` rows.
        """
        out = self._memo(self._parameters, self.issue(issue), since, until)
        return out if limit is None else out.head(limit)

    def _parameters(
        self, chosen: Issue | None, since: datetime | str | None, until: datetime | str | None
    ) -> pl.DataFrame:
        att = self._in_range(since, until)
        table = parameter_table(att, _issue_expr(chosen), pl.col("outcome") == "success")
        return table.filter((pl.col("failing") > 0) | (pl.col("ok") > 0)).with_columns(
            suspect=(pl.col("share_failing") >= SUSPECT_MIN_SHARE)
            & (pl.col("score") >= SUSPECT_MIN_SCORE)
        )

    def _postbacks(
        self, chosen: Issue | None, since: datetime | str | None, until: datetime | str | None
    ) -> pl.DataFrame:
        """One row per postback in range (its first attempt there) with ``__hit``: the
        selection hit one of its attempts. Retries do not weigh in a segment."""
        return self._memo(self._first_attempts, chosen, since, until)

    def _first_attempts(
        self, chosen: Issue | None, since: datetime | str | None, until: datetime | str | None
    ) -> pl.DataFrame:
        att = self._in_range(since, until)
        ids = att.filter(_issue_expr(chosen))["delivery_id"].unique()
        return (
            att.sort(_TS)
            .unique("delivery_id", keep="first", maintain_order=True)
            .with_columns(pl.col("delivery_id").is_in(ids.implode()).alias("__hit"))
        )

    def segments(
        self,
        issue: str | None = None,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = 12,
    ) -> pl.DataFrame:
        """Dimension values by how well they explain the selection, over postbacks in range.

        :func:`~postback_kit.segments.segment_table` of one row per postback (its first attempt
        in range; hit when the selection hit any of its attempts, so retries do not weigh):
        ``column``, ``value``, ``rows`` and ``hits`` (postbacks), ``share``, ``hit_rate``,
        ``lift``, ``risk_ratio``, plus ``explains``: the value passes the rule of a single
        value in ``find_segment`` (share ≥ 0.9, lift and risk ratio ≥ 1.5, at least
        :data:`~postback_kit.segments.MIN_HITS` hit postbacks, and the selection does not hit
        the whole traffic), so :meth:`segment` is one of these rows unless it is a pair. Values
        the selection never hits are dropped.
        """
        out = self._memo(self._segment_table, self.issue(issue), since, until)
        return out if limit is None else out.head(limit)

    def _segment_table(
        self, chosen: Issue | None, since: datetime | str | None, until: datetime | str | None
    ) -> pl.DataFrame:
        postbacks = self._postbacks(chosen, since, until)
        table = segment_table(postbacks, pl.col("__hit"))
        whole = int(postbacks["__hit"].sum()) >= WHOLE_TRAFFIC * postbacks.height
        eps = 1e-9
        return table.filter(pl.col("hits") > 0).with_columns(
            explains=(pl.col("share") >= SEGMENT_MIN_SHARE - eps)
            & (pl.col("lift") >= SEGMENT_MIN_LIFT - eps)
            & (pl.col("risk_ratio").is_null() | (pl.col("risk_ratio") >= SEGMENT_MIN_LIFT - eps))
            & (pl.col("hits") >= MIN_HITS)
            & pl.lit(not whole)
        )

    def segment(
        self,
        issue: str | None = None,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> Segment | None:
        """The dimension value that explains the selection over postbacks in range
        (``find_segment`` on the rows of :meth:`segments`), if any."""
        return self._memo(self._find_segment, self.issue(issue), since, until)

    def _find_segment(
        self, chosen: Issue | None, since: datetime | str | None, until: datetime | str | None
    ) -> Segment | None:
        return find_segment(
            self._postbacks(chosen, since, until),
            pl.col("__hit"),
            min_share=SEGMENT_MIN_SHARE,
            min_lift=SEGMENT_MIN_LIFT,
        )

    def _hit_deliveries(
        self,
        chosen: Issue | None,
        since: datetime | str | None,
        until: datetime | str | None,
        *,
        every_postback: bool = False,
    ) -> pl.DataFrame:
        """Deliveries whose first attempt is in range, hit by ``chosen`` (any issue for None);
        all of them with ``every_postback``."""
        lo, hi = _utc(since), _utc(until)
        dlv = self.deliveries
        if lo is not None:
            dlv = dlv.filter(pl.col("first_attempt") >= lo)
        if hi is not None:
            dlv = dlv.filter(pl.col("first_attempt") < hi)
        if every_postback:
            return dlv
        ids = self._memo(self._hit_ids, chosen, None, None)
        return dlv.filter(pl.col("delivery_id").is_in(ids.implode()))

    def _hit_ids(self, chosen: Issue | None, _since: Any, _until: Any) -> pl.Series:
        return self.attempts.filter(_issue_expr(chosen))["delivery_id"].unique()

    def delivery_summary(
        self,
        issue: str | None = None,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> DeliverySummary:
        """Fates of the postbacks hit by the issue (all the tracker's postbacks for None) whose
        first attempt is in range; see :class:`DeliverySummary`."""
        chosen = self.issue(issue)
        dlv = self._hit_deliveries(chosen, since, until, every_postback=chosen is None)
        final = dlv["final_outcome"].cast(pl.String)
        delivered = final == "delivered"
        first_try = int((delivered & (dlv["failed_attempts"] == 0)).sum())
        cured_rows = dlv.filter(delivered & (dlv["failed_attempts"] > 0))
        ttd = cured_rows["time_to_delivery"].drop_nulls()
        median = ttd.median() if ttd.len() else None
        p90 = ttd.quantile(0.9, "nearest") if ttd.len() else None
        attempts = dlv["attempts"].median() if dlv.height else None
        return DeliverySummary(
            postbacks=dlv.height,
            first_try=first_try,
            cured=cured_rows.height,
            lost=int((final == "undelivered").sum()),
            retrying=int((final == "retrying").sum()),
            duplicates=int(dlv["duplicates"].sum()) if dlv.height else 0,
            median_attempts=None if attempts is None else float(attempts),  # type: ignore[arg-type]
            median_time_to_delivery=median if isinstance(median, timedelta) else None,
            p90_time_to_delivery=p90 if isinstance(p90, timedelta) else None,
        )

    def time_to_delivery(
        self,
        issue: str | None = None,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> pl.DataFrame:
        """Delivered postbacks of the selection per :data:`TTD_BINS` bin of time to delivery.

        Columns ``bin``, ``order`` (0 for ``first try``), ``postbacks``, ``share`` (of the
        delivered ones), ``median_minutes`` (in the bin, null when empty). Every bin is present.
        """
        chosen = self.issue(issue)
        dlv = self._hit_deliveries(chosen, since, until, every_postback=chosen is None).filter(
            pl.col("final_outcome") == "delivered"
        )
        ttd = pl.col("time_to_delivery")
        expr: pl.Expr = pl.lit(len(TTD_BINS) - 1)
        for i, (_name, bound) in reversed(list(enumerate(TTD_BINS))):
            if bound is not None:
                expr = pl.when(ttd <= bound).then(pl.lit(i)).otherwise(expr)
        binned = (
            dlv.filter(ttd.is_not_null())
            .with_columns(expr.cast(pl.Int64).alias("order"))
            .group_by("order")
            .agg(
                pl.len().cast(pl.Int64).alias("postbacks"),
                (ttd.dt.total_seconds().median() / 60).alias("median_minutes"),
            )
        )
        grid = pl.DataFrame(
            {"bin": [name for name, _ in TTD_BINS], "order": list(range(len(TTD_BINS)))},
            schema={"bin": pl.String, "order": pl.Int64},
        )
        total = int(binned["postbacks"].sum()) if binned.height else 0
        return (
            grid.join(binned, on="order", how="left")
            .with_columns(pl.col("postbacks").fill_null(0))
            .with_columns(
                (pl.col("postbacks") / total if total else pl.lit(0.0)).alias("share"),
                pl.col("median_minutes").cast(pl.Float64),
            )
            .sort("order")
            .select("bin", "order", "postbacks", "share", "median_minutes")
        )

    def verdict(
        self,
        issue: str | None = None,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> Verdict:
        """Same error everywhere or several types, constant or partial: see :class:`Verdict`."""
        chosen = self.issue(issue)
        counts = self._counts_in_range(since, until)
        failing = counts.filter("failing")
        per_issue = (
            failing.group_by("outcome", "signature")
            .agg(pl.col("count").sum())
            .filter(pl.col("count") > 0)
            .sort("count", descending=True)
        )
        kinds = per_issue.height
        failed = int(per_issue["count"].sum()) if kinds else 0
        if chosen is None:
            attempts = failed
            top = int(per_issue["count"][0]) if kinds else 0
        else:
            attempts = int(counts.filter(_issue_expr(chosen))["count"].sum())
            top = attempts
        top_share = top / failed if failed else 0.0
        postbacks = self._hit_deliveries(None, since, until, every_postback=True).height
        hit = self._hit_deliveries(chosen, since, until).height
        share = hit / postbacks if postbacks else 0.0
        scope = "none" if hit == 0 else "everywhere" if share >= EVERYWHERE_MIN_SHARE else "partial"
        segment = self.segment(issue, since=since, until=until) if scope == "partial" else None
        text = _verdict_text(chosen, kinds, top_share, attempts, hit, postbacks, scope, segment)
        return Verdict(
            issue=chosen.key if chosen else None,
            kinds=kinds,
            top_share=top_share,
            attempts=attempts,
            postbacks=postbacks,
            hit_postbacks=hit,
            scope=scope,
            pattern=chosen.pattern if chosen else None,
            started_at=chosen.started_at if chosen else None,
            ended_at=chosen.ended_at if chosen else None,
            segment=segment,
            text=text,
        )


def _pct(x: float) -> str:
    pct = 100 * x
    if 0 < pct < 1:
        return "<1 %"
    if 99 < pct < 100:
        return ">99 %"
    return f"{pct:.0f} %"


def _verdict_text(
    chosen: Issue | None,
    kinds: int,
    top_share: float,
    attempts: int,
    hit: int,
    postbacks: int,
    scope: str,
    segment: Segment | None,
) -> str:
    if kinds == 0:
        return "No failed attempts in this time range."
    parts = []
    if kinds == 1:
        parts.append("One error type: every failed attempt has the same class and message.")
    elif chosen is None:
        parts.append(
            f"Several error types ({kinds}); the biggest makes {_pct(top_share)} of the failed "
            "attempts."
        )
    else:
        parts.append(
            f"Several error types ({kinds}); this one makes {_pct(top_share)} of the failed "
            f"attempts ({attempts:,})."
        )
    what = "The failures hit" if chosen is None else "It hits"
    share = hit / postbacks if postbacks else 0.0
    if scope == "everywhere":
        parts.append(f"{what} every postback of the tracker ({hit:,} of {postbacks:,}).")
    elif scope == "partial":
        parts.append(
            f"Partial: {what.lower()} {_pct(share)} of the tracker's postbacks "
            f"({hit:,} of {postbacks:,})."
        )
        if segment is not None:
            parts.append(
                f"Segment: {segment.column} = {segment.value} has {_pct(segment.share)} of the "
                f"hits (lift {segment.lift:.1f}×)."
            )
        else:
            parts.append("No single dimension value explains it.")
    if chosen is not None and chosen.pattern:
        when = ""
        if chosen.started_at is not None:
            when += f", since {chosen.started_at:%Y-%m-%d %H:%M} UTC"
        if chosen.ended_at is not None:
            when += f", until {chosen.ended_at:%Y-%m-%d %H:%M} UTC"
        parts.append(f"Pattern over the export: {pattern_label(chosen.pattern)}{when}.")
    return " ".join(parts)


def deep_dive(diagnosis: Diagnosis, tracker: str | int | None = None) -> DeepDive:
    """Prepare one tracker of ``diagnosis`` for the deep dive (its top failing one by default).

    ``tracker`` is a ``tracking_id`` or a tracker name. The tracker's attempts are counted once
    per small bucket, class, signature and response code; every view of :class:`DeepDive`
    works from those counts or from the tracker's rows.
    """
    if not diagnosis.trackers:
        raise PostbackKitError(
            "the diagnosis has no trackers.",
            found="an empty export",
            hint="load an export with attempts.",
        )
    t = diagnosis.tracker(tracker) if tracker not in (None, "") else diagnosis.trackers[0]
    tid = t.tracking_id
    att = diagnosis.attempts.filter(pl.col("tracking_id").cast(pl.String) == tid)
    dlv = diagnosis.deliveries.filter(pl.col("tracking_id").cast(pl.String) == tid)
    start = _utc(diagnosis.export.get("start"))
    end = _utc(diagnosis.export.get("end"))
    buckets = bucket_options(start, end)
    every = diagnosis.bucket if diagnosis.bucket in buckets else buckets[-1]
    if every not in buckets:
        buckets.append(every)
    fine = buckets[0]
    code = code_text()
    outcome = pl.col("outcome").cast(pl.String).alias("outcome")
    signature = pl.col("signature").fill_null("(none)").alias("signature")
    failing = outcome.is_in(ISSUE_OUTCOMES).fill_null(False).alias("failing")
    counts = (
        att.filter(pl.col(_TS).is_not_null())
        .group_by(
            pl.col(_TS).cast(_DT).dt.truncate(fine).alias("bucket"),
            outcome,
            signature,
            code,
            failing,
        )
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .sort("bucket", "outcome", "signature", "code")
    )
    body = (
        pl.col("response_body").cast(pl.String)
        if "response_body" in att.columns
        else pl.lit(None, pl.String)
    )
    examples = (
        att.with_columns(body.alias("__body"))
        .group_by(outcome, signature, code)
        .agg(pl.len().alias("n"), _cut(pl.col("__body").drop_nulls().first()).alias("example"))
        .sort("n", "outcome", "signature", "code", descending=[True, False, False, False])
    )
    return DeepDive(
        tracking_id=tid,
        tracker_name=t.tracker_name,
        issues=list(t.issues),
        attempts=att,
        deliveries=dlv,
        counts=counts,
        examples=examples,
        start=start,
        end=end,
        every=every,
        fine_every=fine,
        buckets=buckets,
    )
