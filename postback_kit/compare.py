"""Reruns: compare two diagnoses, and check a fresh export against thresholds.

Issues are matched across exports by ``(tracking_id, category, signature)``: the signature masks
what varies per request, so the same problem next week has the same key.

>>> old = pk.diagnose(pk.load("week1/"))                     # doctest: +SKIP
>>> new = pk.diagnose(pk.load("week2/"))                     # doctest: +SKIP
>>> print(pk.compare(old, new))                              # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

__all__ = ["CheckResult", "Comparison", "IssueChange", "check", "compare"]


def _as_dict(d: Any) -> dict[str, Any]:
    if isinstance(d, dict):
        return d
    if isinstance(d, str | os.PathLike):
        path = Path(d)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{path}: cannot read a diagnosis from this file.",
                found=str(exc)[:200],
                hint="write one with `postback-kit diagnose --format json -o FILE`.",
            ) from None
        if not isinstance(data, dict) or "trackers" not in data:
            raise ConfigError(
                f"{path}: this JSON is not a diagnosis (no 'trackers').",
                hint="write one with `postback-kit diagnose --format json`.",
            )
        return data
    return d.to_dict()


def _issues(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for t in d["trackers"]:
        for i in t["issues"]:
            out[f"{i['tracking_id']}|{i['category']}|{i['signature']}"] = {
                **i,
                "tracker_name": t.get("tracker_name"),
            }
    return out


@dataclass
class IssueChange:
    """One issue in the comparison, with its volume before and after."""

    status: Literal["new", "open", "resolved"]
    tracking_id: str
    tracker_name: str | None
    category: str
    signature: str
    attempts_before: int
    attempts_after: int
    undelivered_before: int
    undelivered_after: int

    @property
    def change(self) -> int:
        """Change in undelivered postbacks (positive: worse)."""
        return self.undelivered_after - self.undelivered_before

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "change": self.change}


@dataclass
class Comparison:
    """Issues that are new, still open, or resolved between two diagnoses."""

    changes: list[IssueChange] = field(default_factory=list)

    def of(self, status: str) -> list[IssueChange]:
        return [c for c in self.changes if c.status == status]

    @property
    def new(self) -> list[IssueChange]:
        return self.of("new")

    @property
    def open(self) -> list[IssueChange]:
        return self.of("open")

    @property
    def resolved(self) -> list[IssueChange]:
        return self.of("resolved")

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": [c.to_dict() for c in self.new],
            "open": [c.to_dict() for c in self.open],
            "resolved": [c.to_dict() for c in self.resolved],
        }

    def __str__(self) -> str:
        lines = [f"{len(self.new)} new, {len(self.open)} still open, {len(self.resolved)} resolved"]
        for c in self.changes:
            lines.append(
                f"  {c.status:8} {c.tracking_id} {c.tracker_name or ''} [{c.category}] "
                f"{c.signature}: undelivered {c.undelivered_before:,} → {c.undelivered_after:,}"
                f" ({c.change:+,}), attempts {c.attempts_before:,} → {c.attempts_after:,}"
            )
        return "\n".join(lines)


def compare(old: Any, new: Any) -> Comparison:
    """Match the issues of two diagnoses (objects, dicts or JSON files) and classify them."""
    before, after = _issues(_as_dict(old)), _issues(_as_dict(new))
    changes = []
    for key in list(after) + [k for k in before if k not in after]:
        a, b = after.get(key), before.get(key)
        ref = a or b
        assert ref is not None
        status: Literal["new", "open", "resolved"] = (
            "new" if b is None else "resolved" if a is None else "open"
        )
        changes.append(
            IssueChange(
                status=status,
                tracking_id=ref["tracking_id"],
                tracker_name=ref.get("tracker_name"),
                category=ref["category"],
                signature=ref["signature"],
                attempts_before=b["attempts"] if b else 0,
                attempts_after=a["attempts"] if a else 0,
                undelivered_before=b["undelivered"] if b else 0,
                undelivered_after=a["undelivered"] if a else 0,
            )
        )
    order = {"new": 0, "open": 1, "resolved": 2}
    changes.sort(key=lambda c: (order[c.status], -c.undelivered_after, -c.attempts_after))
    return Comparison(changes)


@dataclass
class CheckResult:
    """Outcome of :func:`check`: ``ok`` and the issues that broke the thresholds."""

    ok: bool
    failing: list[dict[str, Any]]
    fail_on: str

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def __str__(self) -> str:
        if self.ok:
            return f"OK: no issue beyond thresholds (fail on {self.fail_on})"
        lines = [f"FAIL: {len(self.failing)} issue(s) beyond thresholds (fail on {self.fail_on})"]
        for i in self.failing[:20]:
            lines.append(
                f"  {i['tracking_id']} {i.get('tracker_name') or ''} [{i['category']}] "
                f"{i['signature']}: {i['undelivered']:,} undelivered, "
                f"{i['attempts']:,} attempts"
            )
        return "\n".join(lines)


def check(
    diagnosis: Any,
    *,
    fail_on: Literal["new", "any"] = "any",
    baseline: Any = None,
    min_undelivered: int = 1,
    min_attempts: int = 1,
    categories: tuple[str, ...] | None = None,
) -> CheckResult:
    """Decide whether an export is healthy enough, for schedulers (exit code 0 or 1).

    ``fail_on="any"`` fails on any issue at or above the thresholds; ``fail_on="new"`` only on
    issues absent from ``baseline`` (a previous diagnosis or its JSON file). False failures
    (delivered but counted failed) count only if listed in ``categories``.
    """
    if fail_on not in ("new", "any"):
        raise ConfigError(f"fail_on must be 'new' or 'any', not {fail_on!r}.")
    if fail_on == "new" and baseline is None:
        raise ConfigError(
            "fail_on='new' needs a baseline diagnosis to compare with.",
            hint="pass --baseline OLD.json (from `postback-kit diagnose --format "
            "json`) or an older export.",
        )
    issues = _issues(_as_dict(diagnosis))
    known = _issues(_as_dict(baseline)) if baseline is not None else {}
    cats = categories or (
        "request_error",
        "partner_error",
        "network_error",
        "other_code",
        "soft_failure",
    )
    failing = [
        i
        for key, i in issues.items()
        if i["category"] in cats
        and i["undelivered"] >= min_undelivered
        and i["attempts"] >= min_attempts
        and (fail_on == "any" or key not in known)
    ]
    failing.sort(key=lambda i: (-i["undelivered"], -i["attempts"]))
    return CheckResult(ok=not failing, failing=failing, fail_on=fail_on)
