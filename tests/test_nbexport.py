"""Offline HTML export of notebooks: widgets drawn statically, nothing loaded from anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from postback_kit.nbexport import (
    OFFLINE_CSP,
    WIDGET_STATE,
    WIDGET_VIEW,
    notebook_to_html,
    static_widgets,
)


def view(model_id: str) -> dict:
    return new_output(
        "display_data",
        data={WIDGET_VIEW: {"model_id": model_id, "version_major": 2}, "text/plain": "VBox()"},
    )


def model(name: str, **state: object) -> dict:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


def widget_notebook() -> nbformat.NotebookNode:
    chart = {
        "output_type": "display_data",
        "data": {"text/html": "<p>chart here</p>"},
        "metadata": {},
    }
    state = {
        "box": model("VBoxModel", children=["IPY_MODEL_pick", "IPY_MODEL_out", "IPY_MODEL_gone"]),
        "pick": model(
            "DropdownModel", description="Tracker <id>", _options_labels=["t1", "<t2>"], index=1
        ),
        "out": model(
            "OutputModel",
            outputs=[chart, {"output_type": "stream", "name": "stdout", "text": "hi\n"}],
        ),
        "many": model(
            "SelectMultipleModel", description="Codes", _options_labels=["400", "502"], index=[0, 1]
        ),
        "slider": model("IntSliderModel", description="Bucket", value=60),
        "label": model("LabelModel", value="<not html>"),
        "html": model("HTMLModel", value="<b>bold</b>"),
        "button": model("ButtonModel", description="Go"),
    }
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title"),
            new_code_cell("ui", outputs=[view("box"), view("many"), view("slider")]),
            new_code_cell(
                "more", outputs=[view("label"), view("html"), view("button"), view("nope")]
            ),
            new_code_cell("print", outputs=[new_output("stream", name="stdout", text="plain\n")]),
        ]
    )
    nb.metadata["widgets"] = {
        WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}
    }
    return nb


def test_static_widgets_draw_what_the_run_left() -> None:
    nb = widget_notebook()
    static = static_widgets(nb)
    assert "widgets" not in static.metadata and "widgets" in nb.metadata  # a copy
    first, second, third = (c.outputs for c in static.cells[1:])
    htmls = [o.get("data", {}).get("text/html") for o in first]
    assert htmls[0] == (
        '<div class="pbk-widget-static" data-widget="DropdownModel"><span class="pbk-widget-label">'
        'Tracker &lt;id&gt;</span> <span class="pbk-widget-value">&lt;t2&gt;</span></div>'
    )
    assert htmls[1] == "<p>chart here</p>" and first[2].text == "hi\n"
    assert "400, 502" in htmls[3] and ">60</span>" in htmls[4]
    assert [o.data["text/html"] for o in second] == [
        '<div class="pbk-widget-static">&lt;not html&gt;</div>',
        '<div class="pbk-widget-static"><b>bold</b></div>',
    ]  # the button and the unknown model leave nothing
    assert third[0].text == "plain\n"
    nbformat.validate(static)
    assert not any(WIDGET_VIEW in o.get("data", {}) for c in static.cells[1:] for o in c.outputs)


def test_offline_html_loads_nothing() -> None:
    page = notebook_to_html(widget_notebook())
    assert re.findall(r"<script[^>]*\bsrc=", page) == []
    assert re.findall(r"<link[^>]*\bhref=", page) == []
    assert "cdn" not in page.lower() and "mathjax" not in page.lower()
    (csp,) = re.findall(r'<meta content="([^"]*)" http-equiv="Content-Security-Policy"/>', page)
    assert csp == OFFLINE_CSP and "default-src 'none'" in csp
    body = page.split("<body", 1)[1]
    assert "chart here" in body and "&lt;t2&gt;" in body and "jp-InputArea-editor" in body


def test_offline_html_can_hide_code_and_drop_the_policy() -> None:
    page = notebook_to_html(widget_notebook(), hide_code=True, csp=None)
    body = page.split("<body", 1)[1]
    assert "chart here" in body and "plain" in body and "jp-InputArea-editor" not in body
    assert "Content-Security-Policy" not in page


# --------------------------------------------------------------------------- command line


def test_cli_p_reads_json_and_r_keeps_the_string_the_last_one_wins() -> None:
    from postback_kit.nbexport import build_parser

    argv = "nb.ipynb -p n 5 -p ids [1,2] -p none null -p tracker 987654321"
    argv += " -r raw 987654321 -r x null -p word t2 -p again 1 -r again 01"
    args = build_parser().parse_args(argv.split())
    assert dict(args.parameters) == {
        "n": 5,
        "ids": [1, 2],
        "none": None,
        "tracker": 987654321,  # -p: a number
        "raw": "987654321",  # -r: the ID as written
        "x": "null",
        "word": "t2",
        "again": "01",
    }


def test_cli_runs_a_notebook_with_raw_and_json_parameters(tmp_path: Path) -> None:
    from postback_kit.nbexport import main

    cell = new_code_cell("tracker = None\ncount = 0")
    cell.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[cell, new_code_cell("print(repr(tracker), repr(count))")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    source, out = tmp_path / "p.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    html = tmp_path / "p.html"
    args = [str(source), "-r", "tracker", "12345678901234567890", "-p", "count", "3"]
    assert main([*args, "-o", str(out), "--export", str(html)]) == 0
    ran = nbformat.read(out, as_version=4)
    printed = "".join(o.get("text", "") for c in ran.cells for o in c.get("outputs", []))
    assert printed == "'12345678901234567890' 3\n"
    assert "12345678901234567890" in html.read_text("utf-8")
