from __future__ import annotations

from pathlib import Path

import pytest

from postback_kit.cli import main


def test_load_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "e.csv"
    path.write_text("tracking_id,response_code\n1,400\n2,oops\n")
    with pytest.warns(UserWarning):
        assert main(["load", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 rows read, 1 loaded, 1 rejected" in out
    assert f"{path}:3" in out


def test_errors_exit_2_with_the_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
