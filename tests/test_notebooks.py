"""Notebooks run headless with parameters, export to offline HTML, and are committed clean."""

from __future__ import annotations

from pathlib import Path

import nbformat

from postback_kit.nbexport import main as nbexport_main
from scripts.strip_notebooks import main as strip_main
from scripts.strip_notebooks import problems
from tests.notebook_helpers import (
    NOTEBOOKS,
    chart_specs,
    export_html,
    read,
    stream_text,
    widget_values,
)

HOSTILE_ESCAPED = "&lt;/script&gt;&lt;script&gt;alert("  # polars shows the body, escaped


def test_smoke_runs_headless_with_parameters(smoke_run: nbformat.NotebookNode) -> None:
    assert "36 attempts from the built-in example" in stream_text(smoke_run)
    assert widget_values(smoke_run) == {"Tracker": "t2"}
    by_code, over_time = chart_specs(smoke_run)
    assert by_code["title"] == "Attempts by response code"
    assert over_time["title"] == "Attempts per 1h, tracker t2"
    (rows,) = over_time["datasets"].values()
    assert {r["tracking_id"] for r in rows} == {"t2"}
    assert sum(r["attempts"] for r in rows) == 12
    (codes,) = by_code["datasets"].values()
    bodies = {r["code"]: r["example_body"] for r in codes}
    assert bodies["500"] == "</script><script>alert('pwned')</script>"


def test_smoke_exports_to_offline_html(smoke_run: nbformat.NotebookNode, tmp_path: Path) -> None:
    page = export_html(smoke_run, tmp_path / "smoke.html").read_text("utf-8")
    assert [s["title"] for s in chart_specs(page)] == [s["title"] for s in chart_specs(smoke_run)]
    assert '<span class="pbk-widget-label">Tracker</span>' in page
    assert '<span class="pbk-widget-value">t2</span>' in page
    assert HOSTILE_ESCAPED in page and "<script>alert(" not in page
    assert "application/vnd.jupyter.widget" not in page


def test_cli_runs_on_default_parameters_and_exports(tmp_path: Path, warm_kernels: None) -> None:
    # Default parameters: the bundled sample when there is one, else the built-in example.
    out_nb, out_html = tmp_path / "run.ipynb", tmp_path / "run.html"
    code = nbexport_main(
        [str(NOTEBOOKS / "00_smoke.ipynb"), "-o", str(out_nb), "--export", str(out_html)]
    )
    assert code == 0
    specs = chart_specs(out_html.read_text("utf-8"))
    assert len(specs) == 2 and specs == chart_specs(read(out_nb))
    assert specs[1]["title"].endswith(", tracker " + widget_values(read(out_nb))["Tracker"])


def test_committed_notebooks_are_clean_and_parameterised() -> None:
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    for path in notebooks:
        nb = read(path)
        assert problems(nb) == [], f"{path.name}: run `make strip` ({problems(nb)})"
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"


def test_strip_cleans_an_executed_notebook(
    smoke_run: nbformat.NotebookNode, tmp_path: Path
) -> None:
    path = tmp_path / "executed.ipynb"
    nbformat.write(smoke_run, path)
    assert problems(read(path))  # what the committed-notebook test would catch
    assert strip_main([str(path), "--check"]) == 1
    assert strip_main([str(path)]) == 0
    assert strip_main([str(path), "--check"]) == 0
    stripped, committed = read(path), read(NOTEBOOKS / "00_smoke.ipynb")
    assert problems(stripped) == []
    # Papermill's injected-parameters cell stays (it is code); every original cell is intact.
    originals = [(c.cell_type, c.source, c.metadata.get("tags")) for c in committed.cells]
    kept = [(c.cell_type, c.source, c.metadata.get("tags")) for c in stripped.cells]
    assert [k for k in kept if k in originals] == originals
