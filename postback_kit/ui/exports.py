"""Choosing the export of notebook 01: files on disk (:class:`ExportChooser`) or the Logs API.

:func:`find_exports` offers the export folders and files of the project (the bundled sample
first); :class:`ExportChooser` loads the chosen one; :func:`export_tabs` puts it and the Logs API
form (:class:`postback_kit.ui.fetch.FetchForm`) side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from .common import _WIDE, _error_html, _project_root, _status_html
from .fetch import FetchForm

_TRIAGE_EXPORT_SUFFIXES = (".csv", ".csv.gz", ".json", ".json.gz", ".parquet", ".pq")


def find_exports(*roots: Any, limit: int = 50) -> list[tuple[str, str]]:
    """Export folders and files below ``roots`` (the bundled sample first), as picker options.

    A folder holding export files (CSV, CSV.gz, the Logs API JSON, Parquet) is offered whole
    (``load`` reads every file in it) and so is each of its files. Hidden folders and the cache
    are skipped. Options are ``(label, path)``; at most ``limit`` of them.
    """
    from pathlib import Path

    from ..deepdive import bundled_sample

    found: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(label: str, path: Any) -> None:
        key = str(Path(path).resolve())
        if key not in seen and len(found) < limit:
            seen.add(key)
            found.append((label, str(path)))

    try:
        sample = bundled_sample()
        add(f"bundled sample ({sample})", sample)
    except Exception:  # no sample here: nothing to offer first
        sample = None
    for root in roots:
        base = Path(root)
        if not base.is_dir():
            continue
        folders: dict[Any, list[Any]] = {}
        for p in sorted(base.rglob("*")):
            parts = p.relative_to(base).parts
            if len(parts) > 4 or any(s.startswith(".") or s == "__pycache__" for s in parts):
                continue
            if p.is_file() and _looks_like_export(p):
                folders.setdefault(p.parent, []).append(p)
        top = base.resolve().parent

        def short(p: Any, top: Any = top) -> str:
            try:
                return str(p.resolve().relative_to(top))
            except ValueError:
                return str(p)

        for folder, files in folders.items():
            if len(files) > 1:
                add(f"{short(folder)} ({len(files)} files)", folder)
            for f in files[:20]:
                add(short(f), f)
    return found


def _looks_like_export(path: Any) -> bool:
    """An export file by its name (a plain ``.json`` only with the Logs API's ``"data"`` key)."""
    name = path.name.lower()
    if not name.endswith(_TRIAGE_EXPORT_SUFFIXES):
        return False
    if name.endswith(".json"):
        try:
            with path.open("rb") as fh:
                return b'"data"' in fh.read(256)
        except OSError:
            return False
    return True


class ExportChooser:
    """Choose an export (a file or a folder, the bundled sample by default) and load it.

    ``choice`` lists the exports found in the project's ``data/`` folder and next to the
    notebook; ``path`` takes any other file, folder or glob. :meth:`load` (also the *Load*
    button) loads it with a progress bar, shows the load report in ``status`` and calls
    ``on_load(frame, source)``. A button's progress bars and errors go to ``log``.

    >>> chooser = ExportChooser(None, on_load=triage.load)         # doctest: +SKIP
    >>> chooser.load()                                              # doctest: +SKIP
    """

    def __init__(
        self,
        path: Any = None,
        *,
        on_load: Callable[..., object] | None = None,
        roots: Sequence[Any] | None = None,
    ) -> None:
        from pathlib import Path

        from ..deepdive import resolve_export

        self.on_load = on_load
        self.result: Any = None
        self.source: Any = None
        start = resolve_export(path)
        root = _project_root()
        options = find_exports(*(roots if roots is not None else (root / "data", Path.cwd())))
        if str(start) not in [v for _l, v in options]:
            options.insert(0, (str(start), str(start)))
        self.choice = widgets.Dropdown(
            options=options,
            value=str(start),
            description="Export",
            style={"description_width": "initial"},
            layout=_WIDE,
        )
        self.path = widgets.Text(
            value=str(start),
            description="File, folder or glob",
            placeholder="path to an export",
            style={"description_width": "initial"},
            layout=_WIDE,
        )
        self.button = widgets.Button(description="Load", button_style="primary", icon="folder-open")
        self.status = widgets.HTML()
        self.log = widgets.Output()
        self.choice.observe(lambda c: setattr(self.path, "value", c["new"]), names="value")
        self.button.on_click(self._clicked)
        self.widget = widgets.VBox([self.choice, self.path, self.button, self.status, self.log])

    def load(self, path: Any = None) -> Any:
        """Load ``path`` (default: the chosen one); return ``(frame, report)``."""
        import postback_kit as pk

        from ..deepdive import resolve_export

        source = resolve_export(path if path is not None else self.path.value.strip())
        result = pk.load(source, report=True, progress=True)
        self.result, self.source = result, source
        self.status.value = _status_html(f"{source}\n{result.report.summary()}")
        if self.on_load is not None:
            self.on_load(result.frame, source=source)
        return result

    def _clicked(self, _button: Any) -> None:
        self.log.clear_output()
        with self.log:
            try:
                self.button.disabled = True
                self.load()
            except Exception as exc:
                self.status.value = _error_html(exc)
            finally:
                self.button.disabled = False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def export_tabs(chooser: ExportChooser, form: FetchForm) -> widgets.Tab:
    """The export's two sources side by side: files on disk, or the Logs API."""
    tabs = widgets.Tab(children=[chooser.widget, form.widget])
    tabs.titles = ("Files", "Logs API")
    return tabs
