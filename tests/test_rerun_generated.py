"""Reruns on pairs of generated exports with known differences: compare and check (issue 5,
items 6-8) end to end, through files and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from postback_kit import samples
from postback_kit.cli import main

MALFORMED, TIMEOUT, BURSTS = "12345678901234567890", "987654321", "1152921504606846976"


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("reruns")
    old = samples.generate(4_000, seed=3, faults=["malformed-click-id", "timeout-outage"])
    new = samples.generate(4_000, seed=4, faults=["malformed-click-id", "partner-5xx-bursts"])
    old.write_csv(root / "old", per_day=False)
    new.write_csv(root / "new", per_day=False)
    return root / "old", root / "new"


def test_compare_finds_the_planted_differences(
    exports: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = exports
    assert main(["compare", str(old), str(new)]) == 0
    lines = capsys.readouterr().out.splitlines()
    status = {(line.split()[0], line.split()[1]) for line in lines[1:]}
    assert ("open", MALFORMED) in status
    assert ("resolved", TIMEOUT) in status
    assert ("new", BURSTS) in status
    assert not {s for s in status if s[1] not in (MALFORMED, TIMEOUT, BURSTS)}


def test_check_exit_codes_for_a_scheduler(
    exports: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = exports
    assert main(["check", str(old)]) == 1  # malformed clickId loses conversions
    assert "FAIL" in capsys.readouterr().out
    # nothing new against itself
    assert main(["check", str(old), "--fail-on", "new", "--baseline", str(old)]) == 0
    # the new 5xx bursts are cured by retries: new, but below the default threshold
    assert main(["check", str(new), "--fail-on", "new", "--baseline", str(old)]) == 0
    base = ["check", str(new), "--fail-on", "new", "--baseline", str(old)]
    assert main([*base, "--min-undelivered", "0"]) == 1
    out = capsys.readouterr().out
    assert BURSTS in out and MALFORMED not in out.split("FAIL", 1)[1]
