"""The deep dive of notebook 02: :class:`DeepDiveExplorer`.

One tracker's issue in depth: pickers for tracker, issue, time range, bucket size, stacking and
classes redraw the charts (each a ChartView) and the tables (HTML widgets) in place. All
numbers come from postback_kit.deepdive; every text from the export is HTML-escaped here.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from .common import _WIDE, ChartView, _duration, html_table, tracker_label

_DD_STACK = (("class", "class"), ("signature", "signature"), ("response code", "code"))
_RANGE_STEPS = 200
"""At most this many steps in the time-range slider (the bucket is the smallest that fits)."""


_PARAM_COLUMNS = (
    ("source", "source", "text"),
    ("name", "parameter", "code"),
    ("problem", "problem", "text"),
    ("failing", "failing attempts", "num"),
    ("share_failing", "share failing", "pct"),
    ("ok", "succeeding attempts", "num"),
    ("share_ok", "share succeeding", "pct"),
    ("score", "score", "pct"),
    ("example_failing", "failing value", "code"),
    ("example_ok", "succeeding value", "code"),
)
_SEGMENT_COLUMNS = (
    ("column", "dimension", "code"),
    ("value", "value", "code"),
    ("rows", "postbacks", "num"),
    ("hits", "hit", "num"),
    ("share", "share of the hits", "pct"),
    ("hit_rate", "hit rate", "pct"),
    ("lift", "lift", "x"),
)


class DeepDiveExplorer:
    """Notebook 02: pickers, charts and tables for one tracker's issue, redrawn in place.

    ``diagnosis`` is :func:`postback_kit.diagnose` output. The pickers (``tracker``, ``issue``,
    ``period``, ``bucket``, ``by``, ``classes``) are ipywidgets; the charts are
    :class:`ChartView` objects (``timeline_view``, ``codes_view``, ``fates_view``,
    ``ttd_view``) that a change redraws with :meth:`ChartView.update`; the tables
    (``verdict``, ``parameters_table``, ``segments_table``, ``deliveries_table``) are HTML
    widgets. Display the parts where you want them (``controls``, ``timeline_box``, …) or the
    whole explorer at once. Bucket size, stacking and classes redraw only the timeline; the
    other pickers redraw everything.

    >>> ex = DeepDiveExplorer(pk.diagnose(frame), tracker="12345678901234567890")  # doctest: +SKIP
    >>> ex.controls                                                              # doctest: +SKIP
    """

    def __init__(
        self,
        diagnosis: Any,
        *,
        tracker: str | int | None = None,
        issue: str | None = None,
        since: Any = None,
        until: Any = None,
        bucket: str | None = None,
        by: str = "class",
    ) -> None:
        from .. import deepdive

        self.diagnosis = diagnosis
        self._prepared: dict[str, Any] = {}
        self._hold = True
        self.dd = self._prepare(tracker)
        self.redraws = 0
        """How many times the views were recomputed (tests and benchmarks read it)."""

        self.tracker = widgets.Dropdown(
            options=[(tracker_label(t), t.tracking_id) for t in diagnosis.trackers],
            value=self.dd.tracking_id,
            description="Tracker",
            style={"description_width": "initial"},
            layout=_WIDE,
        )
        self.issue = widgets.Dropdown(
            options=self.dd.issue_options(),
            description="Issue",
            style={"description_width": "initial"},
            layout=_WIDE,
        )
        self.issue.value = self._initial_issue(issue)
        steps = self._range_steps()
        self.period = widgets.SelectionRangeSlider(
            options=steps,
            index=self._range_index(steps, since, until),
            description="Time range (UTC)",
            continuous_update=False,
            style={"description_width": "initial"},
            layout=_WIDE,
        )
        self.bucket = widgets.Dropdown(
            options=self.dd.buckets,
            value=bucket if bucket in self.dd.buckets else self.dd.every,
            description="Bucket",
            style={"description_width": "initial"},
        )
        self.by = widgets.ToggleButtons(
            options=list(_DD_STACK),
            value=by if by in deepdive.STACK_BY else "class",
            description="Stack by",
            style={"description_width": "initial", "button_width": "110px"},
        )
        self.classes = widgets.SelectMultiple(
            options=self.dd.classes(),
            value=tuple(self.dd.classes()),
            description="Classes",
            rows=4,
            style={"description_width": "initial"},
        )
        self.verdict = widgets.HTML()
        self.timeline_view = ChartView()
        self.codes_view = ChartView()
        self.fates_view = ChartView()
        self.ttd_view = ChartView()
        self.parameters_table = widgets.HTML()
        self.segments_table = widgets.HTML()
        self.deliveries_table = widgets.HTML()

        self.controls = widgets.VBox([self.tracker, self.issue, self.period, self.verdict])
        self.timeline_box = widgets.VBox(
            [widgets.HBox([self.bucket, self.by]), self.classes, self.timeline_view]
        )
        self.deliveries_box = widgets.VBox([self.deliveries_table, self.fates_view, self.ttd_view])

        self.tracker.observe(self._on_tracker, names="value")
        for w in (self.issue, self.period):
            w.observe(lambda _c: self.refresh(), names="value")
        for w in (self.bucket, self.by, self.classes):
            w.observe(lambda _c: self.refresh(timeline_only=True), names="value")
        self._hold = False
        self.refresh()

    # -- state

    def _prepare(self, tracker: str | int | None) -> Any:
        from ..deepdive import deep_dive

        key = "" if tracker is None else str(tracker)
        if key not in self._prepared:
            dd = deep_dive(self.diagnosis, tracker)
            self._prepared[key] = self._prepared[dd.tracking_id] = dd
        return self._prepared[key]

    def _initial_issue(self, issue: str | None) -> str:
        """``None``: the worst issue; ``"all"``: all issues; else a key or signature."""
        if issue == "all" or not self.dd.issues:
            return "all"
        if issue is None:
            return str(self.dd.issues[0].key)
        chosen = self.dd.issue(issue)
        return "all" if chosen is None else str(chosen.key)

    def _range_steps(self) -> list[tuple[str, Any]]:
        import polars as pl

        from ..timeline import BUCKETS

        start, end = self.dd.start, self.dd.end
        if start is None or end is None:
            return [("all", None)]
        every = next(
            (
                n
                for n, size in BUCKETS
                if size >= BUCKETS[3][1] and (end - start) / size <= _RANGE_STEPS
            ),
            BUCKETS[-1][0],
        )
        lo = pl.Series([start]).dt.truncate(every).item()
        hi = pl.Series([end]).dt.truncate(every).dt.offset_by(every).item()
        points = pl.datetime_range(lo, hi, every, eager=True, time_zone="UTC").to_list()
        return [(f"{p:%d %b %H:%M}", p) for p in points]

    @staticmethod
    def _range_index(steps: list[tuple[str, Any]], since: Any, until: Any) -> tuple[int, int]:
        from ..timeline import as_utc

        lo, hi = as_utc(since), as_utc(until)
        values = [v for _l, v in steps]
        first, last = 0, len(values) - 1
        if lo is not None and values[0] is not None:
            first = max([i for i, v in enumerate(values) if v <= lo] or [0])
        if hi is not None and values[0] is not None:
            last = min([i for i, v in enumerate(values) if v >= hi] or [len(values) - 1])
        return (first, max(first, last))

    @property
    def since(self) -> Any:
        """Start of the chosen time range (UTC)."""
        return self.period.value[0]

    @property
    def until(self) -> Any:
        """End of the chosen time range (UTC, exclusive)."""
        return self.period.value[1]

    def _on_tracker(self, change: dict[str, Any]) -> None:
        self.dd = self._prepare(change["new"])
        self._hold = True
        try:
            self.issue.options = self.dd.issue_options()
            self.issue.value = self.dd.issues[0].key if self.dd.issues else "all"
            self.classes.options = self.dd.classes()
            self.classes.value = tuple(self.dd.classes())
        finally:
            self._hold = False
        self.refresh()

    # -- drawing

    def refresh(self, *, timeline_only: bool = False) -> None:
        """Recompute the views of the current choice and redraw them in place."""
        if self._hold:
            return
        from .. import charts

        dd, key = self.dd, self.issue.value
        since, until = self.since, self.until
        chosen = dd.issue(key)
        name = dd.tracker_name or dd.tracking_id
        what = f"{chosen.category} · {chosen.signature}" if chosen else "all issues"
        if len(what) > 90:
            what = what[:89] + "…"
        counts = dd.timeline(
            key,
            every=self.bucket.value,
            by=self.by.value,
            since=since,
            until=until,
            classes=list(self.classes.value),
        )
        subtitle = (
            f"{name} · pattern: {chosen.pattern}, coverage {100 * chosen.coverage:.0f} %"
            if chosen
            else f"{name} · classes: {', '.join(self.classes.value) or 'none'}"
        )
        self.timeline_view.update(
            charts.error_timeline(
                counts,
                every=self.bucket.value,
                title=f"Failed attempts over time: {what}",
                subtitle=subtitle,
                started_at=chosen.started_at if chosen else None,
                ended_at=chosen.ended_at if chosen else None,
            )
        )
        self.redraws += 1
        if timeline_only:
            return
        self.verdict.value = self._verdict_html(chosen, since, until)
        self.codes_view.update(
            charts.response_codes(
                dd.codes(key, since=since, until=until),
                title=f"Attempts by response code: {name}",
            )
        )
        params = dd.parameters(key, since=since, until=until)
        self.parameters_table.value = html_table(
            params,
            _PARAM_COLUMNS,
            highlight="suspect",
            caption=f"URL parameters: failing ({what}) vs succeeding attempts; "
            "suspects highlighted",
            empty="No URL parameters in these attempts.",
        )
        segs = dd.segments(key, since=since, until=until)
        self.segments_table.value = html_table(
            segs,
            _SEGMENT_COLUMNS,
            highlight="explains",
            caption="Segments: which value the hit postbacks share (share ≥ 90 %, lift ≥ 1.5× "
            "explains a partial issue; highlighted)",
            empty="The selection hits no postback in this time range.",
        )
        summary = dd.delivery_summary(key, since=since, until=until)
        self.deliveries_table.value = self._deliveries_html(summary, chosen)
        scope = "hit by the issue" if chosen else "of the tracker"
        self.fates_view.update(
            charts.delivery_fates(summary.fates(), title=f"What became of the postbacks {scope}")
        )
        self.ttd_view.update(
            charts.time_to_delivery(
                dd.time_to_delivery(key, since=since, until=until),
                title=f"Time from the first attempt to delivery, postbacks {scope}",
            )
        )

    def _verdict_html(self, chosen: Any, since: Any, until: Any) -> str:
        import html as _html

        v = self.dd.verdict(chosen.key if chosen else None, since=since, until=until)
        parts = [f"<p style='margin:4px 0'>{_html.escape(v.text)}</p>"]
        if chosen is not None:
            h = chosen.hypothesis
            parts.append(
                "<p style='margin:4px 0'><b>Hypothesis:</b> "
                f"{_html.escape(h.text)} <b>Next:</b> {_html.escape(h.action)} "
                f"<i>({_html.escape(h.contact)})</i></p>"
            )
            body = chosen.example.get("response_body")
            if body:
                short = str(body) if len(str(body)) <= 300 else str(body)[:299] + "…"
                parts.append(
                    "<p style='margin:4px 0'><b>Example body:</b> "
                    f"<code>{_html.escape(short)}</code></p>"
                )
        return f'<div class="pbk-verdict">{"".join(parts)}</div>'

    @staticmethod
    def _deliveries_html(summary: Any, chosen: Any) -> str:
        import polars as pl

        share = summary.cured_share
        rows = pl.DataFrame(
            {
                "what": [
                    "postbacks (first attempt in the time range)",
                    "delivered at the first attempt",
                    "cured by retries",
                    "lost (given up)",
                    "still retrying at the end of the export",
                    "cured share of the settled failures",
                    "duplicates received by the partner",
                    "median attempts per postback",
                    "median time to delivery (cured)",
                    "90th percentile time to delivery (cured)",
                ],
                "value": [
                    f"{summary.postbacks:,}",
                    f"{summary.first_try:,}",
                    f"{summary.cured:,}",
                    f"{summary.lost:,}",
                    f"{summary.retrying:,}",
                    "—" if share is None else f"{100 * share:.1f} %",
                    f"{summary.duplicates:,}",
                    "—" if summary.median_attempts is None else f"{summary.median_attempts:g}",
                    "—"
                    if summary.median_time_to_delivery is None
                    else _duration(summary.median_time_to_delivery),
                    "—"
                    if summary.p90_time_to_delivery is None
                    else _duration(summary.p90_time_to_delivery),
                ],
            }
        )
        scope = "hit by the issue" if chosen else "of the tracker"
        return html_table(
            rows,
            (("what", "", "text"), ("value", "", "num")),
            caption=f"Retries and deliveries: postbacks {scope}",
        )

    # -- display

    @property
    def widget(self) -> widgets.VBox:
        """Everything in one box: controls, timeline, codes, tables, deliveries."""
        return widgets.VBox(
            [
                self.controls,
                self.timeline_box,
                self.codes_view,
                self.parameters_table,
                self.segments_table,
                self.deliveries_box,
            ]
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
