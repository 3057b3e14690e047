"""Run a notebook headless and render it as one HTML file that fetches nothing.

``run_notebook`` executes a notebook with papermill (parameters go into the cell tagged
``parameters``); ``notebook_to_html`` renders the executed notebook with nbconvert's lab template
made offline (``templates/offline.html.j2``): no require.js, widget manager, MathJax or mermaid
from a CDN, and a Content-Security-Policy that forbids loading anything. Widgets cannot run
without a kernel, so they are drawn statically from the widget state the run saved: an
``Output`` shows what it held (charts from :mod:`postback_kit.charts` stay interactive), a picker
shows its label and chosen value, boxes show their children in order.

>>> nb = run_notebook("notebooks/00_smoke.ipynb", {"tracker": "t2"})   # doctest: +SKIP
>>> Path("smoke.html").write_text(notebook_to_html(nb))               # doctest: +SKIP

From a shell: ``python -m postback_kit.nbexport notebooks/00_smoke.ipynb -r tracker t2
--export smoke.html`` (``-r`` passes the value as a string, as papermill's ``-r`` does: a
tracker ID such as ``987654321`` stays ``"987654321"``; ``-p`` reads JSON first, so
``-p tracker 987654321`` would be a number, and a 20-digit ID an integer no notebook compares
equal to the export's string).
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

__all__ = ["OFFLINE_CSP", "notebook_to_html", "run_notebook", "static_widgets"]

TEMPLATES = Path(__file__).with_name("templates")

OFFLINE_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
)
"""The page's Content-Security-Policy: inline code and data: images only, no request at all."""

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

_BOXES = {"VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel", "TabModel", "AccordionModel"}
_SELECTIONS = {
    "DropdownModel",
    "SelectModel",
    "RadioButtonsModel",
    "ToggleButtonsModel",
    "SelectionSliderModel",
    "SelectMultipleModel",
    "SelectionRangeSliderModel",
}
_SKIPPED = {"ButtonModel", "FloatProgressModel", "IntProgressModel", "ImageModel", "PlayModel"}


def run_notebook(
    path: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    output_path: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: int = 600,
    kernel_name: str | None = None,
) -> NotebookNode:
    """Execute a notebook with papermill and return the executed notebook.

    ``parameters`` replace the defaults of the cell tagged ``parameters``; the notebook runs in
    ``cwd`` (default: its own folder, so relative paths in it work as in JupyterLab). A failing
    cell raises papermill's ``PapermillExecutionError`` naming the cell and the exception.
    """
    import papermill

    source = Path(path)
    nb: NotebookNode = papermill.execute_notebook(
        str(source),
        str(output_path) if output_path is not None else None,
        parameters=dict(parameters or {}),
        cwd=str(cwd if cwd is not None else source.resolve().parent),
        kernel_name=kernel_name,
        progress_bar=False,
        log_output=False,
        request_save_on_cell_execute=False,
        execution_timeout=timeout,
    )
    return nb


def _widget_state(nb: NotebookNode) -> dict[str, Any]:
    widgets = nb.get("metadata", {}).get("widgets", {})
    state = widgets.get(WIDGET_STATE, {}).get("state", {})
    return state if isinstance(state, dict) else {}


def _html_output(fragment: str) -> dict[str, Any]:
    return {"output_type": "display_data", "data": {"text/html": fragment}, "metadata": {}}


def _control_html(name: str, state: Mapping[str, Any]) -> str | None:
    """A picker or field as static text: its label and the value chosen when the run ended."""
    if name in _SELECTIONS:
        labels = state.get("_options_labels") or []
        index = state.get("index")
        indices = index if isinstance(index, list) else [] if index is None else [index]
        value = ", ".join(
            str(labels[i]) for i in indices if isinstance(i, int) and 0 <= i < len(labels)
        )
    elif "value" in state and name not in _SKIPPED:
        raw = state["value"]
        value = ", ".join(map(str, raw)) if isinstance(raw, list) else str(raw)
    else:
        return None
    description = str(state.get("description") or "")
    label = (
        f'<span class="pbk-widget-label">{html.escape(description)}</span> ' if description else ""
    )
    return (
        f'<div class="pbk-widget-static" data-widget="{html.escape(name)}">{label}'
        f'<span class="pbk-widget-value">{html.escape(value)}</span></div>'
    )


def _expand(output: Mapping[str, Any], state: Mapping[str, Any], depth: int = 0) -> list[Any]:
    """The outputs that stand in for one output (itself, unless it is a widget view)."""
    data = output.get("data") or {}
    if WIDGET_VIEW not in data:
        return [output]
    if depth > 20:
        return []
    model_id = str((data[WIDGET_VIEW] or {}).get("model_id", ""))
    return _expand_model(model_id, state, depth + 1)


def _expand_model(model_id: str, state: Mapping[str, Any], depth: int) -> list[Any]:
    model = state.get(model_id)
    if not isinstance(model, Mapping):
        return []
    name = str(model.get("model_name", ""))
    props: Mapping[str, Any] = model.get("state") or {}
    if name == "OutputModel":
        out: list[Any] = []
        for item in props.get("outputs") or []:
            out.extend(_expand(item, state, depth))
        return out
    if name in _BOXES:
        out = []
        for child in props.get("children") or []:
            ref = str(child)
            out.extend(_expand_model(ref.removeprefix("IPY_MODEL_"), state, depth + 1))
        return out
    if name == "AnyModel" and props.get("pbk_chart_view"):
        # ui.ChartView: the last chart it drew, as the same offline frame charts.show makes.
        from .charts import to_html

        spec = props.get("spec")
        return [_html_output(to_html(spec))] if isinstance(spec, Mapping) and spec else []
    if name in {"HTMLModel", "HTMLMathModel"}:
        # The widget's value is HTML its author wrote (and escaped) for the live notebook.
        return [_html_output(f'<div class="pbk-widget-static">{props.get("value", "")}</div>')]
    if name == "LabelModel":
        text = html.escape(str(props.get("value", "")))
        return [_html_output(f'<div class="pbk-widget-static">{text}</div>')]
    fragment = _control_html(name, props)
    return [_html_output(fragment)] if fragment else []


def static_widgets(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` whose widget outputs are replaced by static outputs, without widget state.

    Uses the widget state saved by the run (papermill/nbclient store it in the notebook's
    metadata): what an ``Output`` widget held, the chosen value of pickers, HTML widgets as is.
    """
    result = copy.deepcopy(nb)
    state = _widget_state(result)
    for cell in result.cells:
        if cell.get("cell_type") != "code":
            continue
        outputs: list[Any] = []
        for output in cell.get("outputs", []):
            for item in _expand(output, state):
                item = dict(item)
                if item.get("output_type") in {"display_data", "execute_result"}:
                    item.setdefault("metadata", {})
                outputs.append(nbformat.from_dict(item))
        cell["outputs"] = outputs
    result.metadata.pop("widgets", None)
    return result


def notebook_to_html(
    nb: NotebookNode, *, hide_code: bool = False, csp: str | None = OFFLINE_CSP
) -> str:
    """One self-contained HTML page of an executed notebook; it loads nothing from anywhere.

    ``hide_code`` leaves out code cells' input (and prompts): a report for readers, not
    programmers. ``csp=None`` drops the page's Content-Security-Policy.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_template_paths=[str(TEMPLATES)],
        template_file="offline.html.j2",
        exclude_input=hide_code,
        exclude_input_prompt=hide_code,
        exclude_output_prompt=hide_code,
    )
    body, _resources = exporter.from_notebook_node(
        static_widgets(nb), resources={"pbk_csp": csp or ""}
    )
    return str(body)


def _parse_value(text: str) -> Any:
    """A ``-p`` value: JSON when it parses (numbers, null, lists), otherwise the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class _Parameter(argparse.Action):
    """``-p``/``-r NAME VALUE``: kept in command-line order, so a later one wins."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        name, value = values
        raw = option_string in ("-r", "--parameter-raw")
        items = list(getattr(namespace, self.dest, None) or [])
        items.append((name, value if raw else _parse_value(value)))
        setattr(namespace, self.dest, items)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m postback_kit.nbexport`` (see :func:`main`)."""
    parser = argparse.ArgumentParser(
        prog="python -m postback_kit.nbexport",
        description="Run a notebook headless and optionally export it to offline HTML.",
    )
    parser.add_argument("notebook")
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action=_Parameter,
        dest="parameters",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter; VALUE is read as JSON when it parses (5, null, [1, 2]), else a string",
    )
    parser.add_argument(
        "-r",
        "--parameter-raw",
        nargs=2,
        action=_Parameter,
        dest="parameters",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter whose VALUE is always a string (tracker IDs, paths, dates)",
    )
    parser.add_argument("-o", "--output", help="write the executed notebook here")
    parser.add_argument("--export", help="write the offline HTML rendering here")
    parser.add_argument("--hide-code", action="store_true", help="leave code out of the HTML")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m postback_kit.nbexport NOTEBOOK [-p NAME VALUE]... [-r NAME VALUE]...
    [-o OUT.ipynb] [--export OUT.html] [--hide-code]``.

    ``-p`` reads VALUE as JSON when it parses, ``-r`` keeps it a string; the last one of a
    name wins.
    """
    args = build_parser().parse_args(argv)
    params = dict(args.parameters)
    nb = run_notebook(args.notebook, params, output_path=args.output, timeout=args.timeout)
    if args.export:
        Path(args.export).write_text(notebook_to_html(nb, hide_code=args.hide_code), "utf-8")
        print(f"wrote {args.export}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
