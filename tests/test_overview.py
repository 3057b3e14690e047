"""overview: the triage aggregates (tracker list, codes, time buckets per tracker) as frames."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit import overview, timeline
from postback_kit.errors import MissingColumnsError

BAD = '{"Message":"bad clickId"}'


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 1, hour, minute, tzinfo=UTC)


def _attempts() -> pl.DataFrame:
    """Classified attempts of two trackers: a fails twice with 400 then once without answer;
    b delivers at 00:10 and 02:10 (nothing at 01:xx)."""
    return pl.DataFrame(
        {
            "tracking_id": ["a", "a", "a", "a", "b", "b"],
            "attempt_timestamp": [at(0, 5), at(0, 20), at(1, 5), at(1, 6), at(0, 10), at(2, 10)],
            "response_code": [400, 400, None, 200, 200, 200],
            "response_body": [BAD, BAD, None, "OK", "OK", "fine"],
            "outcome": ["request_error", "request_error", "network_error", *["success"] * 3],
            "failure": [True, True, True, False, False, False],
        },
        schema_overrides={"response_code": pl.Int32},
    )


def test_tracker_list_adds_label_shares_by_class_and_top_signatures() -> None:
    rows = pl.DataFrame(
        {
            "tracking_id": ["a", "b", "c"],
            "tracker_name": ["Alpha", None, "Gamma"],
            "attempts": [4, 2, 0],
            **{f"failed_{c}": [0, 0, 0] for c in overview.FAILING_CLASSES},
        }
    ).with_columns(
        failed_request_error=pl.Series([2, 0, 0]), failed_network_error=pl.Series([1, 1, 0])
    )
    got = overview.tracker_list(rows, {"a": "bad (2)"}).select(
        "tracker",
        "share_request_error",
        "share_network_error",
        "share_soft_failure",
        "top_signatures",
    )
    want = pl.DataFrame(
        {
            "tracker": ["Alpha (a)", "b", "Gamma (c)"],
            "share_request_error": [0.5, 0.0, 0.0],  # a tracker without attempts: 0, not NaN
            "share_network_error": [0.25, 0.5, 0.0],
            "share_soft_failure": [0.0, 0.0, 0.0],
            "top_signatures": ["bad (2)", "", ""],
        }
    )
    assert_frame_equal(got, want)
    assert overview.tracker_list(pl.DataFrame()).is_empty()


def test_tracker_list_says_which_columns_it_misses() -> None:
    with pytest.raises(MissingColumnsError, match="tracker_name"):
        overview.tracker_list(pl.DataFrame({"tracking_id": ["a"], "attempts": [1]}))


def test_code_counts_per_tracker_most_frequent_first_with_an_example() -> None:
    got = overview.code_counts(_attempts())
    want = pl.DataFrame(
        {
            "tracking_id": ["a", "a", "a", "b"],
            "code": ["400", "200", "no answer", "200"],
            "outcome": ["request_error", "success", "network_error", "success"],
            "attempts": [2, 1, 1, 2],
            "example": [BAD, "OK", None, "OK"],
            "share": [0.5, 0.25, 0.25, 1.0],
        },
        schema_overrides={"attempts": pl.UInt32},
    )
    assert_frame_equal(got, want)


def test_series_counts_per_tracker_share_the_bucket_grid() -> None:
    got = timeline.series_counts(_attempts(), "1h", per=["tracking_id"])
    # b's silent hour 01:00 is there with 0; a's grid reaches 02:00, b's series starts at 00:00
    want = pl.DataFrame(
        {
            "tracking_id": ["a", "a", "a", "b"] * 3,
            "bucket": [at(0)] * 4 + [at(1)] * 4 + [at(2)] * 4,
            "series": ["delivered", "network_error", "request_error", "delivered"] * 3,
            "failing": [False, True, True, False] * 3,
            "count": [0, 0, 2, 1, 1, 1, 0, 0, 0, 0, 0, 1],
            "example": ["OK", None, BAD, "OK"] * 3,
        },
        schema_overrides={"bucket": pl.Datetime("us", "UTC"), "count": pl.Int64},
    )
    assert_frame_equal(got, want)
    # one tracker's part is what series_counts gives that tracker alone, over the same span
    alone = timeline.series_counts(
        _attempts().filter(pl.col("tracking_id") == "a"), "1h", end=at(2)
    )
    assert_frame_equal(got.filter(pl.col("tracking_id") == "a").drop("tracking_id"), alone)


def test_triage_overview_of_a_diagnosis_splits_codes_and_counts_per_tracker() -> None:
    frame = _attempts().select("tracking_id", "attempt_timestamp", "response_code", "response_body")
    frame = frame.with_columns(postback_url=pl.format("https://p.example/?n={}", pl.int_range(6)))
    diagnosis = pk.diagnose(frame, bucket="1h")
    view = overview.triage_overview(diagnosis)

    assert view.every == "1h"
    assert view.trackers["tracking_id"].to_list() == ["a", "b"]  # worst first
    assert view.classes == ("request_error", "network_error")
    tops = view.trackers["top_signatures"].to_list()
    assert tops == ["bad clickId (2); (no answer) (1)", ""]
    assert_frame_equal(view.codes_of("b"), view.codes.filter(pl.col("tracking_id") == "b"))
    assert view.codes_of("nope").is_empty()
    counts = view.counts_of("a")
    assert counts.columns == ["bucket", "series", "failing", "count", "example"]
    assert counts.filter(pl.col("failing"))["count"].sum() == 3
    empty = view.counts_of("nope")
    assert empty.is_empty() and empty.schema == counts.schema


def test_triage_overview_of_an_empty_export_is_empty() -> None:
    frame = _attempts().select("tracking_id", "attempt_timestamp", "response_code", "response_body")
    frame = frame.with_columns(postback_url=pl.lit("https://p.example/"))
    diagnosis = pk.diagnose(frame.clear(), bucket="1h")
    view = overview.triage_overview(diagnosis)
    assert view.trackers.is_empty() and view.classes == ()
    assert view.codes_of("a").is_empty() and view.counts_of("a").is_empty()
