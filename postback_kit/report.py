"""Partner report: a rendered, self-contained, privacy-safe evidence pack for one tracker.

The pure part, :func:`partner_report`, takes an export (or a :class:`~postback_kit.Diagnosis`)
and one tracker and returns a :class:`PartnerReport`: what fails, since when, how often, the
pattern, the response codes and body signatures, a table of real example attempts with
``response_code``, ``response_body``, the time of sending and the ``postback_url`` (what the
AppMetrica docs say to send a partner), the likely cause, what is asked of the partner, and the
:class:`Provenance` of the data (files, row counts, time range, toolkit version).

Everything a report shows is redacted by default (``redact="hash"``): device and advertising
IDs, IP addresses and user agents are replaced by keyed hashes (:class:`~postback_kit.Redactor`),
also inside URLs, URL parameters, response bodies, messages and signatures; ``"remove"`` drops
them instead of hashing; ``"none"`` lifts redaction explicitly (and the report says so).

The edge, :func:`render_report`, runs ``notebooks/03_partner_report.ipynb`` (shipped in the
package as :data:`NOTEBOOK`) with papermill in the caller's folder and writes one offline HTML
page (:mod:`postback_kit.nbexport`; code cells hidden by default) or the
executed notebook. Response bodies are untrusted: every text is HTML-escaped when rendered.

>>> import postback_kit as pk
>>> frame, source = pk.load("data/samples/csv", report=True)              # doctest: +SKIP
>>> rep = pk.partner_report(frame, "12345678901234567890", source=source)  # doctest: +SKIP
>>> print(rep)                                                            # doctest: +SKIP
>>> pk.render_report("data/samples/csv", "12345678901234567890", "report.html")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from .diagnose import EXAMPLE_COLUMNS, Issue
from .errors import ConfigError, PostbackKitError
from .redact import ID_PARAMETERS, Redactor
from .schema import PII_FIELDS
from .signatures import NO_ANSWER_CODE
from .timeline import pattern_label

if TYPE_CHECKING:
    import altair as alt

    from .diagnose import Diagnosis
    from .load import LoadReport, LoadResult

__all__ = [
    "REDACT_LEVELS",
    "PartnerReport",
    "Provenance",
    "ReportIssue",
    "partner_report",
    "render_report",
]

RedactLevel = Literal["hash", "remove", "none"]
REDACT_LEVELS: tuple[str, ...] = ("hash", "remove", "none")
"""``hash``: identifiers become keyed hashes; ``remove``: they are removed; ``none``: shown."""

NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "03_partner_report.ipynb"
"""The notebook :func:`render_report` runs: package data, so that an installed postback-kit
has it too (in a checkout, ``postback_kit/notebooks/`` links to ``notebooks/``)."""

_DERIVED = ("outcome", "failure", "message", "signature", "delivery_id")
_REMOVED = "(removed)"
_TOKEN = r"\b(?:id:[0-9a-f]{10}|id:hidden|ip:hidden)\b"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def _version() -> str:
    from . import __version__

    return __version__


def _requests() -> dict[str, dict[str, str]]:
    text = resources.files("postback_kit").joinpath("data/partner_requests.toml").read_text("utf-8")
    return tomllib.loads(text)


# --------------------------------------------------------------------------- results


@dataclass
class Provenance:
    """Which data a report came from, so the partner and the analyst talk about the same data."""

    files: list[dict[str, Any]]
    """``{"name", "rows"}`` per export file (empty when the frame came without a load report)."""
    rows_read: int | None
    rows_loaded: int | None
    rows_rejected: int | None
    export_attempts: int
    export_start: datetime | None
    export_end: datetime | None
    since: datetime | None
    until: datetime | None
    report_attempts: int
    first_attempt: datetime | None
    last_attempt: datetime | None
    toolkit_version: str
    redaction: str
    generated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {k: _iso(v) if isinstance(v, datetime) else v for k, v in self.__dict__.items()}


_NOT_IN_REPORT_DICT = ("tracking_id", "hypothesis", "example")
"""Fields of an :class:`~postback_kit.diagnose.Issue` that :meth:`ReportIssue.to_dict` leaves
out: the tracker is the report's, the hypothesis is spelled out as likely cause, next step and
contact, and the example attempts are the report's ``examples``."""


@dataclass
class ReportIssue(Issue):
    """One issue of the tracker as the partner sees it: the diagnosis's
    :class:`~postback_kit.diagnose.Issue` with its texts redacted (signature, message, segment,
    suspect parameters, the example attempt), plus its number in the report, the title and what
    the report asks of the partner."""

    number: int
    title: str
    request: str
    """What the report asks of the partner for this issue."""

    @property
    def likely_cause(self) -> str:
        return self.hypothesis.text

    @property
    def next_step(self) -> str:
        return self.hypothesis.action

    @property
    def contact(self) -> str:
        return self.hypothesis.contact

    @property
    def failing(self) -> bool:
        return self.category != "false_failure"

    def to_dict(self) -> dict[str, Any]:
        evidence = {
            f.name: getattr(self, f.name)
            for f in fields(Issue)
            if f.name not in _NOT_IN_REPORT_DICT
        }
        out = {
            "number": self.number,
            **evidence,
            "likely_cause": self.likely_cause,
            "next_step": self.next_step,
            "contact": self.contact,
            "title": self.title,
            "request": self.request,
        }
        return {k: _iso(v) if isinstance(v, datetime) else v for k, v in out.items()}


@dataclass
class PartnerReport:
    """What a partner needs to see about one tracker's failing postbacks.

    ``examples`` (one row per example attempt: ``issue``, ``signature``, ``attempt_timestamp``,
    ``response_code``, ``response_body``, ``postback_url``, ``notifying_status``), ``codes``
    (attempts per issue and response code) and ``timeline`` (``timeline.series_counts`` by
    signature) are redacted frames; ``to_dict()`` holds everything but ``timeline``.
    """

    tracking_id: str
    tracker_name: str | None
    publisher_name: str | None
    status: str
    attempts: int
    failed_attempts: int
    deliveries: int
    delivered: int
    undelivered: int
    retrying: int
    issues: list[ReportIssue]
    examples: pl.DataFrame = field(repr=False)
    codes: pl.DataFrame = field(repr=False)
    timeline: pl.DataFrame = field(repr=False)
    bucket: str
    redaction: str
    provenance: Provenance

    # ---- what fails, since when, how often

    @property
    def failing_since(self) -> datetime | None:
        """When the earliest failing issue was first seen (its onset, if it has one)."""
        starts = [i.started_at or i.first_seen for i in self.issues if i.failing]
        known = [s for s in starts if s is not None]
        return min(known) if known else None

    @property
    def failure_share(self) -> float:
        return self.failed_attempts / self.attempts if self.attempts else 0.0

    def headline(self) -> str:
        """One sentence: what fails, how often, since when."""
        name = f"Tracker {self.tracking_id}" + (
            f" ({self.tracker_name})" if self.tracker_name else ""
        )
        if not self.issues:
            return f"{name}: no failing postbacks in this period ({self.attempts:,} attempts)."
        top = self.issues[0]
        since = self.failing_since
        when = f" since {_iso(since)}" if since else ""
        return (
            f"{name}: {self.failed_attempts:,} of {self.attempts:,} sending attempts failed "
            f"({self.failure_share:.1%}){when}; {self.undelivered:,} of {self.deliveries:,} "
            f"postbacks were never delivered. Main issue: {top.title} — "
            f'"{top.signature}", {top.pattern}.'
        )

    def to_dict(self) -> dict[str, Any]:
        def rows(df: pl.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: _iso(v) if isinstance(v, datetime) else v for k, v in r.items()}
                for r in df.iter_rows(named=True)
            ]

        return {
            "tracking_id": self.tracking_id,
            "tracker_name": self.tracker_name,
            "publisher_name": self.publisher_name,
            "status": self.status,
            "headline": self.headline(),
            "attempts": self.attempts,
            "failed_attempts": self.failed_attempts,
            "deliveries": self.deliveries,
            "delivered": self.delivered,
            "undelivered": self.undelivered,
            "retrying": self.retrying,
            "failing_since": _iso(self.failing_since),
            "bucket": self.bucket,
            "redaction": self.redaction,
            "issues": [i.to_dict() for i in self.issues],
            "examples": rows(self.examples),
            "codes": rows(self.codes),
            "provenance": self.provenance.to_dict(),
        }

    def __str__(self) -> str:
        lines = [self.headline(), ""]
        if self.redaction == "none":
            lines += ["WARNING: redaction is off; identifiers are shown as exported.", ""]
        for i in self.issues:
            codes = ", ".join(f"{c}×{n:,}" for c, n in i.response_codes.items())
            lines += [
                f"{i.number}. [{i.category}] {i.signature}",
                f"   {i.attempts:,} attempts ({codes}), {i.undelivered:,} postbacks lost"
                f"{_retrying_text(i)}, "
                f"{i.pattern}, {_iso(i.first_seen)} → {_iso(i.last_seen)}",
                f"   likely cause: {i.likely_cause}",
                f"   we ask: {i.request}",
            ]
        p = self.provenance
        lines += [
            "",
            f"Data: {f'{len(p.files)} file(s), ' if p.files else ''}{p.export_attempts:,} attempts "
            f"{_iso(p.export_start)} → {_iso(p.export_end)}; postback-kit {p.toolkit_version}, "
            f"redaction {p.redaction}.",
        ]
        return "\n".join(lines)

    # ---- views

    def charts(self) -> list[alt.LayerChart | alt.FacetChart | alt.Chart]:
        """The pattern chart (failures over time) and the response codes per issue."""
        from .charts import error_timeline, response_codes_chart

        top = next((i for i in self.issues if i.failing), None)
        out: list[Any] = [
            error_timeline(
                self.timeline,
                every=self.bucket,
                title=f"Failed attempts over time, tracker {self.tracking_id}",
                started_at=top.started_at if top else None,
                ended_at=top.ended_at if top else None,
            )
        ]
        if not self.codes.is_empty():
            out.append(response_codes_chart(self.codes))
        return out

    def summary_html(self) -> str:
        """Headline, redaction notice and key numbers."""
        how = "replaced by keyed hashes" if self.redaction == "hash" else "removed"
        notice = (
            '<p class="pbk-warn"><b>Redaction is OFF</b> (<code>--redact none</code>): device '
            "and advertising IDs, IP addresses and user agents are shown as exported.</p>"
            if self.redaction == "none"
            else '<p class="pbk-note">Privacy: device and advertising IDs, IP addresses and '
            f"user agents are {how} everywhere in this report, including inside URLs and "
            "response bodies.</p>"
        )
        since = self.failing_since
        facts = [
            ("tracker", f"{self.tracking_id} {self.tracker_name or ''}".strip()),
            ("partner (publisher)", self.publisher_name or "—"),
            ("failing since", _iso(since) or "—"),
            (
                "failed attempts",
                f"{self.failed_attempts:,} of {self.attempts:,} ({self.failure_share:.1%})",
            ),
            (
                "postbacks not delivered",
                f"{self.undelivered:,} of {self.deliveries:,}"
                + (f" ({self.retrying:,} still retrying)" if self.retrying else ""),
            ),
            (
                "period analysed",
                f"{_iso(self.provenance.first_attempt)} → {_iso(self.provenance.last_attempt)}",
            ),
        ]
        return (
            f"{_STYLE}<div class='pbk-report'><p class='pbk-headline'>{_e(self.headline())}</p>"
            f"{notice}{_dl(facts)}</div>"
        )

    def issues_html(self) -> str:
        """One block per issue: codes, signature, pattern, cause and the request."""
        if not self.issues:
            return "<div class='pbk-report'><p>No failing postbacks in this period.</p></div>"
        parts = []
        for i in self.issues:
            codes = ", ".join(f"{c} × {n:,}" for c, n in i.response_codes.items())
            facts = [
                ("signature", i.signature),
                ("message", i.message or "—"),
                ("response codes", codes),
                ("class", i.category),
                (
                    "volume",
                    f"{i.attempts:,} attempts, {i.deliveries:,} postbacks, "
                    f"{i.undelivered:,} never delivered{_retrying_text(i)}",
                ),
                ("seen", f"{_iso(i.first_seen)} → {_iso(i.last_seen)}"),
                ("pattern", _pattern_text(i)),
                ("retries", i.retry_behavior),
            ]
            if i.segment:
                facts.append(("segment", _segment_text(i.segment)))
            for s in i.suspect_parameters[:3]:
                facts.append(
                    (
                        f"parameter {s.get('name')}",
                        f"{s.get('problem')} in {s.get('share_failing', 0):.0%} of failing "
                        f"attempts (e.g. {_example_text(s.get('example_failing'))}), "
                        f"{s.get('share_ok', 0):.0%} of delivered ones",
                    )
                )
            facts += [
                ("likely cause", i.likely_cause),
                ("what we ask of you", i.request),
            ]
            parts.append(
                f"<section class='pbk-issue'><h3>{i.number}. {_e(i.title)}</h3>{_dl(facts)}"
                "</section>"
            )
        return f"{_STYLE}<div class='pbk-report'>{''.join(parts)}</div>"

    def examples_html(self) -> str:
        """The example attempts: time, code, body and URL as sent (escaped, never run)."""
        if self.examples.is_empty():
            return "<div class='pbk-report'><p>No example attempts.</p></div>"
        head = (
            "issue",
            "attempt time (UTC)",
            "response_code",
            "response_body",
            "postback_url",
            "notifying_status",
        )
        rows = [
            (
                _td(r["issue"]),
                _td(_iso(r.get("attempt_timestamp")), "pbk-nowrap"),
                _td(_code_text(r.get("response_code"))),
                _td_body(r.get("response_body")),
                f"<td><code class='pbk-url'>{_e(r.get('postback_url'))}</code></td>",
                _td(r.get("notifying_status")),
            )
            for r in self.examples.iter_rows(named=True)
        ]
        return _evidence_table(head, rows)

    def codes_html(self) -> str:
        """Attempts per issue and response code, with one real body each."""
        head = (
            "issue",
            "signature",
            "response_code",
            "attempts",
            "first seen (UTC)",
            "last seen (UTC)",
            "example body",
        )
        rows = [
            (
                _td(r["issue"]),
                _td(r["signature"]),
                _td(_code_text(r.get("response_code"))),
                _td(f"{r['attempts']:,}"),
                _td(_iso(r["first_seen"]), "pbk-nowrap"),
                _td(_iso(r["last_seen"]), "pbk-nowrap"),
                _td_body(r.get("example_body")),
            )
            for r in self.codes.iter_rows(named=True)
        ]
        return _evidence_table(head, rows)

    def provenance_html(self) -> str:
        """Files, row counts, time range, toolkit version, redaction."""
        p = self.provenance
        files = "".join(
            f"<li><code>{_e(f['name'])}</code>: {f['rows']:,} rows</li>" for f in p.files
        )
        facts = [
            (
                "export",
                f"{p.export_attempts:,} attempts, {_iso(p.export_start)} → {_iso(p.export_end)}",
            ),
        ]
        if p.rows_read is not None:
            facts.append(
                (
                    "rows",
                    f"{p.rows_read:,} read, {p.rows_loaded:,} loaded, {p.rows_rejected:,} rejected",
                )
            )
        facts += [
            ("requested range", f"{_iso(p.since) or 'start'} → {_iso(p.until) or 'end'}"),
            (
                "this report",
                f"{p.report_attempts:,} attempts of tracker {self.tracking_id}, "
                f"{_iso(p.first_attempt)} → {_iso(p.last_attempt)}",
            ),
            ("toolkit", f"postback-kit {p.toolkit_version}"),
            ("redaction", p.redaction),
            ("generated", _iso(p.generated_at) or ""),
        ]
        listing = f"<p>Files:</p><ul>{files}</ul>" if files else ""
        return f"{_STYLE}<div class='pbk-report'>{_dl(facts)}{listing}</div>"

    def to_html(self) -> str:
        """All sections as one HTML fragment (without charts)."""
        return "".join(
            (
                self.summary_html(),
                "<h2>Issues</h2>",
                self.issues_html(),
                "<h2>Codes and signatures</h2>",
                self.codes_html(),
                "<h2>Example attempts</h2>",
                self.examples_html(),
                "<h2>Data</h2>",
                self.provenance_html(),
            )
        )

    def _repr_html_(self) -> str:
        return self.to_html()


_STYLE = """<style>
.pbk-report{font-family:system-ui,sans-serif;font-size:13px;line-height:1.45}
.pbk-report .pbk-headline{font-size:15px;font-weight:600}
.pbk-report .pbk-warn{background:#fde8e8;border:1px solid #b00020;padding:6px 10px}
.pbk-report .pbk-note{color:#444}
.pbk-report table.pbk-facts{border-collapse:collapse;margin:6px 0}
.pbk-report table.pbk-facts th{font-weight:600;color:#333;text-align:left;white-space:nowrap;
padding:1px 16px 1px 0;vertical-align:top}
.pbk-report table.pbk-facts td{white-space:pre-wrap;text-align:left;padding:1px 0}
.pbk-report table.pbk-examples{border-collapse:collapse;width:100%;table-layout:auto}
.pbk-report table.pbk-examples th,.pbk-report table.pbk-examples td{border:1px solid #ccc;
padding:3px 6px;vertical-align:top;text-align:left}
.pbk-report pre.pbk-body{white-space:pre-wrap;word-break:break-all;margin:0;max-width:40em;
font-size:12px}
.pbk-report code.pbk-url{word-break:break-all;font-size:12px}
.pbk-report .pbk-nowrap{white-space:nowrap}
</style>"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _td(value: Any, cls: str | None = None) -> str:
    attr = f" class='{cls}'" if cls else ""
    return f"<td{attr}>{_e(value)}</td>"


def _td_body(body: str | None) -> str:
    """A response body as sent: preformatted, escaped."""
    return f"<td><pre class='pbk-body'>{_e(body)}</pre></td>"


def _code_text(code: Any) -> str:
    return NO_ANSWER_CODE if code is None else str(code)


def _evidence_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of evidence rows: ``head`` texts (escaped here), rows of ``<td>`` cells (escaped
    by :func:`_td`)."""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(f"<tr>{''.join(cells)}</tr>" for cells in rows)
    return (
        f"{_STYLE}<div class='pbk-report'><table class='pbk-examples'>"
        f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _dl(facts: list[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    return f"<table class='pbk-facts'><tbody>{rows}</tbody></table>"


def _retrying_text(i: ReportIssue) -> str:
    """Postbacks whose retries had not ended when the export did: not lost, not yet delivered."""
    return f" (+ {i.retrying:,} still retrying at the export's end)" if i.retrying else ""


def _pattern_text(i: ReportIssue) -> str:
    text = f"{pattern_label(i.pattern)}, in {i.coverage:.0%} of the time buckets with traffic"
    if i.started_at:
        text += f"; started {_iso(i.started_at)}"
    if i.ended_at:
        text += f"; ended {_iso(i.ended_at)}"
    return text


def _segment_text(segment: dict[str, Any]) -> str:
    """``os_version = 18.6.2: 100% of this issue's attempts; 9% of its attempts fail so``."""
    if "column" not in segment:
        return ", ".join(f"{k}: {v}" for k, v in segment.items())
    value = "(empty)" if segment.get("value") is None else segment["value"]
    return (
        f"{segment['column']} = {value}: {float(segment.get('share', 0)):.0%} of this issue's "
        f"attempts; {float(segment.get('hit_rate', 0)):.0%} of the attempts with this value fail "
        f"so, against {float(segment.get('overall_rate', 0)):.0%} overall"
    )


def _example_text(value: Any) -> str:
    if value is None:
        return "no value"
    return "empty" if value == "" else repr(value)


# --------------------------------------------------------------------------- redaction


class _Hider:
    """One redaction level applied consistently to a report's frames and texts."""

    def __init__(self, level: str, frame: pl.DataFrame, key: bytes | str | None) -> None:
        self.level = level
        self.redactor = Redactor(key)
        known: set[str] = set()
        for c in PII_FIELDS:
            if c in frame.columns:
                known.update(frame[c].cast(pl.String).drop_nulls().unique().to_list())
        self._mapping = self.redactor._tokens(known) if level != "none" else {}
        self._patterns = sorted(self._mapping, key=len, reverse=True)

    def _finish(self, expr: pl.Expr) -> pl.Expr:
        return expr.str.replace_all(_TOKEN, _REMOVED) if self.level == "remove" else expr

    def frame(self, frame: pl.DataFrame, text_columns: tuple[str, ...] = ()) -> pl.DataFrame:
        if self.level == "none":
            return frame
        out = self.redactor.frame(frame, text_columns=text_columns)
        if self.level == "remove":
            out = out.drop([c for c in PII_FIELDS if c in out.columns])
            texts = [c for c in (*_TEXTS, *text_columns) if c in out.columns]
            out = out.with_columns(self._finish(pl.col(c)) for c in texts)
        return out

    def texts(self, values: list[str | None]) -> list[str | None]:
        """Free texts (messages, signatures, parameter values) with identifiers hidden."""
        if self.level == "none" or not values:
            return values
        df = pl.DataFrame({"response_body": values}, schema={"response_body": pl.String})
        if self._patterns:
            df = df.with_columns(
                pl.col("response_body").str.replace_many(
                    self._patterns, [self._mapping[p] for p in self._patterns]
                )
            )
        df = self.redactor.frame(df).with_columns(self._finish(pl.col("response_body")))
        return df["response_body"].to_list()

    def parameter(self, name: str, value: Any) -> Any:
        """A URL parameter's value: always hidden when the name says it carries an identifier."""
        if self.level == "none" or not isinstance(value, str) or not value:
            return value
        if name.lower() in ID_PARAMETERS:
            hidden = self.texts([f"{name}={value}"])[0] or ""
            return hidden.split("=", 1)[1] if "=" in hidden else hidden
        return self.texts([value])[0]


_TEXTS = ("postback_url", "postback_url_parameters", "click_url_parameters", "response_body")


# --------------------------------------------------------------------------- the pure part


def _bound(value: str | date | datetime | None, *, end: bool) -> datetime | None:
    """A time bound in UTC; a bare date as ``until`` means the end of that day."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed: date | datetime = (
                date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
            )
        except ValueError as exc:
            raise ConfigError(
                f"cannot read the time {'until' if end else 'since'}={value!r}.",
                found=str(exc),
                hint="use ISO 8601: 2026-11-05, 2026-11-05T12:00 or 2026-11-05T12:00:00+03:00.",
            ) from exc
        value = parsed
    if not isinstance(value, datetime):
        day = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return day + timedelta(days=1) if end else day
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _raw_attempts(source: Any) -> pl.DataFrame:
    from .diagnose import Diagnosis

    if isinstance(source, Diagnosis):
        att = source.attempts
        return att.drop([c for c in _DERIVED if c in att.columns])
    if isinstance(source, pl.LazyFrame):
        return source.collect()
    if isinstance(source, pl.DataFrame):
        return source
    raise TypeError(
        f"partner_report takes an attempt frame or a Diagnosis, not {type(source).__name__}"
    )


def _provenance_files(source: LoadReport | LoadResult | None) -> tuple[list[dict[str, Any]], Any]:
    if source is None:
        return [], None
    report = source.report if hasattr(source, "report") else source
    files = [{"name": Path(f.path).name, "rows": f.rows_loaded} for f in report.files]
    return files, report


def _spread(n: int, k: int) -> list[int]:
    """``k`` row indices spread evenly over ``n`` rows (first and last included)."""
    if n <= k:
        return list(range(n))
    if k == 1:
        return [n - 1]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def _codes_key(codes: dict[str, int]) -> str:
    return ", ".join(list(codes)[:3])  # a code-less key is already NO_ANSWER_CODE


def partner_report(
    frame_or_diagnosis: pl.LazyFrame | pl.DataFrame | Diagnosis,
    tracker: str | int | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    redact: RedactLevel | str = "hash",
    *,
    source: LoadReport | LoadResult | None = None,
    examples: int = 5,
    key: bytes | str | None = None,
    rules: str | os.PathLike[str] | None = None,
) -> PartnerReport:
    """The evidence a partner needs about one tracker's failing postbacks.

    Parameters
    ----------
    frame_or_diagnosis
        The attempt table (:func:`postback_kit.load`) or a :class:`~postback_kit.Diagnosis`.
    tracker
        ``tracking_id`` or tracker name; ``None``: the tracker with the worst issue.
    since, until
        Only attempts in ``[since, until)`` (ISO strings, dates or datetimes; naive means UTC;
        a bare date as ``until`` includes that day).
    redact
        ``"hash"`` (default), ``"remove"`` or ``"none"`` (see :data:`REDACT_LEVELS`).
    source
        The load report (``pk.load(..., report=True)``) for the provenance: files and rows.
    examples
        Example attempts per issue, spread over the issue's time span.
    key
        Key of the keyed hashes (default: ``$POSTBACK_KIT_REDACT_KEY`` or random per report).
    rules
        A TOML file of your own knowledge-base rules.
    """
    from .diagnose import diagnose
    from .timeline import choose_bucket, series_counts

    if redact not in REDACT_LEVELS:
        raise ConfigError(
            f"unknown redaction level {redact!r}.",
            found=str(redact),
            hint=f"use one of {', '.join(REDACT_LEVELS)}.",
        )
    raw = _raw_attempts(frame_or_diagnosis)
    lo, hi = _bound(since, end=False), _bound(until, end=True)
    if lo is not None and hi is not None and hi <= lo:
        raise ConfigError(
            "the report's time range is empty.",
            found=f"since {_iso(lo)}, until {_iso(hi)}",
            hint="until must come after since.",
        )
    export_start = raw["attempt_timestamp"].min() if "attempt_timestamp" in raw.columns else None
    export_end = raw["attempt_timestamp"].max() if "attempt_timestamp" in raw.columns else None

    scoped = raw
    if lo is not None:
        scoped = scoped.filter(pl.col("attempt_timestamp") >= lo)
    if hi is not None:
        scoped = scoped.filter(pl.col("attempt_timestamp") < hi)
    if tracker is None:
        overall = diagnose(raw, since=lo, until=hi, rules=rules)
        if not overall.trackers:
            raise PostbackKitError(
                "the export has no attempts in this time range.",
                found=f"{raw.height:,} attempts {_iso(export_start)} → {_iso(export_end)}",
                hint="widen since/until.",
            )
        tracker = overall.trackers[0].tracking_id
    key_text = str(tracker)
    cond = pl.col("tracking_id") == key_text
    if "tracker_name" in scoped.columns:
        cond = cond | (pl.col("tracker_name") == key_text)
    scoped = scoped.filter(cond)
    if scoped.is_empty():
        in_export = raw.filter(
            (pl.col("tracking_id") == key_text)
            | ((pl.col("tracker_name") == key_text) if "tracker_name" in raw.columns else False)
        )
        if in_export.is_empty():
            known = ", ".join(raw["tracking_id"].unique().sort().head(10).to_list())
            found = f"trackers {known}"
        else:
            found = (
                f"its {in_export.height:,} attempts run from "
                f"{_iso(in_export['attempt_timestamp'].min())} to "
                f"{_iso(in_export['attempt_timestamp'].max())}"
            )
        raise PostbackKitError(
            f"no attempts of tracker {key_text!r} in the requested range.",
            found=found,
            hint="check --tracker (the tracking_id from the tracker list) and --since/--until.",
        )

    # the tracker alone, judged at the end of the whole export (a postback failing a day before
    # it is lost, even when the tracker's own attempts stop earlier)
    d = diagnose(raw, tracker=key_text, since=lo, until=hi, rules=rules)
    t = d.trackers[0]
    att = d.attempts
    first, last = att["attempt_timestamp"].min(), att["attempt_timestamp"].max()
    every = choose_bucket(first, last)  # type: ignore[arg-type]

    issue_no: pl.Expr = pl.lit(None, pl.Int32)
    for n, issue in reversed(list(enumerate(t.issues, start=1))):
        hit = (pl.col("outcome").cast(pl.String) == issue.category) & (
            pl.col("signature") == issue.signature
        )
        issue_no = pl.when(hit).then(pl.lit(n, pl.Int32)).otherwise(issue_no)
    att = att.with_columns(issue_no.alias("issue"))

    hider = _Hider(str(redact), att, key)
    red = hider.frame(att, ("message", "signature"))

    issues = [_report_issue(n, i, red, hider) for n, i in enumerate(t.issues, start=1)]

    picked = []
    for n in range(1, len(issues) + 1):
        rows = red.filter(pl.col("issue") == n).sort("attempt_timestamp")
        picked.append(rows[_spread(rows.height, examples)])
    cols = ["issue", "signature", *[c for c in EXAMPLE_COLUMNS if c in red.columns]]
    example_frame = (
        pl.concat([p.select(cols) for p in picked], how="vertical_relaxed")
        if picked
        else red.clear().select(cols)
    )
    if "notifying_status" in example_frame.columns:
        example_frame = example_frame.with_columns(pl.col("notifying_status").cast(pl.String))

    codes = (
        red.filter(pl.col("issue").is_not_null())
        .group_by("issue", "signature", "response_code")
        .agg(
            pl.len().alias("attempts"),
            pl.col("attempt_timestamp").min().alias("first_seen"),
            pl.col("attempt_timestamp").max().alias("last_seen"),
            pl.col("response_body").drop_nulls().first().alias("example_body"),
        )
        .sort(["issue", "attempts"], descending=[False, True])
    )
    timeline = series_counts(red, every, by="signature")

    files, load_report = _provenance_files(source)
    provenance = Provenance(
        files=files,
        rows_read=load_report.rows_read if load_report is not None else None,
        rows_loaded=load_report.rows_loaded if load_report is not None else None,
        rows_rejected=load_report.rows_rejected if load_report is not None else None,
        export_attempts=raw.height,
        export_start=export_start,  # type: ignore[arg-type]
        export_end=export_end,  # type: ignore[arg-type]
        since=lo,
        until=hi,
        report_attempts=att.height,
        first_attempt=first,  # type: ignore[arg-type]
        last_attempt=last,  # type: ignore[arg-type]
        toolkit_version=_version(),
        redaction=str(redact),
        generated_at=datetime.now(UTC).replace(microsecond=0),
    )
    return PartnerReport(
        tracking_id=t.tracking_id,
        tracker_name=t.tracker_name,
        publisher_name=t.publisher_name,
        status=t.status,
        attempts=t.attempts,
        failed_attempts=int(att["failure"].sum()),
        deliveries=t.deliveries,
        delivered=t.delivered,
        undelivered=t.undelivered,
        retrying=t.retrying,
        issues=issues,
        examples=example_frame,
        codes=codes,
        timeline=timeline,
        bucket=every,
        redaction=str(redact),
        provenance=provenance,
    )


def _report_issue(n: int, issue: Issue, red: pl.DataFrame, hider: _Hider) -> ReportIssue:
    rows = red.filter(pl.col("issue") == n)
    signature = str(rows["signature"][0]) if rows.height else issue.signature
    message = hider.texts([issue.message])[0]
    suspects = []
    for s in issue.suspect_parameters:
        s = dict(s)
        name = str(s.get("name", ""))
        for k in ("example_failing", "example_ok"):
            s[k] = hider.parameter(name, s.get(k))
        suspects.append(s)
    segment = None
    if issue.segment:
        segment = {
            k: hider.texts([v])[0] if isinstance(v, str) else v for k, v in issue.segment.items()
        }
    # the diagnosis's example (its latest attempt), redacted
    example = (
        rows.sort("attempt_timestamp", descending=True)
        .head(1)
        .select([c for c in EXAMPLE_COLUMNS if c in rows.columns])
    )
    if "notifying_status" in example.columns:
        example = example.with_columns(pl.col("notifying_status").cast(pl.String))
    text = _requests().get(issue.category, {})
    fill = {"codes": _codes_key(issue.response_codes), "signature": signature}
    redacted = replace(
        issue,
        signature=signature,
        message=message,
        segment=segment,
        suspect_parameters=suspects,
        example=example.row(0, named=True) if example.height else {},
    )
    return ReportIssue(
        **{f.name: getattr(redacted, f.name) for f in fields(Issue)},
        number=n,
        title=text.get("title", issue.category).format(**fill),
        request=text.get("request", issue.hypothesis.action).format(**fill),
    )


# --------------------------------------------------------------------------- the edge


def render_report(
    paths: str | os.PathLike[str] | list[str | os.PathLike[str]],
    tracker: str | int,
    output: str | os.PathLike[str],
    *,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    redact: RedactLevel | str = "hash",
    format: Literal["html", "ipynb"] = "html",
    show_code: bool = False,
    notebook: str | os.PathLike[str] | None = None,
    timeout: int = 600,
) -> Path:
    """Run the partner-report notebook headless and write one HTML page (or the notebook).

    The HTML opens in a browser with no network (charts drawn, nothing fetched); code cells are
    left out unless ``show_code``. ``format="ipynb"`` writes the executed notebook instead.
    """
    from .nbexport import notebook_to_html, run_notebook

    if redact not in REDACT_LEVELS:
        raise ConfigError(
            f"unknown redaction level {redact!r}.", hint=f"use one of {', '.join(REDACT_LEVELS)}."
        )
    if format not in ("html", "ipynb"):
        raise ConfigError(f"unknown report format {format!r}.", hint="use html or ipynb.")
    source = Path(notebook) if notebook is not None else NOTEBOOK
    if not source.is_file():
        raise ConfigError(
            "the partner-report notebook is missing.",
            found=str(source),
            hint="reinstall postback-kit (the notebook is package data), or pass notebook=.",
        )
    items = paths if isinstance(paths, list) else [paths]
    export = [str(Path(p).expanduser().resolve()) if Path(p).exists() else str(p) for p in items]
    parameters = {
        "export_path": export,
        "tracker": str(tracker),
        "since": _iso_param(since),
        "until": _iso_param(until),
        "redact": str(redact),
    }
    try:  # in the caller's folder: relative paths and globs mean what they meant there
        nb = run_notebook(source, parameters, cwd=Path.cwd(), timeout=timeout)
    except Exception as exc:  # papermill's PapermillExecutionError: a cell raised
        if type(exc).__name__ != "PapermillExecutionError":
            raise
        ename, evalue = getattr(exc, "ename", "Error"), getattr(exc, "evalue", str(exc))
        raise PostbackKitError(
            "the partner-report notebook failed.",
            found=f"{ename}: {evalue}",
            hint="check the export paths, --tracker and --since/--until; run the notebook in "
            "JupyterLab to see the failing cell.",
        ) from exc
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "ipynb":
        import nbformat

        nbformat.write(nb, str(out))
    else:
        out.write_text(notebook_to_html(nb, hide_code=not show_code), encoding="utf-8")
    return out


def _iso_param(value: str | date | datetime | None) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    return value.isoformat()


# --------------------------------------------------------------------------- CLI


def register_cli(sub: Any) -> None:
    """Add ``postback-kit report`` to the command line."""
    p = sub.add_parser(
        "report", help="render a privacy-safe partner report (offline HTML) for one tracker"
    )
    p.add_argument("paths", nargs="+", help="export files, folders or globs")
    p.add_argument("--tracker", required=True, help="tracking_id (or tracker name)")
    p.add_argument("-o", "--output", required=True, help="the report file to write")
    p.add_argument("--since", help="first attempt time to include (ISO date or datetime, UTC)")
    p.add_argument("--until", help="attempts before this time (a bare date includes that day)")
    p.add_argument(
        "--redact",
        choices=REDACT_LEVELS,
        default="hash",
        help="hash (default): IDs, IPs, user agents become keyed hashes; remove: dropped; "
        "none: shown as exported",
    )
    p.add_argument("--format", choices=("html", "ipynb"), default="html")
    p.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    p.add_argument("--timeout", type=int, default=600, help="seconds per notebook cell")
    p.set_defaults(handler=_cmd_report)


def _cmd_report(args: Any) -> int:
    import sys

    out = render_report(
        list(args.paths),
        args.tracker,
        args.output,
        since=args.since,
        until=args.until,
        redact=args.redact,
        format=args.format,
        show_code=args.show_code,
        timeout=args.timeout,
    )
    note = " (redaction OFF)" if args.redact == "none" else ""
    print(f"wrote {out}{note}", file=sys.stderr)
    return 0
