"""notebooks/02_export_deep_dive.ipynb runs headless (papermill) and exports to offline HTML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nbformat import NotebookNode

from postback_kit import samples
from tests.notebook_helpers import (
    chart_specs,
    execute,
    export_html,
    html_outputs,
    html_widgets,
    run_on_bundled_sample,
    stream_text,
    widget_values,
)

NOTEBOOK = "02_export_deep_dive.ipynb"
MOBIREACH = "1152921504606846976"  # partner 5xx in bursts, two signatures


@pytest.fixture(scope="module")
def sample_run(
    tmp_path_factory: pytest.TempPathFactory, chart_cache: Path
) -> Iterator[NotebookNode]:
    """The notebook on its defaults: the bundled sample, its top failing tracker."""
    cache = tmp_path_factory.mktemp("deepdive-cache")
    yield run_on_bundled_sample(NOTEBOOK, cache, chart_cache)


def test_runs_on_the_bundled_sample_and_its_top_failing_tracker(sample_run: NotebookNode) -> None:
    text = stream_text(sample_run)
    assert "24,031 attempts of 10 trackers" in text
    # the top failing tracker of the sample: iOS postbacks carry an unfilled {idfa} macro
    assert "Сеть Ромашка — iOS и Android (3377699720527872)" in text
    assert "Segment: os_name = ios" in text
    values = widget_values(sample_run)
    assert values["Tracker"].startswith("Сеть Ромашка")
    assert values["Issue"].startswith("request_error · Invalid device id")
    assert values["Bucket"] == "1h" and values["Stack by"] == "class"
    titles = sorted(str(s["title"]) for s in chart_specs(sample_run))
    assert len(titles) == 4 and any("Failed attempts over time" in t for t in titles)
    page = "\n".join(html_outputs(sample_run) + html_widgets(sample_run))
    assert "<code>idfa</code>" in page and 'class="pbk-hl"' in page  # the suspect parameter
    assert "lost (given up)" in page


def test_exports_to_offline_html_with_every_chart_and_table(
    sample_run: NotebookNode, tmp_path: Path
) -> None:
    page = export_html(sample_run, tmp_path / "deepdive.html").read_text("utf-8")
    assert len(chart_specs(page)) == 4
    assert "application/vnd.jupyter.widget" not in page
    assert "URL parameters: failing" in page and "Retries and deliveries" in page
    assert '<span class="pbk-widget-label">Tracker</span>' in page


def test_runs_on_a_generated_export_with_other_faults(tmp_path: Path, warm_kernels: None) -> None:
    sample = samples.generate(
        6000,
        seed=3,
        days=3,
        faults=["partner-5xx-bursts", "timeout-outage", "goal-value-after-release"],
    )
    sample.write_csv(tmp_path / "export")
    nb = execute(
        NOTEBOOK,
        export=str(tmp_path / "export"),
        tracker=MOBIREACH,
        issue="all",
        bucket="15m",
        since="2026-11-02",
    )
    text = stream_text(nb)
    assert f"MobiReach — installs ({MOBIREACH})" in text
    assert "Several error types (2)" in text
    values = widget_values(nb)
    assert values["Issue"].startswith("all issues") and values["Bucket"] == "15m"
    (timeline,) = [s for s in chart_specs(nb) if "Failed attempts" in str(s["title"])]
    bars = timeline["datasets"][timeline["layer"][1]["data"]["name"]]
    assert {r["series"] for r in bars} == {"partner_error"}
