"""Which single dimension value explains an issue that hits only part of a tracker's traffic.

A partner that rejects only iOS postbacks, only one app version, or only the ``purchase`` event
shows up as an issue in, say, 30 % of the attempts. If nearly all hit attempts share one value of
one column (``os_name = ios``) and that value is hit far more often than the tracker on average,
that value is the segment.

>>> seg = find_segment(attempts, pl.col("response_code") == 400)    # doctest: +SKIP
>>> seg.column, seg.value, seg.share, seg.lift                      # doctest: +SKIP
('os_name', 'ios', 1.0, 2.8)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

__all__ = ["SEGMENT_COLUMNS", "Segment", "find_segment", "segment_table"]

SEGMENT_COLUMNS: tuple[str, ...] = (
    "os_name",
    "app_version_name",
    "event_name",
    "cost_model",
    "match_type",
    "device_type",
    "publisher_name",
    "os_version",
    "device_manufacturer",
    "attribution_touch_type",
    "app_package_name",
)
"""Dimensions a partial issue is looked for in (those the export has). Order breaks ties."""


@dataclass(frozen=True)
class Segment:
    """One dimension value and how well it explains the attempts an issue hits."""

    column: str
    value: str | None
    """The value (null when the hit attempts lack the column's value)."""
    share: float
    """Fraction of the hit attempts that have this value."""
    lift: float
    """Hit rate within the value ÷ hit rate over the whole frame."""
    hit_rate: float
    """Share of the attempts with this value that the issue hits."""
    overall_rate: float
    """Share of all attempts that the issue hits."""
    rows: int
    """Attempts with this value."""
    hits: int
    """Hit attempts with this value."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("share", "lift", "hit_rate", "overall_rate"):
            out[key] = round(out[key], 4)
        return out


def segment_table(
    frame: pl.DataFrame, hit: pl.Expr, *, columns: Sequence[str] = SEGMENT_COLUMNS
) -> pl.DataFrame:
    """Every value of every present dimension: ``column``, ``value`` (as text), ``rows``,
    ``hits``, ``share``, ``hit_rate``, ``lift``; best share first, then lift.

    One ``group_by`` per column. ``lift`` is null when the issue hits nothing.
    """
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    present = [c for c in columns if c in df.columns]
    schema = {
        "column": pl.String,
        "value": pl.String,
        "rows": pl.Int64,
        "hits": pl.Int64,
        "share": pl.Float64,
        "hit_rate": pl.Float64,
        "lift": pl.Float64,
    }
    if not present or df.is_empty():
        return pl.DataFrame(schema=schema)
    marked = df.select(*present, hit.fill_null(False).alias("__hit"))
    total_rows = marked.height
    total_hits = int(marked["__hit"].sum())
    overall = total_hits / total_rows
    order = {c: i for i, c in enumerate(present)}
    parts = [
        marked.group_by(col)
        .agg(rows=pl.len(), hits=pl.col("__hit").sum())
        .select(
            pl.lit(col).alias("column"),
            pl.col(col).cast(pl.String).alias("value"),
            pl.col("rows").cast(pl.Int64),
            pl.col("hits").cast(pl.Int64),
        )
        for col in present
    ]
    return (
        pl.concat(parts)
        .with_columns(
            share=pl.col("hits") / total_hits if total_hits else pl.lit(0.0),
            hit_rate=pl.col("hits") / pl.col("rows"),
        )
        .with_columns(
            lift=pl.col("hit_rate") / overall if total_hits else pl.lit(None, pl.Float64),
            __order=pl.col("column").replace_strict(order, return_dtype=pl.Int64),
        )
        .sort(
            ["share", "lift", "__order", "value"],
            descending=[True, True, False, False],
            nulls_last=True,
        )
        .drop("__order")
    )


def find_segment(
    frame: pl.DataFrame,
    hit: pl.Expr,
    *,
    columns: Sequence[str] = SEGMENT_COLUMNS,
    min_share: float = 0.9,
    min_lift: float = 1.5,
) -> Segment | None:
    """The one dimension value that explains an issue hitting part of the traffic, or None.

    For every value of every present column of ``columns``: ``share`` = fraction of the hit
    attempts having the value, ``lift`` = hit rate within the value ÷ hit rate overall. The
    segment is the value with the highest share among those with ``share >= min_share`` and
    ``lift >= min_lift`` (ties: higher lift, then the order of ``columns``).

    None when the issue hits nothing, hits every attempt (no lift is possible: it is not a
    segment, it is everything), or no single value explains it. Combinations of values (two app
    versions, iOS *and* one event) are not searched.

    >>> frame = pl.DataFrame({"os_name": ["ios", "ios", "android", "android"],
    ...                       "response_code": [400, 400, 200, 200]})
    >>> seg = find_segment(frame, pl.col("response_code") == 400)
    >>> seg.column, seg.value, seg.share, seg.lift
    ('os_name', 'ios', 1.0, 2.0)
    """
    table = segment_table(frame, hit, columns=columns)
    if table.is_empty():
        return None
    total_rows = int(table.filter(pl.col("column") == table["column"][0])["rows"].sum())
    total_hits = int(table.filter(pl.col("column") == table["column"][0])["hits"].sum())
    if total_hits == 0 or total_hits == total_rows:
        return None
    eps = 1e-9  # 9 of 10 is a share of 0.9, whatever the float rounding
    best = table.filter((pl.col("share") >= min_share - eps) & (pl.col("lift") >= min_lift - eps))
    if best.is_empty():
        return None
    row = best.row(0, named=True)
    return Segment(
        column=row["column"],
        value=row["value"],
        share=row["share"],
        lift=row["lift"],
        hit_rate=row["hit_rate"],
        overall_rate=total_hits / total_rows,
        rows=row["rows"],
        hits=row["hits"],
    )
