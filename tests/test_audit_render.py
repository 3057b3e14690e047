from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, unquote

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit.audit.urlcodec import percent_decode, percent_encode, query_parameters
from postback_kit.errors import MissingColumnsError

INSTALL = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
LIST = pl.List(pl.String)


def export() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "click_id": ["c 1", None],
            "os_name": pl.Series(["ios", "android"], dtype=pl.Categorical),
            "ios_ifa": ["IFA-1", ""],
            "google_aid": [None, "GAID-2"],
            "install_timestamp": [INSTALL, INSTALL],
            "event_name": ["purchase", "level_up"],
        }
    )


def test_render_fills_encodes_and_reports_empty_macros() -> None:
    t = (
        "https://pb.example.com/c?cid={click_id}&ifa={ios_ifa}&gaid={google_aid}"
        "&ts={install_timestamp}&at={install_datetime}&ev={conversion_event_name}&os={os_name}"
    )
    out = pk.render_template(t, export())
    expected = export().with_columns(
        rendered=pl.Series(
            [
                "https://pb.example.com/c?cid=c%201&ifa=IFA-1&gaid=&ts=1704103200"
                "&at={install_datetime}&ev=purchase&os=ios",
                "https://pb.example.com/c?cid=&ifa=&gaid=GAID-2&ts=1704103200"
                "&at={install_datetime}&ev=level_up&os=android",
            ]
        ),
        empty_macros=pl.Series([["google_aid"], ["click_id", "ios_ifa"]], dtype=LIST),
        unresolved_macros=pl.Series([["install_datetime"]] * 2, dtype=LIST),
    )
    assert_frame_equal(out, expected)


def test_render_accepts_a_lazy_frame_and_appsflyer_syntax() -> None:
    t = "https://pb.example.com/?clickid=(clickid)&idfa=(idfa)&t=(install_unix_ts)&x={click_id}"
    out = pk.render_template(t, export().lazy())
    assert isinstance(out, pl.DataFrame)
    # (clickid) is AppsFlyer's; {click_id} is not AppsFlyer syntax, so it is sent as written
    assert out["rendered"].to_list() == [
        "https://pb.example.com/?clickid=c%201&idfa=IFA-1&t=1704103200&x={click_id}",
        "https://pb.example.com/?clickid=&idfa=&t=1704103200&x={click_id}",
    ]


def test_tracking_url_parameters_fill_unknown_macros() -> None:
    frame = pl.DataFrame(
        {
            "click_id": ["a", "b", "c"],
            "click_url_parameters": ["click_id=a&sub1=x%20y&c=1", "sub1%3Dz%26c%3D2", None],
        }
    )
    out = pk.render_template("https://pb.example.com/?cid={click_id}&s={sub1}", frame)
    assert out["rendered"].to_list() == [
        "https://pb.example.com/?cid=a&s=x%20y",
        "https://pb.example.com/?cid=b&s=z",
        "https://pb.example.com/?cid=c&s=",
    ]
    assert out["empty_macros"].to_list() == [[], [], ["sub1"]]


def test_json_bodies_are_not_url_encoded() -> None:
    out = pk.render_template('{"cid": "{click_id}", "os": "{os_name}"}', export())
    assert out["rendered"][0] == '{"cid": "c 1", "os": "ios"}'


def test_compare_rendered_shows_each_parameter_difference() -> None:
    frame = export().with_columns(
        postback_url=pl.Series(
            [
                "https://pb.example.com/c?cid=c+1&ifa=IFA-1&ts=1704103200&extra=1",
                "https://pb.example.com/d?cid=&ifa=&ts=99",
            ]
        )
    )
    t = "https://pb.example.com/c?cid={click_id}&ifa={ios_ifa}&ts={install_timestamp}&tx={tx}"
    diff = pk.compare_rendered(t, frame)
    got = diff.rows.select("row", "parameter", "status").with_columns(pl.col("status").cast(str))
    expected = pl.DataFrame(
        {
            "row": [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
            "parameter": [
                *["(base)", "cid", "extra", "ifa", "ts", "tx"],
                *["(base)", "cid", "ifa", "ts", "tx"],
            ],
            "status": [
                *["same", "same", "extra", "same", "same", "missing"],
                *["different", "same", "same", "different", "missing"],
            ],
        },
        schema={"row": pl.UInt32, "parameter": pl.String, "status": pl.String},
    )
    assert_frame_equal(got, expected)
    row = diff.rows.filter((pl.col("row") == 1) & (pl.col("parameter") == "ts")).row(0, named=True)
    assert (row["rendered"], row["sent"]) == ("1704103200", "99")
    summary = diff.summary.filter(pl.col("parameter") == "ts").select("status", "count")
    assert summary.with_columns(pl.col("status").cast(str)).to_dicts() == [
        {"status": "same", "count": 1},
        {"status": "different", "count": 1},
    ]


def test_compare_marks_values_it_cannot_render() -> None:
    frame = pl.DataFrame({"postback_url": ["https://pb.example.com/?tx=123"]})
    diff = pk.compare_rendered("https://pb.example.com/?tx={transaction_id}", frame)
    statuses = dict(zip(diff.rows["parameter"], diff.rows["status"].cast(str), strict=True))
    assert statuses == {"(base)": "same", "tx": "not_rendered"}


def test_compare_needs_the_sent_url() -> None:
    with pytest.raises(MissingColumnsError, match="postback_url"):
        pk.compare_rendered("https://pb.example.com/?a={click_id}", export())


# --------------------------------------------------------------------------- the URL codec


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=5))
def test_percent_encode_equals_quote(values: list[str]) -> None:
    out = pl.DataFrame({"v": values}).select(percent_encode(pl.col("v")))["v"].to_list()
    assert out == [quote(v, safe="-._~") for v in values]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(
                ["%", "%2", "%2F", "%2f", "%C3%A9", "%E2%82%AC", "%FF", "%C3", "+", "a", "é", " "]
            )
            | st.text(max_size=3),
            max_size=8,
        ).map("".join),
        min_size=1,
        max_size=5,
    )
)
def test_percent_decode_equals_unquote_or_keeps_the_value(values: list[str]) -> None:
    out = pl.DataFrame({"v": values}).select(percent_decode(pl.col("v")))["v"].to_list()
    for value, got in zip(values, out, strict=True):
        try:
            want = unquote(value, errors="strict")
        except UnicodeDecodeError:
            want = value
        assert got == want


def test_query_parameters_split_and_decode() -> None:
    urls = pl.DataFrame({"u": ["https://x.example/p?a=%20b&c=d+e&f&&g=1=2#h=3", "a=1", None]})
    got = urls.select(query_parameters(pl.col("u")))["u"].to_list()
    assert got == [
        [
            {"name": "a", "value": " b"},
            {"name": "c", "value": "d e"},
            {"name": "f", "value": None},
            {"name": "g", "value": "1=2"},
        ],
        [{"name": "a", "value": "1"}],
        None,
    ]
