"""The notebook widgets helpers, without a browser (tests/browser drives them in JupyterLab)."""

from __future__ import annotations

import altair as alt
import ipywidgets as widgets
import polars as pl
import pytest

from postback_kit import charts, ui
from postback_kit.errors import ChartDataError


def test_picker_calls_back_now_and_on_every_change() -> None:
    seen: list[object] = []
    pick = ui.picker([("Tracker one", "t1"), ("Tracker two", "t2")], seen.append, description="T")
    assert seen == ["t1"] and pick.description == "T"
    pick.value = "t2"
    pick.value = "t2"  # no change, no call
    assert seen == ["t1", "t2"]


def test_picker_initial_value_and_no_call_now() -> None:
    seen: list[object] = []
    pick = ui.picker(["a", "b", "c"], seen.append, value="c", call_now=False)
    assert pick.value == "c" and seen == []
    pick.value = "a"
    assert seen == ["a"]
    with pytest.raises(ValueError, match="at least one option"):
        ui.picker([], seen.append)


def test_show_in_replaces_the_output_in_one_update() -> None:
    out = widgets.Output()
    updates: list[object] = []
    out.observe(lambda change: updates.append(change["new"]), names="outputs")
    frame = pl.DataFrame({"code": ["400"], "body": ["<b>x</b>"]})
    ui.show_in(out, frame, "plain")
    ui.show_in(out, charts.ChartDisplay({"data": {"values": [{"x": 1}]}, "mark": "point"}))
    assert len(updates) == 2
    (chart,) = out.outputs
    assert chart["output_type"] == "display_data"
    assert 'class="pbk-chart-frame"' in chart["data"]["text/html"]
    first = updates[0]
    assert [o["data"]["text/plain"] for o in first][1] == "'plain'"
    assert "&lt;b&gt;x&lt;/b&gt;" in first[0]["data"]["text/html"]  # polars escapes cells


def test_chart_view_holds_the_last_chart_and_refuses_raw_data() -> None:
    view = ui.ChartView()
    assert view.spec == {} and view.title == "chart"
    sent: list[dict[str, object]] = []
    view.observe(lambda change: sent.append(change["new"]), names="spec")
    for n in (1, 2):
        data = pl.DataFrame({"code": ["400", "502"], "attempts": [n, 3]})
        view.update(
            alt.Chart(data, title=f"draw {n}").mark_bar().encode(x="code:N", y="attempts:Q")
        )
    assert view.title == "draw 2" and len(sent) == 2
    (rows,) = view.spec["datasets"].values()
    assert rows == [{"code": "400", "attempts": 2}, {"code": "502", "attempts": 3}]
    too_big = pl.DataFrame({"x": range(charts.MAX_ROWS + 1)})
    with pytest.raises(ChartDataError):
        view.update(alt.Chart(too_big).mark_point().encode(x="x:Q"))
    assert view.title == "draw 2"  # a refused chart leaves the last one in place


def test_chart_view_exports_as_a_static_offline_chart() -> None:
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from postback_kit.nbexport import WIDGET_STATE, WIDGET_VIEW, static_widgets

    view = ui.ChartView({"title": "kept", "data": {"values": [{"x": 1}]}, "mark": "point"})
    state = {view.model_id: {"model_name": "AnyModel", "state": view.get_state()}}
    out = new_output("display_data", data={WIDGET_VIEW: {"model_id": view.model_id}})
    nb = new_notebook(cells=[new_code_cell("view", outputs=[out])])
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": state}}
    (static,) = static_widgets(nb).cells[0].outputs
    page = static["data"]["text/html"]
    assert 'class="pbk-chart-frame"' in page and 'title="kept"' in page


def test_tracker_name_and_label_of_a_tracker_with_and_without_name() -> None:
    from types import SimpleNamespace

    named = SimpleNamespace(
        tracking_id="0123", tracker_name="Clickwave US", status="failing", undelivered=1234
    )
    bare = SimpleNamespace(tracking_id="0123", tracker_name=None, status="healthy", undelivered=0)
    assert ui.tracker_name(named) == "Clickwave US (0123)"
    assert ui.tracker_name(bare) == "0123"
    assert ui.tracker_label(named) == "Clickwave US (0123) · failing, 1,234 lost"
    assert ui.tracker_label(bare) == "0123 · healthy, 0 lost"


def test_html_table_keeps_numbers_on_one_line_and_lets_text_wrap() -> None:
    import re

    frame = pl.DataFrame(
        {"name": ["a long tracker name"], "n": [12345], "share": [0.934], "lift": [2.5]}
    )
    columns = (("name", "tracker", "text"), ("n", "n", "num"), ("share", "share", "pct"))
    out = ui.html_table(frame, (*columns, ("lift", "lift", "x")))
    cells = dict(
        (text, style) for style, text in re.findall(r'<td style="([^"]*)">([^<]*)</td>', out)
    )
    nowrap = "text-align:right;white-space:nowrap"
    assert cells == {
        "a long tracker name": "text-align:left",
        "12,345": nowrap,
        "93.4 %": nowrap,
        "2.50×": nowrap,
    }
