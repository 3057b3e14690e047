"""Plain-text view of a Diagnosis (the CLI's ``--format text`` and ``print(diagnosis)``)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from .timeline import pattern_label

if TYPE_CHECKING:
    from .diagnose import Diagnosis, Issue

_WIDTH = 100


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _retrying(issue: Issue) -> str:
    """`` (+ N still retrying)`` when the export ends before some postbacks' retries did."""
    return f" (+ {issue.retrying:,} still retrying)" if issue.retrying else ""


def _when(issue: Issue) -> str:
    parts = [pattern_label(issue.pattern)]
    if issue.started_at:
        parts.append(f"since {issue.started_at:%Y-%m-%d %H:%M} UTC")
    if issue.ended_at:
        parts.append(f"until {issue.ended_at:%Y-%m-%d %H:%M} UTC")
    return ", ".join(parts)


def _one_line(text: object, width: int = 160) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= width else s[: width - 1] + "…"


def render_issue(issue: Issue, rank: int) -> list[str]:
    codes = ", ".join(f"{c}×{n}" for c, n in list(issue.response_codes.items())[:5])
    out = [
        f"  {rank}. [{issue.category}] {issue.signature}",
        f"     codes {codes}; {issue.attempts:,} attempts, {issue.deliveries:,} postbacks, "
        f"{issue.undelivered:,} undelivered{_retrying(issue)}; {_when(issue)}; "
        f"coverage {_pct(issue.coverage)}; {issue.retry_behavior}",
    ]
    if issue.segment:
        s = issue.segment
        where = f"{s['column']} = {s['value']}"
        if s.get("and"):
            where += f" and {s['and']['column']} = {s['and']['value']}"
        out.append(
            f"     segment: {where} ({_pct(s['share'])} of the hit postbacks, lift {s['lift']:.1f})"
        )
    for p in issue.suspect_parameters[:3]:
        out.append(
            f"     parameter {p['name']}"
            f"{' (tracking URL)' if p.get('source') == 'click' else ''}: "
            f"{p['problem']} in {_pct(p['share_failing'])} "
            f"of failing vs {_pct(p['share_ok'])} of succeeding"
        )
    h = issue.hypothesis
    out += textwrap.wrap(
        f"why: {h.text}", _WIDTH, initial_indent="     ", subsequent_indent="       "
    )
    out += textwrap.wrap(
        f"do: {h.action} (who: {h.contact})",
        _WIDTH,
        initial_indent="     ",
        subsequent_indent="       ",
    )
    ex = issue.example
    out.append(
        f"     example: {ex.get('attempt_timestamp')} code {ex.get('response_code')} "
        f"body {_one_line(ex.get('response_body'), 80)!r}"
    )
    return out


def render_tracker_row(row: dict[str, Any]) -> str:
    """One line of the tracker list, from :meth:`TrackerDiagnosis.row`."""
    name = row["tracker_name"] or "(no name)"
    return (
        f"{row['status'].upper():8} {row['tracking_id']} {name} ({row['publisher_name'] or '-'}): "
        f"{row['attempts']:,} attempts, {row['deliveries']:,} postbacks, "
        f"{row['undelivered']:,} undelivered"
        + (f", {row['retrying']:,} still retrying" if row["retrying"] else "")
        + (f"; {_pct(row['failure_share'])} of attempts failed" if row["failure_share"] else "")
    )


def render_text(d: Diagnosis) -> str:
    e = d.export
    lines = [
        f"postback diagnosis: {e['attempts']:,} attempts, {e['trackers']} trackers, "
        f"{e['start']} … {e['end']} (buckets of {d.bucket})",
        "",
    ]
    for t in d.trackers:
        lines.append(render_tracker_row(t.row()))
        for rank, issue in enumerate(t.issues, 1):
            lines += render_issue(issue, rank)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
