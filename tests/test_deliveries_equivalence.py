"""``deliveries`` sorts the attempts by time once instead of within every delivery: the result is
exactly that of the original implementation (kept here as the reference), ties included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit import samples
from postback_kit.deliveries import (
    _END,
    _TS,
    DELIVERED_OUTCOMES,
    FINAL_OUTCOMES,
    RETRIED_OUTCOMES,
    deliveries,
    with_delivery_id,
)
from postback_kit.schema import columns_of, require_columns


def reference_deliveries(
    frame: pl.LazyFrame,
    *,
    export_end: datetime | None = None,
    retry_horizon: timedelta = timedelta(hours=24),
) -> pl.LazyFrame:
    require_columns(frame, ["tracking_id", _TS, "outcome"], needed_for="deliveries")
    have = columns_of(frame)
    if "delivery_id" not in have:
        frame = with_delivery_id(frame)
    signature = pl.col("signature") if "signature" in have else pl.lit(None, pl.String)
    if export_end is not None and export_end.tzinfo is None:
        export_end = export_end.replace(tzinfo=UTC)
    end = pl.lit(export_end) if export_end is not None else pl.col(_TS).max()

    ts = pl.col(_TS)
    outcome = pl.col("outcome").cast(pl.String)
    delivered = outcome.is_in(DELIVERED_OUTCOMES).fill_null(False)
    failed = ~delivered

    def first_where(expr: pl.Expr, cond: pl.Expr) -> pl.Expr:
        return expr.sort_by(ts, maintain_order=True).filter(cond.sort_by(ts, maintain_order=True))

    per_delivery = (
        frame.filter(ts.is_not_null())
        .with_columns(
            end.cast(pl.Datetime("us", "UTC")).alias(_END),
            signature.cast(pl.String).alias("__signature"),
        )
        .group_by("tracking_id", "delivery_id")
        .agg(
            attempts=pl.len(),
            first_attempt=ts.min(),
            last_attempt=ts.max(),
            delivered_at=ts.filter(delivered).min(),
            failed_attempts=failed.sum(),
            __successes=delivered.sum(),
            first_failure_outcome=first_where(pl.col("outcome"), failed).first(),
            first_failure_signature=first_where(pl.col("__signature"), failed).first(),
            last_outcome=pl.col("outcome").sort_by(ts, maintain_order=True).last(),
            last_signature=pl.col("__signature").sort_by(ts, maintain_order=True).last(),
            __end=pl.col(_END).first(),
        )
    )
    still_open = pl.col("first_attempt") > pl.col("__end") - pl.lit(retry_horizon)
    retried = pl.col("last_outcome").cast(pl.String).is_in(RETRIED_OUTCOMES)
    final = (
        pl.when(pl.col("__successes") > 0)
        .then(pl.lit("delivered"))
        .when(still_open & retried)
        .then(pl.lit("retrying"))
        .otherwise(pl.lit("undelivered"))
        .cast(pl.Enum(FINAL_OUTCOMES))
    )
    return per_delivery.select(
        "tracking_id",
        "delivery_id",
        pl.col("attempts").cast(pl.UInt32),
        "first_attempt",
        "last_attempt",
        "delivered_at",
        final.alias("final_outcome"),
        (pl.col("delivered_at") - pl.col("first_attempt")).alias("time_to_delivery"),
        pl.col("failed_attempts").cast(pl.UInt32),
        (pl.col("__successes").cast(pl.Int64) - 1)
        .clip(lower_bound=0)
        .cast(pl.UInt32)
        .alias("duplicates"),
        "first_failure_outcome",
        "first_failure_signature",
        "last_outcome",
        "last_signature",
    ).sort("tracking_id", "first_attempt", "delivery_id")


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    folder: Path = tmp_path_factory.mktemp("export")
    samples.generate(12_000, seed=5).write_csv(folder, per_day=False)
    return with_delivery_id(pk.classify(pk.load(folder, cache=False))).collect()


def test_deliveries_equal_the_per_delivery_sort(classified: pl.DataFrame) -> None:
    end = classified["attempt_timestamp"].max()
    assert isinstance(end, datetime)
    for frame in (classified, classified.reverse(), classified.sample(fraction=1.0, seed=1)):
        expected = reference_deliveries(frame.lazy(), export_end=end).collect()
        assert_frame_equal(deliveries(frame.lazy(), export_end=end).collect(), expected)
    assert_frame_equal(
        deliveries(classified.lazy()).collect(), reference_deliveries(classified.lazy()).collect()
    )


def test_ties_in_time_keep_the_order_of_the_export() -> None:
    """Two attempts of one postback in the same second: first/last follow the export's order."""
    t0 = datetime(2026, 11, 2, 12, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "tracking_id": ["1"] * 4,
            "delivery_id": pl.Series([7, 7, 7, 7], dtype=pl.UInt64),
            "attempt_timestamp": [t0, t0, t0 + timedelta(minutes=5), t0 + timedelta(minutes=5)],
            "outcome": ["partner_error", "request_error", "network_error", "partner_error"],
            "signature": ["b", "a", "c", "d"],
        }
    )
    for rows in (frame, frame.reverse()):
        got = deliveries(rows.lazy()).collect()
        assert_frame_equal(got, reference_deliveries(rows.lazy()).collect())
    first = deliveries(frame.lazy()).collect().row(0, named=True)
    assert (first["first_failure_signature"], first["last_signature"]) == ("b", "d")


def test_null_signatures_outcomes_and_no_signature_column() -> None:
    """The signature is carried as a category and the first delivering time is a minimum:
    null signatures, a null outcome (a failure), string outcomes, several deliveries of
    one postback and a frame without a signature column give the original's frame."""
    t0 = datetime(2026, 11, 2, 12, tzinfo=UTC)
    minutes = [0, 5, 5, 10, 15, 0, 3, 3, 9, 1]
    frame = pl.DataFrame(
        {
            "tracking_id": ["1"] * 5 + ["2"] * 5,
            "delivery_id": pl.Series([7, 7, 7, 7, 7, 7, 8, 8, 8, 9], dtype=pl.UInt64),
            "attempt_timestamp": [t0 + timedelta(minutes=m) for m in minutes],
            "outcome": [
                "partner_error",
                "success",
                None,
                "false_failure",
                "success",
                "network_error",
                "success",
                "soft_failure",
                None,
                "request_error",
            ],
            "signature": ["x", None, "y", None, "z", None, "w", "v", None, "x"],
        }
    )
    for rows in (frame, frame.reverse(), frame.drop("signature")):
        for end in (None, t0 + timedelta(hours=30)):
            got = deliveries(rows.lazy(), export_end=end).collect()
            assert_frame_equal(got, reference_deliveries(rows.lazy(), export_end=end).collect())
    got = deliveries(frame.lazy()).collect()
    assert got.schema["first_failure_signature"] == pl.String
    assert got["delivered_at"].to_list()[:2] == [t0 + timedelta(minutes=5), None]
