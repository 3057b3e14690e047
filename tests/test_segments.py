from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from postback_kit.segments import SEGMENT_COLUMNS, Segment, find_segment, segment_table

HIT = pl.col("hit")


def traffic(rows: list[tuple[str, str | None, str, bool]], n: int = 1) -> pl.DataFrame:
    """(os_name, app_version_name, event_name, hit) rows, each repeated n times."""
    os_name, version, event, hit = zip(*(rows * n), strict=True)
    return pl.DataFrame(
        {
            "os_name": pl.Series(os_name, dtype=pl.Categorical),
            "app_version_name": pl.Series(version, dtype=pl.String),
            "event_name": list(event),
            "hit": list(hit),
        }
    )


def test_issue_confined_to_one_os() -> None:
    frame = traffic(
        [
            ("ios", "2.0", "buy", True),
            ("ios", "2.1", "open", True),
            ("android", "2.0", "buy", False),
            ("android", "2.1", "open", False),
        ],
        n=5,
    )
    seg = find_segment(frame, HIT)
    assert seg == Segment(
        column="os_name",
        value="ios",
        share=1.0,
        lift=2.0,
        hit_rate=1.0,
        overall_rate=0.5,
        rows=10,
        hits=10,
    )
    assert json.loads(json.dumps(seg.to_dict()))["value"] == "ios"


def test_partial_hit_within_the_segment() -> None:
    # iOS fails 60 % of the time, Android never: share 1, lift 0.6 / 0.2 = 3
    rows = [("ios", "1", "buy", i < 3) for i in range(5)] + [("android", "1", "buy", False)] * 10
    seg = find_segment(traffic(rows), HIT)
    assert seg is not None
    assert (seg.column, seg.value, seg.share) == ("os_name", "ios", 1.0)
    assert seg.lift == pytest.approx(3.0)


def test_equal_share_prefers_higher_lift() -> None:
    # every hit is iOS and version 3.0; version 3.0 is a narrower part of iOS: higher lift
    frame = traffic(
        [
            ("ios", "3.0", "buy", True),
            ("ios", "2.0", "buy", False),
            ("android", "2.0", "buy", False),
            ("android", "2.0", "open", False),
        ],
        n=3,
    )
    seg = find_segment(frame, HIT)
    assert seg is not None and (seg.column, seg.value) == ("app_version_name", "3.0")
    assert seg.lift == pytest.approx(4.0)


def test_none_when_everything_or_nothing_is_hit() -> None:
    rows = [("ios", "1", "buy", True), ("android", "2", "open", True)]
    assert find_segment(traffic(rows), HIT) is None  # hits everything: no lift possible
    rows = [("ios", "1", "buy", False), ("android", "2", "open", False)]
    assert find_segment(traffic(rows), HIT) is None


def test_none_when_no_single_value_explains_it() -> None:
    frame = traffic(
        [
            ("ios", "1", "buy", True),
            ("ios", "1", "buy", False),
            ("android", "2", "open", True),
            ("android", "2", "open", False),
        ],
        n=4,
    )
    assert find_segment(frame, HIT) is None


def test_min_share_and_min_lift() -> None:
    # 17 of 20 hits are iOS (share 0.85)
    rows = [("ios", "1", "buy", True)] * 17 + [("android", "1", "buy", True)] * 3
    rows += [("android", "1", "buy", False)] * 40
    frame = traffic(rows)
    assert find_segment(frame, HIT) is None
    seg = find_segment(frame, HIT, min_share=0.8)
    assert seg is not None and seg.value == "ios" and seg.share == pytest.approx(0.85)
    assert find_segment(frame, HIT, min_share=0.8, min_lift=seg.lift + 0.01) is None
    # a share of exactly 0.9 counts
    rows = [("ios", "1", "buy", True)] * 9 + [("android", "1", "buy", True)]
    rows += [("android", "1", "buy", False)] * 30
    assert find_segment(traffic(rows), HIT) is not None


def test_null_value_can_be_the_segment() -> None:
    rows = [("ios", None, "buy", True), ("ios", "2", "buy", False), ("android", "2", "x", False)]
    seg = find_segment(traffic(rows, n=3), HIT)
    assert seg is not None and seg.column == "app_version_name" and seg.value is None


def test_only_present_columns_are_used() -> None:
    frame = pl.DataFrame({"device_type": ["phone", "tablet"] * 4, "hit": [False, True] * 4})
    seg = find_segment(frame, HIT)
    assert seg is not None and (seg.column, seg.value) == ("device_type", "tablet")
    assert find_segment(pl.DataFrame({"hit": [True, False]}), HIT) is None
    assert find_segment(frame, HIT, columns=("os_name",)) is None
    assert set(SEGMENT_COLUMNS) >= {"os_name", "app_version_name", "publisher_name"}


def test_segment_table() -> None:
    frame = traffic([("ios", "1", "buy", True), ("android", "1", "buy", False)], n=2)
    table = segment_table(frame, HIT, columns=("os_name", "app_version_name"))
    expected = pl.DataFrame(
        {
            "column": ["os_name", "app_version_name", "os_name"],
            "value": ["ios", "1", "android"],
            "rows": [2, 4, 2],
            "hits": [2, 2, 0],
            "share": [1.0, 1.0, 0.0],
            "hit_rate": [1.0, 0.5, 0.0],
            "lift": [2.0, 1.0, 0.0],
        }
    )
    assert_frame_equal(table, expected)
    assert segment_table(frame.clear(), HIT).is_empty()
