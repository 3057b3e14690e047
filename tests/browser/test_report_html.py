"""The partner report opened in headless Chromium with every network request blocked."""

from __future__ import annotations

from pathlib import Path

import postback_kit as pk
from tests.browser.conftest import PageWatch, screenshot, wait_for_charts
from tests.report_data import IMG_BODY, PLANTED, SCRIPT_BODY, TRACKER, planted_export


def test_report_draws_offline_and_shows_hostile_bodies_as_text(
    offline_page: PageWatch, warm_kernels: None, tmp_path: Path, request
) -> None:
    export = planted_export(tmp_path / "export")
    out = pk.render_report(export, TRACKER, tmp_path / "report.html")
    page = offline_page.page
    page.goto(out.as_uri())

    timeline, codes = wait_for_charts(page, 2)
    assert timeline.title == f"Failed attempts over time, tracker {TRACKER}"
    assert codes.title == "Failed attempts by response code and issue"
    assert "<svg" in timeline.svg and timeline.marks > 0 and codes.marks >= 4

    # The hostile bodies are visible as text in the examples table and in a tooltip.
    table = page.locator("table.pbk-examples").last
    for body in (SCRIPT_BODY, IMG_BODY):
        assert table.get_by_text(body, exact=True).count() == 1, body
    tips = [codes.hover_mark(i) for i in range(codes.marks)]
    assert any(SCRIPT_BODY in tip for tip in tips), tips
    assert page.locator("img[src=x]").count() == 0
    assert codes.frame.locator("img[src=x]").count() == 0

    # Nothing ran: no dialog, no message from a payload, no planted identifier on screen.
    messages = page.evaluate("window.__pbkMessages")
    assert not [m for m in messages if "PWNED" in str(m)], messages
    text = page.locator("body").inner_text()
    assert [v for v in PLANTED if v in text] == []
    assert "keyed hashes" in text and "Your server rejects the request (400)" in text
    screenshot(page, request, "partner-report")
    offline_page.assert_clean()


def test_partner_report_notebook_runs_in_jupyterlab(lab) -> None:
    tracker = "12345678901234567890"  # the bundled sample's "malformed clickId"
    lab.open(lab.server.notebook_with("03_partner_report.ipynb", tracker=tracker))
    lab.run_all()
    timeline, codes = lab.charts(2)
    assert timeline.title == f"Failed attempts over time, tracker {tracker}"
    assert codes.title == "Failed attempts by response code and issue"
    assert lab.output_errors() == []
    report = lab.page.locator(".pbk-report")
    assert report.first.get_by_text("malformed clickId").count() >= 1
    assert lab.page.locator("table.pbk-examples").count() == 2
    lab.screenshot("partner-report-lab")
    lab.watch.assert_clean()
