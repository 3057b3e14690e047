"""notebooks/04_config_audit.ipynb in a real JupyterLab and as exported HTML opened offline.

Both run on the notebook's defaults: the example template (plain http, an unknown macro, a
corrupted ``¤cy=``), data/partner_configs/example.toml (Adsolut) and its tracker in the bundled
sample export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import PageWatch, screenshot, wait_for_charts
from tests.notebook_helpers import execute, export_html

TITLE = "Adsolut: event postbacks against the in-app event postback window"
# The template's findings: (code, the highlighted text, the highlight's class)
TEMPLATE_FINDINGS = [
    ("PK209", "http", "pk-warning"),
    ("PK101", "{county_code}", "pk-error"),
    ("PK301", "¤cy", "pk-error"),
]
# Violations of the example configuration by its tracker in the sample export: the export has
# no event value to check level_up's condition against
VIOLATIONS = ["PK632"]
HIGHLIGHT = {"pk-error": "rgb(248, 196, 196)", "pk-warning": "rgb(251, 227, 166)"}


def _assert_findings_highlighted(page: Any) -> None:
    """The example template's findings are highlighted in place (coloured, message on hover)."""
    template = page.locator(".pk-t").first
    template.scroll_into_view_if_needed()
    assert (template.text_content() or "").startswith(
        "http://postback.adsolut.example/conv?clickid="
    )
    for code, text, css in TEMPLATE_FINDINGS:
        mark = template.locator(f"mark.{css}", has_text=text)
        assert mark.count() == 1, (code, text)
        assert code in (mark.get_attribute("title") or "")
        color = mark.evaluate("m => getComputedStyle(m).backgroundColor")
        assert color == HIGHLIGHT[css], (code, color)
    # the violations of the settings audit, each marked by its severity
    marks = page.locator("mark.pk-error, mark.pk-warning, mark.pk-info").all_text_contents()
    for code in VIOLATIONS:
        assert any(m.startswith(code) for m in marks), (code, marks)


def _assert_window_chart(page: Any, chart: Any) -> None:
    assert chart.title == TITLE
    bars, rules, _ = chart.spec["layer"]
    days = [r["day"] for r in chart.spec["datasets"][bars["data"]["name"]]]
    settings = chart.spec["datasets"][rules["data"]["name"]]
    assert [r["window_days"] for r in settings] == [15, 10, 20]
    # bars for each day, a rule and a label for each window setting
    assert chart.marks >= len(days) + 2 * len(settings)
    assert "days from install to event (days)" in chart.svg
    assert "event postbacks (count per day)" in chart.svg
    page.locator("iframe.pbk-chart-frame").first.scroll_into_view_if_needed()
    tip = chart.hover_mark(0)
    assert "event postbacks" in tip and "window at sending" in tip, tip


def test_config_audit_notebook_in_jupyterlab(lab) -> None:
    lab.open(lab.server.notebook_with("04_config_audit.ipynb"))
    lab.run_all()
    _assert_findings_highlighted(lab.page)
    (chart,) = lab.charts(1)
    _assert_window_chart(lab.page, chart)
    lab.screenshot("findings", show=lab.page.locator(".pk-t").first)
    lab.screenshot("window-chart", show=lab.page.locator("iframe.pbk-chart-frame").first)
    lab.watch.assert_clean()


def test_config_audit_notebook_exported_draws_offline(
    offline_page: PageWatch, warm_kernels: None, tmp_path: Path, request
) -> None:
    nb = execute("04_config_audit.ipynb")
    page = offline_page.page
    page.goto(export_html(nb, tmp_path / "config_audit.html").as_uri())
    (chart,) = wait_for_charts(page, 1)
    _assert_window_chart(page, chart)
    _assert_findings_highlighted(page)
    screenshot(page, request, "exported-config-audit")
    offline_page.assert_clean()
