"""The benchmark script runs end to end on a tiny export (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_script_runs_on_a_tiny_export(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nhand-written text stays\n", "utf-8")
    raw = tmp_path / "results.json"
    cmd = [sys.executable, str(ROOT / "scripts/bench.py"), "--sizes", "2k", "--reps", "1"]
    cmd += ["--only", "floor_csv,floor_parquet,pandas,pk_cold,pk_warm,pk_recompute,redraw"]
    cmd += ["--data", str(tmp_path / "data"), "--notebook", "no_such_notebook.ipynb"]
    cmd += ["--out", str(out), "--json", str(raw)]
    subprocess.run(cmd, check=True, cwd=ROOT, timeout=120, capture_output=True)

    report = json.loads(raw.read_text("utf-8"))
    size = report["sizes"]["2k"]
    assert size["export"]["attempts"] >= 2_000
    for case in ("floor_csv", "floor_parquet", "pk_cold", "pk_warm", "pk_recompute"):
        result = size["cases"][case]
        assert result["rows"] == size["export"]["attempts"], case
        assert result["peak_rss"] > 0 and result["reps"] == 1
    assert size["prepare"]["rows"] == size["export"]["attempts"]  # the cold load alone
    # warm reads the diagnosis kept by the run before it; recompute never does; cold cannot
    assert size["cases"]["pk_warm"]["from_cache"] is True
    assert size["cases"]["pk_warm"]["frames_s"] >= 0  # reading its frames, measured apart
    assert size["cases"]["pk_recompute"]["from_cache"] is False
    assert size["cases"]["pk_cold"]["from_cache"] is False
    assert "no_such_notebook.ipynb does not exist" in size["skipped"]["redraw"]
    assert report["machine"]["cores"] >= 1 and "load average" in report["machine"]["uptime"]

    text = out.read_text("utf-8")
    assert "hand-written text stays" in text
    assert "<!-- bench:2k:start -->" in text and "| cold ÷ polars CSV floor |" in text
    assert "| postback-kit load alone, cold" in text
    # a second run replaces its section instead of appending another one
    again = [*cmd[: cmd.index("--only") + 1], "floor_csv", *cmd[cmd.index("--only") + 2 :]]
    subprocess.run(again, check=True, cwd=ROOT, timeout=120, capture_output=True)
    assert out.read_text("utf-8").count("<!-- bench:2k:start -->") == 1
