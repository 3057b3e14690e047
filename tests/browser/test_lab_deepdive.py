"""Notebook 02 in a real JupyterLab: run all, change tracker and issue, tables and charts redraw."""

from __future__ import annotations

import time


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _tables(lab) -> str:
    return str(
        lab.page.locator(".pbk-table").evaluate_all("els => els.map(e => e.outerHTML).join('')")
    )


def _titles(lab) -> list[str]:
    return list(
        lab.page.locator("iframe.pbk-chart-frame").evaluate_all("fs => fs.map(f => f.title)")
    )


def test_deepdive_notebook_in_jupyterlab(lab) -> None:
    lab.open(lab.server.notebook_with("02_export_deep_dive.ipynb"))
    lab.run_all(timeout=240)
    charts = lab.charts(4, timeout=120)
    assert any("Failed attempts over time" in c.title for c in charts)
    frames = lab.page.locator("iframe.pbk-chart-frame").count()
    tables = _tables(lab)
    assert "<code>idfa</code>" in tables
    lab.screenshot("start", show=lab.page.locator(".jp-Cell").nth(4))

    # another tracker: the issue list, the tables and the charts follow
    before = _titles(lab)
    lab.select("Tracker", "AppBoost CPA (81064793292668928) · failing, 125 lost")
    _wait(lambda: _titles(lab) != before)
    _wait(lambda: _tables(lab) != tables)
    assert any("INVALID_SECURITY_TOKENS" in t for t in _titles(lab))
    lab.screenshot("tracker")

    # another issue of a tracker with two: the timeline redraws in the same frame
    lab.select("Tracker", "MobiReach — installs (1152921504606846976) · failing, 0 lost")
    _wait(lambda: any("Bad Gateway" in t for t in _titles(lab)))
    tables = _tables(lab)
    options = (
        lab.page.locator(".widget-dropdown")
        .filter(has=lab.page.locator("label", has_text="Issue"))
        .locator("option")
        .all_inner_texts()
    )
    # ipywidgets shows spaces in option labels as no-break spaces
    second = next(o for o in options if "Service Temporarily Unavailable" in o.replace("\xa0", " "))
    lab.select("Issue", second)
    _wait(lambda: any("Service Temporarily Unavailable" in t for t in _titles(lab)))
    _wait(lambda: _tables(lab) != tables)
    assert lab.page.locator("iframe.pbk-chart-frame").count() == frames
    lab.charts(4, timeout=60)
    lab.screenshot("issue")
    lab.watch.assert_clean()
