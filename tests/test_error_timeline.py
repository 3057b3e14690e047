from datetime import UTC, datetime

import polars as pl
from polars.testing import assert_frame_equal

from postback_kit import charts, timeline


def _attempts() -> pl.DataFrame:
    t = [datetime(2026, 11, 1, h, 5, tzinfo=UTC) for h in (0, 0, 0, 2)]
    return pl.DataFrame(
        {
            "attempt_timestamp": t,
            "failure": [False, True, True, True],
            "outcome": ["success", "request_error", "request_error", "partner_error"],
            "signature": [None, "click not found", "click not found", "bad gateway"],
            "response_body": ["ok", "click 1 not found", "click 2 not found", "<h1>502</h1>"],
        }
    ).with_columns(pl.col("attempt_timestamp").cast(pl.Datetime("us", "UTC")))


def test_series_counts_fills_empty_buckets_and_keeps_delivered_for_scale() -> None:
    got = timeline.series_counts(_attempts(), "1h", by="signature")
    h = [datetime(2026, 11, 1, i, tzinfo=UTC) for i in (0, 1, 2)]
    want = pl.DataFrame(
        {
            "bucket": [h[0], h[0], h[0], h[1], h[1], h[1], h[2], h[2], h[2]],
            "series": ["bad gateway", "click not found", "delivered"] * 3,
            "failing": [True, True, False] * 3,
            "count": [0, 2, 1, 0, 0, 0, 1, 0, 0],
            "example": ["<h1>502</h1>", "click 1 not found", "ok"] * 3,
        },
        schema_overrides={"bucket": pl.Datetime("us", "UTC")},
    )
    assert_frame_equal(got, want)


def test_error_timeline_stacks_failures_over_traffic_and_marks_the_onset() -> None:
    counts = timeline.series_counts(_attempts(), "1h", by="outcome")
    onset = datetime(2026, 11, 1, 0, tzinfo=UTC)
    spec = charts.chart_spec(charts.error_timeline(counts, every="1h", started_at=onset))
    traffic, bars, rule, label = spec["layer"]
    assert traffic["mark"]["type"] == "area"
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["color"]["field"] == "series"
    assert bars["encoding"]["y"]["title"] == "attempts per hour"
    bar_rows = spec["datasets"][bars["data"]["name"]]
    assert {r["series"] for r in bar_rows} == {"request_error", "partner_error"}
    assert sum(r["count"] for r in bar_rows) == 3
    traffic_rows = spec["datasets"][traffic["data"]["name"]]
    assert [r["attempts"] for r in traffic_rows] == [3, 0, 1]
    assert spec["datasets"][rule["data"]["name"]][0]["mark"] == "onset"
    assert label["encoding"]["text"]["format"] == "onset %d %b %H:%M"
    tips = {t["title"] for t in bars["encoding"]["tooltip"]}
    assert {"failed attempts", "example body"} <= tips


def test_error_timeline_without_pattern_marks_has_two_layers() -> None:
    counts = timeline.series_counts(_attempts(), "15m")
    spec = charts.chart_spec(charts.error_timeline(counts, every="15m"))
    assert len(spec["layer"]) == 2
    assert spec["layer"][0]["encoding"]["y"]["title"] == "attempts per 15 minutes"
