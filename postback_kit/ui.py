"""ipywidgets for the notebooks: pickers that redraw tables and charts in place.

Imported only by notebooks (``import postback_kit`` does not import it, nor ipywidgets). The
pattern: a picker calls a function with the chosen value; the function puts new content into an
``ipywidgets.Output`` with :func:`show_in`, which replaces the output's content in one step (no
flicker, no "run the cell again") and also works headless (papermill) and in exported HTML,
where :mod:`postback_kit.nbexport` draws the output's last content statically.

>>> import ipywidgets as widgets
>>> from postback_kit import charts, ui
>>> area = widgets.Output()
>>> pick = ui.picker(["t1", "t2"], lambda t: ui.show_in(area, charts.ChartDisplay(chart_for(t))),
...                  description="Tracker")                  # doctest: +SKIP
>>> widgets.VBox([pick, area])                                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import ipywidgets as widgets

__all__ = ["picker", "show_in"]

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
