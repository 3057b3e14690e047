"""What every view of the notebook UI shares: pickers, ChartView, HTML tables and messages.

:func:`picker` (a Dropdown calling a function), :func:`show_in` (replace an Output's content),
:class:`ChartView` (an altair chart redrawn in place), :func:`html_table` (an escaped table of a
polars frame), the tracker labels of the pickers, the width of the wide controls and the
status/error boxes of the export and Logs API forms.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

Option = Hashable | tuple[str, Any]


def picker(
    options: Sequence[Option],
    on_change: Callable[[Any], object],
    *,
    description: str = "",
    value: Any = None,
    call_now: bool = True,
) -> widgets.Dropdown:
    """A Dropdown that calls ``on_change(value)`` whenever the choice changes.

    ``options`` are values or ``(label, value)`` pairs; ``value`` is the initial choice (the first
    option by default). With ``call_now`` (the default) ``on_change`` is also called once right
    away with the initial value, so the output it fills is never empty.
    """
    if not options:
        raise ValueError("picker needs at least one option")
    dropdown = widgets.Dropdown(
        options=list(options),
        description=description,
        style={"description_width": "initial"},
    )
    if value is not None:
        dropdown.value = value

    def _changed(change: dict[str, Any]) -> None:
        on_change(change["new"])

    dropdown.observe(_changed, names="value")
    if call_now:
        on_change(dropdown.value)
    return dropdown


def tracker_name(t: Any) -> str:
    """A tracker as people name it: ``name (tracking_id)``, or the ID when it has no name.

    ``t`` is a :class:`postback_kit.TrackerDiagnosis` (anything with ``tracker_name`` and
    ``tracking_id``).
    """
    return f"{t.tracker_name} ({t.tracking_id})" if t.tracker_name else str(t.tracking_id)


def tracker_label(t: Any) -> str:
    """A tracker picker's option label: its name, status and lost conversions.

    >>> tracker_label(diagnosis.trackers[0])            # doctest: +SKIP
    'Clickwave US (987654321) · failing, 0 lost'
    """
    return f"{tracker_name(t)} · {t.status}, {t.undelivered:,} lost"


def show_in(output: widgets.Output, *objects: object) -> None:
    """Replace what ``output`` shows by ``objects`` (charts, frames, HTML…), in one update."""
    from IPython.core.interactiveshell import InteractiveShell

    formatter = InteractiveShell.instance().display_formatter
    assert formatter is not None
    items = []
    for obj in objects:
        data, metadata = formatter.format(obj)
        items.append({"output_type": "display_data", "data": data, "metadata": metadata})
    output.outputs = tuple(items)


# --- Charts that redraw in place -------------------------------------------------------------

_CHART_VIEW_ESM = """
export default {
  render({ model, el }) {
    const id = "pbk-" + Math.random().toString(36).slice(2);
    const frame = document.createElement("iframe");
    frame.className = "pbk-chart-frame";
    frame.dataset.pbkChart = id;
    frame.setAttribute("sandbox", "allow-scripts allow-downloads");
    frame.style.cssText = "border:0;display:block;width:100%;height:" + model.get("height") + "px";
    frame.title = model.get("title");
    let ready = false;
    const send = () => {
      frame.title = model.get("title");
      if (ready) frame.contentWindow.postMessage({ pbkSpec: model.get("spec") }, "*");
    };
    const onMessage = (event) => {
      const d = event.data;
      if (event.source !== frame.contentWindow || !d || d.pbkChart !== id) return;
      if (d.pbkReady) { ready = true; send(); return; }
      const w = Number(d.width), h = Number(d.height);
      if (w > 0 && w < 20000) frame.style.minWidth = w + "px";
      if (h > 0 && h < 20000) frame.style.height = h + "px";
    };
    const onCustom = (msg) => {
      if (msg && msg.type === "pbk-document" && !frame.srcdoc) {
        frame.srcdoc = msg.html.replace('data-pbk-chart="pbk-live"', 'data-pbk-chart="' + id + '"');
      }
    };
    window.addEventListener("message", onMessage);
    model.on("change:spec", send);
    model.on("msg:custom", onCustom);
    el.appendChild(frame);
    model.send({ type: "pbk-need-document" });
    return () => {
      window.removeEventListener("message", onMessage);
      model.off("change:spec", send);
      model.off("msg:custom", onCustom);
    };
  },
};
"""


class ChartView(anywidget.AnyWidget):
    """An altair chart that redraws in place: a picker calls :meth:`update` with a new chart.

    The chart library is sent to the browser once per view (by message, so it is not stored
    in the notebook); an update sends only the new spec, and the frame redraws without
    loading anything again. Exported HTML shows the last chart drawn, like
    :func:`postback_kit.charts.show` (see :mod:`postback_kit.nbexport`).

    >>> view = ChartView(chart)                         # doctest: +SKIP
    >>> picker(trackers, lambda t: view.update(chart_for(t)))   # doctest: +SKIP
    """

    _esm = traitlets.Unicode(_CHART_VIEW_ESM).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("chart").tag(sync=True)
    height = traitlets.Int(340).tag(sync=True)
    pbk_chart_view = traitlets.Bool(True).tag(sync=True)

    def __init__(self, chart: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_frontend_msg)
        if chart is not None:
            self.update(chart)

    def update(self, chart: Any) -> None:
        """Draw ``chart`` (an altair chart or a Vega-Lite dict) instead of the current one."""
        from .. import charts

        display = charts.ChartDisplay(chart)
        self.height = charts.frame_height(display.spec)
        self.title = display.title
        self.spec = display.spec

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "pbk-need-document":
            from .. import charts

            html = charts.frame_document({}, chart_id="pbk-live")
            self.send({"type": "pbk-document", "html": html})


# --- Tables and messages ---------------------------------------------------------------------

_WIDE = {"width": "min(100%, 900px)"}


def _dd_cell(value: Any, kind: str) -> str:
    import html as _html
    from datetime import timedelta as _td

    if value is None:
        return '<span style="color:#999">—</span>'
    if kind == "pct" and isinstance(value, int | float):
        return f"{100 * value:.1f} %"
    if kind == "x" and isinstance(value, int | float):
        return f"{value:.2f}×"
    if kind == "num" and isinstance(value, int | float):
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    if isinstance(value, _td):
        return _html.escape(_duration(value))
    text = str(value)
    if kind == "code":
        short = text if len(text) <= 80 else text[:79] + "…"
        return f"<code>{_html.escape(short)}</code>"
    return _html.escape(text)


def _duration(value: Any) -> str:
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


_NUMERIC_KINDS = ("num", "pct", "x")
_NUMERIC_CELL = "text-align:right;white-space:nowrap"
_TEXT_CELL = "text-align:left"


def html_table(
    frame: Any,
    columns: Sequence[tuple[str, str, str]],
    *,
    highlight: str | None = None,
    caption: str = "",
    empty: str = "Nothing to show.",
) -> str:
    """An HTML table of ``frame`` (a polars DataFrame) with every cell HTML-escaped.

    ``columns`` are ``(column, header, kind)`` with kind ``text``, ``num``, ``pct``, ``x``
    (a ratio) or ``code`` (monospace, cut at 80 characters). Numbers (``num``, ``pct``, ``x``)
    are right-aligned and never broken across lines (``93.4 %`` stays whole in a narrow table).
    Rows whose ``highlight`` column is true are highlighted (``class="pbk-hl"``).
    """
    import html as _html

    head = "".join(f"<th>{_html.escape(h)}</th>" for _c, h, _k in columns)
    rows = []
    for row in frame.iter_rows(named=True):
        hl = bool(highlight and row.get(highlight))
        style = ' class="pbk-hl" style="background:#fff3bf;font-weight:600"' if hl else ""
        cells = "".join(
            f'<td style="{_NUMERIC_CELL if k in _NUMERIC_KINDS else _TEXT_CELL}">'
            f"{_dd_cell(row.get(c), k)}</td>"
            for c, _h, k in columns
        )
        rows.append(f"<tr{style}>{cells}</tr>")
    body = "".join(rows) or f'<tr><td colspan="{len(columns)}">{_html.escape(empty)}</td></tr>'
    cap = f"<caption style='text-align:left;font-weight:600'>{_html.escape(caption)}</caption>"
    return (
        f'<table class="pbk-table" style="border-collapse:collapse;font-size:12px">{cap}'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _project_root() -> Any:
    from pathlib import Path

    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "data" / "samples").is_dir() or (folder / "pyproject.toml").is_file():
            return folder
    return Path.cwd()


def _error_html(exc: BaseException, *secrets: str) -> str:
    import html as _html

    text = f"{type(exc).__name__}: {exc}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    style = "color:#b00020;white-space:pre-wrap"
    return f'<pre class="pbk-error" style="{style}">{_html.escape(text)}</pre>'


def _status_html(text: str) -> str:
    import html as _html

    style = "white-space:pre-wrap;margin:2px 0"
    return f'<pre class="pbk-status" style="{style}">{_html.escape(text)}</pre>'
