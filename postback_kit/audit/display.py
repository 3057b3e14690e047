"""Show lint findings in place: carets under the template (text) or highlights (HTML).

>>> from postback_kit.audit.template import lint_template
>>> t = "https://pb.example.com/?cid={click_id}&x=1 2"
>>> print(format_findings(t, lint_template(t)))
https://pb.example.com/?cid={click_id}&x=1 2
                                          ^ PK204 error: a raw space inside the value of 'x'.
                                            fix: encode it as %20
1 error, 0 warnings, 0 info
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import polars as pl

from .template import Finding

if TYPE_CHECKING:
    from .settings import AuditResult

__all__ = ["audit_html", "findings_frame", "findings_html", "format_findings"]


def _lines(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of every line of ``text``, line breaks excluded."""
    spans, start = [], 0
    for m in re.finditer(r"\r\n|\r|\n", text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def _show(text: str) -> str:
    """One visible character per character, so that carets line up."""
    return "".join(c if c.isprintable() else " " for c in text)


def _counts(findings: Sequence[Finding]) -> str:
    n = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    return (
        f"{n['error']} error{'s' * (n['error'] != 1)}, "
        f"{n['warning']} warning{'s' * (n['warning'] != 1)}, {n['info']} info"
    )


def format_findings(template: str, findings: Sequence[Finding]) -> str:
    """The template, each line followed by carets under its findings, then a count."""
    out: list[str] = []
    lines = _lines(template)
    shown: set[int] = set()
    for s, e in lines:
        out.append(_show(template[s:e]))
        for n, f in enumerate(findings):
            if n in shown or not (s <= f.start <= e):
                continue
            shown.add(n)
            width = max(1, min(f.end, e) - f.start)
            pad = " " * (f.start - s)
            out.append(f"{pad}{'^' * width} {f.code} {f.severity}: {f.message}")
            if f.suggestion:
                out.append(f"{pad}{' ' * width} fix: {f.suggestion}")
    out.append(_counts(findings))
    return "\n".join(out)


_CSS = (
    "<style>.pk-t{white-space:pre-wrap;word-break:break-all;font-family:monospace;"
    "line-height:1.6}.pk-t mark{padding:0 1px;border-radius:2px}"
    ".pk-error{background:#f8c4c4}.pk-warning{background:#fbe3a6}.pk-info{background:#cfe3fb}"
    ".pk-at{display:inline-block;width:0;border-left:3px solid #c00}"
    ".pk-f td{padding:2px 8px;vertical-align:top;text-align:left}</style>"
)
_ORDER = {"error": 0, "warning": 1, "info": 2}


def findings_html(template: str, findings: Sequence[Finding]) -> str:
    """HTML: the template with each finding highlighted (hover for the message), then a table.

    Every piece of the template and of the messages is escaped.
    """
    cuts = sorted({0, len(template)} | {f.start for f in findings} | {f.end for f in findings})
    parts: list[str] = []
    for f in findings:
        if f.start == f.end == 0:
            parts.append(_marker(f))
    for s, e in pairwise(cuts):
        for f in findings:
            if f.start == f.end == s and s > 0:
                parts.append(_marker(f))
        piece = escape(template[s:e]).replace("\n", "↵\n")
        over = [f for f in findings if f.start <= s and e <= f.end and f.start < f.end]
        if not over:
            parts.append(piece)
            continue
        worst = min(over, key=lambda f: _ORDER[f.severity])
        title = escape("\n".join(f"{f.code} {f.severity}: {f.message}" for f in over))
        parts.append(f'<mark class="pk-{worst.severity}" title="{title}">{piece}</mark>')
    for f in findings:
        if f.start == f.end == len(template) and len(template) > 0:
            parts.append(_marker(f))
    rows = "".join(
        f"<tr><td>{escape(f.code)}</td><td>{escape(f.severity)}</td>"
        f"<td>{f.start}–{f.end}</td><td><code>{escape(template[f.start : f.end])}</code></td>"
        f"<td>{escape(f.message)}</td><td>{escape(f.suggestion)}</td></tr>"
        for f in findings
    )
    table = (
        '<table class="pk-f"><tr><th>code</th><th>severity</th><th>at</th><th>text</th>'
        f"<th>message</th><th>fix</th></tr>{rows}</table>"
        if findings
        else "<p>No findings.</p>"
    )
    return f'{_CSS}<div class="pk-t">{"".join(parts)}</div><p>{_counts(findings)}</p>{table}'


def _marker(f: Finding) -> str:
    title = escape(f"{f.code} {f.severity}: {f.message}")
    return f'<span class="pk-at" title="{title}">&#8203;</span>'


def findings_frame(template: str, findings: Sequence[Finding]) -> pl.DataFrame:
    """The findings as a frame: code, rule, severity, start, end, text, message, suggestion."""
    rows: list[dict[str, Any]] = [
        {**f.to_dict(), "rule": f.rule, "text": template[f.start : f.end]} for f in findings
    ]
    schema = {
        "code": pl.String,
        "rule": pl.String,
        "severity": pl.String,
        "start": pl.Int64,
        "end": pl.Int64,
        "text": pl.String,
        "message": pl.String,
        "suggestion": pl.String,
    }
    return pl.DataFrame(rows, schema=schema).select(list(schema))


def audit_html(result: AuditResult) -> str:
    """HTML of a settings audit: each violation with its explanation and example rows.

    Everything from the export or the configuration is escaped.
    """
    name = escape(result.config.name or result.config.source)
    head = (
        f"<h4>{name}: {result.postbacks.height:,} event postbacks checked, "
        f"{len(result.violations)} rule(s) broken</h4>"
    )
    if not result.violations:
        head += "<p>No violation: what was sent matches the configuration.</p>"
    parts = [_CSS, head]
    for v in result.violations:
        parts.append(
            f'<div style="margin:0.8em 0"><mark class="pk-{escape(v.severity)}">'
            f"{escape(v.code)} {escape(v.rule)}</mark> <b>{v.count:,}</b> · {escape(v.message)}"
            f"<br><small><i>{escape(v.explanation)}</i></small>{v.examples._repr_html_()}</div>"
        )
    parts.extend(f"<p><small>note: {escape(n)}</small></p>" for n in result.notes)
    return "".join(parts)
