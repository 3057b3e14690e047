"""The staged message/signature computation of ``classify`` equals the plain expressions.

``classify`` and ``with_signatures`` compute messages and signatures in steps over the distinct
bodies (each JSON body parsed only for the paths whose keys it contains and leaving at the first
path that gives a message, markup and ``key=value`` rules only over the bodies that are not JSON,
masks once per distinct raw message). ``message_expr`` and ``signature_expr`` are the rules as one
expression each (every JSON path tried on every body), the form they were written in: the two
must agree on every body, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit import signatures
from postback_kit.signatures import _JSON_PATHS, message_expr, signature_expr, with_signatures

# bodies that exercise the shortcuts: keys the paths name at several depths, values that are
# no message (so a later path must win), keys spelled with escapes, keys only as values, JSON
# that is not valid, markup and key=value bodies, IDs the masks replace
EDGE_BODIES = [
    '{"error":{"message":""},"message":"top"}',
    '{"error":{"message":"0"},"error_message":"later path"}',
    '{"error":"string error","message":"message wins"}',
    '{"error":{"code":7},"msg":"m"}',
    '{"errors":[{"code":"E1"}],"errors2":"x","detail":"d"}',
    '{"errors":[],"reason":"r"}',
    '{"data":{"error":"nested data error"},"message":"top"}',
    '{"data":"message","status":"error"}',
    '{"status":"error","note":"the key \\"message\\" is missing"}',
    '{"\\u006dessage":"a key spelled with an escape"}',
    '{"error":{"\\u006dessage":"escaped nested"}}',
    '{"message":"\\u00e9t\\u00e9 1234567890abcdef1234"}',
    '[{"message":"m0"},{"message":"m1"}]',
    '[{"error":"e0"}]',
    '["just", "strings"]',
    '{ "message" : 5, "error":"e"}',
    '{"message": null, "Message": "capital"}',
    '{"message":"unterminated',
    '{not json at all, "message": "x"}',
    "{}",
    "[]",
    '  {"msg": "padded"}  ',
    '{"message":"a"}\n',
    '{"code":"INVALID_GOAL_VALUE","errorCode":"LATER"}',
    '{"code":404}',
    '{"Error":{"Message":"aws style 2024-05-01T10:00:00Z"}}',
    '{"response":{"message":"resp msg 550e8400-e29b-41d4-a716-446655440000"}}',
    "success=false; err_msg=DUPLICATE_CLICK_ID; click_id=7713992977283093366",
    "status=error&message=Invalid+goal%20value",
    '"a quoted body 12345"',
    '"<str>"',
    "<html><head><title>502 Bad Gateway</title></head></html>",
    "<?xml version='1.0'?><error><message>xml says no</message></error>",
    "<b>bold</b> 10.0.0.1 said no at 10:00:00",
    "plain text with id abcdefghijklmno1234567 and mail a.b@example.com",
    "",
    "   ",
    None,
]


def _direct(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        message_expr(pl.col("response_body")).alias("message"),
        signature_expr(pl.col("response_body"), pl.col("response_code")).alias("signature"),
    )


def _frame(bodies: list[str | None]) -> pl.DataFrame:
    codes = [None if i % 11 == 0 else (200, 400, 404, 500, 502)[i % 5] for i in range(len(bodies))]
    return pl.DataFrame(
        {"response_code": codes, "response_body": bodies},
        schema={"response_code": pl.Int32, "response_body": pl.String},
    )


def test_edge_bodies_agree_with_the_expressions() -> None:
    frame = _frame(EDGE_BODIES * 2)
    assert_frame_equal(with_signatures(frame), _direct(frame))


def test_every_json_path_alone_and_after_an_unusable_one() -> None:
    bodies: list[str | None] = []
    for i, path in enumerate(_JSON_PATHS):
        value: object = f"message of path {i}"
        doc: object = value
        # build the document the path reads: $.a.b → {"a": {"b": v}}, $.a[0] → {"a": [v]}
        for part in reversed(path.removeprefix("$").replace("[0]", ".[0]").split(".")[1:]):
            doc = [doc] if part == "[0]" else {part: doc}
        if path.startswith("$["):
            doc = [doc]
        bodies.append(json.dumps(doc))
        # the same key with an unusable value, next to a later key with a usable one
        if isinstance(doc, dict):
            bodies.append(json.dumps({**doc, "message": "fallback", "reason": "r"}))
            bodies.append(json.dumps({k: "" for k in doc} | {"err_msg": "unusable first"}))
    frame = _frame(bodies)
    got = with_signatures(frame)
    assert_frame_equal(got, _direct(frame))
    # the documents really carry the message each path reads (the test would pass vacuously
    # if they were built wrong)
    assert got["message"].str.starts_with("message of path").sum() >= len(_JSON_PATHS) - 2


def test_classify_on_a_generated_export_agrees_with_the_expressions(tmp_path: Path) -> None:
    pk.samples.generate(6_000, seed=11).write_csv(tmp_path)
    frame = pk.load(tmp_path, cache=False).collect()
    classified = pk.classify(frame.select("response_code", "response_body", "notifying_status"))
    expected = _direct(frame.select("response_code", "response_body"))
    assert classified.select("message", "signature").equals(expected.select("message", "signature"))
    assert classified["response_body"].n_unique() > 500  # many distinct bodies were compared
    assert classified["message"].n_unique() > 5


JSON_KEYS = sorted({k for p in _JSON_PATHS for k in p.replace("[0]", "").split(".")[1:] if k})
JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**20)
    | st.text(alphabet=st.sampled_from(list("ab 09_-:<>\"'{}")), max_size=20),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from([*JSON_KEYS, "status", "x"]), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            JSONISH.map(json.dumps),
            JSONISH.map(lambda d: json.dumps(d, ensure_ascii=True).replace("e", "\\u0065")),
            st.text(max_size=60),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_random_bodies_agree_with_the_expressions(bodies: list[str]) -> None:
    frame = _frame(list(bodies))
    assert_frame_equal(with_signatures(frame), _direct(frame))


def test_split_between_threads_gives_the_same_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    # 61 distinct bodies, each with a message: no slicing divides them evenly
    bodies = [b for b in EDGE_BODIES if b and b.strip()]
    bodies += [f"err_msg=problem number {i}" for i in range(61 - len(bodies))]
    frame = _frame(bodies * 2)
    whole = with_signatures(frame)
    monkeypatch.setattr(signatures, "_PARALLEL_ROWS", 4)  # several slices even for this frame
    monkeypatch.setattr(signatures.pl, "thread_pool_size", lambda: 4)
    split = with_signatures(frame)
    assert_frame_equal(split, whole)
    assert_frame_equal(split, _direct(frame))
