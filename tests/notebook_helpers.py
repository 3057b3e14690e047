"""Run the project's notebooks headless in tests, and look at what they produced.

::

    from tests.notebook_helpers import execute, export_html, chart_specs, widget_values

    nb = execute("00_smoke.ipynb", export_path="", tracker="t2")   # papermill, in notebooks/
    assert widget_values(nb)["Tracker"] == "t2"
    specs = chart_specs(nb)              # Vega-Lite specs of every chart, widgets' included
    page = export_html(nb, tmp_path / "smoke.html")                # offline HTML, fetches nothing

A failing cell raises papermill's ``PapermillExecutionError`` with the cell's traceback. Kernels
share one chart-library cache per test session (see ``conftest.chart_cache``), so only the first
run pays for building it.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import NotebookNode

from postback_kit.nbexport import WIDGET_STATE, notebook_to_html, run_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

_SPEC = re.compile(r'<script type="application/json" id="pbk-spec">(.*?)</script>', re.S)
_SRCDOC = re.compile(r'srcdoc="([^"]*)"')


def execute(notebook: str | Path, *, timeout: int = 300, **parameters: Any) -> NotebookNode:
    """Execute ``notebooks/<notebook>`` (or a path) with papermill ``parameters``; return it."""
    path = Path(notebook)
    if not path.is_absolute() and not path.exists():
        path = NOTEBOOKS / path
    return run_notebook(path, parameters, timeout=timeout)


def export_html(nb: NotebookNode, path: Path, *, hide_code: bool = False) -> Path:
    """Write the offline HTML rendering of an executed notebook to ``path``; return ``path``."""
    path.write_text(notebook_to_html(nb, hide_code=hide_code), encoding="utf-8")
    return path


def widget_state(nb: NotebookNode) -> dict[str, Any]:
    """The widget models the run left behind, by model id."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return dict(state)


def widget_values(nb: NotebookNode) -> dict[str, Any]:
    """Chosen value (its label, for selections) of every described widget, by description."""
    values: dict[str, Any] = {}
    for model in widget_state(nb).values():
        props = model.get("state", {})
        if not props.get("description"):
            continue
        if "_options_labels" in props and isinstance(props.get("index"), int):
            values[props["description"]] = props["_options_labels"][props["index"]]
        elif "value" in props:
            values[props["description"]] = props["value"]
    return values


def html_widgets(nb: NotebookNode) -> list[str]:
    """Values of the HTML widgets (tables drawn by pickers) the run left behind."""
    return [
        str(m["state"].get("value", ""))
        for m in widget_state(nb).values()
        if m.get("model_name") == "HTMLModel"
    ]


def run_on_bundled_sample(notebook: str, cache: Path, chart_cache: Path) -> NotebookNode:
    """Execute ``notebook`` on its defaults (the bundled sample) with its own chart cache."""
    seed_chart_cache(chart_cache, cache)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSTBACK_KIT_CACHE_DIR", str(cache))
        mp.delenv("POSTBACK_KIT_SAMPLE", raising=False)
        return execute(notebook)


def _outputs(nb: NotebookNode) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for cell in nb.cells:
        found.extend(cell.get("outputs", []))
    for model in widget_state(nb).values():
        found.extend(model.get("state", {}).get("outputs", []) or [])
    return found


def html_outputs(nb: NotebookNode) -> list[str]:
    """Every ``text/html`` output, in cells and in Output widgets."""
    return [str(o["data"]["text/html"]) for o in _outputs(nb) if "text/html" in o.get("data", {})]


def chart_specs(source: NotebookNode | str) -> list[dict[str, Any]]:
    """Vega-Lite specs of the postback_kit charts in a notebook's outputs or in an HTML page."""
    texts = html_outputs(source) if isinstance(source, NotebookNode) else [source]
    specs = []
    for text in texts:
        for srcdoc in _SRCDOC.findall(text):
            specs.extend(json.loads(m) for m in _SPEC.findall(html.unescape(srcdoc)))
    if isinstance(source, NotebookNode):  # then the last chart of each ui.ChartView
        for model in widget_state(source).values():
            props = model.get("state", {})
            if props.get("pbk_chart_view") and props.get("spec"):
                specs.append(props["spec"])
    return specs


def stream_text(nb: NotebookNode) -> str:
    """Everything the notebook printed (stdout and stderr), in order."""
    return "".join(str(o.get("text", "")) for o in _outputs(nb) if o.get("output_type") == "stream")


def seed_chart_cache(chart_cache: Path, target: Path) -> None:
    """Copy the built chart bundle into a cache folder, so kernels using it start warm."""
    target.mkdir(parents=True, exist_ok=True)
    for bundle in chart_cache.glob("vega-embed-*.js.gz"):
        shutil.copy2(bundle, target / bundle.name)


def read(path: Path) -> NotebookNode:
    """Read a notebook file (nbformat 4)."""
    return nbformat.read(path, as_version=4)
