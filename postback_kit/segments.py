"""Which single dimension value explains an issue that hits only part of a tracker's traffic.

A partner that rejects only iOS postbacks, only one app version, or only the ``purchase`` event
shows up as an issue in, say, 30 % of a tracker's postbacks. If nearly all hit postbacks share
one value of one column (``os_name = ios``) and that value is hit far more often than the rest of
the tracker's traffic, that value is the segment.

The unit is the **delivery** (one postback and its retries, see :mod:`postback_kit.deliveries`),
not the attempt: a failing postback is retried up to 24 times, a succeeding one is sent once, so
counted in attempts every failing segment looks ~24 times bigger than it is and the lift of the
true segment melts away. The comparison is made **within the issue's active window** (the
deliveries that had an attempt while the issue was seen): an issue that started with a release
is compared with the traffic after the release, an outage with the traffic during the outage
(which it all hits: no segment).

>>> seg = find_segment(attempts, pl.col("response_code") == 400)    # doctest: +SKIP
>>> seg.column, seg.value, seg.share, seg.lift                      # doctest: +SKIP
('os_name', 'ios', 1.0, 2.8)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import polars as pl

__all__ = [
    "MIN_HITS",
    "SEGMENT_COLUMNS",
    "WHOLE_TRAFFIC",
    "Segment",
    "find_segment",
    "segment_table",
    "segment_units",
]

SEGMENT_COLUMNS: tuple[str, ...] = (
    "os_name",
    "app_version_name",
    "cost_model",
    "event_name",
    "match_type",
    "device_type",
    "publisher_name",
    "os_version",
    "device_manufacturer",
    "attribution_touch_type",
    "app_package_name",
)
"""Dimensions a partial issue is looked for in (those the export has). Order breaks ties and
names the first value of a pair: the platform, then the app version (a release), then the
postback (``cost_model``: in AppMetrica's tracker settings each cost model has its own postback
URL), then the event sent through it. When two values select the same deliveries (a tracker
whose ``cpa`` postback only carries ``registration``), the earlier column is reported and the
other is listed in ``same_as``."""

ALPHA = 0.001
"""A second value refines a segment (``and``) only if the deliveries it leaves out are hit so
rarely that chance explains it with probability below this (binomial tail at the pair's hit
rate)."""

MIN_HITS = 5
"""Minimum evidence: a segment needs at least this many hit units (deliveries) with its value."""

WHOLE_TRAFFIC = 0.9
"""An issue hitting at least this share of the units in its window hits the whole traffic: no
segment."""

_HIT = "__hit"
_TS = "attempt_timestamp"
_UNIT = "delivery_id"
_FIRST, _LAST = "first_attempt", "last_attempt"


@dataclass(frozen=True)
class Segment:
    """One dimension value and how well it explains the units (deliveries) an issue hits."""

    column: str
    value: str | None
    """The value (null when the hit units lack the column's value)."""
    share: float
    """Fraction of the hit units that have this value."""
    lift: float
    """Hit rate within the value ÷ hit rate over all units (of the window)."""
    hit_rate: float
    """Share of the units with this value that the issue hits."""
    overall_rate: float
    """Share of all units (of the window) that the issue hits."""
    rows: int
    """Units with this value."""
    hits: int
    """Hit units with this value."""
    risk_ratio: float | None = None
    """Hit rate within the value ÷ hit rate outside it (None: nothing outside is hit)."""
    unit: str = "delivery"
    """What ``rows`` and ``hits`` count: ``delivery`` (postbacks) or ``attempt``."""
    and_: dict[str, Any] | None = None
    """A second value the issue needs as well (``to_dict`` key ``and``): ``{"column", "value"}``.
    The segment is then the units with both values, and ``rows``, ``hits``, ``hit_rate``,
    ``lift``, ``share`` describe that intersection. Example: app ``5.12.0`` *and*
    ``cost_model = cpa``: only the new version's purchases fail."""
    same_as: tuple[dict[str, Any], ...] = ()
    """Other column values that select exactly the same units (``os_name = ios`` and
    ``device_manufacturer = Apple``): equivalent descriptions, not extra conditions."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("share", "lift", "hit_rate", "overall_rate", "risk_ratio"):
            if out[key] is not None:
                out[key] = round(out[key], 4)
        out["and"] = out.pop("and_")
        out["same_as"] = list(self.same_as)
        return out

    def describe(self) -> str:
        """``os_name = ios`` or ``app_version_name = 5.12.0 and cost_model = cpa``."""
        text = f"{self.column} = {self.value}"
        if self.and_:
            text += f" and {self.and_['column']} = {self.and_['value']}"
        return text


def segment_units(
    frame: pl.DataFrame, columns: Sequence[str] = SEGMENT_COLUMNS, *, by: Sequence[str] = ()
) -> pl.DataFrame:
    """One row per delivery of an attempt table: ``delivery_id``, ``first_attempt``,
    ``last_attempt`` and the present ``columns`` (their first value: they describe the
    conversion, which all retries share).

    Fold a tracker's attempts once and pass the result to :func:`find_segment` /
    :func:`segment_table` for each of its issues (with ``hit`` on ``delivery_id``).

    ``by`` (e.g. ``["tracking_id"]``) folds every group at once, its columns first: each
    group's rows (``partition_by(by, maintain_order=True, include_key=False)``) are the
    ``segment_units`` of that group's attempts alone.
    """
    by = list(by)
    present = [c for c in columns if c in frame.columns and c not in by]
    return (
        frame.group_by(*by, _UNIT, maintain_order=True)
        .agg(
            pl.col(_TS).min().alias(_FIRST),
            pl.col(_TS).max().alias(_LAST),
            *[pl.col(c).first() for c in present],
        )
        .sort(*by, _FIRST, _UNIT)
    )


def _marked(
    frame: pl.DataFrame,
    hit: pl.Expr,
    present: list[str],
    window: tuple[datetime | None, datetime | None] | None,
) -> tuple[pl.DataFrame, str]:
    """The units with a ``__hit`` flag: attempts folded per delivery when possible."""
    cols = frame.columns
    is_attempts = _TS in cols
    df = frame.select(
        *present,
        hit.fill_null(False).alias(_HIT),
        *[c for c in (_UNIT, _TS, _FIRST, _LAST) if c in cols and c not in present],
    )
    if window is not None:
        lo, hi = window
        bounds = (_TS, _TS) if is_attempts else (_FIRST, _LAST)
        if all(b in cols for b in bounds):
            start, end = pl.col(bounds[0]), pl.col(bounds[1])
            if lo is not None:
                df = df.filter(end >= lo)
            if hi is not None:
                df = df.filter(start <= hi)
    if is_attempts and _UNIT in cols:
        df = df.group_by(_UNIT).agg(*[pl.col(c).first() for c in present], pl.col(_HIT).any())
        return df, "delivery"
    return df, ("attempt" if is_attempts else "delivery")


def segment_table(
    frame: pl.DataFrame,
    hit: pl.Expr,
    *,
    columns: Sequence[str] = SEGMENT_COLUMNS,
    window: tuple[datetime | None, datetime | None] | None = None,
) -> pl.DataFrame:
    """Every value of every present dimension: ``column``, ``value`` (as text), ``rows``,
    ``hits``, ``share``, ``hit_rate``, ``lift``, ``risk_ratio``; best share first, then lift.

    ``frame`` is an attempt table (with ``delivery_id`` its attempts are folded into
    deliveries: a delivery is hit when one of its attempts is), or one row per unit (e.g.
    :func:`segment_units`). ``window`` (start, end) keeps the units with an attempt inside it.
    One ``group_by`` per column. ``lift`` is null when the issue hits nothing; ``risk_ratio``
    is null when nothing outside the value is hit.
    """
    return _table(frame, hit, columns, window)


def _table(
    frame: pl.DataFrame,
    hit: pl.Expr,
    columns: Sequence[str],
    window: tuple[datetime | None, datetime | None] | None,
) -> pl.DataFrame:
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    present = [c for c in columns if c in df.columns]
    if not present or df.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    marked, _unit = _marked(df, hit, present, window)
    return _value_table(marked, present)[0]


_SCHEMA = {
    "column": pl.String,
    "value": pl.String,
    "rows": pl.Int64,
    "hits": pl.Int64,
    "share": pl.Float64,
    "hit_rate": pl.Float64,
    "lift": pl.Float64,
    "risk_ratio": pl.Float64,
}


def _value_table(marked: pl.DataFrame, present: list[str]) -> tuple[pl.DataFrame, int, int]:
    total_rows = marked.height
    total_hits = int(marked[_HIT].sum())
    if total_rows == 0:
        return pl.DataFrame(schema=_SCHEMA), 0, 0
    overall = total_hits / total_rows
    order = {c: i for i, c in enumerate(present)}
    parts = [
        marked.group_by(col)
        .agg(rows=pl.len(), hits=pl.col(_HIT).sum())
        .select(
            pl.lit(col).alias("column"),
            pl.col(col).cast(pl.String).alias("value"),
            pl.col("rows").cast(pl.Int64),
            pl.col("hits").cast(pl.Int64),
        )
        for col in present
    ]
    out_rate = (total_hits - pl.col("hits")) / (total_rows - pl.col("rows"))
    table = (
        pl.concat(parts)
        .with_columns(
            share=pl.col("hits") / total_hits if total_hits else pl.lit(0.0),
            hit_rate=pl.col("hits") / pl.col("rows"),
        )
        .with_columns(
            lift=pl.col("hit_rate") / overall if total_hits else pl.lit(None, pl.Float64),
            risk_ratio=pl.when(pl.col("rows") < total_rows)
            .then(pl.when(out_rate > 0).then(pl.col("hit_rate") / out_rate))
            .cast(pl.Float64),
            __order=pl.col("column").replace_strict(order, return_dtype=pl.Int64),
        )
        .sort(
            ["share", "lift", "__order", "value"],
            descending=[True, True, False, False],
            nulls_last=True,
        )
        .drop("__order")
    )
    return table, total_rows, total_hits


def find_segment(
    frame: pl.DataFrame,
    hit: pl.Expr,
    *,
    columns: Sequence[str] = SEGMENT_COLUMNS,
    window: tuple[datetime | None, datetime | None] | None = None,
    min_share: float = 0.9,
    min_lift: float = 1.5,
    min_hits: int = MIN_HITS,
) -> Segment | None:
    """The one dimension value that explains an issue hitting part of the traffic, or None.

    Units are deliveries when ``frame`` has ``delivery_id`` (see :func:`segment_table`), and
    only those active in ``window`` count. For every value of every present column of
    ``columns``: ``share`` = fraction of the hit units having the value, ``lift`` = hit rate
    within the value ÷ hit rate overall, ``risk_ratio`` = hit rate within ÷ hit rate outside.
    A value qualifies when

    - ``share >= min_share`` (it explains nearly every hit),
    - ``lift >= min_lift`` and ``risk_ratio >= min_lift`` (the issue is concentrated there),
    - ``hits >= min_hits`` (minimum evidence).

    The segment is the qualifying value with the highest share (ties: higher lift, then the
    order of ``columns``).

    None when the issue hits nothing, hits the whole traffic of its window (at least
    :data:`WHOLE_TRAFFIC` of the units: it is not a segment, it is everything), or no single
    value qualifies. Combinations of values (two app versions, iOS *and* one event) are not
    searched.

    >>> frame = pl.DataFrame({"os_name": ["ios", "ios", "android", "android"] * 3,
    ...                       "response_code": [400, 400, 200, 200] * 3})
    >>> seg = find_segment(frame, pl.col("response_code") == 400)
    >>> seg.column, seg.value, seg.share, seg.lift
    ('os_name', 'ios', 1.0, 2.0)
    """
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    present = [c for c in columns if c in df.columns]
    if not present or df.is_empty():
        return None
    marked, unit = _marked(df, hit, present, window)
    table, total_rows, total_hits = _value_table(marked, present)
    if table.is_empty() or total_hits == 0 or total_hits >= WHOLE_TRAFFIC * total_rows:
        return None
    eps = 1e-9  # 9 of 10 is a share of 0.9, whatever the float rounding
    candidates = table.filter(
        (pl.col("share") >= min_share - eps) & (pl.col("hits") >= min_hits)
    ).head(_MAX_CANDIDATES)
    qualifies = (pl.col("lift") >= min_lift - eps) & (
        pl.col("risk_ratio").is_null() | (pl.col("risk_ratio") >= min_lift - eps)
    )
    singles = candidates.filter(qualifies)
    overall = total_hits / total_rows
    cand = candidates.to_dicts()
    masks = {i: _is_value(c) for i, c in enumerate(cand)}

    # pairs: two values whose intersection explains the hits better than each alone
    same: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(cand))}
    pairs = []
    for i, a in enumerate(cand):
        for j in range(i + 1, len(cand)):
            b = cand[j]
            if a["column"] == b["column"]:
                continue
            both = marked.filter(masks[i] & masks[j]).select(rows=pl.len(), hits=pl.col(_HIT).sum())
            rows, hits = (int(v or 0) for v in both.row(0))
            if rows == a["rows"] == b["rows"]:
                same[i].append({"column": b["column"], "value": b["value"]})
                same[j].append({"column": a["column"], "value": a["value"]})
                continue
            if hits < min_hits or hits < (min_share - eps) * total_hits:
                continue
            rate = hits / rows
            refines = all(
                _binom_cdf(m["hits"] - hits, m["rows"] - rows, rate) < ALPHA
                and m["rows"] - rows >= min_hits
                for m in (a, b)
            )
            if refines and rate / overall >= min_lift - eps:
                pairs.append((rate, hits, -i, -j, a, b, rows))
    if pairs:
        rate, hits, _, _, a, b, rows = max(pairs, key=lambda p: p[:4])
        if present.index(b["column"]) < present.index(a["column"]):
            a, b = b, a  # the earlier column of SEGMENT_COLUMNS names the pair
        idx = cand.index(a)
        out_rows = total_rows - rows
        out_rate = (total_hits - hits) / out_rows if out_rows else 0.0
        return Segment(
            column=a["column"],
            value=a["value"],
            share=hits / total_hits,
            lift=rate / overall,
            hit_rate=rate,
            overall_rate=overall,
            rows=rows,
            hits=hits,
            risk_ratio=rate / out_rate if out_rate > 0 else None,
            unit=unit,
            and_={"column": b["column"], "value": b["value"]},
            same_as=tuple(same[idx]),
        )
    if singles.is_empty():
        return None
    row = singles.row(0, named=True)
    idx = next(
        k for k, c in enumerate(cand) if (c["column"], c["value"]) == (row["column"], row["value"])
    )
    return Segment(
        column=row["column"],
        value=row["value"],
        share=row["share"],
        lift=row["lift"],
        hit_rate=row["hit_rate"],
        overall_rate=overall,
        rows=row["rows"],
        hits=row["hits"],
        risk_ratio=row["risk_ratio"],
        unit=unit,
        same_as=tuple(same[idx]),
    )


_MAX_CANDIDATES = 12


def _is_value(candidate: dict[str, Any]) -> pl.Expr:
    col = pl.col(candidate["column"]).cast(pl.String)
    value = candidate["value"]
    return col.is_null() if value is None else (col == value).fill_null(False)


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p): how likely so few hits among ``n`` units by chance."""
    if n <= 0 or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    if k >= n * p:
        return 1.0  # at least as many as expected: no evidence at all
    log_p, log_q = math.log(p), math.log1p(-p)
    lg = math.lgamma
    total = 0.0
    for x in range(k + 1):
        total += math.exp(lg(n + 1) - lg(x + 1) - lg(n - x + 1) + x * log_p + (n - x) * log_q)
    return min(1.0, total)
