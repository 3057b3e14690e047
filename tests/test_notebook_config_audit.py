"""notebooks/04_config_audit.ipynb executes headless on a small export made here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from tests.notebook_helpers import chart_specs

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "04_config_audit.ipynb"

EXPORT = """\
tracking_id,publisher_id,cost_model,event_name,click_id,install_timestamp,conversion_timestamp,\
attempt_timestamp,notifying_status,response_code,postback_url
7,39,cpa,purchase,a1,1704103200,1705233600,1705233660,sent,200,\
https://pb.network-x.example/conv?clickid=a1&event=event5&revenue=9.99&currency=USD&json=
7,39,cpa,purchase,a2,1704103200,1705579200,1705579260,sent,200,\
https://pb.network-x.example/conv?clickid=a2&event=event5&revenue=N%2FA&currency=N%2FA&json=
7,39,cpa,Level_Up,a3,1704103200,1704300000,1704300060,sent,200,\
https://pb.network-x.example/conv?clickid=a3&event=lvl&revenue=&currency=&json=
"""

CONFIG = """\
name = "Test Network"
template = "https://pb.network-x.example/conv?clickid=(clickid)&event=(partner_event_id)\
&revenue=(event_revenue)&currency=(event_revenue_currency)&json=(event_value)"
events = ["purchase", "level_up"]
sharing = "values_without_revenue"
[mapping]
purchase = "event5"
level_up = "lvl"
[[window_history]]
since = 2024-01-01
window = 15
[[window_history]]
since = 2024-01-02
window = 10
[[window_history]]
since = 2024-01-15
window = 20
"""


def test_the_example_configuration_is_a_tracker_of_the_bundled_sample() -> None:
    """The notebook's defaults audit Adsolut's tracker against Adsolut's settings: the template
    renders the URLs that tracker sent, its events are the configuration's, and the window
    history falls inside the sample's week."""
    import polars as pl

    import postback_kit as pk

    params = _parameters()
    config = pk.load_partner_config(ROOT / params["config_path"])
    frame = pk.load(ROOT / params["export_path"]).filter(pl.col("tracking_id") == params["tracker"])
    sent = frame.collect()
    assert set(sent["publisher_id"].unique()) == {config.publisher_id}
    events = set(sent.filter(pl.col("cost_model") == "cpa")["event_name"].unique())
    assert events == set(config.events)
    summary = pk.compare_rendered(config.template, frame, style=config.style).summary
    same = summary.filter(pl.col("status") == "same")
    for parameter in ("(base)", "clickid", "adid"):
        assert same.filter(pl.col("parameter") == parameter)["count"].item() == sent.height
    start, end = sent["attempt_timestamp"].min(), sent["attempt_timestamp"].max()
    first, *changes = config.window_history
    assert first.since <= start and changes and all(start < w.since < end for w in changes)
    result = pk.audit_settings(frame, config)
    assert [v.code for v in result.violations] == ["PK632"]  # no event value in the sample
    # the template parameter is the configuration's with three mistakes
    findings = pk.lint_template(params["template"], style=params["style"], postback="event")
    assert {f.code for f in findings} == {"PK101", "PK209", "PK301"}
    assert params["template"].startswith("http://postback.adsolut.example/conv?")


def _parameters() -> dict[str, str]:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    (cell,) = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    values: dict[str, str] = {}
    exec("".join(cell["source"]), {}, values)  # plain assignments of literals
    return values


def test_the_notebook_is_committed_without_outputs_and_has_parameters() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    for name in ("template", "config_path", "export_path"):
        assert f"{name} =" in source


def _all_outputs(nb: dict) -> list[dict]:
    return [o for c in nb["cells"] for o in c.get("outputs", [])]


def _outputs(nb: dict) -> str:
    """All text of the outputs (text, HTML, plain text, JSON specs) as one string."""
    parts: list[str] = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            values = [out.get("text", ""), *out.get("data", {}).values()]
            for value in values:
                if isinstance(value, list):
                    value = "".join(value)
                parts.append(value if isinstance(value, str) else json.dumps(value))
    return "\n".join(parts)


@pytest.mark.slow
def test_the_notebook_executes_headless(tmp_path: Path, warm_kernels: None) -> None:
    papermill = pytest.importorskip("papermill")
    export = tmp_path / "export.csv"
    export.write_text(EXPORT)
    config = tmp_path / "partner.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={
            "template": "http://pb.example.com/c?clickid={click_id}&cc={county_code}",
            "config_path": str(config),
            "export_path": str(export),
            "tracker": "7",
        },
        cwd=str(tmp_path),
        kernel_name="python3",
        progress_bar=False,
    )
    nb = json.loads(out.read_text(encoding="utf-8"))
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    text = _outputs(nb)
    assert "PK101" in text and "PK209" in text  # the template's findings, highlighted
    assert "Test Network" in text
    assert "PK601" in text  # Jan 14 sent under the 10-day window
    assert "PK612" in text  # Level_Up vs level_up
    assert "PK621" in text  # revenue 9.99 although masked
    # the window chart, drawn by the offline renderer (an <iframe> with the spec inline)
    (spec,) = chart_specs(nbformat.reads(out.read_text(encoding="utf-8"), as_version=4))
    assert spec["title"] == "Test Network: event postbacks against the in-app event postback window"
    bars = next(iter(spec["datasets"].values()))
    assert {(r["day"], r["window_status"]) for r in bars} == {
        (2, "within"),
        (13, "outside"),
        (17, "within"),
    }
    assert not any("vega" in k for o in _all_outputs(nb) for k in o.get("data", {}))
    # the comparison: the click ID renders from the export and matches what was sent
    assert re.search(r"clickid\s+┆ same\s+┆ 3", text)
