"""notebooks/01_triage.ipynb runs headless (papermill): the bundled sample, a generated export
with other faults, and a fetch from a local Logs API with the token from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

from postback_kit import samples
from tests.notebook_helpers import (
    chart_specs,
    execute,
    export_html,
    html_widgets,
    run_on_bundled_sample,
    stream_text,
    widget_values,
)
from tests.test_api import TOKEN, FakeLogsApi, Reply, Request, ok

NOTEBOOK = "01_triage.ipynb"
MOBIREACH = "1152921504606846976"  # partner 5xx in bursts, two signatures


@pytest.fixture(scope="module")
def sample_run(
    tmp_path_factory: pytest.TempPathFactory, chart_cache: Path
) -> Iterator[NotebookNode]:
    """The notebook on its defaults: the bundled sample, its worst tracker."""
    cache = tmp_path_factory.mktemp("triage-cache")
    yield run_on_bundled_sample(NOTEBOOK, cache, chart_cache)


def test_runs_on_the_bundled_sample_and_shows_the_worst_tracker(sample_run: NotebookNode) -> None:
    text = stream_text(sample_run)
    assert "7 file(s), 24,031 rows read, 24,031 loaded, 0 rejected" in text
    assert "Сеть Ромашка — iOS и Android (3377699720527872) · failing, 179 lost" in text
    assert "-r tracker 3377699720527872" in text  # the hand-off to notebook 02
    values = widget_values(sample_run)
    assert values["Tracker"].startswith("Сеть Ромашка")
    assert values["Export"].startswith("bundled sample")
    assert "Token" not in values  # the token field has no value: nothing of it is saved
    page = "\n".join(html_widgets(sample_run))
    assert "24,031 attempts of 10 trackers (8 with errors)" in page
    assert page.count("<tr") >= 10 + 1  # every tracker in the list
    assert "<code>Invalid device id</code>" in page and "Next action:" in page
    assert "&quot;message&quot;:&quot;Invalid device id&quot;" in page  # a real body, escaped
    (timeline,) = chart_specs(sample_run)
    assert timeline["title"]["text"] == (
        "Failed attempts over time by class: Сеть Ромашка — iOS и Android (3377699720527872)"
    )


def test_exports_to_offline_html(sample_run: NotebookNode, tmp_path: Path) -> None:
    page = export_html(sample_run, tmp_path / "triage.html").read_text("utf-8")
    assert len(chart_specs(page)) == 1
    assert "application/vnd.jupyter.widget" not in page
    assert "Trackers ranked by impact" in page and "02_export_deep_dive.ipynb" in page


def test_runs_on_a_generated_export_from_the_sample_variable(
    tmp_path: Path, warm_kernels: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = samples.generate(
        6000,
        seed=3,
        days=3,
        faults=["partner-5xx-bursts", "timeout-outage", "goal-value-after-release"],
    )
    sample.write_csv(tmp_path / "export" / "csv")
    monkeypatch.setenv("POSTBACK_KIT_SAMPLE", str(tmp_path / "export"))  # `make lab` sets it
    nb = execute(NOTEBOOK, tracker=MOBIREACH, since="2026-11-02")
    text = stream_text(nb)
    assert f"MobiReach — installs ({MOBIREACH})" in text
    values = widget_values(nb)
    assert values["Tracker"].startswith(f"MobiReach — installs ({MOBIREACH})")
    assert values["File, folder or glob"] == str(tmp_path / "export" / "csv")
    page = "\n".join(html_widgets(nb))
    assert "Bad Gateway" in page and "Service Temporarily Unavailable" in page
    assert f"<code>{tmp_path / 'export' / 'csv'}</code>" in page  # not the bundled sample
    (timeline,) = chart_specs(nb)
    bars = timeline["datasets"][timeline["layer"][1]["data"]["name"]]
    assert {r["series"] for r in bars} == {"partner_error"}
    assert min(r["bucket"] for r in bars) >= "2026-11-02"  # since= applied


@pytest.fixture
def api() -> Iterator[FakeLogsApi]:
    def app(req: Request) -> Reply:
        if req.headers.get("authorization") != f"OAuth {TOKEN}":
            return Reply(401, "Invalid oauth_token")
        return ok(req)

    server = FakeLogsApi(app)
    yield server
    server.close()
    assert not server.errors, server.errors[0]


def test_fetches_headless_with_the_token_from_the_environment(
    api: FakeLogsApi, tmp_path: Path, warm_kernels: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPMETRICA_TOKEN", TOKEN)
    dest = tmp_path / "exports" / "1111"
    out = tmp_path / "run.ipynb"
    nb = execute(
        NOTEBOOK,
        application_id=1111,
        fetch_since="2024-03-01",
        fetch_until="2024-03-02",
        dest=str(dest),
        base_url=api.url,
    )
    nbformat.write(nb, out)
    assert [r.headers["authorization"] for r in api.requests] == [f"OAuth {TOKEN}"] * 2
    assert len(list(dest.glob("postbacks_1111_*.csv.gz"))) == 2
    text = stream_text(nb)
    assert "2 file(s), 48 rows read, 48 loaded, 0 rejected" in text
    assert "Аdvertising iOS campaign (12345678901234567890) · failing" in text
    assert "malformed clickId" in "\n".join(html_widgets(nb))
    assert widget_values(nb)["Application ID"] == "1111" and "Token" not in widget_values(nb)
    assert TOKEN not in out.read_text("utf-8")
    page = export_html(nb, tmp_path / "run.html").read_text("utf-8")
    assert TOKEN not in page
    for p in tmp_path.rglob("*"):
        assert TOKEN not in str(p)
        if p.is_file() and p.suffix != ".gz":
            assert TOKEN.encode() not in p.read_bytes(), p


def test_a_fetch_without_a_token_fails_with_what_to_do(
    api: FakeLogsApi, tmp_path: Path, warm_kernels: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papermill

    monkeypatch.delenv("APPMETRICA_TOKEN", raising=False)
    with pytest.raises(papermill.PapermillExecutionError, match="APPMETRICA_TOKEN"):
        execute(
            NOTEBOOK,
            application_id=1111,
            fetch_since="2024-03-01",
            fetch_until="2024-03-01",
            dest=str(tmp_path / "x"),
            base_url=api.url,
        )
    assert api.requests == []


def test_the_handoff_runs_notebook_02_on_the_picked_tracker(
    sample_run: NotebookNode, warm_kernels: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What 01 hands over (its last cell prints it) is what 02's parameters cell reads."""
    import shlex

    import postback_kit as pk
    from postback_kit import ui
    from postback_kit.deepdive import bundled_sample

    monkeypatch.delenv("POSTBACK_KIT_SAMPLE", raising=False)
    monkeypatch.chdir(Path(__file__).parent.parent / "notebooks")
    source = bundled_sample()
    triage = ui.Triage(pk.diagnose(pk.load(source)), source=source, progress=False)
    command = next(
        line for line in stream_text(sample_run).splitlines() if "postback_kit.nbexport" in line
    )
    assert command == triage.papermill_command()  # the notebook printed the same hand-off
    triage.tracker.value = "81064793292668928"
    args = shlex.split(triage.papermill_command())
    params = {args[i + 1]: args[i + 2] for i, a in enumerate(args) if a == "-r"}
    assert params == {
        "export": str(source),
        "tracker": "81064793292668928",
        "issue": "81064793292668928|request_error|INVALID_SECURITY_TOKENS",
    }
    nb = execute("02_export_deep_dive.ipynb", **params)
    values = widget_values(nb)
    assert values["Tracker"].startswith("AppBoost CPA (81064793292668928)")
    assert values["Issue"].startswith("request_error · INVALID_SECURITY_TOKENS")
