from __future__ import annotations

import json
from pathlib import Path

import pytest

from postback_kit.compare import check, compare
from postback_kit.errors import ConfigError


def issue(tid: str, cat: str, sig: str, attempts: int, undelivered: int) -> dict:
    return {
        "tracking_id": tid,
        "category": cat,
        "signature": sig,
        "attempts": attempts,
        "undelivered": undelivered,
    }


def diag(*issues: dict) -> dict:
    trackers: dict[str, dict] = {}
    for i in issues:
        trackers.setdefault(
            i["tracking_id"],
            {"tracking_id": i["tracking_id"], "tracker_name": f"T{i['tracking_id']}", "issues": []},
        )["issues"].append(i)
    return {"trackers": list(trackers.values())}


OLD = diag(
    issue("1", "request_error", "malformed clickId", 100, 40),
    issue("2", "partner_error", "<html> 502 bad gateway", 30, 0),
)
NEW = diag(
    issue("1", "request_error", "malformed clickId", 120, 55),
    issue("3", "network_error", "(no answer)", 10, 4),
)


def test_compare_classifies_new_open_resolved_with_volume() -> None:
    c = compare(OLD, NEW)
    assert [(x.status, x.tracking_id) for x in c.changes] == [
        ("new", "3"),
        ("open", "1"),
        ("resolved", "2"),
    ]
    assert c.open[0].change == 15 and c.open[0].attempts_before == 100
    assert c.resolved[0].undelivered_after == 0
    assert "1 new, 1 still open, 1 resolved" in str(c)


def test_compare_reads_json_files_and_rejects_other_json(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text(json.dumps(OLD))
    (tmp_path / "bad.json").write_text("[1]")
    assert len(compare(tmp_path / "old.json", NEW).changes) == 3
    with pytest.raises(ConfigError, match="not a diagnosis"):
        compare(tmp_path / "bad.json", NEW)


def test_check_any_and_new() -> None:
    assert not check(NEW, fail_on="any").ok
    assert check(NEW, fail_on="any").exit_code == 1
    only_new = check(NEW, fail_on="new", baseline=OLD)
    assert [i["tracking_id"] for i in only_new.failing] == ["3"]
    assert check(NEW, fail_on="new", baseline=NEW).ok
    assert check(NEW, min_undelivered=100).ok
    with pytest.raises(ConfigError, match="baseline"):
        check(NEW, fail_on="new")


def test_cured_transient_issues_do_not_fail_the_check() -> None:
    assert check(diag(issue("2", "partner_error", "<html> 502", 30, 0))).ok


def test_cli_compare_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from postback_kit.cli import main

    (tmp_path / "old.json").write_text(json.dumps(OLD))
    (tmp_path / "new.json").write_text(json.dumps(NEW))
    assert main(["compare", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    assert "1 new, 1 still open, 1 resolved" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "new.json")]) == 1
    assert "FAIL" in capsys.readouterr().out
    args = ["check", str(tmp_path / "new.json"), "--fail-on", "new", "--baseline"]
    assert main([*args, str(tmp_path / "new.json")]) == 0
    assert main(["check", str(tmp_path / "new.json"), "--fail-on", "new"]) == 2


def test_cli_check_on_a_real_export(capsys: pytest.CaptureFixture[str]) -> None:
    from postback_kit.cli import main

    sample = Path(__file__).resolve().parent.parent / "data" / "samples" / "csv"
    assert main(["check", str(sample), "--tracker", "12345678901234567890"]) == 1
    assert "malformed clickId" in capsys.readouterr().out
