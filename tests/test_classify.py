from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit.classify import FAILING_OUTCOMES, OUTCOME_DTYPE
from postback_kit.cli import main
from postback_kit.errors import ConfigError, MissingColumnsError

SCHEMA = {
    "response_code": pl.Int32,
    "response_body": pl.String,
    "notifying_status": pl.Categorical,
}
ADDED = {
    "outcome": OUTCOME_DTYPE,
    "failure": pl.Boolean,
    "message": pl.String,
    "signature": pl.String,
}


def attempts(rows: list[tuple[int | None, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def expected(frame: pl.DataFrame, rows: list[tuple[str, bool, str | None, str]]) -> pl.DataFrame:
    added = pl.DataFrame(rows, schema=ADDED, orient="row")
    return pl.concat([frame, added], how="horizontal")


def test_contract_types_and_order() -> None:
    frame = attempts([(200, "OK", "sent")])
    out = pk.classify(frame)
    assert list(out.schema.items()) == list({**SCHEMA, **ADDED}.items())
    assert pk.OUTCOMES == (
        "success",
        "request_error",
        "partner_error",
        "network_error",
        "other_code",
        "soft_failure",
        "false_failure",
    )
    assert (
        tuple(o for o in pk.OUTCOMES if o not in ("success", "false_failure")) == FAILING_OUTCOMES
    )


def test_no_code_is_a_network_error() -> None:
    frame = attempts(
        [
            (None, None, "failed"),
            (None, "", "failed"),
            (0, None, "failed"),
            (None, "Read timed out", "failed"),
        ]
    )
    assert_frame_equal(
        pk.classify(frame),
        expected(
            frame,
            [
                ("network_error", True, None, "(no answer)"),
                ("network_error", True, None, "(no answer)"),
                ("network_error", True, None, "(no answer)"),  # exports write 0 for no answer
                ("network_error", True, "Read timed out", "Read timed out"),
            ],
        ),
    )


def test_4xx_and_5xx() -> None:
    frame = attempts(
        [
            (400, '{"Message":"malformed clickId","Status":400}', "failed"),
            (499, None, "failed"),
            (404, "success=false", "failed"),  # the soft-failure vocabulary only matters for 2xx
            (500, "", "failed"),
            (502, "<html><head><title>502 Bad Gateway</title></head></html>", "failed"),
            (599, "x 1", "sent"),
        ]
    )
    assert_frame_equal(
        pk.classify(frame),
        expected(
            frame,
            [
                ("request_error", True, "malformed clickId", "malformed clickId"),
                ("request_error", True, None, "(empty body)"),
                ("request_error", True, "success=false", "success=false"),
                ("partner_error", True, None, "(empty body)"),
                ("partner_error", True, "502 Bad Gateway", "<num> Bad Gateway"),
                ("partner_error", True, "x 1", "x <num>"),
            ],
        ),
    )


def test_2xx_soft_false_and_true_success() -> None:
    frame = attempts(
        [
            (200, "success=false; err_msg=Click 5 not found", "sent"),
            (200, '{"status":"error","message":"goal 7 not configured"}', "failed"),  # soft wins
            (201, "INVALID_CLICK_ID", "sent"),
            (204, None, "failed"),
            (202, "Accepted", "failed"),
            (200, "OK", "failed"),
            (204, None, "sent"),
            (204, None, None),  # unknown verdict: the platform counts only 200
            (200, "OK", None),
            (200, "SUCCESS", "sent"),
            (200, None, "sent"),
            (299, "—", "sent"),
        ]
    )
    assert_frame_equal(
        pk.classify(frame),
        expected(
            frame,
            [
                ("soft_failure", True, "Click 5 not found", "Click <num> not found"),
                ("soft_failure", True, "goal 7 not configured", "goal <num> not configured"),
                ("soft_failure", True, "INVALID_CLICK_ID", "INVALID_CLICK_ID"),
                ("false_failure", False, None, "(empty body)"),
                ("false_failure", False, "Accepted", "Accepted"),
                ("false_failure", False, "OK", "OK"),
                ("success", False, None, "(empty body)"),
                ("false_failure", False, None, "(empty body)"),
                ("success", False, "OK", "OK"),
                ("success", False, "SUCCESS", "SUCCESS"),
                ("success", False, None, "(empty body)"),
                ("success", False, "—", "—"),
            ],
        ),
    )


def test_every_other_code_is_other_code() -> None:
    codes = [100, 199, 301, 399, 600, 999, 1004, 6001, 9999, -1, 42]
    frame = attempts([(c, None, "failed") for c in codes])
    out = pk.classify(frame)
    assert out["outcome"].cast(pl.String).to_list() == ["other_code"] * len(codes)
    assert out["failure"].to_list() == [True] * len(codes)
    assert out["signature"].to_list() == ["(empty body)"] * len(codes)


def test_without_status_and_body_columns() -> None:
    frame = pl.DataFrame(
        {"tracking_id": ["1", "2", "3", "4"], "response_code": [200, 204, None, 400]},
        schema_overrides={"response_code": pl.Int32},
    )
    out = pk.classify(frame.lazy())
    assert isinstance(out, pl.LazyFrame)
    assert_frame_equal(
        out.collect(),
        pl.concat(
            [
                frame,
                pl.DataFrame(
                    [
                        ("success", False, None, "(empty body)"),
                        ("false_failure", False, None, "(empty body)"),
                        ("network_error", True, None, "(no answer)"),
                        ("request_error", True, None, "(empty body)"),
                    ],
                    schema=ADDED,
                    orient="row",
                ),
            ],
            how="horizontal",
        ),
    )


def test_classify_twice_replaces_its_columns() -> None:
    frame = attempts([(400, "bad 1", "failed"), (200, "OK", "sent")])
    once = pk.classify(frame)
    assert_frame_equal(pk.classify(once), once)


def test_needs_an_integer_response_code() -> None:
    with pytest.raises(MissingColumnsError, match="classify needs the column"):
        pk.classify(pl.DataFrame({"response_body": ["x"]}))
    with pytest.raises(ConfigError, match="integers"):
        pk.classify(pl.DataFrame({"response_code": ["400"]}))


def test_many_rows_few_bodies() -> None:
    bodies = ["click 1 not found", "click 2 not found", "OK", None]
    n = 20_000
    frame = pl.DataFrame(
        {
            "response_code": [404 if i % 4 < 2 else 200 for i in range(n)],
            "response_body": [bodies[i % 4] for i in range(n)],
        },
        schema_overrides={"response_code": pl.Int32},
    )
    out = pk.classify(frame.lazy()).collect()
    counts = out.group_by("outcome", "signature").len().sort("signature")
    assert counts.rows() == [
        ("success", "(empty body)", n // 4),
        ("success", "OK", n // 4),
        ("request_error", "click <num> not found", n // 2),
    ]
    assert out["response_body"].to_list() == frame["response_body"].to_list()  # order kept


# --------------------------------------------------------------------------- explain


EXPLAINED = [
    (400, '{"Message":"malformed clickId","Status":400}', "failed"),
    (None, None, "failed"),
    (None, "Connection refused", None),
    (204, None, "failed"),
    (200, "OK", "failed"),
    (200, "success=false; err_msg=DUPLICATE_CLICK_ID", "sent"),
    (502, "<html><title>502 Bad Gateway</title></html>", "failed"),
    (1004, "", "failed"),
    (200, "", None),
]


def test_explain_agrees_with_classify() -> None:
    frame = attempts(EXPLAINED)
    classified = pk.classify(frame)
    annotated = pk.KnowledgeBase.default().annotate(classified)
    for row, (code, body, status) in zip(annotated.iter_rows(named=True), EXPLAINED, strict=True):
        result = pk.explain(code, body, status)
        assert (result.outcome, result.failure, result.message, result.signature) == (
            row["outcome"],
            row["failure"],
            row["message"],
            row["signature"],
        )
        assert result.hypothesis.id == row["hypothesis_id"]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, 0, 100, 200, 202, 204, 301, 400, 404, 429, 500, 502, 1004]),
            st.one_of(
                st.none(),
                st.sampled_from(["OK", "EMPTY", "success=false", '{"error":"x 1"}', ""]),
                st.text(max_size=40),
            ),
            st.sampled_from([None, "sent", "failed"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_explain_agrees_with_classify_on_anything(
    rows: list[tuple[int | None, str | None, str | None]],
) -> None:
    classified = pk.classify(attempts(rows))
    for row, (code, body, status) in zip(classified.iter_rows(named=True), rows, strict=True):
        result = pk.explain(code, body, status)
        assert (result.outcome, result.failure, result.message, result.signature) == (
            row["outcome"],
            row["failure"],
            row["message"],
            row["signature"],
        )
        assert result.failure == (result.outcome in FAILING_OUTCOMES)


# --------------------------------------------------------------------------- command line


def test_cli_explain_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--code", "400", "--body", '{"Message":"malformed clickId"}']) == 0
    out = capsys.readouterr().out
    assert "400 → request_error" in out and "[malformed_click_id]" in out
    assert main(["explain", "--code", "204", "--status", "failed", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"] == "false_failure"
    assert data["hypothesis"]["id"] == "false_failure_no_content"
    assert main(["explain", "--format", "json"]) == 0  # no code: no answer
    assert json.loads(capsys.readouterr().out)["signature"] == "(no answer)"


def test_cli_explain_reads_stdin_and_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    rules = tmp_path / "rules.toml"
    rules.write_text(
        "[[rule]]\nid = 'mine'\npattern = 'Клик'\ntext = 't'\naction = 'a'\ncontact = 'partner'\n",
        "utf-8",
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("Клик не найден: 42\n"))
    args = ["explain", "--code", "404", "--body", "-", "--rules", str(rules), "--format", "json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["signature"] == "Клик не найден: <num>"
    assert data["hypothesis"]["id"] == "mine"
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]]\nid = 'x'\npattern = 'y'\ntext = 't'\naction = 'a'\ncontact = 'me'\n")
    assert main(["explain", "--code", "400", "--rules", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "rule 'x'" in err and "contact" in err
