"""diagnose against the ground truth of several samples (the committed one and generated
ones), plus the JSON contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import postback_kit as pk
from postback_kit import samples
from postback_kit.cli import main
from postback_kit.timeline import BUCKETS

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples"
TRUTH = json.loads((SAMPLE / "ground_truth.json").read_text("utf-8"))
FAULTS = [f["id"] for f in TRUTH["faults"]]

SEEDS = (7, 1, 3, 5)
"""Seed 7 is the committed sample (read from its CSV files); the others are generated exports of
the same size, so a rule tuned to one sample's accidents fails on the next."""
ATTEMPTS = 24_000


@dataclass(frozen=True)
class Case:
    seed: int
    truth: dict[str, Any]
    diagnosis: pk.Diagnosis

    def fault(self, fault_id: str) -> dict[str, Any]:
        return next(f for f in self.truth["faults"] if f["id"] == fault_id)


_CASES: dict[int, Case] = {}


def _case(seed: int, folder: Callable[[], Path]) -> Case:
    if seed not in _CASES:
        if seed == TRUTH["seed"]:
            truth, source = TRUTH, SAMPLE / "csv"
        else:
            sample = samples.generate(ATTEMPTS, seed=seed)
            source = folder()
            sample.write_csv(source, per_day=False)
            truth = sample.truth
        _CASES[seed] = Case(seed, truth, pk.diagnose(pk.load(source, cache=False)))
    return _CASES[seed]


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed{s}")
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return _case(request.param, lambda: tmp_path_factory.mktemp(f"seed{request.param}"))


@pytest.fixture(scope="module")
def diagnosis(tmp_path_factory: pytest.TempPathFactory) -> pk.Diagnosis:
    return _case(TRUTH["seed"], lambda: tmp_path_factory.mktemp("unused")).diagnosis


def _explains(issue: pk.Issue, text: str) -> bool:
    return text.lower() in f"{issue.signature} {issue.message or ''}".lower()


def _issue_of(case: Case, fault: dict[str, Any]) -> pk.Issue:
    tracker = case.diagnosis.tracker(fault["tracking_id"])
    matches = [
        i
        for i in tracker.issues
        if i.category == fault["category"] and _explains(i, fault["signature_contains"])
    ]
    assert matches, [(i.category, i.signature) for i in tracker.issues]
    return matches[0]


def _at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@pytest.mark.parametrize("fault_id", FAULTS)
def test_planted_fault_found_and_explained(case: Case, fault_id: str) -> None:
    """Right tracker, class, signature, pattern, retry behaviour, segment and parameter."""
    fault = case.fault(fault_id)
    issue = _issue_of(case, fault)
    tracker = case.diagnosis.tracker(fault["tracking_id"])
    assert issue.pattern == fault["pattern"]
    assert issue.retry_behavior == fault["retry_behavior"]
    expected_segment = fault["segment"]
    got_segment = (
        {"column": issue.segment["column"], "value": issue.segment["value"]}
        if issue.segment
        else None
    )
    assert got_segment == expected_segment, issue.segment
    if fault["parameter"]:
        assert issue.suspect_parameters, "no suspect parameter"
        best = issue.suspect_parameters[0]
        assert {"name": best["name"], "problem": best["problem"]} == fault["parameter"]
    if len(fault["signatures"]) == 1:  # the 5xx bursts are two issues, 502 and 503
        assert issue.deliveries == fault["postbacks"]
    if fault["category"] == "false_failure":
        assert issue.undelivered == 0  # the partner got them: nothing lost, only resent
    elif fault["category"] == "soft_failure":
        assert issue.undelivered == fault["postbacks"]  # "sent", but the partner refused them
    else:
        assert tracker.status == "failing"
        # never sent: lost, or still retrying when the export ends
        assert issue.undelivered + issue.retrying == fault["postbacks_never_sent"]


@pytest.mark.parametrize("fault_id", FAULTS)
def test_planted_fault_in_time(case: Case, fault_id: str) -> None:
    """started_at/ended_at where the pattern has them, to the bucket."""
    fault = case.fault(fault_id)
    issue = _issue_of(case, fault)
    size = dict(BUCKETS)[case.diagnosis.bucket]
    if fault["pattern"] in ("incident", "resolved"):
        truth_end = _at(fault["ended_at"])
        assert issue.ended_at is not None and truth_end is not None
        assert abs(issue.ended_at - truth_end) <= size
    if fault["pattern"] == "incident":
        truth_start = _at(fault["started_at"])
        assert issue.started_at is not None and truth_start is not None
        assert abs(issue.started_at - truth_start) <= size
    if fault["pattern"] == "onset":
        # the fault starts with the release; the first hit comes with the first purchase after
        start, first = _at(fault["started_at"]), _at(fault["first_seen"])
        assert issue.started_at is not None and start is not None and first is not None
        assert start - size <= issue.started_at <= first
    if fault["pattern"] in ("persistent", "intermittent"):
        assert issue.started_at is None and issue.ended_at is None


def test_nothing_else_is_reported(case: Case) -> None:
    """Every issue is a planted fault (the 5xx fault has two signatures); healthy is healthy."""
    by_tracker = {f["tracking_id"]: f for f in case.truth["faults"]}
    for tracker in case.diagnosis.trackers:
        fault = by_tracker.get(tracker.tracking_id)
        if fault is None:
            assert tracker.status == "healthy" and tracker.issues == [], tracker.tracking_id
            continue
        for issue in tracker.issues:
            assert issue.category == fault["category"]
            assert any(_explains(issue, s) for s in fault["signatures"]), issue.signature
    healthy = [t["tracking_id"] for t in case.truth["trackers"] if t.get("healthy")]
    assert healthy
    assert all(case.diagnosis.tracker(tid).status == "healthy" for tid in healthy)


def test_json_contract(diagnosis: pk.Diagnosis) -> None:
    data = json.loads(diagnosis.to_json())
    t = data["trackers"][0]
    for key in (
        "tracking_id",
        "tracker_name",
        "publisher_name",
        "attempts",
        "deliveries",
        "undelivered",
        "status",
        "issues",
    ):
        assert key in t
    issue = t["issues"][0]
    for key in (
        "signature",
        "category",
        "response_codes",
        "attempts",
        "deliveries",
        "undelivered",
        "first_seen",
        "last_seen",
        "pattern",
        "started_at",
        "ended_at",
        "coverage",
        "retry_behavior",
        "segment",
        "suspect_parameters",
        "hypothesis",
        "example",
    ):
        assert key in issue
    assert isinstance(t["tracking_id"], str)
    assert set(issue["hypothesis"]) == {"id", "text", "action", "contact"}


def test_cli_diagnose_json_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.json"
    assert main(["diagnose", str(SAMPLE / "csv"), "--format", "json", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["trackers"]
    assert main(["diagnose", str(SAMPLE / "csv"), "--tracker", "12345678901234567890"]) == 0
    assert "malformed clickId" in capsys.readouterr().out


def test_triage_and_text_report_share_the_tracker_row(diagnosis: pk.Diagnosis) -> None:
    from postback_kit.textreport import render_tracker_row

    table = diagnosis.triage()
    assert table.to_dicts() == [t.row() for t in diagnosis.trackers]
    assert table["status"].to_list()[-1] == "healthy"  # worst first, the healthy one last
    row = diagnosis.tracker("7340031").row()
    assert row["failed_request_error"] == 2400 and row["top_category"] == "request_error"
    assert row["failure_share"] == pytest.approx(2400 / row["attempts"])
    text = str(diagnosis)
    for t in diagnosis.trackers:
        assert render_tracker_row(t.row()) in text
    # the release fault: a pair of values, and the parameter of the postback
    assert "segment: app_version_name = 5.12.0 and cost_model = cpa" in text
    assert "parameter goal_value: malformed in 100% of failing" in text
    assert "parameter click_id (tracking URL): missing" in text


def test_no_answer_is_counted_under_a_word(diagnosis: pk.Diagnosis) -> None:
    issue = diagnosis.tracker("987654321").issues[0]
    assert issue.response_codes == {"no answer": issue.attempts}
    assert json.loads(diagnosis.to_json())  # a null key would not survive JSON


def attempts_at_minutes(rows: list[tuple[str, str, int, str, int]]) -> Any:
    """Attempts ``(tracking_id, postback_url, response_code, response_body, minute)``, the
    minute counted from 2026-11-01 00:00 UTC."""
    import polars as pl

    schema = {
        "tracking_id": pl.String,
        "postback_url": pl.String,
        "response_code": pl.Int32,
        "response_body": pl.String,
        "minute": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        attempt_timestamp=pl.datetime(2026, 11, 1, time_zone="UTC")
        + pl.duration(minutes=pl.col("minute"))
    )


def test_equal_impact_is_ranked_by_tracker_class_and_signature_whatever_the_row_order() -> None:
    rows = [  # one lost postback per issue: every issue has the same impact (1, 1, 1)
        ("b", "https://b.example/?n=1", 400, "zeta rejected", 0),
        ("b", "https://b.example/?n=2", 503, "alpha down", 1),
        ("a", "https://a.example/?n=1", 400, "beta rejected", 2),
        ("a", "https://a.example/?n=2", 200, "OK", 3 * 24 * 60),  # the export runs 3 days
    ]
    frame = attempts_at_minutes(rows)
    want = [
        "a|request_error|beta rejected",
        "b|partner_error|alpha down",
        "b|request_error|zeta rejected",
    ]
    for order in (frame, frame.reverse(), frame.sample(fraction=1.0, shuffle=True, seed=7)):
        d = pk.diagnose(order)
        assert [i.key for i in d.issues] == want
        assert [i.key for i in d.tracker("b").issues] == want[1:]
        assert {(i.undelivered, i.deliveries, i.attempts) for i in d.issues} == {(1, 1, 1)}
