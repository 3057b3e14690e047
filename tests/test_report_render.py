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


ROOT = Path(__file__).resolve().parent.parent


def test_the_notebook_is_package_data() -> None:
    """render_report runs the package's copy of notebooks/03 (a link in a checkout), and
    pyproject ships it in the wheel."""
    import fnmatch
    import tomllib

    shipped = ROOT / "postback_kit" / "notebooks" / "03_partner_report.ipynb"
    assert shipped == pk.report.NOTEBOOK and shipped.is_file()
    assert shipped.resolve() == (ROOT / "notebooks" / "03_partner_report.ipynb").resolve()
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    patterns = setuptools["package-data"]["postback_kit"]
    assert any(fnmatch.fnmatch("notebooks/03_partner_report.ipynb", p) for p in patterns)


@pytest.mark.slow
def test_render_report_runs_from_an_installed_wheel(
    planted: Path, warm: None, tmp_path: Path
) -> None:
    """Built as a wheel and installed elsewhere, the package finds its notebook, and the
    notebook runs in the caller's folder (a relative glob works)."""
    import shutil
    import subprocess
    import sys

    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(uv).exists():
        pytest.skip("uv (make setup installs it) builds the wheel")
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "postback_kit",
        src / "postback_kit",
        symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (src / "notebooks").mkdir()
    for name in ("pyproject.toml", "README.md", "notebooks/03_partner_report.ipynb"):
        shutil.copy(ROOT / name, src / name)
    env = {**os.environ, "UV_OFFLINE": "1", "UV_PYTHON_DOWNLOADS": "never"}
    python = ["--python", sys.executable]
    built = subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), *python, str(src)],
        capture_output=True,
        text=True,
        env=env,
    )
    if built.returncode != 0:  # no setuptools in uv's cache and no network
        pytest.skip(f"cannot build a wheel offline: {built.stderr[-300:]}")
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [uv, "pip", "install", "--no-deps", "--target", str(site), *python, str(wheel)],
        check=True,
        capture_output=True,
        env=env,
    )
    work = tmp_path / "work"
    work.mkdir()
    (work / "export").symlink_to(planted.parent, target_is_directory=True)
    files = f"export/*{''.join(planted.suffixes)}"
    code = (
        "import postback_kit as pk\n"
        "print(pk.__file__)\nprint(pk.report.NOTEBOOK)\n"
        f"pk.render_report({files!r}, {TRACKER!r}, 'report.html')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    module, notebook = (Path(line) for line in run.stdout.splitlines()[:2])
    assert module.is_relative_to(site) and notebook.is_relative_to(site)
    assert notebook.is_file() and not notebook.is_symlink()
    page = (work / "report.html").read_text("utf-8")
    assert TRACKER in page and leaked(page) == []
