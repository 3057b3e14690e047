"""postback-kit report / render_report: the notebook run headless on the bundled sample and on a
generated export with planted identifiers and hostile bodies; HTML and ipynb."""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import polars as pl
import pytest

import postback_kit as pk
from postback_kit.cli import main
from tests.notebook_helpers import chart_specs, seed_chart_cache
from tests.report_data import IMG_BODY, PLANTED, SCRIPT_BODY, TRACKER, planted_export, spellings

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "csv"
SAMPLE_TRACKER = "3377699720527872"  # "Invalid device id": bodies and URLs full of device data


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return planted_export(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory, chart_cache: Path) -> Iterator[None]:
    """Kernels of this module find the chart bundle built once per session."""
    cache = tmp_path_factory.mktemp("report-cache")
    seed_chart_cache(chart_cache, cache)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSTBACK_KIT_CACHE_DIR", str(cache))
        yield


@pytest.fixture(scope="module")
def planted_html(planted: Path, warm: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = pk.render_report(planted, TRACKER, tmp_path_factory.mktemp("out") / "r.html")
    return out.read_text("utf-8")


def leaked(text: str) -> list[str]:
    return sorted({s for value in PLANTED for s in spellings(value) if s in text})


def assert_offline(page: str) -> None:
    """Nothing in the page (outside chart frames, which have their own CSP) loads a resource."""
    page = re.sub(r'srcdoc="[^"]*"', "", page)
    assert re.search(r"<(script|img|iframe)[^>]*\ssrc=", page, re.I) is None
    assert re.search(r"<link[^>]*\shref=", page, re.I) is None
    assert "Content-Security-Policy" in page


def test_sample_report_is_offline_redacted_and_code_free(warm: None, tmp_path: Path) -> None:
    out = tmp_path / "sample.html"
    assert main(["report", str(SAMPLE), "--tracker", SAMPLE_TRACKER, "-o", str(out)]) == 0
    page = out.read_text("utf-8")
    assert_offline(page)
    titles = [s.get("title") for s in chart_specs(page)]
    assert titles == [
        f"Failed attempts over time, tracker {SAMPLE_TRACKER}",
        "Failed attempts by response code and issue",
    ]
    assert "Invalid device id" in page and "postbacks_2026-11-02.csv.gz" in page
    assert "load_report" not in page and "resolve(" not in page  # code cells hidden
    frame = pk.load(SAMPLE, progress=False).filter(pl.col("tracking_id") == SAMPLE_TRACKER)
    values: set[str] = set()
    for column in pk.PII_FIELDS:
        values |= set(frame.select(pl.col(column).drop_nulls().unique()).collect().to_series())
    values = {v for v in values if len(v) >= 6}
    assert len(values) > 100
    unescaped = html.unescape(html.unescape(page))
    assert [v for v in values if v in page or v in unescaped] == []


def test_planted_identifiers_never_appear_and_hostile_bodies_are_text(planted_html: str) -> None:
    assert_offline(planted_html)
    assert leaked(planted_html) == []
    assert leaked(html.unescape(html.unescape(planted_html))) == []
    # the hostile bodies are in the examples table, escaped once, never as markup (nbconvert
    # writes quotes in text as they are)
    for body in (SCRIPT_BODY, IMG_BODY):
        assert html.escape(body, quote=False) in planted_html
    assert "<img src=x" not in planted_html and "<script>parent.postMessage" not in planted_html
    assert "Redaction is OFF" not in planted_html and "keyed hashes" in planted_html


def test_cli_redact_none_shows_identifiers_says_so_and_can_show_code(
    planted: Path, warm: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "open.html"
    argv = ["report", str(planted), "--tracker", TRACKER, "-o", str(out)]
    assert main([*argv, "--redact", "none", "--show-code"]) == 0
    assert "redaction OFF" in capsys.readouterr().err
    page = out.read_text("utf-8")
    assert "Redaction is OFF" in page
    assert set(leaked(page)) >= {html.escape(v) for v in PLANTED}
    assert "partner_report" in page and "load_report" in page  # --show-code keeps the code
    assert html.escape(SCRIPT_BODY, quote=False) in page
    assert "<script>parent.postMessage" not in page


def test_cli_ipynb_is_the_executed_redacted_notebook(
    planted: Path, warm: None, tmp_path: Path
) -> None:
    out = tmp_path / "report.ipynb"
    argv = ["report", str(planted), "--tracker", TRACKER, "-o", str(out), "--format", "ipynb"]
    assert (
        main([*argv, "--since", "2026-11-02", "--until", "2026-11-05", "--redact", "remove"]) == 0
    )
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata["papermill"]["parameters"]["redact"] == "remove"
    assert nb.metadata["papermill"]["parameters"]["since"] == "2026-11-02"
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells], ensure_ascii=False)
    assert "Your server rejects the request" in outputs and "(removed)" in outputs
    assert "2026-11-02 00:00:00 UTC → 2026-11-06 00:00:00 UTC" in outputs  # requested range
    assert leaked(outputs) == [] and len(chart_specs(nb)) == 2


def test_cli_report_errors_are_clear(
    planted: Path, warm: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.html"
    assert main(["report", str(planted), "--tracker", "nope", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "notebook failed" in err and "no attempts of tracker 'nope'" in err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["report", str(planted), "--tracker", TRACKER, "-o", str(out), "--redact", "x"])


def test_render_report_needs_the_notebook(tmp_path: Path) -> None:
    with pytest.raises(pk.ConfigError, match="notebook is missing"):
        pk.render_report(SAMPLE, "1", tmp_path / "r.html", notebook=tmp_path / "none.ipynb")
    assert os.environ.get("POSTBACK_KIT_CACHE_DIR")
