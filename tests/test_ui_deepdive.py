"""ui.DeepDiveExplorer without a browser: pickers redraw the same ChartViews and tables."""

from __future__ import annotations

import pytest

import postback_kit as pk
from postback_kit import ui
from tests.test_deepdive import GATEWAY, HOSTILE, MALFORMED, _frame, at


@pytest.fixture
def explorer() -> ui.DeepDiveExplorer:
    return ui.DeepDiveExplorer(pk.diagnose(_frame(), bucket="1h"))


def _rows(view: ui.ChartView) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for data in view.spec["datasets"].values():
        rows.extend(data)
    return rows


def test_starts_on_the_top_tracker_and_its_worst_issue(explorer: ui.DeepDiveExplorer) -> None:
    assert explorer.tracker.value == "t1" and explorer.issue.value == MALFORMED
    assert [v for _label, v in explorer.issue.options] == ["all", MALFORMED, GATEWAY]
    assert explorer.bucket.value == "1h" and explorer.by.value == "class"
    assert explorer.classes.value == ("request_error", "partner_error")
    assert "os_name = ios" in explorer.verdict.value
    assert explorer.timeline_view.title.endswith("malformed clickId")
    assert 'class="pbk-hl"' in explorer.parameters_table.value  # cid empty: a suspect
    assert "<code>cid</code>" in explorer.parameters_table.value
    assert 'class="pbk-hl"' in explorer.segments_table.value
    assert "lost (given up)" in explorer.deliveries_table.value


def test_issue_picker_redraws_charts_and_tables_in_place(explorer: ui.DeepDiveExplorer) -> None:
    views = (explorer.timeline_view, explorer.codes_view, explorer.fates_view, explorer.ttd_view)
    before = [v.spec for v in views]
    tables = (explorer.parameters_table.value, explorer.deliveries_table.value)
    explorer.issue.value = GATEWAY
    assert explorer.timeline_view.spec != before[0]
    assert {r["series"] for r in _rows(explorer.timeline_view) if r.get("failing")} == {
        "partner_error"
    }
    assert explorer.codes_view.spec != before[1]
    fates = {r["fate"]: r["postbacks"] for r in _rows(explorer.fates_view) if "fate" in r}
    assert fates["cured by retries"] == 1 and fates["lost"] == 0
    assert (explorer.parameters_table.value, explorer.deliveries_table.value) != tables
    # the hostile body of the 502 is shown escaped in the verdict
    assert HOSTILE not in explorer.verdict.value and "&lt;script&gt;" in explorer.verdict.value
    # same objects: the frames stay, only specs change
    assert views == (
        explorer.timeline_view,
        explorer.codes_view,
        explorer.fates_view,
        explorer.ttd_view,
    )


def test_bucket_stacking_and_classes_redraw_only_the_timeline(
    explorer: ui.DeepDiveExplorer,
) -> None:
    explorer.issue.value = "all"
    codes = explorer.codes_view.spec
    explorer.bucket.value = "15m"
    assert explorer.timeline_view.spec["layer"][1]["encoding"]["y"]["title"] == (
        "attempts per 15 minutes"
    )
    explorer.by.value = "code"
    assert {r["series"] for r in _rows(explorer.timeline_view) if r.get("failing")} == {
        "400",
        "502",
    }
    explorer.classes.value = ("partner_error",)
    assert {r["series"] for r in _rows(explorer.timeline_view) if r.get("failing")} == {"502"}
    assert explorer.codes_view.spec == codes


def test_time_range_changes_the_parameter_and_segment_tables(
    explorer: ui.DeepDiveExplorer,
) -> None:
    whole = explorer.parameters_table.value
    labels = [label for label, _v in explorer.period.options]
    values = [v for _label, v in explorer.period.options]
    assert values[0] <= at(1, 0, 5) and values[-1] >= at(2, 2, 0)
    cut = values.index(at(1, 1, 0))
    explorer.period.index = (0, cut)
    assert explorer.until == at(1, 1, 0) and labels[cut] == "01 Nov 01:00"
    assert explorer.parameters_table.value != whole
    assert (
        '<td style="text-align:right;white-space:nowrap">2</td>' in explorer.parameters_table.value
    )
    explorer.period.index = (values.index(at(2, 0, 0)), len(values) - 1)
    assert "hits no postback" in explorer.segments_table.value


def test_tracker_picker_swaps_issues_classes_and_charts(explorer: ui.DeepDiveExplorer) -> None:
    timeline = explorer.timeline_view.spec
    explorer.tracker.value = "t2"
    assert [v for _l, v in explorer.issue.options] == ["all"] and explorer.issue.value == "all"
    assert explorer.classes.options == ()
    assert explorer.timeline_view.spec != timeline
    assert "No failed attempts" in explorer.verdict.value
    explorer.tracker.value = "t1"
    assert explorer.issue.value == MALFORMED


def test_parameters_pick_tracker_issue_range_and_bucket() -> None:
    ex = ui.DeepDiveExplorer(
        pk.diagnose(_frame(), bucket="1h"),
        tracker="t1",
        issue="<num> Bad Gateway",
        since="2026-11-01T00:00",
        until="2026-11-01T01:00",
        bucket="15m",
        by="signature",
    )
    assert ex.issue.value == GATEWAY and ex.bucket.value == "15m" and ex.by.value == "signature"
    assert (ex.since, ex.until) == (at(1, 0, 0), at(1, 1, 0))
    assert ui.DeepDiveExplorer(pk.diagnose(_frame()), issue="all").issue.value == "all"


def test_html_table_escapes_every_cell() -> None:
    import polars as pl

    frame = pl.DataFrame({"v": ["<img src=x onerror=alert(1)>"], "n": [1234], "hl": [True]})
    out = ui.html_table(frame, (("v", "value<", "code"), ("n", "n", "num")), highlight="hl")
    assert "<img" not in out and "&lt;img src=x" in out and "value&lt;" in out
    assert "1,234" in out and 'class="pbk-hl"' in out
