from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit.errors import ConfigError
from postback_kit.knowledge import CONTACTS, Rule

NGINX_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
NGINX_504 = "<html><head><title>504 Gateway Time-out</title></head><body>nginx</body></html>"
CLOUDFLARE_522 = (
    "<!DOCTYPE html><html><head><title>partner.example | 522: Connection timed out</title>"
    "</head><body><h1>Connection timed out</h1></body></html>"
)

# (code, body, notifying_status) → (outcome, rule id, contact). Every built-in rule appears at
# least once (test_every_built_in_rule_is_exercised checks it).
CASES = [
    # seed 000: the tracker's example body and the advice per code class
    (
        400,
        '{"StoreId":"","AppId":"","Message":"malformed clickId","Status":400,"EvType":0,'
        '"IsAttributed":1}',
        "failed",
        "request_error",
        "malformed_click_id",
        "self",
    ),
    (
        400,
        "Missing required parameter: goal_id",
        "failed",
        "request_error",
        "missing_parameter",
        "self",
    ),
    (
        400,
        '{"error":"Parameter revenue has invalid format"}',
        "failed",
        "request_error",
        "invalid_parameter",
        "self",
    ),
    (400, "Method Not Allowed: use POST", "failed", "request_error", "method_not_allowed", "self"),
    (405, "", "failed", "request_error", "method_not_allowed_405", "self"),
    (400, "", "failed", "request_error", "bad_request_400", "self"),
    (418, "I'm a teapot", "failed", "request_error", "fallback.request_error", "platform_support"),
    (500, "", "failed", "partner_error", "fallback.partner_error", "partner"),
    (
        500,
        '{"error":"Internal Server Error"}',
        "failed",
        "partner_error",
        "internal_server_error",
        "partner",
    ),
    (502, NGINX_502, "failed", "partner_error", "proxy_bad_gateway", "partner"),
    (502, "", "failed", "partner_error", "proxy_bad_gateway_502", "partner"),
    (504, NGINX_504, "failed", "partner_error", "proxy_gateway_timeout", "partner"),
    (504, None, "failed", "partner_error", "proxy_gateway_timeout_504", "partner"),
    (
        503,
        "Service Temporarily Unavailable",
        "failed",
        "partner_error",
        "service_unavailable",
        "partner",
    ),
    (503, "", "failed", "partner_error", "service_unavailable_503", "partner"),
    (522, CLOUDFLARE_522, "failed", "partner_error", "cloudflare_origin_error", "partner"),
    (None, None, "failed", "network_error", "fallback.network_error", "partner"),
    (None, "Read timed out", "failed", "network_error", "network_timeout", "partner"),
    (None, "Connection refused", "failed", "network_error", "connection_refused", "partner"),
    (
        None,
        "Could not resolve host: partner.example",
        "failed",
        "network_error",
        "dns_failure",
        "self",
    ),
    (None, "SSL certificate has expired", "failed", "network_error", "tls_error", "partner"),
    (1004, "", "failed", "other_code", "partner_specific_code", "partner"),
    (6001, "x", "failed", "other_code", "partner_specific_code", "partner"),
    (999, None, "failed", "other_code", "partner_specific_code", "partner"),
    (301, "", "failed", "other_code", "redirect_3xx", "self"),
    (102, "", "failed", "other_code", "fallback.other_code", "partner"),
    (-1, None, "failed", "other_code", "fallback.other_code", "partner"),
    # seed 002: Trackier's vocabulary, as 2xx soft failures and as 4xx bodies
    (200, "EMPTY", "sent", "soft_failure", "empty_pixel", "self"),
    (200, "NO_SESSION_ID", "sent", "soft_failure", "no_session_id", "self"),
    (200, "DUPLICATE_CLICK_ID", "sent", "soft_failure", "duplicate_conversion", "partner"),
    (400, "DUPLICATE_CLICK_ID", "failed", "request_error", "duplicate_conversion", "partner"),
    (200, "INVALID_CLICK_ID", "sent", "soft_failure", "invalid_click_id", "self"),
    (400, "INVALID_CLICK_ID", "failed", "request_error", "invalid_click_id", "self"),
    (200, "INVALID_SECURITY_TOKENS", "sent", "soft_failure", "invalid_security_token", "self"),
    (200, "INVALID_GOAL_ID", "sent", "soft_failure", "invalid_goal", "self"),
    (200, "INVALID_GOAL_VALUE", "sent", "soft_failure", "invalid_goal", "self"),
    (200, "SUCCESS", "sent", "success", "fallback.success", "self"),
    (200, "OK", "sent", "success", "fallback.success", "self"),
    (200, "VALID", "sent", "success", "fallback.success", "self"),
    (200, "", "sent", "success", "fallback.success", "self"),
    (200, "—", "sent", "success", "fallback.success", "self"),
    # common partner vocabulary
    (
        404,
        '{"error":{"code":404,"message":"Click 1a2b3c4d not found"}}',
        "failed",
        "request_error",
        "click_not_found",
        "self",
    ),
    (404, "", "failed", "request_error", "endpoint_not_found_404", "self"),
    (400, "click_id is missing", "failed", "request_error", "missing_click_id", "self"),
    (400, "invalid click_id {click_id}", "failed", "request_error", "unresolved_macro", "self"),
    (401, "Token expired", "failed", "request_error", "invalid_security_token", "self"),
    (401, "", "failed", "request_error", "unauthorized_401", "self"),
    (403, "", "failed", "request_error", "forbidden_403", "partner"),
    (
        403,
        "IP 203.0.113.7 is not whitelisted",
        "failed",
        "request_error",
        "ip_not_whitelisted",
        "partner",
    ),
    (
        409,
        "Conversion already recorded for this click",
        "failed",
        "request_error",
        "duplicate_conversion",
        "partner",
    ),
    (
        400,
        "Event purchase is not configured",
        "failed",
        "request_error",
        "event_not_configured",
        "self",
    ),
    (400, "Goal not found", "failed", "request_error", "invalid_goal", "self"),
    (429, "Too Many Requests", "failed", "request_error", "rate_limited", "partner"),
    (429, "", "failed", "request_error", "rate_limited_429", "partner"),
    (
        400,
        "Attribution window expired",
        "failed",
        "request_error",
        "attribution_window_expired",
        "self",
    ),
    (
        400,
        '{"message":"Campaign is paused"}',
        "failed",
        "request_error",
        "campaign_inactive",
        "partner",
    ),
    (
        400,
        "Conversion rejected by fraud filter",
        "failed",
        "request_error",
        "conversion_rejected",
        "partner",
    ),
    (408, "", "failed", "request_error", "request_timeout_408", "partner"),
    (414, "", "failed", "request_error", "request_too_large", "self"),
    (200, '{"success":false}', "sent", "soft_failure", "fallback.soft_failure", "partner"),
    (
        200,
        "success=false; err_msg=Клик не найден",
        "sent",
        "soft_failure",
        "click_not_found",
        "self",
    ),
    (204, None, "failed", "false_failure", "false_failure_no_content", "partner"),
    (202, "Accepted", None, "false_failure", "false_failure_no_content", "partner"),
    (200, "OK", "failed", "false_failure", "false_failure_late", "platform_support"),
]


@pytest.mark.parametrize(("code", "body", "status", "outcome", "rule_id", "contact"), CASES)
def test_vocabulary_maps_to_rule_and_contact(
    code: int | None, body: str | None, status: str | None, outcome: str, rule_id: str, contact: str
) -> None:
    result = pk.explain(code, body, status)
    assert (result.outcome, result.hypothesis.id, result.hypothesis.contact) == (
        outcome,
        rule_id,
        contact,
    )


def test_every_built_in_rule_is_exercised() -> None:
    hit = {rule_id for *_, rule_id, _ in CASES}
    rules = {r.id for r in pk.KnowledgeBase.default().rules}
    assert rules - hit == set()
    fallbacks = {f"fallback.{o}" for o in pk.OUTCOMES}
    # built-in rules answer every false failure (200 late, 201-299 not 200)
    assert fallbacks - hit == {"fallback.false_failure"}


def test_built_in_rules_are_well_formed() -> None:
    kb = pk.KnowledgeBase.default()
    assert len(kb.rules) >= 40
    assert len({r.id for r in kb.rules}) == len(kb.rules)
    for rule in kb.rules:
        assert rule.contact in CONTACTS and rule.text and rule.action
        assert set(rule.categories) <= set(pk.OUTCOMES)
    assert set(kb.fallbacks) == set(pk.OUTCOMES)
    assert {"SUCCESS", "OK", "VALID", "", "—"} <= set(kb.success_tokens)


def test_rules_ignore_successful_attempts_unless_they_ask_for_them() -> None:
    kb = pk.KnowledgeBase.default()
    # "duplicate" in a body that reports success is not a duplicate problem
    assert kb.match("success", 200, "no duplicate found", "no duplicate found").id == (
        "fallback.success"
    )
    assert kb.match("request_error", 400, "no duplicate", "no duplicate").id == (
        "duplicate_conversion"
    )


def test_match_reads_the_body_too() -> None:
    kb = pk.KnowledgeBase.default()
    body = '{"detail": {"text": "campaign is paused"}}'
    assert kb.match("request_error", 418, "x", "x", body).id == "campaign_inactive"
    assert kb.match("request_error", 418, "x", "x").id == "fallback.request_error"
    with pytest.raises(ConfigError, match="unknown outcome"):
        kb.match("exploded", 400, "x", "x")


# --------------------------------------------------------------------------- user rules

USER_RULES = """
[[rule]]
id = "malformed_click_id"          # replaces the built-in rule of this id
pattern = 'malformed\\s*clickId'
text = "Our partner X wants the click ID in the sub1 parameter."
action = "Move the click ID macro to sub1."
contact = "partner"

[[rule]]
id = "partner_x_click"
pattern = 'click .* not found'
codes = ["4xx"]
text = "Partner X purges clicks after 7 days."
action = "Ask partner X for a longer retention."
contact = "platform_support"

[fallback.partner_error]
text = "Partner X is flaky."
action = "Wait."
contact = "partner"

[soft_failure]
patterns = ['^NOPE$']
success_tokens = ["YES"]
"""


def test_user_rules_take_precedence(tmp_path: Path) -> None:
    path = tmp_path / "partner_x.toml"
    path.write_text(USER_RULES, "utf-8")
    for kb in (
        pk.KnowledgeBase.with_rules(path),
        pk.KnowledgeBase.with_rules(str(path)),
        pk.KnowledgeBase.with_rules(USER_RULES),
        pk.KnowledgeBase.default().with_rules(path),
    ):
        malformed = kb.match("request_error", 400, "malformed clickId", "malformed clickId")
        assert (malformed.id, malformed.contact) == ("malformed_click_id", "partner")
        assert [r.id for r in kb.rules].count("malformed_click_id") == 1
        # the user's rule beats the built-in click_not_found and its higher priority
        assert kb.match("request_error", 404, "click <num> not found", None).id == (
            "partner_x_click"
        )
        # but only for the codes it names
        assert kb.match("soft_failure", 200, "click <num> not found", None).id == (
            "click_not_found"
        )
        assert kb.match("partner_error", 500, "(empty body)", None).text == "Partner X is flaky."
        assert kb.match("request_error", 401, "(empty body)", None).id == "unauthorized_401"
    kb = pk.KnowledgeBase.with_rules(path)
    assert str(path) in kb.sources and "built-in" in kb.sources
    # the added soft-failure vocabulary drives classify
    frame = pl.DataFrame({"response_code": [200, 200, 200], "response_body": ["NOPE", "YES", "ok"]})
    assert pk.classify(frame, kb)["outcome"].cast(pl.String).to_list() == [
        "soft_failure",
        "success",
        "success",
    ]
    assert pk.classify(frame)["outcome"].cast(pl.String).to_list() == ["success"] * 3


def test_from_file_uses_only_that_files_rules(tmp_path: Path) -> None:
    path = tmp_path / "only.toml"
    path.write_text(USER_RULES, "utf-8")
    kb = pk.KnowledgeBase.from_file(path)
    assert [r.id for r in kb.rules] == ["malformed_click_id", "partner_x_click"]
    assert kb.match("request_error", 401, "(empty body)", None).id == "fallback.request_error"
    assert kb.soft_patterns == ("^NOPE$",)


def _config_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as err:
        pk.KnowledgeBase.with_rules(path)
    message = str(err.value)
    assert str(path) in message and "Hint:" in message
    return message


RULE = 'id = "r1"\npattern = "x"\ntext = "t"\naction = "a"\ncontact = "self"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[[rule]]\n" + RULE.replace('"self"', '"partnr"'),
            r"rule 'r1': field 'contact' must be one of self, partner, platform_support.*'partnr'",
        ),
        ("[[rule]]\n" + RULE + 'codes = ["4yy"]\n', r"rule 'r1': field 'codes'.*'4yy'"),
        ("[[rule]]\n" + RULE + "codes = [true]\n", r"rule 'r1': field 'codes'"),
        ("[[rule]]\n" + RULE.replace('"x"', '"(unclosed"'), r"rule 'r1': field 'pattern'"),
        ("[[rule]]\n" + RULE + 'categories = ["bad"]\n', r"rule 'r1': field 'categories'"),
        ("[[rule]]\n" + RULE + "priority = 'high'\n", r"rule 'r1': field 'priority'"),
        ("[[rule]]\n" + RULE + 'hypothesis = "x"\n', r"rule 'r1': unknown field\(s\) hypothesis"),
        ("[[rule]]\n" + RULE.replace('text = "t"\n', ""), r"rule 'r1': field 'text'"),
        ("[[rule]]\n" + RULE + "[[rule]]\n" + RULE, r"rule 'r1': field 'id' is used twice"),
        ("[[rule]]\n" + RULE.replace('pattern = "x"\n', ""), r"rule 'r1': sets none of"),
        ("[[rule]]\n" + RULE.replace('id = "r1"', 'id = "has space"'), r"rule #1: field 'id'"),
        ("[[rules]]\n" + RULE, r"top level: unknown table\(s\) rules"),
        ("[fallback.nope]\ntext='t'\naction='a'\ncontact='self'\n", r"\[fallback.nope\]"),
        ("[soft_failure]\npatterns = ['(?=x)']\n", r"\[soft_failure\]: field 'patterns'"),
        ("[[rule]]\nid = 'r1'\npattern = 'x\n", r"not valid TOML"),
    ],
)
def test_invalid_rules_name_the_file_the_rule_and_the_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    message = _config_error(tmp_path, text)
    assert re.search(expected, message, re.DOTALL), message


def test_missing_rules_file_and_text_name() -> None:
    with pytest.raises(ConfigError, match="no such rules file"):
        pk.KnowledgeBase.with_rules("does/not/exist.toml")
    with pytest.raises(ConfigError, match=r"<rules text>: rule 'r1'"):
        pk.KnowledgeBase.with_rules("[[rule]]\n" + RULE.replace('"self"', '"nobody"'))


# --------------------------------------------------------------------------- results


def test_result_objects_are_plain() -> None:
    result = pk.explain(502, NGINX_502, "failed")
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "response_code": 502,
        "outcome": "partner_error",
        "failure": True,
        "message": "502 Bad Gateway",
        "signature": "<num> Bad Gateway",
        "hypothesis": pk.KnowledgeBase.default().rule("proxy_bad_gateway").hypothesis.to_dict(),
    }
    text = str(result)
    assert "502 → partner_error (not delivered)" in text
    assert "[proxy_bad_gateway]" in text and "who acts:   the partner" in text
    assert "no answer → network_error" in str(pk.explain(None, None))
    assert isinstance(pk.KnowledgeBase.default().rule("tls_error"), Rule)


def test_annotate_matches_once_per_signature() -> None:
    frame = pl.DataFrame(
        {
            "response_code": [400, 400, None, 200, 404],
            "response_body": [
                "malformed clickId",
                "malformed clickId",
                None,
                "OK",
                "Click 1 not found",
            ],
        },
        schema_overrides={"response_code": pl.Int32},
    )
    classified = pk.classify(frame)
    annotated = pk.KnowledgeBase.default().annotate(classified.lazy()).collect()
    expected_ids = [
        pk.explain(c, b).hypothesis.id
        for c, b in zip(frame["response_code"], frame["response_body"], strict=True)
    ]
    assert annotated["hypothesis_id"].to_list() == expected_ids
    assert annotated["contact"].to_list() == ["self", "self", "partner", "self", "self"]
    assert_frame_equal(annotated.select(classified.columns), classified)
