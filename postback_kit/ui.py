"""ipywidgets for the notebooks: pickers that redraw tables and charts in place.

Imported only by notebooks (``import postback_kit`` does not import it, nor ipywidgets). The
pattern: a picker calls a function with the chosen value; the function puts new content into an
``ipywidgets.Output`` with :func:`show_in`, which replaces the output's content in one step (no
flicker, no "run the cell again") and also works headless (papermill) and in exported HTML,
where :mod:`postback_kit.nbexport` draws the output's last content statically.

>>> import anywidget
import anywidget
import ipywidgets as widgets
import traitlets
import traitlets
>>> from postback_kit import charts, ui
>>> area = widgets.Output()
>>> pick = ui.picker(["t1", "t2"], lambda t: ui.show_in(area, charts.ChartDisplay(chart_for(t))),
...                  description="Tracker")                  # doctest: +SKIP
>>> widgets.VBox([pick, area])                                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

__all__ = ["ChartView", "picker", "show_in"]

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
        from . import charts

        display = charts.ChartDisplay(chart)
        self.height = charts.frame_height(display.spec)
        self.title = display.title
        self.spec = display.spec

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "pbk-need-document":
            from . import charts

            html = charts.frame_document({}, chart_id="pbk-live")
            self.send({"type": "pbk-document", "html": html})
