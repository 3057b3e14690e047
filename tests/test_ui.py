"""The notebook widgets helpers, without a browser (tests/browser drives them in JupyterLab)."""

from __future__ import annotations

import ipywidgets as widgets
import polars as pl
import pytest

from postback_kit import charts, ui


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
