from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlencode

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from postback_kit.errors import ConfigError
from postback_kit.params import (
    PROBLEMS,
    ParamRules,
    parameter_table,
    parse_query,
    suspect_parameters,
)

HIT = pl.col("outcome") == "request_error"
OK = pl.col("outcome") == "success"


def pairs(values: list[str | None]) -> list[tuple[str, str | None]]:
    out = parse_query(pl.DataFrame({"c": values}, schema={"c": pl.String}), "c").collect()
    return list(zip(out["name"].to_list(), out["value"].to_list(), strict=True))


# --------------------------------------------------------------------------- parse_query


def test_parse_query_long_format() -> None:
    frame = pl.DataFrame(
        {"postback_url": ["https://p.io/cb?click_id=ab12&goal=1", None, "https://p.io/x?a=%7Bb%7D"]}
    )
    expected = pl.DataFrame(
        {
            "row": pl.Series([0, 0, 2], dtype=pl.UInt32),
            "name": ["click_id", "goal", "a"],
            "value": ["ab12", "1", "{b}"],
        }
    )
    assert_frame_equal(parse_query(frame.lazy(), "postback_url").collect(), expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://p.io/cb?a=1&b=2#frag", [("a", "1"), ("b", "2")]),
        ("?a=1&b=2", [("a", "1"), ("b", "2")]),
        ("a=1&&b=2&", [("a", "1"), ("b", "2")]),
        ("flag&a=", [("flag", None), ("a", "")]),
        ("q=a+b%20c&m=%7Bclick_id%7D", [("q", "a b c"), ("m", "{click_id}")]),
        ("a=b=c", [("a", "b=c")]),
        ("a=1&a=2", [("a", "1"), ("a", "2")]),
        ("click_id=#click_id#&b=%23x", [("click_id", "#click_id#"), ("b", "#x")]),
        ("https://p.io/path/only", []),
        ("", []),
        ("r=http://x.io/?y=1&n=%D0%BF%D1%80%D0%B8", [("r", "http://x.io/?y=1"), ("n", "при")]),
        ("bad=%zz%&x=%FF%FE&t=100%", [("bad", "%zz%"), ("x", "%FF%FE"), ("t", "100%")]),
        ("a=1 & b=2", [("a", "1"), ("b", "2")]),
        ("u%20ser=1", [("u ser", "1")]),
    ],
)
def test_parse_query_cases(text: str, expected: list[tuple[str, str | None]]) -> None:
    assert pairs([text]) == expected


@pytest.mark.parametrize(
    "text",
    [
        "param1%3D1%26param2%3D%257Bx%257D",
        "?param1%3D1%26param2%3D%257Bx%257D",
        "%3Fparam1%3D1%26param2%3D%257Bx%257D",
    ],
)
def test_click_url_parameters_are_encoded_once_more(text: str) -> None:
    assert pairs([text]) == [("param1", "1"), ("param2", "{x}")]


def test_null_and_missing_values_give_no_rows() -> None:
    assert pairs([None, None]) == []


names = st.text(min_size=1, max_size=12)
values = st.text(max_size=20)
param_lists = st.lists(st.tuples(names, values), max_size=6)


@given(param_lists, st.sampled_from(["", "?", "https://partner.io/cb?", "http://h/p/a?"]))
@settings(max_examples=150, deadline=None)
def test_round_trip_of_urlencoded_parameters(params: list[tuple[str, str]], prefix: str) -> None:
    text = prefix + urlencode(params)
    assert pairs([text]) == params


@given(param_lists)
@settings(max_examples=100, deadline=None)
def test_round_trip_of_click_url_parameters(params: list[tuple[str, str]]) -> None:
    query = urlencode(params)
    assert pairs([quote(query, safe="")]) == params
    assert pairs(["?" + quote(query, safe="")]) == params


@given(st.lists(st.one_of(st.none(), st.text(max_size=60)), max_size=8))
@settings(max_examples=200, deadline=None)
def test_parse_query_never_raises(texts: list[str | None]) -> None:
    out = pairs(texts)
    assert all(isinstance(name, str) for name, _ in out)


@given(st.text(alphabet="%=&?#+{}()0123456789abcdefABCDEF%xyzп:/ ", max_size=40))
@settings(max_examples=200, deadline=None)
def test_parse_query_never_raises_on_url_like_text(text: str) -> None:
    pairs([text])


# --------------------------------------------------------------------------- problems


def frame_of(ok_urls: list[str], hit_urls: list[str], column: str = "postback_url") -> pl.DataFrame:
    return pl.DataFrame(
        {
            column: ok_urls + hit_urls,
            "outcome": ["success"] * len(ok_urls) + ["request_error"] * len(hit_urls),
            "delivery_id": pl.Series(range(len(ok_urls) + len(hit_urls)), dtype=pl.UInt64),
        }
    )


CLICK_IDS = [
    "3f2a9c0be17d4e5fa0c1b2d3e4f5a6b7",
    "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "deadbeefcafebabe0123456789abcdef",
    "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
]


def ok_urls(n: int = 5) -> list[str]:
    return [f"https://p.io/cb?click_id={CLICK_IDS[i % 5]}&goal=7" for i in range(n)]


def top(frame: pl.DataFrame, **kw: object) -> tuple[str, str]:
    suspects = suspect_parameters(frame, HIT, OK, **kw)  # type: ignore[arg-type]
    assert suspects, "no suspect found"
    return suspects[0].name, suspects[0].problem


def test_empty_parameter() -> None:
    frame = frame_of(ok_urls(), ["https://p.io/cb?click_id=&goal=7"] * 4)
    suspects = suspect_parameters(frame, HIT, OK)
    assert [(s.name, s.problem) for s in suspects] == [("click_id", "empty")]
    s = suspects[0]
    assert (s.share_failing, s.share_ok, s.score) == (1.0, 0.0, 1.0)
    assert s.example_failing == "" and s.example_ok == CLICK_IDS[0]
    assert (s.failing, s.ok, s.source) == (4, 0, "postback")
    assert json.loads(json.dumps(s.to_dict()))["problem"] == "empty"


def test_missing_parameter() -> None:
    frame = frame_of(ok_urls(), ["https://p.io/cb?goal=7"] * 3)
    assert top(frame) == ("click_id", "missing")
    # a URL without any query misses every parameter
    assert top(frame_of(ok_urls(), ["https://p.io/cb"] * 3)) == ("click_id", "missing")


@pytest.mark.parametrize(
    "macro",
    [
        "{click_id}",
        "(click_id)",
        "%7Bclick_id%7D",
        "${click_id}",
        "{{click_id}}",
        "#click_id#",
        "[click_id]",
        "%257Bclick_id%257D",
        "{{ click_id }}",
    ],
)
def test_unresolved_macro(macro: str) -> None:
    frame = frame_of(ok_urls(), [f"https://p.io/cb?click_id={macro}&goal=7"] * 3)
    assert top(frame) == ("click_id", "macro")


@pytest.mark.parametrize("value", ['{"a":1}', "(1)", "[]", "a{b}c"])
def test_values_that_are_not_macros(value: str) -> None:
    rules = ParamRules.default()
    out = pl.select(rules.is_macro(pl.lit(value))).item()
    assert out is False


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("3f2a9c0be17d4e5fa0c1b2d3e4f5a6b", "truncated"),
        ("undefined", "a word"),
        ("3f2a9c0b-e17d-4e5f-a0c1-b2d3e4f5a6b7", "a uuid"),
        ("12345", "digits"),
    ],
)
def test_malformed_value(bad: str, why: str) -> None:
    frame = frame_of(ok_urls(), [f"https://p.io/cb?click_id={bad}&goal=7"] * 3)
    assert top(frame) == ("click_id", "malformed"), why


def test_values_of_the_usual_shapes_are_not_malformed() -> None:
    # varying-length numeric IDs: every length seen among successes is normal
    ok = [f"https://p.io/cb?click_id={v}" for v in ("1234567", "12345678", "123456789") * 2]
    hit = [f"https://p.io/cb?click_id={v}" for v in ("7654321", "87654321", "987654321")]
    table = parameter_table(frame_of(ok, hit), HIT, OK)
    malformed = table.filter(pl.col("problem") == "malformed")
    assert malformed["failing"].to_list() == [0]
    assert suspect_parameters(frame_of(ok, hit), HIT, OK) == []


def test_changed_value_of_a_rotated_token() -> None:
    ok = [f"https://p.io/cb?click_id={c}&token=9f8e7d6c5b4a3921" for c in CLICK_IDS]
    hit = [f"https://p.io/cb?click_id={c}&token=1a2b3c4d5e6f7a8b" for c in CLICK_IDS[:3]]
    suspects = suspect_parameters(frame_of(ok, hit), HIT, OK)
    assert [(s.name, s.problem) for s in suspects] == [("token", "changed")]
    assert suspects[0].example_failing == "1a2b3c4d5e6f7a8b"
    assert suspects[0].example_ok == "9f8e7d6c5b4a3921"


def test_changed_needs_several_deliveries_on_each_side() -> None:
    ok = [f"https://p.io/cb?token=9f8e7d6c5b4a3921&c={c}" for c in CLICK_IDS]
    hit = ["https://p.io/cb?token=1a2b3c4d5e6f7a8b&c=" + CLICK_IDS[0]] * 3
    frame = frame_of(ok, hit).with_columns(
        delivery_id=pl.Series([1, 2, 3, 4, 5, 9, 9, 9], dtype=pl.UInt64)  # one retried postback
    )
    table = parameter_table(frame, HIT, OK)
    assert table.filter(pl.col("problem") == "changed")["failing"].sum() == 0


def test_no_successes_at_all() -> None:
    frame = frame_of([], ["https://p.io/cb?click_id=&goal=7", "https://p.io/cb?click_id=&goal=8"])
    suspects = suspect_parameters(frame, HIT, OK)
    assert [(s.name, s.problem, s.share_ok, s.example_ok) for s in suspects] == [
        ("click_id", "empty", 0.0, None)
    ]


def test_missing_columns_give_nothing() -> None:
    frame = pl.DataFrame({"outcome": ["success", "request_error"], "response_code": [200, 400]})
    assert suspect_parameters(frame, HIT, OK) == []
    table = parameter_table(frame, HIT, OK)
    assert table.is_empty() and "share_failing" in table.columns


def test_click_url_parameters_and_postback_parameters_are_kept_apart() -> None:
    frame = pl.DataFrame(
        {
            "postback_url": [f"https://p.io/cb?click_id={c}" for c in CLICK_IDS[:4]],
            "postback_url_parameters": [f"click_id={c}" for c in CLICK_IDS[:4]],
            "click_url_parameters": [quote(f"sub1={c}", safe="") for c in ("a", "b", "", "")],
            "outcome": ["success", "success", "request_error", "request_error"],
        }
    )
    table = parameter_table(frame, HIT, OK)
    assert sorted(set(table.select("source", "name").iter_rows())) == [
        ("click", "sub1"),
        ("postback", "click_id"),
    ]
    assert top(frame) == ("sub1", "empty")
    assert suspect_parameters(frame, HIT, OK)[0].source == "click"


def test_other_rows_are_ignored_and_min_share_applies() -> None:
    frame = pl.concat(
        [
            frame_of(ok_urls(), ["https://p.io/cb?click_id=&goal=7", *ok_urls(3)]),
            pl.DataFrame(
                {
                    "postback_url": ["https://p.io/cb?click_id={x}"] * 5,
                    "outcome": ["partner_error"] * 5,  # another issue: neither hit nor ok
                    "delivery_id": pl.Series(range(100, 105), dtype=pl.UInt64),
                }
            ),
        ]
    )
    table = parameter_table(frame, HIT, OK)
    macro = table.filter((pl.col("name") == "click_id") & (pl.col("problem") == "macro"))
    assert macro["failing"].to_list() == [0] and macro["ok"].to_list() == [0]
    assert suspect_parameters(frame, HIT, OK) == []  # empty in 1 of 4 hit attempts only
    assert top(frame, min_share=0.25, min_score=0.2) == ("click_id", "empty")


def test_parameter_table_is_every_parameter_times_every_problem() -> None:
    frame = frame_of(["https://p.io/cb?c=" + CLICK_IDS[0]] * 2, ["https://p.io/cb?c="])
    table = parameter_table(frame, HIT, OK)
    expected = pl.DataFrame(
        {
            "source": ["postback"] * 5,
            "name": ["c"] * 5,
            # ties: macro, malformed, changed, empty, missing (see suspect_parameters)
            "problem": ["empty", "macro", "malformed", "changed", "missing"],
            "failing": [1, 0, 0, 0, 0],
            "ok": [0, 0, 0, 0, 0],
            "share_failing": [1.0, 0.0, 0.0, 0.0, 0.0],
            "share_ok": [0.0] * 5,
            "score": [1.0, 0.0, 0.0, 0.0, 0.0],
            "example_failing": ["", None, None, None, None],
            "example_ok": [CLICK_IDS[0]] * 5,
        }
    )
    assert_frame_equal(table, expected)
    assert set(table["problem"]) == set(PROBLEMS)


def test_user_rules_extend_the_macro_list(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[[macro]]\nname = \"angles\"\npattern = '^<<\\w+>>$'\n", "utf-8")
    rules = ParamRules.load(path)
    frame = frame_of(ok_urls(), ["https://p.io/cb?click_id=%3C%3Cclick%3E%3E&goal=7"] * 3)
    assert top(frame) == ("click_id", "malformed")  # unknown style: just an odd value
    assert top(frame, rules=rules) == ("click_id", "macro")
    assert len(rules.macros) == len(ParamRules.default().macros) + 1


def test_bad_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[macro]]\nname = 'no pattern'\n", "utf-8")
    with pytest.raises(ConfigError, match="pattern"):
        ParamRules.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        ParamRules.load(tmp_path / "absent.toml")


def test_problem_shared_by_some_successes_scores_lower() -> None:
    ok = ok_urls(6) + ["https://p.io/cb?click_id=&goal=7"] * 4  # 40 % of successes empty too
    hit = ["https://p.io/cb?click_id=&goal=7", "https://p.io/cb?click_id=&goal=8"] * 3
    frame = frame_of(ok, hit)
    s = suspect_parameters(frame, HIT, OK)[0]
    assert (s.name, s.problem, s.failing, s.ok) == ("click_id", "empty", 6, 4)
    assert (s.share_failing, s.share_ok) == (1.0, 0.4)
    assert s.score == pytest.approx(0.6)
    assert s.example_failing == "" and s.example_ok == CLICK_IDS[0]
    assert suspect_parameters(frame, HIT, OK, min_score=0.7) == []


@pytest.mark.parametrize("bad", ["149,00", "12,5", "-0,99"])
def test_decimal_comma_is_malformed_where_successes_use_a_point(bad: str) -> None:
    ok = [f"https://p.io/cb?goal_value={v}&c=1" for v in ("149.00", "12.5", "1490.00", "99.90")]
    frame = frame_of(ok, [f"https://p.io/cb?goal_value={quote(bad)}&c=1"] * 3)
    assert top(frame) == ("goal_value", "malformed")
    # and the other way round: a point where the partner's successes all use a comma
    ok = [f"https://p.io/cb?goal_value={quote(v)}" for v in ("149,00", "12,5", "99,90")]
    assert top(frame_of(ok, ["https://p.io/cb?goal_value=149.00"] * 3)) == (
        "goal_value",
        "malformed",
    )


def test_shares_are_per_delivery_not_per_attempt() -> None:
    # delivery 10 (empty click_id) is retried 24 times, delivery 11 (a good click_id) once:
    # one of the two failing postbacks has the problem, not 24 of 25 attempts
    bad, good = (
        "https://p.io/cb?click_id=&goal=7",
        f"https://p.io/cb?click_id={CLICK_IDS[1]}&goal=7",
    )
    frame = pl.DataFrame(
        {
            "postback_url": ok_urls() + [bad] * 24 + [good],
            "outcome": ["success"] * 5 + ["request_error"] * 25,
            "delivery_id": pl.Series([*range(5), *[10] * 24, 11], dtype=pl.UInt64),
        }
    )
    row = (
        parameter_table(frame, HIT, OK)
        .filter((pl.col("name") == "click_id") & (pl.col("problem") == "empty"))
        .row(0, named=True)
    )
    assert (row["failing"], row["share_failing"]) == (1, 0.5)
    assert suspect_parameters(frame, HIT, OK, min_share=0.6) == []
    # a delivery cured by a retry counts once on each side
    cured = frame.with_columns(
        outcome=pl.when(pl.int_range(pl.len()) == 28).then(pl.lit("success")).otherwise("outcome")
    )
    row = (
        parameter_table(cured, HIT, OK)
        .filter((pl.col("name") == "click_id") & (pl.col("problem") == "empty"))
        .row(0, named=True)
    )
    assert (row["failing"], row["ok"], row["share_ok"]) == (1, 1, pytest.approx(1 / 6))


def test_empty_in_the_postback_ranks_before_missing_in_the_click_url() -> None:
    # the tracking link lacks click_id, so AppMetrica sends click_id= empty: both separate the
    # failures perfectly; the partner reads the postback, so that one comes first
    ok_click = [f"click_id={c}&site=1" for c in CLICK_IDS]
    frame = pl.DataFrame(
        {
            "postback_url": ok_urls() + ["https://p.io/cb?click_id=&goal=7"] * 4,
            "click_url_parameters": ok_click + ["site=1"] * 4,
            "outcome": ["success"] * 5 + ["request_error"] * 4,
            "delivery_id": pl.Series(range(9), dtype=pl.UInt64),
        }
    )
    suspects = [(s.source, s.name, s.problem) for s in suspect_parameters(frame, HIT, OK)]
    assert suspects[:2] == [("postback", "click_id", "empty"), ("click", "click_id", "missing")]


def test_a_literal_macro_ranks_before_an_empty_value() -> None:
    # iOS postbacks: idfa={idfa} sent literally, gaid empty (normal on iOS); both separate
    ok = [f"https://p.io/cb?idfa=&gaid={c}" for c in CLICK_IDS]
    frame = frame_of(ok, ["https://p.io/cb?idfa=%7Bidfa%7D&gaid="] * 4)
    suspects = [(s.name, s.problem) for s in suspect_parameters(frame, HIT, OK)]
    assert suspects == [("idfa", "macro"), ("gaid", "empty")]
