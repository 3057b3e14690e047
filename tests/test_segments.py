from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from postback_kit.segments import (
    SEGMENT_COLUMNS,
    Segment,
    find_segment,
    segment_table,
    segment_units,
)

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
    seg = find_segment(traffic(rows, n=2), HIT)
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
        n=5,
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
    seg = find_segment(traffic(rows, n=5), HIT)
    assert seg is not None and seg.column == "app_version_name" and seg.value is None


def test_only_present_columns_are_used() -> None:
    frame = pl.DataFrame({"device_type": ["phone", "tablet"] * 5, "hit": [False, True] * 5})
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
            "risk_ratio": [None, None, 0.0],
        }
    )
    assert_frame_equal(table, expected)
    assert segment_table(frame.clear(), HIT).is_empty()


T0 = datetime(2026, 11, 2, tzinfo=UTC)


def attempts(deliveries: list[tuple[str, str, str, int, int]], start_hour: int = 0) -> pl.DataFrame:
    """(os_name, app_version_name, cost_model, attempts, hit attempts) per delivery: one row
    per attempt, the hit attempts first, an hour apart per delivery."""
    rows = []
    for d, (os_name, version, cost_model, n, hits) in enumerate(deliveries):
        for a in range(n):
            rows.append(
                {
                    "delivery_id": d,
                    "attempt_timestamp": T0 + timedelta(hours=start_hour + d, minutes=5 * a),
                    "os_name": os_name,
                    "app_version_name": version,
                    "cost_model": cost_model,
                    "hit": a < hits,
                }
            )
    return pl.DataFrame(rows)


def test_units_are_deliveries_not_attempts() -> None:
    # 10 iOS postbacks fail and are retried 24 times; 30 Android and 20 iOS ones succeed at once.
    # Counted in attempts iOS would be 240 of 290 rows (lift 1.1); in deliveries it is 10 of 30
    # iOS postbacks against 0 of 30 Android ones.
    frame = attempts(
        [("ios", "1", "cpa", 24, 24)] * 10
        + [("android", "1", "cpa", 1, 0)] * 30
        + [("ios", "1", "cpa", 1, 0)] * 20
    )
    seg = find_segment(frame, HIT)
    assert seg is not None and (seg.column, seg.value, seg.unit) == ("os_name", "ios", "delivery")
    assert (seg.rows, seg.hits, seg.share) == (30, 10, 1.0)
    assert seg.lift == pytest.approx((10 / 30) / (10 / 60))
    assert seg.risk_ratio is None  # nothing outside iOS is hit
    # the same, folded once with segment_units and a hit on delivery_id
    units = segment_units(frame)
    assert units.height == 60 and {"first_attempt", "last_attempt"} <= set(units.columns)
    hit_ids = frame.filter(HIT)["delivery_id"].unique().implode()
    assert find_segment(units, pl.col("delivery_id").is_in(hit_ids)) == seg
    # without delivery_id every attempt is a unit
    by_attempt = segment_table(frame.drop("delivery_id"), HIT)
    ios = by_attempt.filter(pl.col("value") == "ios").row(0, named=True)
    assert (ios["rows"], ios["hits"]) == (260, 240)


def test_window_compares_with_the_traffic_of_the_issue_only() -> None:
    # before the outage (hours 0-39) everything succeeds; during it (hours 40-59) every
    # postback fails, on both platforms: the whole traffic of the window, no segment
    before = attempts([("ios", "1", "cpi", 1, 0)] * 20 + [("android", "1", "cpi", 1, 0)] * 20)
    during = attempts(
        [("ios", "1", "cpi", 3, 3)] * 12 + [("android", "2", "cpi", 3, 3)] * 8, start_hour=40
    ).with_columns(pl.col("delivery_id") + 100)
    frame = pl.concat([before, during])
    window = (T0 + timedelta(hours=40), T0 + timedelta(hours=60))
    assert find_segment(frame, HIT, window=window) is None
    table = segment_table(frame, HIT, window=window)
    assert table.filter(pl.col("column") == "os_name")["rows"].sum() == 20
    assert segment_table(frame, HIT).filter(pl.col("column") == "os_name")["rows"].sum() == 60


def test_whole_traffic_is_no_segment() -> None:
    # 19 of 20 hit: the issue is everything, not a segment, even though iOS is 100 % hit
    rows = [("ios", "1", "buy", True)] * 12 + [("android", "1", "buy", i < 7) for i in range(8)]
    assert find_segment(traffic(rows), HIT) is None


def test_minimum_evidence() -> None:
    rows = [("ios", "1", "buy", True)] * 4 + [("android", "1", "buy", False)] * 40
    assert find_segment(traffic(rows), HIT) is None  # 4 hits are not enough
    assert find_segment(traffic(rows), HIT, min_hits=4) is not None


def test_a_pair_of_values_when_neither_alone_explains_it() -> None:
    # only version 5.12 *and* cpa (the purchase postback) fail: 5.12 installs (cpi) and
    # purchases of older versions go through
    frame = pl.DataFrame(
        {
            "app_version_name": ["5.12"] * 20 + ["5.12"] * 40 + ["5.11"] * 15 + ["5.11"] * 40,
            "cost_model": ["cpa"] * 20 + ["cpi"] * 40 + ["cpa"] * 15 + ["cpi"] * 40,
            "event_name": ["purchase"] * 20 + [None] * 40 + ["purchase"] * 15 + [None] * 40,
            "hit": [True] * 20 + [False] * 95,
        }
    )
    seg = find_segment(frame, HIT)
    assert seg is not None
    assert (seg.column, seg.value) == ("app_version_name", "5.12")
    assert seg.and_ == {"column": "cost_model", "value": "cpa"}
    assert seg.same_as == ()
    assert (seg.rows, seg.hits, seg.hit_rate, seg.share) == (20, 20, 1.0, 1.0)
    assert seg.describe() == "app_version_name = 5.12 and cost_model = cpa"
    d = json.loads(json.dumps(seg.to_dict()))
    assert d["and"] == {"column": "cost_model", "value": "cpa"} and "and_" not in d


def test_aliases_are_reported_once_with_same_as() -> None:
    # cpa carries only registration here: both select the same deliveries
    frame = pl.DataFrame(
        {
            "event_name": ["registration"] * 10 + [None] * 30,
            "cost_model": ["cpa"] * 10 + ["cpi"] * 30,
            "hit": [True] * 10 + [False] * 30,
        }
    )
    seg = find_segment(frame, HIT)
    assert seg is not None and (seg.column, seg.value) == ("cost_model", "cpa")
    assert seg.same_as == ({"column": "event_name", "value": "registration"},)
    assert seg.and_ is None
    assert seg.to_dict()["same_as"] == [{"column": "event_name", "value": "registration"}]


def test_a_chance_difference_is_no_pair() -> None:
    # level_up fails 60 % of the time; tablets a bit less by chance: no second condition
    n_phone, n_tablet = 50, 6
    frame = pl.DataFrame(
        {
            "event_name": ["level_up"] * (n_phone + n_tablet) + ["install"] * 60,
            "device_type": ["phone"] * n_phone + ["tablet"] * n_tablet + ["phone"] * 60,
            "hit": [i < 30 for i in range(n_phone)]
            + [i < 2 for i in range(n_tablet)]
            + [False] * 60,
        }
    )
    seg = find_segment(frame, HIT)
    assert seg is not None and (seg.column, seg.value, seg.and_) == ("event_name", "level_up", None)


def test_units_folded_for_every_tracker_at_once_are_each_trackers_units() -> None:
    """``segment_units(by=["tracking_id"])`` split per tracker equals folding each tracker's
    attempts alone: trackers interleaved, the same delivery_id in two trackers, ties of the
    first attempt (ordered by delivery_id), nulls in a column."""
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    rows = []
    for i in range(60):
        rows.append(
            {
                "tracking_id": ["a", "b", "c"][i % 3],
                "delivery_id": (i * 7) % 11,
                "attempt_timestamp": t0 + timedelta(minutes=(i * 13) % 5),
                "os_name": [None, "ios", "android"][(i // 3) % 3],
                "publisher_name": f"p{i % 4}",
                "app_version_name": None if i % 5 == 0 else str(i % 2),
            }
        )
    frame = pl.DataFrame(rows)
    together = segment_units(frame, by=["tracking_id"]).partition_by(
        "tracking_id", as_dict=True, include_key=False, maintain_order=True
    )
    for (tid,), alone in frame.partition_by("tracking_id", as_dict=True).items():
        assert_frame_equal(together[(tid,)], segment_units(alone.drop("tracking_id")))
