"""ui's Triage section without a browser: export chooser, Logs API form, tracker list and picks.

The fetch form talks to the real HTTP server of tests/test_api.py on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit import ui
from tests.test_api import TOKEN, FakeLogsApi, Reply, Request, ok

HOSTILE = "<h1>502 Bad Gateway</h1><script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# tracker, postback URL, code, body, attempt time. t1: p1 400 twice (lost), p2 first try, p3 502
# then cured, p4 400 (lost). t2: q1 no answer three times (lost), q2 a 500 with an <img> body
# then cured, q3 first try. t3 is healthy.
ROWS = [
    ("t1", "https://p.example/?cid=&ev=install", 400, '{"Message":"malformed clickId"}',
     at(1, 0, 5)),
    ("t1", "https://p.example/?cid=&ev=install", 400, '{"Message":"malformed clickId"}',
     at(1, 0, 15)),
    ("t1", "https://p.example/?cid=abc&ev=install", 200, "OK", at(1, 0, 10)),
    ("t1", "https://p.example/?cid=def&ev=install", 502, HOSTILE, at(1, 0, 20)),
    ("t1", "https://p.example/?cid=def&ev=install", 200, "OK", at(1, 0, 30)),
    ("t1", "https://p.example/?cid=&ev=open", 400, '{"Message":"malformed clickId"}',
     at(1, 1, 5)),
    ("t2", "https://q.example/?cid=1", None, None, at(1, 2)),
    ("t2", "https://q.example/?cid=1", None, None, at(1, 3)),
    ("t2", "https://q.example/?cid=1", None, None, at(1, 4)),
    ("t2", "https://q.example/?cid=2", 500, IMG, at(2, 2)),
    ("t2", "https://q.example/?cid=2", 200, "OK", at(2, 3)),
    ("t2", "https://q.example/?cid=3", 200, "OK", at(2, 4)),
    ("t3", "https://r.example/?cid=9", 200, "OK", at(2, 5)),
]  # fmt: skip


def _frame() -> pl.DataFrame:
    schema = {
        "tracking_id": pl.String,
        "postback_url": pl.String,
        "response_code": pl.Int32,
        "response_body": pl.String,
        "attempt_timestamp": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(ROWS, schema=schema, orient="row")


@pytest.fixture(scope="module")
def diagnosis() -> pk.Diagnosis:
    return pk.diagnose(_frame(), bucket="1h")


@pytest.fixture
def triage(diagnosis: pk.Diagnosis) -> ui.Triage:
    return ui.Triage(diagnosis, source="exports/x")


def _rows(view: ui.ChartView) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for data in view.spec["datasets"].values():
        rows.extend(data)
    return rows


def _html(triage: ui.Triage) -> str:
    return "".join(
        w.value
        for w in (
            triage.export_info,
            triage.trackers_table,
            triage.verdict,
            triage.codes_table,
            triage.issues_table,
            triage.handoff,
        )
    )


def _states(*roots: widgets.Widget) -> str:
    """Every synced state of the widgets below ``roots``, as JSON text."""
    return "\n".join(json.dumps(w.get_state(), default=str) for w in _widgets(*roots))


def _all_widget_states() -> str:
    """The synced state of every widget alive in this process (layouts and styles too)."""
    from ipywidgets.widgets.widget import _instances

    return "\n".join(json.dumps(w.get_state(), default=str) for w in list(_instances.values()))


def _widgets(*roots: widgets.Widget) -> list[widgets.Widget]:
    """``roots`` and every widget below them."""
    seen: list[widgets.Widget] = []

    def walk(w: Any) -> None:
        seen.append(w)
        for child in getattr(w, "children", ()):
            walk(child)

    for root in roots:
        walk(root)
    return seen


# --------------------------------------------------------------------------- the tracker list


def test_tracker_list_ranks_by_lost_conversions_with_failed_shares_by_class(
    triage: ui.Triage,
) -> None:
    got = triage.tracker_list.select(
        "tracking_id",
        "status",
        "attempts",
        "undelivered",
        "share_request_error",
        "share_partner_error",
        "share_network_error",
        "top_signatures",
    )
    want = pl.DataFrame(
        {
            "tracking_id": ["t1", "t2", "t3"],
            "status": ["failing", "failing", "healthy"],
            "attempts": [6, 6, 1],
            "undelivered": [2, 1, 0],
            "share_request_error": [3 / 6, 0.0, 0.0],
            "share_partner_error": [1 / 6, 1 / 6, 0.0],
            "share_network_error": [0.0, 3 / 6, 0.0],
            "top_signatures": [
                "malformed clickId (3); <num> Bad Gateway (1)",
                '(no answer) (3); <img src=x onerror="<str>"> (1)',
                "",
            ],
        }
    )
    assert_frame_equal(got, want, check_dtypes=False)
    assert [v for _label, v in triage.tracker.options] == ["t1", "t2", "t3"]
    assert triage.tracker.value == "t1"  # the worst first
    assert "13 attempts of 3 trackers (2 with errors)" in triage.export_info.value
    head = triage.trackers_table.value.split("<tbody>")[0]
    assert "<th>4xx</th><th>5xx</th><th>no answer</th><th>lost conversions</th>" in head
    assert "soft failure" not in head  # no tracker of the export has one
    t2_row = triage.trackers_table.value.split(">t2<")[1].split("</tr>")[0]
    assert '<span style="color:#999">—</span>' in t2_row and "50.0 %" in t2_row
    assert '<td style="text-align:right;white-space:nowrap">50.0 %</td>' in t2_row  # one line


def test_first_view_shows_codes_signatures_examples_hypothesis_and_next_action(
    triage: ui.Triage,
) -> None:
    verdict = triage.verdict.value
    assert "Error codes:</b> 400 (3), 502 (1)" in verdict
    assert "Hypothesis" in verdict and "Next action:" in verdict
    assert "<code>400</code>" in triage.codes_table.value
    issues = triage.issues_table.value
    assert "<code>malformed clickId</code>" in issues
    assert "&quot;Message&quot;:&quot;malformed clickId&quot;" in issues  # a real example body
    assert "&lt;h1&gt;502 Bad Gateway&lt;/h1&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in issues
    assert triage.timeline_view.title == "Failed attempts over time by class: t1"
    assert 'class="pbk-hl"' in triage.trackers_table.value
    picked_row = triage.trackers_table.value.split('class="pbk-hl"')[1].split("</tr>")[0]
    assert ">t1<" in picked_row


def test_picking_a_tracker_redraws_tables_and_chart_in_place(triage: ui.Triage) -> None:
    view, before, redraws = triage.timeline_view, triage.timeline_view.spec, triage.redraws
    tables = (triage.trackers_table.value, triage.codes_table.value, triage.issues_table.value)
    sent: list[object] = []
    view.observe(lambda change: sent.append(change["new"]), names="spec")

    triage.tracker.value = "t2"

    assert triage.redraws == redraws + 1 and len(sent) == 1
    assert triage.timeline_view is view and view.spec != before
    assert view.title == "Failed attempts over time by class: t2"
    failing = {r["series"] for r in _rows(view) if r.get("failing")}
    assert failing == {"network_error", "partner_error"}
    traffic = sum(r["attempts"] for r in _rows(view) if "attempts" in r)
    assert traffic == 6  # all of t2's attempts, none of t1's
    new = (triage.trackers_table.value, triage.codes_table.value, triage.issues_table.value)
    assert all(a != b for a, b in zip(tables, new, strict=True))
    picked_row = triage.trackers_table.value.split('class="pbk-hl"')[1].split("</tr>")[0]
    assert ">t2<" in picked_row
    assert "<code>no answer</code>" in triage.codes_table.value
    assert "Error codes:</b> no answer (3), 500 (1)" in triage.verdict.value
    assert "-r tracker t2" in triage.handoff.value


def test_bodies_are_always_escaped(triage: ui.Triage) -> None:
    for tid in ("t1", "t2", "t3"):
        triage.tracker.value = tid
        page = _html(triage)
        assert "<script>" not in page and "<img" not in page and "<h1>" not in page
    triage.tracker.value = "t2"
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in triage.issues_table.value
    examples = {r.get("example") for r in _rows(triage.timeline_view)}
    assert IMG in examples  # the chart's tooltip shows it as text (vega escapes it)


def test_a_healthy_tracker_says_there_is_nothing_to_fix(triage: ui.Triage) -> None:
    triage.tracker.value = "t3"
    assert "No failing attempts" in triage.issues_table.value
    assert "Error codes:</b> none" in triage.verdict.value
    assert not [r for r in _rows(triage.timeline_view) if r.get("failing")]


def test_handoff_gives_notebook_02_its_parameters(triage: ui.Triage) -> None:
    triage.tracker.value = "t2"
    assert triage.handoff_parameters() == {
        "export": "exports/x",
        "tracker": "t2",
        "issue": "t2|network_error|(no answer)",
    }
    command = triage.papermill_command()
    assert command.startswith(
        "python -m postback_kit.nbexport notebooks/02_export_deep_dive.ipynb -r export exports/x"
    )
    assert "-r issue 't2|network_error|(no answer)'" in command
    assert "02_export_deep_dive.ipynb" in triage.handoff.value


def test_handoff_command_passes_a_numeric_tracker_id_as_a_string(
    diagnosis: pk.Diagnosis,
) -> None:
    import shlex

    from postback_kit import nbexport

    tid = "12345678901234567890"  # over int64: read as JSON it would be another type
    frame = _frame().with_columns(pl.col("tracking_id").replace({"t2": tid}))
    triage = ui.Triage(pk.diagnose(frame, bucket="1h"), tracker=tid, source="2026")
    args = shlex.split(triage.papermill_command())
    assert args[:4] == [
        "python",
        "-m",
        "postback_kit.nbexport",
        "notebooks/02_export_deep_dive.ipynb",
    ]
    parsed = dict(nbexport.build_parser().parse_args(args[3:]).parameters)
    assert parsed == triage.handoff_parameters()  # what nbexport hands to papermill
    assert parsed["tracker"] == tid and parsed["export"] == "2026"  # strings, not numbers


def test_load_diagnoses_within_since_and_until_and_keeps_a_named_tracker() -> None:
    triage = ui.Triage(tracker="t2", since="2026-11-02", until="2026-11-02T05:00", progress=False)
    assert triage.tracker.value == "" and triage.redraws == 0  # nothing loaded yet
    diagnosis = triage.load(_frame(), source="somewhere")
    assert diagnosis.export["attempts"] == 3  # t2's 500, its cure, its first-try success
    assert triage.tracker.value == "t2"
    assert "2 trackers" not in triage.export_info.value
    assert "<code>somewhere</code>" in triage.export_info.value
    # another export keeps the pick when the tracker is in it
    triage.since = None
    triage.load(_frame(), source="again")
    assert triage.tracker.value == "t2" and triage.diagnosis.export["attempts"] == 12
    assert "pbk-note" not in triage.export_info.value


def test_reopening_an_export_reads_its_diagnosis_within_the_same_time_range(
    tmp_path: Path,
) -> None:
    csv = _frame().with_columns(pl.col("attempt_timestamp").dt.epoch("s"))
    csv.write_csv(tmp_path / "day1.csv")
    cache = tmp_path / "cache"
    opened, said = [], []
    for since in ("2026-11-02", "2026-11-02", None):
        triage = ui.Triage(since=since, until="2026-11-02T05:00", progress=False)
        opened.append(triage.load(pk.load(tmp_path / "day1.csv", cache=cache)))
        said.append("diagnosis read from the cache" in triage.export_info.value)
    first, again, wider = opened
    assert not first.from_cache and again.from_cache and not wider.from_cache
    assert said == [False, True, False]  # the analyst is told why it was instant
    assert again.to_json() == first.to_json()
    assert (first.export["attempts"], wider.export["attempts"]) == (3, 12)


def test_a_tracker_not_in_the_export_falls_back_to_the_worst_and_says_so() -> None:
    triage = ui.Triage(tracker="<nope>", progress=False)
    triage.load(_frame())
    assert triage.tracker.value == "t1"
    assert "Tracker <code>&lt;nope&gt;</code> is not in this export" in triage.export_info.value


# --------------------------------------------------------------------------- export chooser


def test_export_chooser_lists_exports_loads_the_choice_and_calls_back(tmp_path: Path) -> None:
    (tmp_path / "exports" / "a").mkdir(parents=True)
    csv = _frame().with_columns(pl.col("attempt_timestamp").dt.epoch("s"))  # as exports have it
    csv.write_csv(tmp_path / "exports" / "a" / "day1.csv")
    csv.head(6).write_csv(tmp_path / "exports" / "a" / "day2.csv")
    (tmp_path / "notes.json").write_text('{"not": "an export"}')
    folder = str(tmp_path / "exports" / "a")
    triage = ui.Triage(progress=False)
    chooser = ui.ExportChooser(folder, on_load=triage.load, roots=[tmp_path])
    values = [v for _label, v in chooser.choice.options]
    assert folder in values and str(tmp_path / "exports" / "a" / "day2.csv") in values
    assert str(tmp_path / "notes.json") not in values
    assert chooser.path.value == folder

    chooser.choice.value = str(tmp_path / "exports" / "a" / "day2.csv")
    assert chooser.path.value.endswith("day2.csv")
    chooser.button.click()
    assert "1 file(s), 6 rows read, 6 loaded" in chooser.status.value
    assert triage.diagnosis.export["attempts"] == 6 and triage.tracker.value == "t1"

    chooser.path.value = folder
    report = chooser.load().report
    assert report.rows_loaded == 19 and triage.diagnosis.export["attempts"] == 19


def test_export_chooser_shows_a_bad_path_as_an_escaped_error(tmp_path: Path) -> None:
    chooser = ui.ExportChooser(str(tmp_path), roots=[])
    chooser.path.value = str(tmp_path / "<b>nothing</b>")
    chooser.button.click()
    assert 'class="pbk-error"' in chooser.status.value
    assert "&lt;b&gt;nothing&lt;/b&gt;" in chooser.status.value
    assert not chooser.button.disabled


# --------------------------------------------------------------------------- fetch form


@pytest.fixture
def api() -> Iterator[FakeLogsApi]:
    def app(req: Request) -> Reply:
        if req.headers.get("authorization") != f"OAuth {TOKEN}":
            return Reply(401, f"Invalid oauth_token {req.headers.get('authorization')}")
        return ok(req)

    server = FakeLogsApi(app)
    yield server
    server.close()
    assert not server.errors, server.errors[0]


def _press_fetch(form: ui.FetchForm, typed: str) -> dict[str, Any]:
    """What the browser sends when *Fetch* is pressed: the field's text in a custom message
    (ipywidgets' comm message, handled as a kernel handles it). Returns the message."""
    content = {"type": "pbk-submit", "token": typed}
    msg = {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    form.token._handle_msg(msg)
    return msg


def test_token_field_keeps_no_text_in_widget_state() -> None:
    got: list[str] = []
    field = ui.TokenField(on_submit=got.append, button_description="Fetch")
    before = field.get_state()
    assert set(before) >= {"description", "placeholder", "button_description", "disabled"}
    assert not {"value", "token", "has_token", "length"} & set(before)
    # the browser code writes no state at all: the text leaves the page only by message
    esm = field._esm
    assert 'type = "password"' in esm and '"autocomplete", "off"' in esm
    assert "model.set(" not in esm and "save_changes" not in esm and "model.send(" in esm
    content = {"type": "pbk-submit", "token": " s "}
    msg = {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    field._handle_msg(msg)
    assert got == ["s"]
    assert "token" not in content  # the kernel keeps no copy in the message it handled
    assert field.get_state() == before
    # other messages are not a submit
    field._handle_msg({"content": {"data": {"method": "custom", "content": {"type": "x"}}}})
    field._handle_msg({"content": {"data": {"method": "custom", "content": "pbk-submit"}}})
    assert got == ["s"]


def test_fetch_form_fetches_loads_and_clears_the_token(
    api: FakeLogsApi,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("APPMETRICA_TOKEN", raising=False)
    triage = ui.Triage(progress=False)
    form = ui.FetchForm(
        application_id=1111,
        since="2024-03-01",
        until="2024-03-01",
        dest=tmp_path / "x",
        on_load=triage.load,
        base_url=api.url,
        poll_interval=0.01,
    )
    assert (form.since.value, form.until.value) == (date(2024, 3, 1), date(2024, 3, 1))
    assert isinstance(form.token, ui.TokenField)
    assert not any(isinstance(w, widgets.Password) for w in _widgets(form.widget))
    msg = _press_fetch(form, TOKEN)  # typed into the field, then Fetch pressed

    assert TOKEN not in json.dumps(msg)
    assert not form.token.disabled
    assert [r.headers["authorization"] for r in api.requests] == [f"OAuth {TOKEN}"]
    assert "1 file(s), 24 rows read, 24 loaded" in form.status.value
    assert triage.tracker.value == "12345678901234567890"
    assert "malformed clickId" in triage.issues_table.value
    out, err = capfd.readouterr()
    page = "\n".join([out, err, _states(form.widget), _html(triage), str(form.log.outputs)])
    assert TOKEN not in page
    assert TOKEN not in repr(vars(form)) and TOKEN not in repr(vars(form.token))
    assert TOKEN not in _all_widget_states()
    for p in (tmp_path / "x").rglob("*"):
        assert TOKEN not in str(p) and (p.is_dir() or TOKEN.encode() not in p.read_bytes())

    # headless: the token given to submit() is used for that fetch only
    api.requests.clear()
    form.dest.value = str(tmp_path / "y")  # a fresh folder: a fetch there asks the API again
    report = form.submit(token=TOKEN).report
    assert report.rows_loaded == 24
    assert [r.headers["authorization"] for r in api.requests] == [f"OAuth {TOKEN}"]
    assert TOKEN not in _states(form.widget) and TOKEN not in repr(vars(form))


def test_fetch_form_refusal_is_shown_without_the_token_and_the_field_is_cleared(
    api: FakeLogsApi,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("APPMETRICA_TOKEN", raising=False)
    wrong = "y0_wrong-token-0123456789abcdef"
    triage = ui.Triage(progress=False)
    form = ui.FetchForm(
        application_id="1111",
        since=date(2024, 3, 1),
        until=date(2024, 3, 1),
        dest=tmp_path / "x",
        on_load=triage.load,
        base_url=api.url,
    )
    _press_fetch(form, wrong)
    assert not form.token.disabled
    assert 'class="pbk-error"' in form.status.value and "401" in form.status.value
    assert triage.diagnosis is None  # nothing loaded
    out, err = capfd.readouterr()
    assert wrong not in "\n".join([out, err, _states(form.widget), str(form.log.outputs)])
    assert wrong not in _all_widget_states()

    # an empty field falls back to the environment (what a headless run uses)
    monkeypatch.setenv("APPMETRICA_TOKEN", TOKEN)
    report = form.submit().report
    assert report.rows_loaded == 24 and triage.diagnosis is not None
    assert form.destination() == tmp_path / "x"


def test_fetch_form_default_destination_is_in_the_project(tmp_path: Path) -> None:
    form = ui.FetchForm(application_id=42)
    assert form.destination().parts[-2:] == ("exports", "42")
    tabs = ui.export_tabs(ui.ExportChooser(None, roots=[]), form)
    assert tabs.titles == ("Files", "Logs API") and len(tabs.children) == 2


def test_an_export_with_nothing_in_the_time_range_clears_the_views(triage: ui.Triage) -> None:
    assert triage.issues_table.value
    triage.since = "2027-01-01"
    triage.load(_frame(), source="later")
    assert triage.diagnosis.trackers == [] and triage.tracker.value == ""
    assert "No trackers in this export." in triage.trackers_table.value
    assert triage.issues_table.value == "" and triage.verdict.value == ""


def test_an_unclear_pattern_says_why() -> None:
    # one 400 among 120 postbacks, 4 an hour: too few to tell a constant 1 % from one burst
    rows = [
        ("t9", f"https://z.example/?cid={i}", 400 if i == 60 else 200, "bad" if i == 60 else "OK",
         at(1, 0) + (at(1, 1) - at(1, 0)) * (i // 4))
        for i in range(120)
    ]  # fmt: skip
    frame = pl.DataFrame(rows, schema=_frame().schema, orient="row")
    triage = ui.Triage(pk.diagnose(frame, bucket="1h"), progress=False)
    (issue,) = triage.diagnosis.tracker("t9").issues
    assert issue.pattern == "unclear"
    assert "unclear: too few postbacks to tell" in triage.issues_table.value
    assert "(unclear: too few postbacks to tell)" in triage.timeline_view.spec["title"]["subtitle"]
