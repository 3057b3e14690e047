from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit.signatures import (
    EMPTY_BODY,
    MESSAGE_LIMIT,
    NO_ANSWER,
    message_expr,
    signature_expr,
    with_signatures,
)

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)
NGINX_504 = NGINX_502.replace("502 Bad Gateway", "504 Gateway Time-out")
CLOUDFLARE_522 = (
    '<!DOCTYPE html><html lang="en-US"><head><title>partner.example | 522: Connection timed out'
    '</title><style>body{color:red}</style><script>var t="timeout 1";</script></head><body>'
    '<h1><span class="inline-block">Connection timed out</span> '
    '<span class="code-label">Error code 522</span></h1></body></html>'
)

# --------------------------------------------------------------------------- messages

MESSAGES = [
    # the seed's example: the key is "Message", other keys are noise
    (
        '{"StoreId":"","AppId":"","Message":"malformed clickId","Status":400,"EvType":0,'
        '"IsAttributed":1}',
        "malformed clickId",
    ),
    ('{"message": "Click not found"}', "Click not found"),
    ('{"msg":"bad goal"}', "bad goal"),
    ('{"success":false,"error":"Invalid token"}', "Invalid token"),
    ('{"err":"x1"}', "x1"),
    ('{"error_message":"a"}', "a"),
    ('{"errorMessage":"b"}', "b"),
    ('{"description":"c"}', "c"),
    ('{"detail":"d"}', "d"),
    ('{"reason":"e"}', "e"),
    ('{"status":"error","status_message":"f"}', "f"),
    # an error code as text is the message when nothing better is there; a number is not
    ('{"status":"rejected","code":"INVALID_GOAL_VALUE","goal_value":"1,5"}', "INVALID_GOAL_VALUE"),
    ('{"code":"E42","message":"goal not found"}', "goal not found"),
    ('{"errorCode":"TOKEN_EXPIRED"}', "TOKEN_EXPIRED"),
    # nested and arrays: the message wins over the object that holds it
    ('{"error":{"code":1003,"message":"Click expired"}}', "Click expired"),
    ('{"errors":[{"code":"E1","message":"goal_id is required"}]}', "goal_id is required"),
    ('{"errors":["token is missing"]}', "token is missing"),
    ('[{"message":"array top"}]', "array top"),
    ('{"data":{"message":"inner"}}', "inner"),
    # literals and empty values are not messages: the next key or the body itself answers
    ('{"error":true,"message":"with flag"}', "with flag"),
    ('{"message":"","error":"second"}', "second"),
    ('{"error":1003}', '{"error":1003}'),
    ('{"status":"error","code":12}', '{"status":"error","code":12}'),
    ('{"message":"Клик не найден"}', "Клик не найден"),
    ('{"message":"\\u041a\\u043b\\u0438\\u043a"}', "Клик"),
    # key=value
    ("success=false; err_msg=Click not found; code=12", "Click not found"),
    ("status=error&message=Invalid+goal+value", "Invalid goal value"),
    ("result=0;error=Token expired", "Token expired"),
    ("success=true; error=0", "success=true; error=0"),
    # markup
    (NGINX_502, "502 Bad Gateway"),
    (NGINX_504, "504 Gateway Time-out"),
    (CLOUDFLARE_522, "partner.example | 522: Connection timed out"),
    ("<html><body><h1>Service &amp; more</h1></body></html>", "Service & more"),
    ("<html><body><p>Just   a\n page</p></body></html>", "Just a page"),
    ('<?xml version="1.0"?><response><error>Invalid click</error></response>', "Invalid click"),
    # tokens and sentences
    ("INVALID_CLICK_ID", "INVALID_CLICK_ID"),
    ('"OK"', "OK"),
    ("  Conversion\n\trejected  ", "Conversion rejected"),
    ("Ошибка: клик не найден", "Ошибка: клик не найден"),
    ("<num> Bad Gateway", "<num> Bad Gateway"),  # a placeholder is not markup
    # nothing
    ("", None),
    ("   \n ", None),
    (None, None),
]


@pytest.mark.parametrize(("body", "expected"), MESSAGES)
def test_extract_message(body: str | None, expected: str | None) -> None:
    assert pk.extract_message(body) == expected


def test_message_expr_is_vectorised_and_agrees_with_the_scalar() -> None:
    bodies = [b for b, _ in MESSAGES]
    frame = pl.DataFrame({"b": bodies}, schema={"b": pl.String})
    got = frame.select(message_expr(pl.col("b")).alias("m"))
    expected = pl.DataFrame({"m": [m for _, m in MESSAGES]}, schema={"m": pl.String})
    assert_frame_equal(got, expected)


def test_long_bodies_are_cut_at_the_limit() -> None:
    sentence = "Internal error while processing the conversion " + "x" * 100_000
    message = pk.extract_message(sentence)
    assert message is not None
    assert len(message) == MESSAGE_LIMIT and message.endswith("…")
    assert message.startswith("Internal error while processing the conversion")
    # a 100 kB page: the title is the message
    page = "<html><head><title>Oops</title></head><body>" + "<p>filler</p>" * 8000 + "</body>"
    assert len(page) > 100_000 and pk.extract_message(page) == "Oops"
    # a 100 kB JSON document: the key is still found
    doc = json.dumps({"padding": "y" * 100_000, "message": "goal not configured"})
    assert pk.extract_message(doc) == "goal not configured"
    # Cyrillic is cut by characters, not bytes
    cyrillic = pk.extract_message("ошибка " * 1000)
    assert cyrillic is not None and len(cyrillic) == MESSAGE_LIMIT
    assert cyrillic.startswith("ошибка ошибка")


# --------------------------------------------------------------------------- signatures

COLLAPSE = [
    ("click not found: 1a2b3c4d5e6f", "click not found: 9f8e7d6c5b4a"),
    # a hex ID that happens to be all digits stays with its siblings
    ("click not found: 1a2b3c4d", "click not found: 12345678"),
    ("Conversion 12 rejected", "Conversion 123456789012345678901 rejected"),
    (
        "device 123e4567-e89b-12d3-a456-426614174000 unknown",
        "device 9F3C1B6E-0000-4000-8000-ABCDEFABCDEF unknown",
    ),
    ("token expired at 2024-05-01T10:00:00Z", "token expired at 2025-12-31 23:59:59"),
    ("sent at 01.05.2024 10:00", "sent at 31.12.2025 23:59"),
    ("Date: Wed, 01 May 2024 10:00:00 GMT", "Date: Fri, 27 Dec 2025 08:01:02 GMT"),
    ("IP 10.0.0.1 is not whitelisted", "IP 192.168.100.200:8080 is not whitelisted"),
    ("IP 2001:db8::1 is not whitelisted", "IP fe80::1ff:fe23:4567:890a is not whitelisted"),
    ("see https://a.example/x?click=1", "see http://b.example/y"),
    ("user a@b.example blocked", "user john.smith+x@mail.example.org blocked"),
    ('value "abc 1" is invalid', 'value "Zz-9 long value" is invalid'),
    ("value 'abc 1' is invalid", "value 'Zz 9' is invalid"),
    ("gclid Cj0KCQiA4sjLBhCxARIsAHgq9 unknown", "gclid EAIaIQobChMI8tDw6 unknown"),
    ("retry_5", "retry_77"),
    # the same message in different bodies
    ('{"message":"Click 77 not found"}', "success=false; err_msg=Click 8 not found"),
    ('{"error":{"message":"Клик 5 не найден"}}', "Клик 123 не найден"),
    ("Conversion   rejected\n", "Conversion rejected"),
]

APART = [
    ("malformed clickId", "malformed goal"),
    ("INVALID_CLICK_ID", "INVALID_GOAL_ID"),
    ('Parameter "click_id" is required', 'Parameter "goal_id" is required'),
    ("Click not found", "click not found"),  # case is kept
    ("502 Bad Gateway", "504 Gateway Time-out"),
    ("", "(empty)"),
]


@pytest.mark.parametrize(("a", "b"), COLLAPSE)
def test_bodies_differing_in_what_varies_share_a_signature(a: str, b: str) -> None:
    assert pk.signature_of(a) == pk.signature_of(b)


@pytest.mark.parametrize(("a", "b"), APART)
def test_different_templates_stay_apart(a: str, b: str) -> None:
    assert pk.signature_of(a) != pk.signature_of(b)


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        ("click not found: 1a2b3c4d5e", "click not found: <num>"),
        (
            "Conversion for a@b.example from 10.0.0.1 at 2024-05-01 10:00:00 rejected",
            "Conversion for <email> from <ip> at <ts> rejected",
        ),
        (
            'Parameter "click_id" has invalid value "abc 1"',
            'Parameter "click_id" has invalid value "<str>"',
        ),
        (
            "Parameter 'goal' value 'x y' can't be used",
            "Parameter 'goal' value '<str>' can't be used",
        ),
        ("see https://partner.example/docs?id=5 now", "see <url> now"),
        ("device 123e4567-e89b-12d3-a456-426614174000", "device <uuid>"),
        ("gclid Cj0KCQiA4sjLBhCxARIsAHgq9", "gclid <id>"),
        ("flags 0x1F", "flags <num>"),
        (NGINX_502, "<num> Bad Gateway"),
        ("Клик не найден: 8f14e45fceea167a5a36dedd4bea2543", "Клик не найден: <num>"),
        ("INVALID_SECURITY_TOKENS", "INVALID_SECURITY_TOKENS"),
    ],
)
def test_masks(body: str, signature: str) -> None:
    assert pk.signature_of(body) == signature


def test_empty_body_and_no_answer() -> None:
    assert pk.signature_of(None, code=None) == NO_ANSWER
    assert pk.signature_of("", code=None) == NO_ANSWER
    assert pk.signature_of("", code=0) == NO_ANSWER  # how exports write "no answer"
    assert pk.signature_of("  ", code=400) == EMPTY_BODY
    assert pk.signature_of(None, code=204) == EMPTY_BODY
    assert pk.signature_of(None) == EMPTY_BODY  # code not given: nothing says "no answer"
    assert pk.signature_of("timeout", code=None) == "timeout"  # a body without a code


def test_signature_expr_on_a_frame_with_codes() -> None:
    frame = pl.DataFrame(
        {
            "response_body": ["click 12 gone", "click 345 gone", None, None, ""],
            "response_code": [404, 404, None, 204, 500],
        },
        schema_overrides={"response_code": pl.Int32},
    )
    got = frame.select(signature_expr(pl.col("response_body"), pl.col("response_code")).alias("s"))
    expected = pl.DataFrame(
        {"s": ["click <num> gone", "click <num> gone", NO_ANSWER, EMPTY_BODY, EMPTY_BODY]}
    )
    assert_frame_equal(got, expected)


def test_with_signatures_keeps_rows_and_agrees_with_the_expressions() -> None:
    bodies = [b for b, _ in MESSAGES] + [a for a, _ in COLLAPSE] + [b for _, b in COLLAPSE]
    # the staged form parses a JSON body only for the paths whose key it contains
    bodies += [
        '{"\\u006dessage":"a key spelled with an escape"}',
        '[{"message":"m0"}]',
        '{"error":{"message":""},"message":"top"}',
        '{ "message" : 5, "error":"e"}',
        '  {"msg": "padded"}  ',
        '{"message":"a"}\n',
    ]
    bodies = bodies * 3  # repeated bodies: computed once, joined back to every row
    codes = [None if i % 7 == 0 else 200 + i % 400 for i in range(len(bodies))]
    frame = pl.DataFrame(
        {"response_code": codes, "response_body": bodies, "row": range(len(bodies))},
        schema_overrides={"response_code": pl.Int32, "response_body": pl.String},
    )
    got = with_signatures(frame.lazy())
    assert isinstance(got, pl.LazyFrame)
    assert "UNIQUE" in got.explain()  # the regexes run over distinct bodies only
    direct = frame.with_columns(
        message_expr(pl.col("response_body")).alias("message"),
        signature_expr(pl.col("response_body"), pl.col("response_code")).alias("signature"),
    )
    assert_frame_equal(got.collect(), direct)
    scalar = [pk.signature_of(b, code=c) for b, c in zip(bodies[:40], codes[:40], strict=True)]
    assert direct["signature"].head(40).to_list() == scalar


def test_with_signatures_without_a_code_column_and_replacing_old_columns() -> None:
    frame = pl.DataFrame({"response_body": ["a 1", None], "signature": ["old", "old"]})
    got = with_signatures(frame)
    assert isinstance(got, pl.DataFrame)
    expected = pl.DataFrame(
        {
            "response_body": ["a 1", None],
            "message": ["a 1", None],
            "signature": ["a <num>", EMPTY_BODY],
        }
    )
    assert_frame_equal(got, expected)
    no_body = with_signatures(
        pl.DataFrame({"response_code": [None, 500]}, schema={"response_code": pl.Int32})
    )
    assert no_body["signature"].to_list() == [NO_ANSWER, EMPTY_BODY]
    assert no_body.columns == ["response_code", "message", "signature"]


# --------------------------------------------------------------------------- properties


def _signatures(bodies: list[str]) -> list[str]:
    frame = pl.DataFrame({"b": bodies}, schema={"b": pl.String})
    return frame.select(signature_expr(pl.col("b"))).to_series().to_list()


BODY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(list("{}[]\":,=;&<>/ abcxyz019_-.'кл\n")), max_size=200),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=30),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(["message", "error", "msg", "errors", "code", "status"]),
                children,
                max_size=4,
            )
        ),
        max_leaves=10,
    ).map(json.dumps),
    # key=value bodies whose value is often no message at all (a number, a quoted number)
    st.lists(
        st.tuples(
            st.sampled_from(["err_msg", "error", "message", "status", "code"]),
            st.one_of(
                st.integers().map(str),
                st.integers().map(lambda n: f'"{n}"'),
                st.text(alphabet=st.sampled_from(list('ab 01-."<>')), max_size=12),
            ),
        ).map("=".join),
        min_size=1,
        max_size=3,
    ).map("; ".join),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(BODY_TEXT, min_size=1, max_size=30))
def test_masking_is_idempotent_and_never_raises(bodies: list[str]) -> None:
    first = _signatures(bodies)
    assert all(isinstance(s, str) and s for s in first)
    assert all(len(s) <= MESSAGE_LIMIT for s in first)
    assert _signatures(first) == first
    messages = pl.DataFrame({"b": bodies}).select(message_expr(pl.col("b"))).to_series()
    assert all(m is None or len(m) <= MESSAGE_LIMIT for m in messages)


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        # no message in the body: the body is its own message, and its signature must stay one
        # (the masked "<str>" and "<num>" are not messages the second time round either)
        ('{"Message":"0"}', '{"Message":"<str>"}'),
        ('{"message":" ","code":"1"}', '{"message":"<str>","code":"<str>"}'),
        ("err_msg=0", "err_msg=<num>"),
        ("err_msg=-1", "err_msg=-<num>"),
        ('err_msg=""', 'err_msg=""'),  # an empty quoted value is no message
        # a quoted message masks to '"<str>"', which is not a JSON string to unwrap
        ('err_msg="12"', '"<str>"'),
        ('{"message":"\\"12\\""}', '"<str>"'),
        # what was a message stays one
        ('{"Message":"0","code":"INVALID_GOAL"}', "INVALID_GOAL"),
        ('"0"', "<num>"),
        ("<num>", "<num>"),
    ],
)
def test_a_signature_is_its_own_signature(body: str, signature: str) -> None:
    assert _signatures([body]) == [signature]
    assert _signatures([signature]) == [signature]


WORDS = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz ABXYZ.,:;!?-клмн")), max_size=40
)
SAME_KIND_PAIRS = st.one_of(
    st.tuples(st.integers(0, 10**30), st.integers(0, 10**30)).map(lambda p: tuple(map(str, p))),
    st.tuples(st.uuids(), st.uuids()).map(lambda p: tuple(map(str, p))),
    st.tuples(st.binary(min_size=4, max_size=20), st.binary(min_size=4, max_size=20)).map(
        lambda p: (p[0].hex(), p[1].hex())  # hex IDs, sometimes all digits
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(WORDS, WORDS, SAME_KIND_PAIRS), min_size=1, max_size=20))
def test_bodies_differing_only_in_an_embedded_id_collapse(
    cases: list[tuple[str, str, tuple[str, str]]],
) -> None:
    left = [f"{pre} {a} {post}" for pre, post, (a, _) in cases]
    right = [f"{pre} {b} {post}" for pre, post, (_, b) in cases]
    assert _signatures(left) == _signatures(right)
