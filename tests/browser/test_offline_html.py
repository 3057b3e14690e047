"""Charts and exported notebooks opened from a file with every network request blocked."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl

from postback_kit import charts
from tests.browser.conftest import PageWatch, screenshot, wait_for_charts
from tests.notebook_helpers import export_html

# Each payload reports to the page (postMessage) and to the console if it ever runs.
SCRIPT_BODY = "</script><script>parent.postMessage('PWNED-1','*');console.error('PWNED-1')</script>"
IMG_BODY = "<img src=x onerror=\"parent.postMessage('PWNED-2','*');console.error('PWNED-2')\">"


def test_two_charts_on_one_page_draw_offline_with_tooltips(
    offline_page: PageWatch, tmp_path: Path, request
) -> None:
    bodies = pl.DataFrame(
        {"body": ['{"status":"ok"}', SCRIPT_BODY, IMG_BODY], "attempts": [30, 12, 7]}
    )
    bars = (
        alt.Chart(bodies, title="Attempts by body")
        .mark_bar()
        .encode(
            x=alt.X("body:N", title="response body"),
            y="attempts:Q",
            tooltip=["body:N", "attempts:Q"],
        )
    )
    hours = pl.DataFrame({"hour": list(range(24)), "attempts": [(h * 7) % 11 for h in range(24)]})
    line = (
        alt.Chart(hours, title="Attempts per hour")
        .mark_line(point=True)
        .encode(x="hour:Q", y="attempts:Q", tooltip=["hour:Q", "attempts:Q"])
        .properties(width=500, height=200)
    )
    page = charts.save_html(tmp_path / "charts.html", bars, line, title="Two charts")
    offline_page.page.goto(page.as_uri())
    drawn = wait_for_charts(offline_page.page, 2)
    assert [c.title for c in drawn] == ["Attempts by body", "Attempts per hour"]
    assert drawn[0].marks == 3 and drawn[1].marks >= 24  # 3 bars; the line and its 24 points

    tips = {drawn[0].hover_mark(i) for i in range(3)}
    assert any(SCRIPT_BODY in tip for tip in tips) and any(IMG_BODY in tip for tip in tips)
    assert drawn[0].frame.locator("img, #vg-tooltip-element script").count() == 0
    assert "attempts" in drawn[1].hover_mark(5)

    # Each frame was sized to its chart by the script beside it, and only sizes were reported.
    messages = offline_page.page.evaluate("window.__pbkMessages")
    sizes = {"pbkChart", "width", "height"}
    assert messages and all(sizes <= set(m) <= sizes | {"pbkReady"} for m in messages), messages
    frames = offline_page.page.locator("iframe.pbk-chart-frame")
    for i, chart in enumerate(drawn):
        box = frames.nth(i).bounding_box()
        size = chart.frame.evaluate("[document.body.scrollWidth, document.body.scrollHeight]")
        assert abs(box["height"] - size[1]) <= 2 and box["width"] >= size[0] - 2
    screenshot(offline_page.page, request, "charts")
    offline_page.assert_clean()


def test_exported_notebook_draws_offline(
    offline_page: PageWatch, smoke_run, tmp_path: Path, request
) -> None:
    page = offline_page.page
    page.goto(export_html(smoke_run, tmp_path / "smoke.html").as_uri())
    by_code, over_time = wait_for_charts(page, 2)
    assert by_code.title == "Attempts by response code"
    assert over_time.title == "Attempts per 1h, tracker t2"  # the picker's chart, drawn statically
    assert page.locator(".pbk-widget-static", has_text="Tracker").inner_text().split() == [
        "Tracker",
        "t2",
    ]
    # The hostile example body shows as text: in the table (escaped by polars) and the tooltip.
    assert page.get_by_text("</script><script>alert(", exact=False).count() >= 1
    tips = [by_code.hover_mark(i) for i in range(by_code.marks)]
    assert any("</script><script>alert('pwned')</script>" in tip for tip in tips), tips
    assert any('<img src=x onerror="alert(1)">' in tip for tip in tips), tips
    assert page.locator("img[src=x]").count() == 0
    assert by_code.frame.locator("img[src=x]").count() == 0
    screenshot(page, request, "exported-smoke")
    offline_page.assert_clean()
