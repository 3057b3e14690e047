"""diagnose splits the classified table by tracker without copying every column: the short
columns per tracker, the segment columns folded for all trackers at once, the URLs and bodies
gathered for the rows that need them. These tests check that what reaches an issue is what the
tracker's own rows give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

import postback_kit as pk
from postback_kit.diagnose import _first, _first_per


def test_most_frequent_value_per_tracker_is_first_of_each_tracker() -> None:
    frame = pl.DataFrame(
        {
            "tracking_id": ["1", "2", "1", "2", "1", "3", "2", "1", "4", "2"],
            # 1: b twice, a twice -> a (the smallest of the most frequent); 2: z, y, y -> y;
            # 3: only a null -> left out (None); 4: one value
            "tracker_name": ["b", "z", "a", "y", "b", None, "y", "a", "q", None],
        }
    )
    for dtype in (pl.String, pl.Categorical):
        typed = frame.with_columns(pl.col("tracker_name").cast(dtype))
        got = _first_per(typed, "tracking_id", "tracker_name")
        for (tid,), rows in typed.partition_by("tracking_id", as_dict=True).items():
            assert got.get(tid) == _first(rows, "tracker_name"), (tid, dtype)
        assert got == {"1": "a", "2": "y", "4": "q"}
    assert _first_per(frame, "tracking_id", "publisher_name") == {}


def test_example_and_names_come_from_the_trackers_own_rows() -> None:
    """Two trackers interleaved row by row: each issue's example is its latest attempt, with
    that attempt's body and URL (not another tracker's row at the same position)."""
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    n = 40
    frame = pl.DataFrame(
        {
            "tracking_id": ["7", "8"] * n,
            "tracker_name": ["seven", "eight"] * n,
            "response_code": pl.Series([400, 500] * n, dtype=pl.Int32),
            "response_body": [f"bad click {i}" if i % 2 == 0 else "oops" for i in range(2 * n)],
            "attempt_timestamp": [t0 + timedelta(minutes=5 * (i // 2)) for i in range(2 * n)],
            "postback_url": [f"https://p{i % 2}.io/cb?click_id={i}" for i in range(2 * n)],
        }
    )
    d = pk.diagnose(frame)
    for tid, name in (("7", "seven"), ("8", "eight")):
        t = d.tracker(tid)
        assert t.tracker_name == name
        (issue,) = t.issues
        latest = frame.filter(pl.col("tracking_id") == tid).sort("attempt_timestamp")[-1]
        assert issue.example["response_body"] == latest["response_body"].item()
        assert issue.example["postback_url"] == latest["postback_url"].item()
        assert issue.example["response_code"] == latest["response_code"].item()


def test_equal_counts_are_ordered_the_same_way_every_run() -> None:
    """Equal counts of two codes in one issue list the smaller code first (it picks the
    hypothesis), and the failed attempts of a tracker follow the order of the outcomes: a group-by
    gives its groups in any order."""
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    codes = [404, 400, None, 503] * 6
    frame = pl.DataFrame(
        {
            "tracking_id": ["1"] * len(codes),
            "response_code": pl.Series(codes, dtype=pl.Int32),
            "response_body": [None if c in (None, 503) else "bad click" for c in codes],
            "attempt_timestamp": [t0 + timedelta(minutes=i) for i in range(len(codes))],
            "postback_url": [f"https://p.io/cb?c={i}" for i in range(len(codes))],
        }
    )
    for _ in range(5):
        t = pk.diagnose(frame).tracker("1")
        assert list(t.failed_attempts) == ["request_error", "partner_error", "network_error"]
        issue = next(i for i in t.issues if i.category == "request_error")
        assert list(issue.response_codes) == ["400", "404"]
