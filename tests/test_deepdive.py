"""Deep dive (notebook 02): one tracker's issue in depth, on a small inline export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit import charts, deepdive
from postback_kit.deepdive import DeepDive, deep_dive
from postback_kit.errors import ConfigError, PostbackKitError

MALFORMED = "t1|request_error|malformed clickId"
GATEWAY = "t1|partner_error|<num> Bad Gateway"
HOSTILE = "<h1>502 Bad Gateway</h1><script>alert(1)</script>"


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


OK = "OK"
BAD_CLICK = '{"Message":"malformed clickId"}'


def postback(
    tracker: str, url: str, os: str, *tries: tuple[int, str, datetime]
) -> list[tuple[object, ...]]:
    """The attempts of one postback: its tries ``(code, body, time)``, converted at the first."""
    converted = tries[0][2] - timedelta(minutes=1)
    return [(tracker, url, os, code, body, converted, when) for code, body, when in tries]


P = "https://p.example/?cid={}&ev={}"
# Tracker t1, ten postbacks. Five from iOS with an empty click ID, rejected and never delivered
# (p1 and p7 tried twice): the issue "malformed clickId" hits half of the postbacks, all of iOS,
# so os_name = ios explains it, with the minimum evidence of 5 hit postbacks; counted in
# attempts it would be 7 of 13. Five from Android delivered: p3 after a 502 cured 10 min later,
# p5 the next day. t2 only widens the export.
ROWS = [
    *postback("t1", P.format("", "install"), "ios", (400, BAD_CLICK, at(1, 0, 5)),
              (400, BAD_CLICK, at(1, 0, 15))),                                          # p1
    *postback("t1", P.format("abc", "install"), "android", (200, OK, at(1, 0, 10))),    # p2
    *postback("t1", P.format("def", "install"), "android", (502, HOSTILE, at(1, 0, 20)),
              (200, OK, at(1, 0, 30))),                                                 # p3
    *postback("t1", P.format("", "open"), "ios", (400, BAD_CLICK, at(1, 1, 5))),        # p4
    *postback("t1", P.format("ghi", "install"), "android", (200, OK, at(2, 1, 0))),     # p5
    *postback("t1", P.format("", "install"), "ios", (400, BAD_CLICK, at(1, 0, 40))),    # p6
    *postback("t1", P.format("", "install"), "ios", (400, BAD_CLICK, at(1, 1, 20)),
              (400, BAD_CLICK, at(1, 1, 50))),                                          # p7
    *postback("t1", P.format("", "open"), "ios", (400, BAD_CLICK, at(1, 1, 35))),       # p8
    *postback("t1", P.format("jkl", "install"), "android", (200, OK, at(1, 0, 45))),    # p9
    *postback("t1", P.format("mno", "open"), "android", (200, OK, at(1, 1, 45))),       # p10
    *postback("t2", "https://q.example/?cid=x", "android", (200, OK, at(2, 2, 0))),
]  # fmt: skip


def _frame() -> pl.DataFrame:
    schema = {
        "tracking_id": pl.String,
        "postback_url": pl.String,
        "os_name": pl.String,
        "response_code": pl.Int32,
        "response_body": pl.String,
        "conversion_timestamp": pl.Datetime("us", "UTC"),
        "attempt_timestamp": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(ROWS, schema=schema, orient="row")


@pytest.fixture(scope="module")
def diagnosis() -> pk.Diagnosis:
    return pk.diagnose(_frame(), bucket="1h")


@pytest.fixture
def dd(diagnosis: pk.Diagnosis) -> DeepDive:
    return deep_dive(diagnosis, "t1")


def test_prepare_counts_per_small_bucket_class_signature_and_code(dd: DeepDive) -> None:
    assert dd.tracking_id == "t1" and [i.key for i in dd.issues] == [MALFORMED, GATEWAY]
    assert dd.buckets == ["5m", "15m", "1h", "3h", "6h", "1d"] and dd.fine_every == "5m"
    assert dd.every == "1h" and dd.classes() == ["request_error", "partner_error"]
    # one attempt per 5-minute bucket: (bucket, class) in time order
    rows = [
        (at(1, 0, 5), "request_error"),
        (at(1, 0, 10), "success"),
        (at(1, 0, 15), "request_error"),
        (at(1, 0, 20), "partner_error"),
        (at(1, 0, 30), "success"),
        (at(1, 0, 40), "request_error"),
        (at(1, 0, 45), "success"),
        (at(1, 1, 5), "request_error"),
        (at(1, 1, 20), "request_error"),
        (at(1, 1, 35), "request_error"),
        (at(1, 1, 45), "success"),
        (at(1, 1, 50), "request_error"),
        (at(2, 1, 0), "success"),
    ]
    signature = {
        "request_error": "malformed clickId",
        "success": "OK",
        "partner_error": "<num> Bad Gateway",
    }
    code = {"request_error": "400", "success": "200", "partner_error": "502"}
    want = pl.DataFrame(
        {
            "bucket": [b for b, _ in rows],
            "outcome": [o for _, o in rows],
            "signature": [signature[o] for _, o in rows],
            "code": [code[o] for _, o in rows],
            "failing": [o != "success" for _, o in rows],
            "count": [1] * len(rows),
        },
        schema_overrides={"bucket": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    assert_frame_equal(dd.counts, want)


def test_default_tracker_is_the_top_failing_one_and_unknown_ones_are_refused(
    diagnosis: pk.Diagnosis,
) -> None:
    assert deep_dive(diagnosis).tracking_id == "t1"
    with pytest.raises(PostbackKitError, match="no tracker 'nope'"):
        deep_dive(diagnosis, "nope")


def test_timeline_stacks_the_selection_over_the_rest_within_the_time_range(dd: DeepDive) -> None:
    got = dd.timeline(every="1h", by="class", until=at(1, 2, 0))
    h0, h1 = at(1, 0, 0), at(1, 1, 0)
    want = pl.DataFrame(
        {
            "bucket": [h0, h0, h0, h1, h1, h1],
            "series": ["request_error", "partner_error", "delivered"] * 2,
            "failing": [True, True, False] * 2,
            "count": [3, 1, 3, 4, 0, 1],
            "example": [BAD_CLICK, HOSTILE, None] * 2,
        },
        schema_overrides={"bucket": pl.Datetime("us", "UTC")},
    )
    assert_frame_equal(got, want)


def test_timeline_of_one_issue_keeps_other_failures_as_traffic_only(dd: DeepDive) -> None:
    got = dd.timeline(GATEWAY, every="1d", by="code")
    assert got.filter("failing")["series"].unique().to_list() == ["502"]
    per_series = got.group_by("series").agg(pl.col("count").sum()).sort("series")
    want = pl.DataFrame({"series": ["502", "delivered", "other attempts"], "count": [1, 5, 7]})
    assert_frame_equal(per_series, want)


def test_timeline_class_filter_and_bad_choices(dd: DeepDive) -> None:
    got = dd.timeline(every="1d", classes=["partner_error"])
    assert got.filter("failing")["series"].unique().to_list() == ["partner_error"]
    assert int(got["count"].sum()) == 13  # every attempt still counts as traffic
    with pytest.raises(ConfigError, match="bucket size"):
        dd.timeline(every="7m")
    with pytest.raises(ConfigError, match="stack by"):
        dd.timeline(by="colour")
    with pytest.raises(PostbackKitError, match="no issue"):
        dd.timeline("t1|request_error|nothing like it")


def test_codes_mark_the_selected_issue(dd: DeepDive) -> None:
    got = dd.codes(MALFORMED, since=at(1, 0, 0), until=at(1, 1, 0))
    want = pl.DataFrame(
        {
            "code": ["200", "400", "502"],
            "outcome": ["success", "request_error", "partner_error"],
            "attempts": [3, 3, 1],
            "share": [3 / 7, 3 / 7, 1 / 7],
            "selected": [False, True, False],
            "example": ["OK", BAD_CLICK, HOSTILE],
        }
    )
    assert_frame_equal(got, want)


def test_parameters_respect_the_time_range_and_flag_suspects(dd: DeepDive) -> None:
    whole = dd.parameters(MALFORMED)
    first_hour = dd.parameters(MALFORMED, until=at(1, 1, 0))
    cols = ["name", "problem", "failing", "ok", "share_failing", "share_ok", "suspect"]
    want = pl.DataFrame(
        {
            "name": ["cid"],
            "problem": ["empty"],
            "failing": [5],  # postbacks, not the 7 attempts
            "ok": [0],
            "share_failing": [1.0],
            "share_ok": [0.0],
            "suspect": [True],
        }
    )
    assert_frame_equal(whole.select(cols), want)
    # before 01:00 only p1 (tried twice) and p6 fail
    assert_frame_equal(first_hour.select(cols), want.with_columns(failing=pl.lit(2, pl.Int64)))


def test_segment_is_found_over_postbacks_not_attempts(dd: DeepDive) -> None:
    got = dd.segments(MALFORMED)
    want = pl.DataFrame(
        {
            "column": ["os_name"],
            "value": ["ios"],
            "rows": [5],
            "hits": [5],
            "share": [1.0],
            "hit_rate": [1.0],
            "lift": [2.0],  # 5 of 10 postbacks are hit (not 7 of 13 attempts)
            "risk_ratio": [None],  # no postback outside iOS is hit
            "explains": [True],
        },
        schema_overrides={"risk_ratio": pl.Float64},
    )
    assert_frame_equal(got, want)
    seg = dd.segment(MALFORMED)
    assert seg is not None and (seg.column, seg.value, seg.rows, seg.lift) == (
        "os_name",
        "ios",
        5,
        2.0,
    )
    assert dd.segments(MALFORMED, since=at(2, 0, 0)).is_empty()
    # before 01:00 two hit postbacks are too little evidence: the table agrees with segment()
    early = dd.segments(MALFORMED, until=at(1, 1, 0))
    assert early.select("value", "hits", "explains").rows() == [("ios", 2, False)]
    assert dd.segment(MALFORMED, until=at(1, 1, 0)) is None


def test_delivery_summary_counts_each_fate(dd: DeepDive) -> None:
    every = dd.delivery_summary()
    assert every.to_dict() == {
        "postbacks": 10,
        "first_try": 4,
        "cured": 1,
        "lost": 5,
        "retrying": 0,
        "duplicates": 0,
        "cured_share": 0.1667,
        "median_attempts": 1.0,
        "median_time_to_delivery": 600.0,
        "p90_time_to_delivery": 600.0,
    }
    want = pl.DataFrame(
        {
            "fate": list(deepdive.FATES),
            "postbacks": [4, 1, 5, 0],
            "share": [0.4, 0.1, 0.5, 0.0],
        }
    )
    assert_frame_equal(every.fates(), want)
    hit = dd.delivery_summary(MALFORMED)
    assert (hit.postbacks, hit.lost, hit.cured, hit.median_attempts) == (5, 5, 0, 1.0)
    assert dd.delivery_summary(MALFORMED, until=at(1, 1, 0)).median_attempts == 1.5  # p1, p6
    assert dd.delivery_summary(GATEWAY).median_time_to_delivery == timedelta(minutes=10)
    assert dd.delivery_summary(since=at(2, 0, 0)).postbacks == 1


def test_time_to_delivery_bins(dd: DeepDive) -> None:
    got = dd.time_to_delivery()
    assert got["bin"].to_list() == [name for name, _ in deepdive.TTD_BINS]
    assert got["postbacks"].to_list() == [4, 0, 1, 0, 0, 0, 0]
    assert got.filter(pl.col("postbacks") > 0)["median_minutes"].to_list() == [0.0, 10.0]
    assert dd.time_to_delivery(MALFORMED)["postbacks"].sum() == 0


def test_verdict_answers_same_error_or_several_constant_or_partial(dd: DeepDive) -> None:
    v = dd.verdict(MALFORMED)
    assert (v.kinds, v.top_share, v.hit_postbacks, v.postbacks, v.scope) == (
        2,
        7 / 8,
        5,
        10,
        "partial",
    )
    assert v.segment is not None and v.segment.value == "ios"
    assert "Several error types (2)" in v.text and "os_name = ios" in v.text
    assert v.to_dict()["hit_share"] == 0.5
    early = dd.verdict(MALFORMED, until=at(1, 1, 0))
    assert (early.hit_postbacks, early.postbacks, early.scope, early.segment) == (
        2,
        5,
        "partial",
        None,
    )
    assert "No single dimension value explains it" in early.text
    alone = dd.verdict(GATEWAY, since=at(1, 0, 20), until=at(1, 0, 25))
    assert alone.kinds == 1 and alone.text.startswith("One error type")
    quiet = dd.verdict(since=at(2, 0, 0))
    assert quiet.kinds == 0 and quiet.scope == "none"


def test_resolve_export_and_bundled_sample(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "csv").mkdir()
    monkeypatch.setenv("POSTBACK_KIT_SAMPLE", str(tmp_path))
    assert deepdive.resolve_export(None) == tmp_path / "csv"
    assert deepdive.resolve_export(str(tmp_path)) == tmp_path
    monkeypatch.delenv("POSTBACK_KIT_SAMPLE")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PostbackKitError, match="no bundled sample"):
        deepdive.bundled_sample()
    with pytest.raises(ConfigError, match="not a time"):
        deepdive.deep_dive(pk.diagnose(_frame()), "t1").codes(since="yesterday")


# --------------------------------------------------------------------------- charts


def test_timeline_chart_marks_onset_and_end_on_separate_rows(dd: DeepDive) -> None:
    counts = dd.timeline(MALFORMED, every="1h")
    chart = charts.error_timeline(
        counts, every="1h", started_at=at(1, 0, 0), ended_at=at(1, 1, 0), subtitle="persistent"
    )
    spec = charts.chart_spec(chart)
    assert spec["title"] == {"text": "Failed attempts over time", "subtitle": "persistent"}
    _traffic, _bars, _rule, onset, end = spec["layer"]
    assert onset["mark"]["align"] == "left" and end["mark"]["align"] == "right"
    assert onset["encoding"]["y"]["value"] != end["encoding"]["y"]["value"]
    assert end["encoding"]["text"]["format"].startswith("end ")


def test_response_codes_chart(dd: DeepDive) -> None:
    spec = charts.chart_spec(charts.response_codes(dd.codes(MALFORMED), title="codes"))
    assert spec["title"] == "codes" and spec["mark"]["type"] == "bar"
    enc = spec["encoding"]
    assert enc["x"]["title"] == "response code" and enc["y"]["title"] == "attempts"
    assert enc["color"]["scale"]["domain"] == ["success", "request_error", "partner_error"]
    (rows,) = spec["datasets"].values()
    assert {r["code"]: r["attempts"] for r in rows} == {"200": 5, "400": 7, "502": 1}
    assert {t["title"] for t in enc["tooltip"]} >= {"attempts", "example body"}
    assert any(r["example"] == HOSTILE for r in rows)  # as data; vega-embed escapes tooltips


def test_fates_and_time_to_delivery_charts(dd: DeepDive) -> None:
    fates = charts.chart_spec(charts.delivery_fates(dd.delivery_summary().fates()))
    (rows,) = fates["datasets"].values()
    assert [r["fate"] for r in rows] == list(deepdive.FATES)
    assert fates["encoding"]["y"]["sort"] == list(deepdive.FATES)
    assert "postbacks" in fates["encoding"]["x"]["title"]
    ttd = charts.chart_spec(charts.time_to_delivery(dd.time_to_delivery()))
    assert ttd["encoding"]["x"]["sort"][0] == "first try"
    (bins,) = ttd["datasets"].values()
    assert sum(b["postbacks"] for b in bins) == 5
