"""Notebook 01 in a real JupyterLab: run all, pick trackers, tables and the chart redraw in place;
load another export from the Files tab and the tracker list follows."""

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


def _picked_row(lab) -> str:
    return str(lab.page.locator(".pbk-table tr.pbk-hl").first.text_content())


def _titles(lab) -> list[str]:
    return list(
        lab.page.locator("iframe.pbk-chart-frame").evaluate_all("fs => fs.map(f => f.title)")
    )


def test_triage_notebook_in_jupyterlab(lab) -> None:
    lab.open(lab.server.notebook_with("01_triage.ipynb"))
    lab.run_all(timeout=240)
    (chart,) = lab.charts(1, timeout=120)
    assert chart.title.startswith("Failed attempts over time by class: Сеть Ромашка")
    assert chart.marks > 0
    tables = _tables(lab)
    assert "Trackers ranked by impact" in tables and "<code>Invalid device id</code>" in tables
    assert "Сеть Ромашка" in _picked_row(lab)
    assert "attempts" in chart.hover_mark(0)  # tooltips with counts
    lab.screenshot("start", show=lab.page.locator(".pbk-table").first)

    # another tracker: the list's highlight, the codes, the issues and the chart follow
    before = _titles(lab)
    lab.select("Tracker", "AppBoost CPA (81064793292668928) · failing, 125 lost")
    _wait(lambda: _titles(lab) != before)
    _wait(lambda: _tables(lab) != tables)
    assert _titles(lab) == ["Failed attempts over time by class: AppBoost CPA (81064793292668928)"]
    assert "INVALID_SECURITY_TOKENS" in _tables(lab)
    assert "AppBoost CPA" in _picked_row(lab)
    assert "-r tracker 81064793292668928" in lab.page.locator(".pbk-handoff").text_content()
    (chart,) = lab.charts(1, timeout=60)
    assert "AppBoost CPA" in chart.title
    lab.screenshot("tracker", show=lab.page.locator("iframe.pbk-chart-frame").first)

    # a tracker with no answers: its codes table says so, still one chart frame
    tables = _tables(lab)
    lab.select("Tracker", "Clickwave US (987654321) · failing, 0 lost")
    _wait(lambda: "Clickwave US" in " ".join(_titles(lab)))
    _wait(lambda: _tables(lab) != tables)
    assert "<code>no answer</code>" in _tables(lab)
    assert lab.page.locator("iframe.pbk-chart-frame").count() == 1

    # the Files tab: load one day of the sample instead; the list redraws in place
    lab.page.locator(".widget-tab .lm-TabBar-tab", has_text="Files").first.click()
    export = lab.page.locator(".widget-dropdown").filter(
        has=lab.page.locator("label", has_text="Export")
    )
    day = "postbacks_2026-11-05.csv.gz"
    option = next(o for o in export.locator("option").all_inner_texts() if o.endswith(day))
    export.locator("select").select_option(label=option)
    tables = _tables(lab)
    lab.page.locator(".widget-button", has_text="Load").first.click()
    info = lab.page.locator(".pbk-export-info")
    _wait(lambda: day in (info.text_content() or ""), 120)
    _wait(lambda: _tables(lab) != tables)
    assert "Clickwave US" in _picked_row(lab)  # the pick is kept across exports
    lab.charts(1, timeout=60)
    lab.screenshot("reloaded")
    assert not lab.output_errors()
    lab.watch.assert_clean()


SAVE_WIDGET_STATE = "@jupyter-widgets/jupyterlab-manager:saveWidgetState"


def _save(lab, name: str) -> str:
    """Save the notebook (File > Save) and return the saved file's text."""
    lab.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    lab.page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000
    )
    return (lab.server.root / "notebooks" / name).read_text("utf-8")


def _saved_widget(saved: str, model_name: str, description: str) -> dict:
    """The saved widget state of the ``model_name`` widget labelled ``description``."""
    import json

    state = json.loads(saved)["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    (found,) = [
        m["state"]
        for m in state["state"].values()
        if m["model_name"] == model_name and m["state"].get("description") == description
    ]
    return found


def test_fetch_form_in_jupyterlab_never_shows_or_keeps_the_token(lab, tmp_path) -> None:
    """The Logs API tab against a local imitation of the API, with JupyterLab's "Save Widget
    State Automatically" on: the token typed into the password field is in the saved notebook
    neither before nor after Fetch; Fetch uses it, empties the field, and the page shows it
    nowhere."""
    from tests.test_api import TOKEN, FakeLogsApi, Reply, ok

    def app(req):
        if req.headers.get("authorization") != f"OAuth {TOKEN}":
            return Reply(401, "Invalid oauth_token")
        return ok(req)

    api = FakeLogsApi(app)
    try:
        dest = tmp_path / "exports" / "1111"
        name = lab.server.notebook_with(
            "01_triage.ipynb",
            fetch_since="2024-03-01",
            fetch_until="2024-03-02",
            dest=str(dest),
            base_url=api.url,
        )
        lab.open(name)
        lab.run_all(timeout=240)
        lab.charts(1, timeout=120)
        # Settings > Save Widget State Automatically: every save writes the widgets' state
        lab.page.evaluate(
            """async (id) => { const c = window.jupyterapp.commands;
                               if (!c.isToggled(id)) await c.execute(id); }""",
            SAVE_WIDGET_STATE,
        )
        lab.page.wait_for_function(
            "(id) => window.jupyterapp.commands.isToggled(id)", arg=SAVE_WIDGET_STATE
        )
        cells = lab.page.locator(".jp-NotebookPanel .jp-Cell").count()
        lab.page.locator(".widget-tab .lm-TabBar-tab", has_text="Logs API").first.click()
        field = lab.page.locator(".widget-text").filter(
            has=lab.page.locator("label", has_text="Application ID")
        )
        field.locator("input").fill("1111")
        token = lab.page.locator("input[type=password]")
        assert token.count() == 1
        assert token.get_attribute("autocomplete") == "off"
        token.press_sequentially(TOKEN)  # keystrokes, as typed: no notebook shortcut fires
        token.press("Tab")
        assert token.input_value() == TOKEN
        assert lab.page.locator(".jp-NotebookPanel .jp-Cell").count() == cells

        # typed, not fetched yet: the saved widget state has the form, not the token
        saved = _save(lab, name)
        assert _saved_widget(saved, "TextModel", "Application ID")["value"] == "1111"
        assert _saved_widget(saved, "AnyModel", "Token")["button_description"] == "Fetch"
        assert TOKEN not in saved

        lab.page.locator(".widget-button", has_text="Fetch").first.click()
        info = lab.page.locator(".pbk-export-info")
        _wait(lambda: str(dest) in (info.text_content() or ""), 120)
        _wait(lambda: token.input_value() == "")
        assert [r.headers["authorization"] for r in api.requests] == [f"OAuth {TOKEN}"] * 2
        assert "Аdvertising iOS campaign (12345678901234567890)" in _picked_row(lab)
        assert "48 rows read, 48 loaded" in lab.page.locator(".pbk-status").last.inner_text()
        lab.screenshot("fetched", show=lab.page.locator(".pbk-status").last)
        assert TOKEN not in lab.page.content()
        values = lab.page.evaluate(
            "() => Array.from(document.querySelectorAll('input, textarea'), e => e.value)"
        )
        assert TOKEN not in "\n".join(values)

        # typed again, then a fetch from code (as the notebook's next cell does), refused: the
        # field is emptied all the same, and what was typed never left the page
        token.press_sequentially(TOKEN)
        assert token.input_value() == TOKEN
        lab.page.evaluate(
            """async (code) => {
                const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                await kernel.requestExecute({ code }).done;
            }""",
            f"form.dest.value = {str(tmp_path / 'other')!r}\n"  # a fresh folder: asks the API
            "try:\n    form.submit(token='y0_refused')\nexcept Exception:\n    pass",
        )
        _wait(lambda: token.input_value() == "")
        auth = [r.headers["authorization"] for r in api.requests]
        assert auth[:2] == [f"OAuth {TOKEN}"] * 2 and set(auth[2:]) == {"OAuth y0_refused"}

        # Enter in the field is Fetch too
        token.press_sequentially(TOKEN)
        token.press("Enter")
        _wait(lambda: str(tmp_path / "other") in (info.text_content() or ""), 120)
        assert token.input_value() == ""
        assert api.requests[-1].headers["authorization"] == f"OAuth {TOKEN}"

        # fetched: the saved notebook (outputs and widget state) has no token either
        saved = _save(lab, name)
        assert "24,031 rows read" in saved  # saved after the run, outputs included
        assert _saved_widget(saved, "TextModel", "Application ID")["value"] == "1111"
        assert TOKEN not in saved
        assert TOKEN not in lab.server.log.read_text("utf-8", errors="replace")
        assert not lab.output_errors()
        lab.watch.assert_clean()
    finally:
        api.close()
    assert not api.errors, api.errors[0]
