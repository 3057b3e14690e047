"""Time buckets over ``attempt_timestamp`` and the pattern of an issue in time.

Is the issue there all along, in short scattered bursts, one outage, since some moment, or over?
The answer decides what to do: a settings fix (persistent, onset), a partner escalation with the
outage window (incident), or nothing (resolved).

>>> every = choose_bucket(start, end)                                    # doctest: +SKIP
>>> totals = bucket_counts(attempts.lazy(), every)                       # doctest: +SKIP
>>> hits = bucket_counts(attempts.lazy().filter(hit), every)             # doctest: +SKIP
>>> classify_pattern(hits, totals, every).name                           # doctest: +SKIP
'onset'
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, overload

import polars as pl

from .errors import ConfigError
from .schema import require_columns

__all__ = [
    "BUCKETS",
    "PATTERNS",
    "Pattern",
    "as_utc",
    "bucket_counts",
    "choose_bucket",
    "classify_pattern",
    "series_counts",
]

BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("1m", timedelta(minutes=1)),
    ("5m", timedelta(minutes=5)),
    ("15m", timedelta(minutes=15)),
    ("1h", timedelta(hours=1)),
    ("3h", timedelta(hours=3)),
    ("6h", timedelta(hours=6)),
    ("1d", timedelta(days=1)),
)
"""Bucket sizes :func:`choose_bucket` picks from (polars duration strings)."""

MAX_BUCKETS = 300
PATTERNS: tuple[str, ...] = (
    "persistent",
    "intermittent",
    "incident",
    "onset",
    "resolved",
    "unclear",
    "none",
)
"""Names of :class:`Pattern` (``none``: the issue has no hits; ``unclear``: too few postbacks
to tell, see :func:`classify_pattern`)."""

PATTERN_LABELS: dict[str, str] = {"unclear": "unclear: too few postbacks to tell"}
"""How the views show a pattern whose bare name would mislead."""


def pattern_label(name: str) -> str:
    """A pattern's name as the views show it.

    >>> pattern_label("unclear"), pattern_label("persistent")
    ('unclear: too few postbacks to tell', 'persistent')
    """
    return PATTERN_LABELS.get(name, name)


# thresholds of classify_pattern (see its docstring)
QUIET_MAX_CHANCE = 0.05
NOISE_RATE_FACTOR = 0.25
EDGE_MIN_BUCKETS = 2
EDGE_MIN_SHARE = 0.05
STEADY_MIN_ACTIVE = 0.8
INTERMITTENT_MIN_BURSTS = 4
MIN_TRAFFIC_PER_BUCKET = 4.0
MIN_PATTERN_BUCKETS = 24
MIN_INFORMATIVE_SHARE = 0.2
# measured on generated samples (samples.generate, seeds 1-11): at 5k attempts a week the 1h
# buckets hold ~1.5 postbacks each and a quarter of the planted patterns were misread; reading
# thin buckets coarser and saying "unclear" when the data cannot tell left 5 of 90 misread
# (12k: 7 -> 2, 24k: 0 -> 0)

_STARTS = ("onset", "incident")
_ENDS = ("resolved", "incident")
_TS = "attempt_timestamp"
_EVERY = re.compile(r"^(\d+(ns|us|ms|s|m|h|d|w|mo|q|y))+$")
_DT = pl.Datetime("us", "UTC")


def choose_bucket(start: datetime | None, end: datetime | None) -> str:
    """The smallest bucket of :data:`BUCKETS` giving at most 300 buckets over ``start``–``end``.

    Neighbouring sizes differ by at most 5×, so spans longer than an hour get 60–300 buckets;
    shorter spans get 1-minute buckets, longer than 300 days daily ones. ``"1h"`` when a bound
    is unknown.

    >>> from datetime import datetime
    >>> choose_bucket(datetime(2026, 1, 1), datetime(2026, 1, 2))
    '5m'
    >>> choose_bucket(datetime(2026, 1, 1), datetime(2026, 1, 8))
    '1h'
    """
    if start is None or end is None:
        return "1h"
    span = abs(end - start)
    for name, size in BUCKETS:
        if span / size <= MAX_BUCKETS:
            return name
    return BUCKETS[-1][0]


def _check_every(every: str) -> None:
    if not isinstance(every, str) or not _EVERY.match(every):
        raise ConfigError(
            f"{every!r} is not a bucket size",
            found=repr(every),
            hint='use a polars duration such as "5m", "1h" or "1d" (see choose_bucket)',
        )


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: datetime | str | None) -> datetime | None: ...
def as_utc(value: datetime | str | None) -> datetime | None:
    """A time bound as an aware UTC datetime: naive values are UTC, strings ISO 8601.

    ``None`` and ``""`` (no bound) give ``None``; anything else that is not a time raises
    :class:`~postback_kit.errors.ConfigError`.

    >>> as_utc("2026-11-05")
    datetime.datetime(2026, 11, 5, 0, 0, tzinfo=datetime.timezone.utc)
    >>> as_utc("2026-11-05T14:00+03:00")
    datetime.datetime(2026, 11, 5, 11, 0, tzinfo=datetime.timezone.utc)
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ConfigError(
                f"{value!r} is not a time",
                found=repr(value),
                hint='use ISO 8601, e.g. "2026-11-05" or "2026-11-05T11:00" (UTC unless an '
                "offset is given)",
            ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _truncate(value: datetime, every: str) -> datetime:
    out = pl.Series([as_utc(value)], dtype=_DT).dt.truncate(every).item()
    assert isinstance(out, datetime)
    return out


def bucket_counts(
    frame: pl.LazyFrame | pl.DataFrame,
    every: str,
    by: Sequence[str] = (),
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pl.DataFrame:
    """Attempts per ``every`` bucket of ``attempt_timestamp`` (and per ``by`` columns).

    Columns: ``bucket`` (bucket start, UTC), the ``by`` columns, ``count`` (``Int64``). Every
    bucket from the first to the last (widened to ``start``/``end`` when given) is present,
    empty ones with 0, for every combination of ``by`` values seen, so charts show gaps as gaps.
    Buckets are aligned to the epoch, so counts of different frames with the same ``every`` line
    up. Attempts without a timestamp are not counted.
    """
    _check_every(every)
    lf = frame.lazy()
    by = list(by)
    require_columns(lf, [_TS, *by], needed_for="bucket_counts")
    counts = (
        lf.filter(pl.col(_TS).is_not_null())
        .group_by(pl.col(_TS).cast(_DT).dt.truncate(every).alias("bucket"), *by)
        .agg(count=pl.len().cast(pl.Int64))
        .collect()
    )
    bounds: list[datetime] = [
        b for b in (counts["bucket"].min(), counts["bucket"].max()) if isinstance(b, datetime)
    ]
    bounds += [_truncate(t, every) for t in (start, end) if t is not None]
    if not bounds:
        return counts.clear().sort("bucket", *by)
    lo, hi = min(bounds), max(bounds)
    grid = pl.select(pl.datetime_range(lo, hi, every, time_unit="us").alias("bucket"))
    grid = grid.with_columns(pl.col("bucket").cast(_DT))
    if by:
        grid = grid.join(counts.select(by).unique(), how="cross")
    return (
        grid.join(counts, on=["bucket", *by], how="left", nulls_equal=True)
        .with_columns(pl.col("count").fill_null(0))
        .select("bucket", *by, "count")
        .sort("bucket", *by, nulls_last=True)
    )


@dataclass(frozen=True)
class Pattern:
    """How an issue behaves in time (see :func:`classify_pattern` for the rules)."""

    name: str
    """``persistent``, ``intermittent``, ``incident``, ``onset``, ``resolved``, ``unclear``
    (too few postbacks to tell) or ``none``."""
    started_at: datetime | None
    """Start of the first burst, when the issue began after traffic without it."""
    ended_at: datetime | None
    """End of the last burst, when traffic without the issue followed."""
    coverage: float
    """Share of the tracker's traffic the issue hits while active (within its bursts)."""
    active_buckets: int
    """Buckets with at least one hit."""
    bursts: int
    """Runs of consecutive active buckets (isolated stray hits not counted)."""
    first_seen: datetime | None
    """Start of the first bucket with a hit."""
    last_seen: datetime | None
    """End of the last bucket with a hit."""
    every: str = ""
    """Bucket size the pattern was read at (bigger than asked when the buckets were thin)."""
    traffic_buckets: int = 0
    """Buckets with traffic of the tracker."""

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "name": self.name,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "coverage": round(self.coverage, 4),
            "active_buckets": self.active_buckets,
            "bursts": self.bursts,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "every": self.every,
            "traffic_buckets": self.traffic_buckets,
        }


def _per_bucket(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    require_columns(frame, ["bucket", "count"], needed_for="classify_pattern")
    return frame.group_by("bucket").agg(pl.col("count").sum().cast(pl.Int64).alias(name))


def classify_pattern(hits: pl.DataFrame, totals: pl.DataFrame, every: str) -> Pattern:
    """Classify an issue's pattern in time from bucket counts (see :func:`bucket_counts`).

    ``hits``: ``bucket``, ``count`` of the attempts the issue hits; ``totals``: ``bucket``,
    ``count`` of all the tracker's attempts (or deliveries), same ``every``.

    Only buckets **with traffic** count: no traffic is not a recovery. The rules:

    0. Buckets too thin to show the issue's absence are merged first: while the buckets with
       traffic hold fewer than 4 postbacks on average (:data:`MIN_TRAFFIC_PER_BUCKET`) and a
       bucket that size would miss the issue by chance more often than rule 2 allows, the
       pattern is read at the next size of :data:`BUCKETS` (keeping at least 24 buckets over
       the span). A small export (a few thousand attempts a week) is thus read at 3 or 6 hours
       instead of 1; ``every`` of the result says which. An issue hitting every postback is
       never thin.
    1. ``coverage`` = hits ÷ traffic over the buckets with hits (the rate while active).
    2. A bucket with hits is *active*. A bucket with traffic but no hits is *quiet* only if the
       issue, at that rate, would have shown there with at least 95 % chance
       (``(1 - coverage) ** traffic <= 0.05``); otherwise it says nothing (a 10 %-share issue
       can miss a bucket of 5 attempts by chance) and is skipped.
    3. An isolated active bucket (quiet on both sides) whose hit rate is below a quarter of
       ``coverage`` is a stray (a late retry, one odd request) and is skipped too.
    4. Over the remaining buckets, *bursts* are runs of active buckets; the lead (trail) is the
       quiet run before the first (after the last) burst; it counts when it is at least
       max(2 buckets, 5 % of the buckets). ``steady`` = active ÷ all buckets from the first
       burst to the last.
    5. ``intermittent``: at least 4 bursts and steady < 0.8. Otherwise, with steady ≥ 0.8:
       ``persistent`` (no lead, no trail: there whenever the tracker had traffic, whether it
       hits every request or a stable share), ``onset`` (a lead, no trail; ``started_at``),
       ``resolved`` (a trail, no lead; ``ended_at``). Everything else, one or a few contiguous
       outages, is an ``incident`` (``started_at`` and ``ended_at`` when visible). ``none``
       when there are no hits.
    6. ``unclear`` (too few postbacks to tell) before any of these when the issue was seen, or
       surely absent, in fewer than 20 % of the buckets with traffic
       (:data:`MIN_INFORMATIVE_SHARE`): five hits among hundreds of postbacks fit a constant
       1 % as well as five short bursts, so the pattern says so instead of guessing.

    ``started_at`` is set when a lead counts for an ``onset`` or an ``incident``, ``ended_at``
    when a trail counts for a ``resolved`` issue or an ``incident`` (the scattered bursts of an
    ``intermittent`` issue have no start or end worth reporting: ``first_seen``/``last_seen``
    say when it was seen); both are bucket bounds, precise to ``every``. ``coverage`` of the
    result is recomputed over the bursts' buckets.
    """
    _check_every(every)
    hit_b = _per_bucket(hits, "hit")
    tot_b = _per_bucket(totals, "total")
    f = (
        tot_b.join(hit_b, on="bucket", how="full", coalesce=True)
        .with_columns(pl.col("hit", "total").fill_null(0))
        .with_columns(pl.max_horizontal("total", "hit").alias("total"))
        .filter(pl.col("total") > 0)
        .sort("bucket")
    )
    if f.filter(pl.col("hit") > 0).is_empty():
        return Pattern("none", None, None, 0.0, 0, 0, None, None, every, f.height)
    f, every = _coarsen(f, every)
    traffic = f.height
    active_f = f.filter(pl.col("hit") > 0)
    seen = active_f["bucket"]
    first_seen, last_seen = seen[0], _offset(seen[-1], every)
    rate = _rate(active_f)

    active = pl.col("hit") > 0
    quiet = ~active & ((1.0 - rate) ** pl.col("total") <= QUIET_MAX_CHANCE)
    f = f.with_columns(
        state=pl.when(active).then(pl.lit("active")).when(quiet).then(pl.lit("quiet"))
    )
    # strays: isolated active buckets far below the rate
    info = f.filter(pl.col("state").is_not_null()).with_columns(run=pl.col("state").rle_id())
    stray = (
        (pl.col("state") == "active")
        & (pl.len().over("run") == 1)
        & (pl.col("hit") / pl.col("total") < NOISE_RATE_FACTOR * rate)
    )
    info = info.filter(~stray).with_columns(run=pl.col("state").rle_id())
    runs = (
        info.group_by("run", maintain_order=True)
        .agg(
            state=pl.col("state").first(),
            n=pl.len(),
            start=pl.col("bucket").first(),
            end=pl.col("bucket").last(),
        )
        .to_dicts()
    )
    bursts = [r for r in runs if r["state"] == "active"]
    m = info.height
    edge_min = max(EDGE_MIN_BUCKETS, math.ceil(EDGE_MIN_SHARE * m))
    has_lead = runs[0]["state"] == "quiet" and runs[0]["n"] >= edge_min
    has_trail = runs[-1]["state"] == "quiet" and runs[-1]["n"] >= edge_min
    first_burst = runs.index(bursts[0])
    last_burst = runs.index(bursts[-1])
    span = sum(r["n"] for r in runs[first_burst : last_burst + 1])
    steady = sum(r["n"] for r in bursts) / span

    if m < MIN_INFORMATIVE_SHARE * traffic:
        name = "unclear"  # the issue seen, or surely absent, in too few buckets to tell
    elif len(bursts) >= INTERMITTENT_MIN_BURSTS and steady < STEADY_MIN_ACTIVE:
        name = "intermittent"
    elif steady >= STEADY_MIN_ACTIVE and not has_trail:
        name = "onset" if has_lead else "persistent"
    elif steady >= STEADY_MIN_ACTIVE and not has_lead:
        name = "resolved"
    else:
        name = "incident"

    # coverage over the buckets inside bursts (including skipped ones between active buckets)
    burst_runs = [r["run"] for r in bursts]
    inside = (
        f.join(info.select("bucket", "run"), on="bucket", how="left")
        .with_columns(before=pl.col("run").forward_fill(), after=pl.col("run").backward_fill())
        .filter((pl.col("before") == pl.col("after")) & pl.col("before").is_in(burst_runs))
    )
    coverage = min(1.0, int(inside["hit"].sum()) / int(inside["total"].sum()))
    return Pattern(
        name=name,
        started_at=bursts[0]["start"] if has_lead and name in _STARTS else None,
        ended_at=_offset(bursts[-1]["end"], every) if has_trail and name in _ENDS else None,
        coverage=coverage,
        active_buckets=active_f.height,
        bursts=len(bursts),
        first_seen=first_seen,
        last_seen=last_seen,
        every=every,
        traffic_buckets=traffic,
    )


def _rate(active: pl.DataFrame) -> float:
    return min(1.0, int(active["hit"].sum()) / int(active["total"].sum()))


def _coarsen(f: pl.DataFrame, every: str) -> tuple[pl.DataFrame, str]:
    """``f`` (``bucket``, ``hit``, ``total``; buckets with traffic) read at a bigger bucket of
    :data:`BUCKETS` while its buckets are too thin to show the issue's absence.

    Thin: fewer than :data:`MIN_TRAFFIC_PER_BUCKET` postbacks per bucket with traffic on average,
    and at the issue's rate a bucket that size would miss it by chance more often than
    :data:`QUIET_MAX_CHANCE` (an issue hitting every postback is never thin). The span must keep
    :data:`MIN_PATTERN_BUCKETS` of the bigger buckets. Buckets are epoch-aligned, so each
    bigger bucket is a whole number of smaller ones.
    """
    sizes = [name for name, _size in BUCKETS]
    if every not in sizes:
        return f, every
    start, end = f["bucket"].min(), f["bucket"].max()
    assert isinstance(start, datetime) and isinstance(end, datetime)
    for name, size in BUCKETS[sizes.index(every) + 1 :]:
        mean = int(f["total"].sum()) / f.height
        rate = _rate(f.filter(pl.col("hit") > 0))
        if mean >= MIN_TRAFFIC_PER_BUCKET or (1.0 - rate) ** mean <= QUIET_MAX_CHANCE:
            break
        if (end - start) / size < MIN_PATTERN_BUCKETS:
            break
        f = (
            f.group_by(pl.col("bucket").dt.truncate(name))
            .agg(pl.col("hit", "total").sum())
            .sort("bucket")
        )
        every = name
    return f, every


def _offset(t: datetime, every: str) -> datetime:
    out = pl.Series([t], dtype=_DT).dt.offset_by(every).item()
    assert isinstance(out, datetime)
    return out


def series_counts(
    frame: pl.LazyFrame | pl.DataFrame,
    every: str,
    *,
    by: str = "outcome",
    per: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
) -> pl.DataFrame:
    """Attempts per bucket and series, the data of the error-frequency chart.

    ``frame`` is classified attempts (``outcome``, ``failure``, ``signature``, ``response_body``).
    A failing attempt's series is its ``by`` value (``"outcome"`` or ``"signature"``); every
    attempt that delivered counts in the series ``"delivered"``. Columns: ``bucket``, ``series``
    (String), ``failing`` (Boolean), ``count`` (Int64, 0 for empty buckets), ``example`` (one
    real response body of the series, for tooltips).

    ``per`` (e.g. ``["tracking_id"]``) counts each group apart, in one pass: its columns come
    first, and each group has every bucket of the whole frame for each of its own series.

    >>> counts = series_counts(diagnosis.attempts, "1h", by="signature")   # doctest: +SKIP
    >>> counts = series_counts(attempts, "1h", per=["tracking_id"])        # doctest: +SKIP
    """
    lf = frame.lazy()
    per = list(per)
    require_columns(lf, [_TS, "failure", by, "response_body", *per], needed_for="series_counts")
    series = (
        pl.when(pl.col("failure"))
        .then(pl.col(by).cast(pl.String).fill_null("(none)"))
        .otherwise(pl.lit("delivered"))
        .alias("series")
    )
    lf = lf.select(*per, _TS, "failure", "response_body", series)
    counts = bucket_counts(lf, every, [*per, "series"], start=start, end=end)
    info = (
        lf.group_by(*per, "series")
        .agg(
            pl.col("failure").first().alias("failing"),
            pl.col("response_body").drop_nulls().first().alias("example"),
        )
        .collect()
    )
    return counts.join(info, on=[*per, "series"], how="left", nulls_equal=True).select(
        *per, "bucket", "series", "failing", "count", "example"
    )
