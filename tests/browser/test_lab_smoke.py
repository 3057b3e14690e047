"""The smoke notebook in a real JupyterLab: run all, charts drawn, the picker redraws in place."""

from __future__ import annotations

import time

MALICIOUS = "</script><script>alert('pwned')</script>"


def test_smoke_notebook_in_jupyterlab(lab) -> None:
    # The built-in example (it has hostile response bodies), tracker t1 first.
    lab.open(lab.server.notebook_with("00_smoke.ipynb", export_path="", tracker="t1"))
    lab.run_all()
    by_code, over_time = lab.charts(2)
    assert by_code.title == "Attempts by response code"
    assert over_time.title == "Attempts per 1h, tracker t1"

    # Tooltips work, and a hostile body is shown as text (nothing it contains runs).
    tips = [by_code.hover_mark(i) for i in range(by_code.marks)]
    assert any(MALICIOUS in tip for tip in tips), tips
    assert by_code.frame.locator("#vg-tooltip-element img, #vg-tooltip-element script").count() == 0

    # The picker redraws the second chart in place: the same frame gets the new spec only
    # (the chart library is not loaded again) and draws it.
    output = lab.page.locator(".widget-output, .jupyter-widgets")
    frames_before = lab.page.locator("iframe.pbk-chart-frame").count()
    lab.select("Tracker", "t3")
    lab.page.wait_for_function(
        "() => [...document.querySelectorAll('iframe.pbk-chart-frame')]"
        ".some(f => f.title === 'Attempts per 1h, tracker t3')"
    )
    deadline = time.monotonic() + 30
    while True:
        by_code_after, redrawn = lab.charts(2)
        if redrawn.title == "Attempts per 1h, tracker t3" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert int(redrawn.frame.evaluate("document.body.dataset.pbkDraws")) == 2
    assert redrawn.title == "Attempts per 1h, tracker t3"
    assert {r["tracking_id"] for r in next(iter(redrawn.spec["datasets"].values()))} == {"t3"}
    assert redrawn.svg != over_time.svg
    assert lab.page.locator("iframe.pbk-chart-frame").count() == frames_before == 2
    assert by_code_after.spec == by_code.spec
    lab.screenshot("picker-t3", show=output.last)
    lab.watch.assert_clean()
