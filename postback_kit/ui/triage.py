"""The triage of notebook 01: :class:`Triage`.

Steps 1 and 2 of the troubleshooting workflow: once the export is chosen (:mod:`.exports`, or
the Logs API through :mod:`.fetch`), see the tracker list ranked by impact, pick a tracker and
see its codes, signatures with real example bodies, the hypothesis and the next action, and its
errors over time. The aggregates are computed once per export (Triage.set_diagnosis); the
tracker picker only filters them and redraws. Every text from the export is HTML-escaped here.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..overview import FAILING_CLASSES
from ..timeline import pattern_label
from .common import _WIDE, ChartView, html_table, tracker_label, tracker_name

_CLASS_LABELS = {"request_error": "4xx", "partner_error": "5xx", "network_error": "no answer"}
"""Short column headers of the tracker list; other classes are named with spaces."""
_TRIAGE_LIST_COLUMNS = (
    ("tracker", "tracker", "text"),
    ("status", "status", "text"),
    ("attempts", "attempts", "num"),
    ("failure_share", "failed share", "pct"),
    *((f"share_{c}", _CLASS_LABELS.get(c, c.replace("_", " ")), "pct") for c in FAILING_CLASSES),
    ("undelivered", "lost conversions", "num"),
    ("retrying", "still retrying", "num"),
    ("top_signatures", "top signatures", "text"),
)
_TRIAGE_CODE_COLUMNS = (
    ("code", "response code", "code"),
    ("outcome", "class", "text"),
    ("attempts", "attempts", "num"),
    ("share", "share of the tracker's attempts", "pct"),
    ("example", "example body", "code"),
)
_TRIAGE_ISSUE_COLUMNS = (
    ("category", "class", "text"),
    ("signature", "signature", "code"),
    ("codes", "codes", "text"),
    ("attempts", "attempts", "num"),
    ("deliveries", "postbacks hit", "num"),
    ("undelivered", "lost", "num"),
    ("pattern", "pattern", "text"),
    ("retry_behavior", "retries", "text"),
    ("example", "example body", "body"),
    ("hypothesis", "hypothesis", "text"),
    ("action", "next action", "text"),
    ("contact", "who acts", "text"),
)
_DEEP_DIVE_NOTEBOOK = "02_export_deep_dive.ipynb"


class Triage:
    """Notebook 01: the tracker list ranked by impact, and the picked tracker in detail.

    ``tracker`` (a Dropdown) redraws in place: ``trackers_table`` (the picked row highlighted),
    ``verdict`` (status, error codes, the top issue's hypothesis and next action),
    ``codes_table``, ``issues_table`` (signatures with a real example body each),
    ``timeline_view`` (a :class:`ChartView`: failed attempts over ``attempt_timestamp`` by
    class) and ``handoff`` (how to open notebook 02 on this tracker). The aggregates behind them
    are computed once per export (:meth:`set_diagnosis`); a pick only filters and draws.

    >>> triage = Triage(pk.diagnose(frame), tracker="12345678901234567890")   # doctest: +SKIP
    >>> triage.tracker.value = "987654321"                                    # doctest: +SKIP
    """

    def __init__(
        self,
        diagnosis: Any = None,
        *,
        tracker: str | int | None = None,
        since: Any = None,
        until: Any = None,
        source: Any = None,
        progress: bool | None = True,
    ) -> None:
        self.since, self.until = since, until
        self.progress = progress
        self.diagnosis: Any = None
        self.source: Any = source
        self.redraws = 0
        """How many times the tracker views were redrawn (tests and benchmarks read it)."""
        self.tracker_list: Any = None
        """The tracker list (:meth:`Diagnosis.triage` rows, worst first) with ``tracker`` (name
        and ID), ``share_<class>`` (failed attempts of the class ÷ attempts) and
        ``top_signatures`` (the three worst issues' signatures with their attempts)."""
        self.aggregates: Any = None
        """The export's :class:`postback_kit.overview.TriageOverview` (what every pick reads)."""
        self._initial = None if tracker is None else str(tracker)
        self._hold = False
        self.tracker = widgets.Dropdown(
            options=[("(no export loaded)", "")],
            description="Tracker",
            style={"description_width": "initial"},
            layout=_WIDE,
        )
        self.export_info = widgets.HTML()
        self.trackers_table = widgets.HTML()
        self.verdict = widgets.HTML()
        self.codes_table = widgets.HTML()
        self.issues_table = widgets.HTML()
        self.timeline_view = ChartView()
        self.handoff = widgets.HTML()
        self.controls = widgets.VBox([self.tracker, self.verdict])
        self.tracker.observe(self._on_tracker, names="value")
        if diagnosis is not None:
            self.set_diagnosis(diagnosis, source=source)

    # -- per export

    def load(self, frame: Any, *, source: Any = None) -> Any:
        """Diagnose ``frame`` (within ``since``–``until``) and show it; return the diagnosis."""
        import postback_kit as pk

        diagnosis = pk.diagnose(frame, since=self.since, until=self.until, progress=self.progress)
        self.set_diagnosis(diagnosis, source=source)
        return diagnosis

    def set_diagnosis(self, diagnosis: Any, *, source: Any = None) -> None:
        """Show another export's diagnosis: aggregate it once, then redraw."""
        import html as _html

        self.diagnosis = diagnosis
        if source is not None:
            self.source = source
        self._prepare(diagnosis)
        info = diagnosis.export
        failing = sum(t.status == "failing" for t in diagnosis.trackers)
        self.export_info.value = (
            "<p class='pbk-export-info' style='margin:4px 0'>"
            f"{info['attempts']:,} attempts of {info['trackers']} trackers "
            f"({failing} with errors), {_html.escape(str(info['start']))} to "
            f"{_html.escape(str(info['end']))}"
            + (f" · <code>{_html.escape(str(self.source))}</code>" if self.source else "")
            + (
                " · <span class='pbk-from-cache' title='the same export, time range, rules and "
                "toolkit version were diagnosed before; changing any of them computes it again'>"
                "diagnosis read from the cache</span>"
                if getattr(diagnosis, "from_cache", False)
                else ""
            )
            + "</p>"
        )
        options = [(tracker_label(t), t.tracking_id) for t in diagnosis.trackers]
        wanted = self._initial if self.tracker.value in ("", None) else self.tracker.value
        value = self._choose(options, wanted)
        if wanted and value and wanted not in (value, self.diagnosis.tracker(value).tracker_name):
            self.export_info.value += (
                "<p class='pbk-note' style='margin:4px 0;color:#b35900'>Tracker "
                f"<code>{_html.escape(str(wanted))}</code> is not in this export: showing "
                "the worst one.</p>"
            )
        self._hold = True
        try:
            self.tracker.options = options or [("(no trackers in this export)", "")]
            self.tracker.value = value
        finally:
            self._hold = False
        self.refresh()

    def _choose(self, options: list[tuple[str, str]], wanted: str | None) -> str:
        values = [v for _l, v in options]
        if not values:
            return ""
        if wanted:
            for t in self.diagnosis.trackers:
                if wanted in (t.tracking_id, t.tracker_name):
                    return str(t.tracking_id)
        return values[0]

    def _prepare(self, diagnosis: Any) -> None:
        """The aggregates every pick reads (:func:`postback_kit.overview.triage_overview`)."""
        import polars as pl

        from ..overview import triage_overview

        self.aggregates = triage_overview(diagnosis)
        rows = self.aggregates.trackers
        self.tracker_list = rows
        present = set(self.aggregates.classes)
        self._list_columns = [
            col
            for col in _TRIAGE_LIST_COLUMNS
            if not col[0].startswith("share_") or col[0].removeprefix("share_") in present
        ]
        # shown: a class a tracker does not have is a dash, not "0.0 %"
        self._list_view = (
            rows.with_columns(
                pl.when(pl.col(f"share_{c}") > 0).then(pl.col(f"share_{c}"))
                for c in sorted(present)
            )
            if present
            else rows
        )

    # -- per pick

    def _on_tracker(self, change: dict[str, Any]) -> None:
        if not self._hold:
            self.refresh()

    def refresh(self) -> None:
        """Redraw the views of the picked tracker from the export's aggregates."""
        import polars as pl

        from .. import charts

        d, tid = self.diagnosis, self.tracker.value
        if d is None:
            return
        if not tid:  # an export without trackers (or nothing in since–until): say so
            self.trackers_table.value = html_table(
                self.tracker_list, self._list_columns, empty="No trackers in this export."
            )
            for w in (self.verdict, self.codes_table, self.issues_table, self.handoff):
                w.value = ""
            return
        t = d.tracker(tid)
        top = t.issues[0] if t.issues else None
        name = tracker_name(t)
        self.trackers_table.value = html_table(
            self._list_view.with_columns((pl.col("tracking_id") == tid).alias("picked")),
            self._list_columns,
            highlight="picked",
            caption="Trackers ranked by impact: lost conversions, then failed attempts "
            "(failed share by class: share of the tracker's attempts); the picked one "
            "highlighted",
            empty="No trackers in this export.",
        )
        self.verdict.value = self._verdict_html(t, name)
        codes = self.aggregates.codes_of(tid)
        self.codes_table.value = html_table(
            codes,
            _TRIAGE_CODE_COLUMNS,
            caption=f"Response codes of {name}",
            empty="No attempts.",
        )
        self.issues_table.value = self._issues_html(t, name)
        counts = self.aggregates.counts_of(tid)
        subtitle = (
            f"top issue: {top.category} · {top.signature} ({pattern_label(top.pattern)})"
            if top
            else "no issues"
        )
        if len(subtitle) > 110:
            subtitle = subtitle[:109] + "…"
        self.timeline_view.update(
            charts.error_timeline(
                counts,
                every=d.bucket,
                title=f"Failed attempts over time by class: {name}",
                subtitle=subtitle,
                started_at=top.started_at if top else None,
                ended_at=top.ended_at if top else None,
            )
        )
        self.handoff.value = self._handoff_html(t, name)
        self.redraws += 1

    def _verdict_html(self, t: Any, name: str) -> str:
        import html as _html

        codes: dict[str, int] = {}
        for issue in t.issues:
            for c, n in issue.response_codes.items():
                codes[c] = codes.get(c, 0) + n
        code_text = ", ".join(f"{c} ({n:,})" for c, n in sorted(codes.items(), key=lambda x: -x[1]))
        parts = [
            f"<p style='margin:4px 0'><b>{_html.escape(name)}</b>: {_html.escape(t.status)}, "
            f"{t.attempts:,} attempts, {t.deliveries:,} postbacks, {t.undelivered:,} lost "
            f"conversions, {t.retrying:,} still retrying.</p>",
            f"<p style='margin:4px 0'><b>Error codes:</b> {_html.escape(code_text or 'none')}</p>",
        ]
        if t.issues:
            top = t.issues[0]
            h = top.hypothesis
            parts.append(
                "<p style='margin:4px 0'><b>Hypothesis</b> (top issue, "
                f"<code>{_html.escape(top.signature)}</code>): {_html.escape(h.text)}</p>"
                f"<p style='margin:4px 0'><b>Next action:</b> {_html.escape(h.action)} "
                f"<i>({_html.escape(h.contact)})</i></p>"
            )
        return f'<div class="pbk-verdict">{"".join(parts)}</div>'

    def _issues_html(self, t: Any, name: str) -> str:
        import html as _html

        import polars as pl

        rows = [
            {
                "category": i.category,
                "signature": i.signature,
                "codes": ", ".join(f"{c} ({n:,})" for c, n in i.response_codes.items()),
                "attempts": i.attempts,
                "deliveries": i.deliveries,
                "undelivered": i.undelivered,
                "pattern": pattern_label(i.pattern),
                "retry_behavior": i.retry_behavior,
                "example": i.example.get("response_body"),
                "hypothesis": i.hypothesis.text,
                "action": i.hypothesis.action,
                "contact": i.hypothesis.contact,
            }
            for i in t.issues
        ]
        frame = pl.DataFrame(rows, schema={c: None for c, _h, _k in _TRIAGE_ISSUE_COLUMNS})
        columns = [(c, h, "code" if k == "body" else k) for c, h, k in _TRIAGE_ISSUE_COLUMNS]
        table = html_table(
            frame,
            columns,
            caption=f"Issues of {name} (class × body signature), worst first",
            empty="No failing attempts: nothing to fix here.",
        )
        bodies = "".join(
            "<details style='margin:2px 0'><summary>Example body of "
            f"<code>{_html.escape(i.signature)}</code> "
            f"({_html.escape(str(i.example.get('response_code')))}, "
            f"{_html.escape(str(i.example.get('attempt_timestamp')))})</summary>"
            "<pre class='pbk-body' style='white-space:pre-wrap;max-height:12em;overflow:auto'>"
            f"{_html.escape(str(i.example.get('response_body') or '(empty body)'))}</pre></details>"
            for i in t.issues
        )
        return f'<div class="pbk-issues">{table}{bodies}</div>'

    def handoff_parameters(self) -> dict[str, Any]:
        """Notebook 02's parameters for the picked tracker (names of its parameters cell)."""
        params: dict[str, Any] = {"export": str(self.source) if self.source else None}
        params["tracker"] = self.tracker.value or None
        t = self.diagnosis.tracker(self.tracker.value) if self.tracker.value else None
        params["issue"] = t.issues[0].key if t and t.issues else None
        params["since"] = None if self.since is None else str(self.since)
        params["until"] = None if self.until is None else str(self.until)
        return {k: v for k, v in params.items() if v is not None}

    def papermill_command(self, output: str | None = None) -> str:
        """The shell command that runs notebook 02 headless on the picked tracker.

        Every parameter is passed with ``-r`` (a string as is): ``-p`` would read a numeric
        tracker ID as a number, which notebook 02 would not find in the export.
        """
        import shlex

        params = self.handoff_parameters()
        tid = params.get("tracker", "all")
        out = output or f"02_{tid}"
        args = [
            "python",
            "-m",
            "postback_kit.nbexport",
            f"notebooks/{_DEEP_DIVE_NOTEBOOK}",
        ]
        for k, v in params.items():  # -r: strings as they are (a tracker ID is not a number)
            args += ["-r", k, str(v)]
        args += ["-o", f"{out}.ipynb", "--export", f"{out}.html"]
        return " ".join(shlex.quote(a) for a in args)

    def _handoff_html(self, t: Any, name: str) -> str:
        import html as _html

        return (
            '<div class="pbk-handoff">'
            f"<p style='margin:4px 0'><b>Deep dive into {_html.escape(name)}:</b> open "
            f"<a href='{_DEEP_DIVE_NOTEBOOK}' target='_blank'>{_DEEP_DIVE_NOTEBOOK}</a> and set "
            f"<code>tracker = {_html.escape(repr(t.tracking_id))}</code> in its parameters cell, "
            "or run it headless:</p>"
            "<pre style='white-space:pre-wrap'>"
            f"{_html.escape(self.papermill_command())}</pre></div>"
        )

    # -- display

    @property
    def overview(self) -> widgets.VBox:
        """The export in one line and the tracker list."""
        return widgets.VBox([self.export_info, self.trackers_table])

    @property
    def details(self) -> widgets.VBox:
        """The picked tracker's response codes and issues."""
        return widgets.VBox([self.codes_table, self.issues_table])

    @property
    def widget(self) -> widgets.VBox:
        """Everything in one box."""
        return widgets.VBox(
            [
                self.export_info,
                self.trackers_table,
                self.controls,
                self.codes_table,
                self.issues_table,
                self.timeline_view,
                self.handoff,
            ]
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
