"""ipywidgets for the notebooks: pickers that redraw tables and charts in place.

Imported only by notebooks (``import postback_kit`` does not import it, nor ipywidgets). The
pattern: a picker calls a function with the chosen value; the function puts new content into an
``ipywidgets.Output`` with :func:`show_in`, which replaces the output's content in one step (no
flicker, no "run the cell again") and also works headless (papermill) and in exported HTML,
where :mod:`postback_kit.nbexport` draws the output's last content statically.

The widgets live in this package only, one module per view: :mod:`.common` (pickers,
:class:`ChartView`, :func:`html_table`, shared layout and messages), :mod:`.triage` (notebook 01:
:class:`Triage`), :mod:`.exports` (choosing the export: :class:`ExportChooser`,
:func:`export_tabs`), :mod:`.fetch` (the Logs API form :class:`FetchForm` and its
:class:`TokenField`) and :mod:`.deepdive` (notebook 02: :class:`DeepDiveExplorer`). Use them as
``ui.X``: every name is here.

>>> import ipywidgets as widgets
>>> from postback_kit import charts, ui
>>> area = widgets.Output()
>>> pick = ui.picker(["t1", "t2"], lambda t: ui.show_in(area, charts.ChartDisplay(chart_for(t))),
...                  description="Tracker")                  # doctest: +SKIP
>>> widgets.VBox([pick, area])                                # doctest: +SKIP
"""

from __future__ import annotations

from .common import ChartView, html_table, picker, show_in, tracker_label, tracker_name
from .deepdive import DeepDiveExplorer
from .exports import ExportChooser, export_tabs, find_exports
from .fetch import FetchForm, TokenField
from .triage import Triage

__all__ = [
    "ChartView",
    "DeepDiveExplorer",
    "ExportChooser",
    "FetchForm",
    "TokenField",
    "Triage",
    "export_tabs",
    "find_exports",
    "html_table",
    "picker",
    "show_in",
    "tracker_label",
    "tracker_name",
]
