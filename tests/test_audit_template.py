from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import postback_kit as pk
import postback_kit.audit as audit
from postback_kit.audit import RULES, display, macros, render, template, urlcodec
from postback_kit.cli import main
from postback_kit.errors import ConfigError

# --------------------------------------------------------------------------- one per code

# (template, lint keyword arguments, code, severity, the exact text the finding spans)
CASES = [
    (
        "https://pb.example.com/?click_id={click_id}&cc={county_code}",
        {},
        "PK101",
        "error",
        "{county_code}",
    ),
    (
        "https://pb.example.com/?click_id={click_id}&x={my_custom_param}",
        {},
        "PK101",
        "warning",
        "{my_custom_param}",
    ),
    (
        "https://pb.example.com/?click_id={click_id}&ev={event_name}",
        {},
        "PK102",
        "info",
        "{event_name}",
    ),
    (
        "https://pb.example.com/?click_id={click_id}&it={install_timestamp}",
        {"postback": "click"},
        "PK103",
        "warning",
        "{install_timestamp}",
    ),
    (
        "https://pb.example.com/?click_id={click_id}&idfa={ios_ifa}&os=android",
        {},
        "PK103",
        "warning",
        "{ios_ifa}",
    ),
    ("https://pb.example.com/?click_id=${click_id}", {}, "PK104", "error", "${click_id}"),
    (
        "https://pb.example.com/?click_id={click_id}&idfa=(idfa)",
        {"style": "appmetrica"},
        "PK104",
        "error",
        "(idfa)",
    ),
    (
        "https://pb.example.com/?clickid=(clickid)&gaid={google_aid}",
        {"style": "appsflyer"},
        "PK104",
        "error",
        "{google_aid}",
    ),
    ("https://pb.example.com/?click_id=#click_id#", {}, "PK104", "error", "#click_id#"),
    ("https://pb.example.com/?click_id=%7Bclick_id%7D", {}, "PK105", "error", "%7Bclick_id%7D"),
    ("https://pb.example.com/?click_id={click_id&os={os_name}", {}, "PK106", "error", "{click_id"),
    ("https://pb.example.com/?gaid={google_aid}", {}, "PK201", "warning", ""),
    ("https://pb.example.com/?click_id={click_id}&a=1&a=2", {}, "PK202", "warning", "a"),
    ("https://pb.example.com/?click_id={click_id}&=1", {}, "PK203", "error", "=1"),
    ("https://pb.example.com/?click_id={click_id}&&a=1", {}, "PK203", "info", "&&"),
    ("https://pb.example.com/?click_id={click_id}&name=John Smith", {}, "PK204", "error", " "),
    ("https://pb.example.com/?click_id={click_id}&n=a|b", {}, "PK204", "warning", "|"),
    ("https://pb.example.com/?click_id={click_id}&n=a\u200bb", {}, "PK204", "error", "\u200b"),
    ("https://pb.example.com/?click_id={click_id}&note=a#b&c=1", {}, "PK205", "error", "#"),
    ("https://pb.example.com/?click_id={click_id}#top", {}, "PK205", "warning", "#"),
    (
        "https://pb.example.com/?click_id={click_id}&name=Tom&Jerry",
        {},
        "PK206",
        "warning",
        "&Jerry",
    ),
    (
        "https://pb.example.com/?click_id={click_id}&ret=https://shop.example.com/?a=1",
        {},
        "PK207",
        "error",
        "https://shop.example.com/?a=1",
    ),
    (
        "https://pb.example.com/?click_id={click_id}&ret=https://shop.example.com/x",
        {},
        "PK207",
        "warning",
        "https://shop.example.com/x",
    ),
    (
        'https://pb.example.com/?click_id={click_id}&data={"level":5}',
        {},
        "PK208",
        "warning",
        '{"level":5}',
    ),
    ("http://pb.example.com/?click_id={click_id}", {}, "PK209", "warning", "http"),
    ("https://pb.example.com/?click_id={click_id}\n&os={os_name}", {}, "PK210", "error", "\n"),
    ("https://pb.example.com/postback&click_id={click_id}", {}, "PK211", "error", "&"),
    ("https://pb.example.com/?click_id={click_id}&v=a?b", {}, "PK212", "warning", "?"),
    ("https://pb.example.com/?click_id={click_id}  ", {}, "PK213", "info", "  "),
    ("https://pb.example.com/?click_id={click_id}&amount=5¤cy=USD", {}, "PK301", "error", "¤cy"),
    ("https://pb.example.com/?click_id={click_id}&p=1¶m1=2", {}, "PK301", "error", "¶m1"),
    ("https://pb.example.com/?click_id={click_id}&a=1®ion=EU", {}, "PK301", "error", "®ion"),
]


@pytest.mark.parametrize(("text", "kw", "code", "severity", "span"), CASES)
def test_each_code_is_found_at_its_place(
    text: str, kw: dict[str, str], code: str, severity: str, span: str
) -> None:
    found = [f for f in pk.lint_template(text, **kw) if f.code == code]
    assert found, f"{code} not found in {text!r}: {pk.lint_template(text, **kw)}"
    f = found[0]
    assert f.severity == severity
    assert text[f.start : f.end] == span
    assert f.message and f.suggestion


def test_every_code_has_a_case() -> None:
    assert {c[2] for c in CASES} == set(RULES)


def test_positions_are_offsets_into_the_original_text() -> None:
    text = "  \nhttps://pb.example.com/?click_id={click_id}&cc={county_code}"
    (f,) = [f for f in pk.lint_template(text) if f.code == "PK101"]
    assert (f.start, f.end) == (text.index("{county"), len(text))


def test_unknown_macro_suggests_the_closest_name() -> None:
    (f,) = pk.lint_template("https://pb.example.com/?click_id={click_id}&cc={county_code}")
    assert "{country_code}" in f.message and f.suggestion == "write {country_code}"
    (g,) = pk.lint_template("https://pb.example.com/?clickid=(clickid)&i=(idfaa)")
    assert g.code == "PK101" and "(idfa)" in g.suggestion


def test_foreign_names_are_translated_through_the_export_field() -> None:
    text = "https://pb.example.com/?click_id={click_id}&idfa={idfa}"
    (f,) = pk.lint_template(text, style="appmetrica")
    assert f.code == "PK101" and f.suggestion == "write {ios_ifa}"


def test_entity_finding_gives_the_entity_back() -> None:
    (f,) = [
        f
        for f in pk.lint_template("https://pb.example.com/?click_id={click_id}&a=5¤cy=USD")
        if f.code == "PK301"
    ]
    assert "&currency=" in f.message and "'&currency'" in f.suggestion


def test_a_name_with_an_accent_is_not_an_eaten_entity() -> None:
    text = "https://pb.example.com/?click_id={click_id}&prénom=Jean"
    assert [f.code for f in pk.lint_template(text)] == []


# --------------------------------------------------------------------------- clean templates

CLEAN = [
    # AppMetrica, install postback to an ad network
    "https://postback.adnetwork.example/install?click_id={click_id}&transaction_id="
    "{transaction_id}&gaid={google_aid}&idfa={ios_ifa}&os={os_name}&install_ts="
    "{install_timestamp}&app={app_package_name}",
    # AppMetrica, event postback with revenue
    "https://tracker.partner.example/v1/conv?clickid={click_id}&event={conversion_event_name}"
    "&value={price}&currency={currency}&ts={conversion_timestamp}&device={appmetrica_device_id}",
    # AppMetrica, a tracking-URL parameter passed through (AppMetrica passes any of them)
    "https://s2s.example.net/pb?tid={transaction_id}&aff_sub={click_id}&locale={device_locale}"
    "&ver={app_version_name}&model={device_model}",
    # AppMetrica, JSON body of a POST postback
    '{"click_id": "{click_id}", "event": "{conversion_event_name}", "gaid": "{google_aid}",\n'
    ' "ts": {conversion_timestamp}}',
    # AppsFlyer, in-app event postback
    "https://pb.network.example/af?clickid=(clickid)&event=(event_name)&revenue=(event_revenue)"
    "&currency=(event_revenue_currency)&idfa=(idfa)&gaid=(advertising_id)&json=(event_value)",
    # AppsFlyer, install postback with link parameters
    "https://api.network.example/postback/install?click_id=(click_id)&site=(af_siteid)"
    "&campaign=(c)&install_time=(install_unix_ts)&country=(country_code)&app=(app_id)",
    # AppsFlyer, query-string-only template as in the partner assistant
    "&clickid=(clickid)&event=(partner_event_id)&json=(encode)",
]


@pytest.mark.parametrize("text", CLEAN)
def test_real_world_templates_have_no_findings(text: str) -> None:
    assert pk.lint_template(text, postback="event") == []


def test_style_is_detected_from_the_syntax() -> None:
    cat, _ = template.resolve_catalogue(CLEAN[4])
    assert cat.platform == "appsflyer"
    cat, _ = template.resolve_catalogue(CLEAN[0])
    assert cat.platform == "appmetrica"
    cat, _ = template.resolve_catalogue("https://x.example/?a=(not_a_macro_word)&b={click_id}")
    assert cat.platform == "appmetrica"


def test_unknown_style_postback_or_platform_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown template style"):
        pk.lint_template("https://x.example/", style="adjust")
    with pytest.raises(ConfigError, match="unknown postback type 'cpa'"):
        pk.lint_template("https://x.example/", postback="cpa")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown platform"):
        pk.lint_template("https://x.example/", platform="ios14")


# --------------------------------------------------------------------------- catalogues


def test_users_extend_the_catalogue_with_their_own_toml(tmp_path: Path) -> None:
    text = "https://pb.example.com/?click_id={click_id}&sub={partner_sub}"
    assert [f.code for f in pk.lint_template(text)] == ["PK101"]
    extra = tmp_path / "mine.toml"
    extra.write_text('[macros.partner_sub]\ndescription = "our sub ID"\n')
    assert pk.lint_template(text, extra_macros=extra) == []
    assert pk.load_catalogue("appmetrica", extra=extra).get("partner_sub") is not None


def test_a_bad_macro_file_names_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[macros.x]\nplatform = ["ios"]\n')
    with pytest.raises(ConfigError, match=r"bad\.toml: unknown key macros\.x\.platform") as err:
        pk.load_catalogue("appmetrica", extra=bad)
    assert "platforms" in str(err.value)
    bad.write_text('[macros.x]\npostbacks = ["instal"]\n')
    with pytest.raises(ConfigError, match="unknown value"):
        pk.load_catalogue("appmetrica", extra=bad)


def test_appsflyer_catalogue_follows_the_seed_table() -> None:
    cat = pk.load_catalogue("appsflyer")
    assert cat.get("blocked_reason").postbacks == ("rejected",)
    assert cat.get("event_name").postbacks == ("event", "rejected")
    assert cat.get("idfa").platforms == ("ios",) and cat.get("idfa").source == "SDK"
    assert cat.get("af_siteid").source == "Link" and "click" in cat.get("af_siteid").postbacks
    assert cat.get("retargeting_conversion_type").postbacks == ("reengagement",)
    assert cat.get("advertiserId") is cat.get("advertising_id")


# --------------------------------------------------------------------------- never raises


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*"ab=&?#{}()$%7BD:/ \n\t\"'¤¶\u200bxhtps._-", "{click_id}", "(idfa)", "https://"]
        ),
        max_size=40,
    ).map("".join)
    | st.text(max_size=60)
)
def test_the_linter_never_raises_and_spans_stay_inside(text: str) -> None:
    for style in ("auto", "appmetrica", "appsflyer"):
        for f in pk.lint_template(text, style=style, postback="click", platform="android"):
            assert 0 <= f.start <= f.end <= len(text)
            assert f.code in RULES and f.severity in ("error", "warning", "info")
        display.format_findings(text, pk.lint_template(text, style=style))


# --------------------------------------------------------------------------- display and CLI


def test_html_escapes_the_template() -> None:
    text = 'https://pb.example.com/?click_id={click_id}&x=<script>alert("1")</script>'
    html = pk.findings_html(text, pk.lint_template(text))
    assert "<script" not in html and "&lt;" in html and "script&gt;" in html
    assert 'class="pk-warning"' in html


def test_cli_json_is_exactly_the_documented_list(capsys: pytest.CaptureFixture[str]) -> None:
    text = "http://pb.example.com/?click_id={click_id}&cc={county_code}"
    assert main(["lint-template", "--format", "json", text]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in out] == ["PK209", "PK101"]
    for f in out:
        assert set(f) == {"code", "severity", "start", "end", "message", "suggestion"}
    assert text[out[1]["start"] : out[1]["end"]] == "{county_code}"


def test_cli_text_puts_carets_under_the_finding(capsys: pytest.CaptureFixture[str]) -> None:
    text = "https://pb.example.com/?click_id={click_id}&cc={county_code}"
    assert main(["lint-template", text]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == text
    assert lines[1].index("^") == text.index("{county_code}")
    assert lines[1].count("^") == len("{county_code}") and "PK101" in lines[1]
    assert lines[-1] == "1 error, 0 warnings, 0 info"


def test_cli_exit_0_without_errors_and_reads_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.txt"
    path.write_text("https://pb.example.com/?gaid={google_aid}")
    assert main(["lint-template", "--format", "json", f"@{path}"]) == 0  # a warning only
    assert [f["code"] for f in json.loads(capsys.readouterr().out)] == ["PK201"]
    assert main(["lint-template", f"@{tmp_path / 'missing.txt'}"]) == 2


def test_docstring_examples_hold() -> None:
    for module in (audit, template, display, macros, render, urlcodec):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
