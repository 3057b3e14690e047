"""partner_report on small inline frames: content, redaction levels, escaping, time range."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit.errors import ConfigError, PostbackKitError
from postback_kit.report import partner_report

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
DEVICE = "12345678901234567890"
IP = "198.51.100.23"
UA = "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36"
SCRIPT = "<script>alert('x')</script>"


def attempts(hours: int = 48) -> pl.DataFrame:
    """Tracker t1 sends a postback every hour; from hour 24 the partner answers 400 with a body
    that echoes the device; the last attempt gets a hostile body. Tracker t2 is healthy."""
    rows = []
    for h in range(hours):
        failing = h >= 24
        body = (
            f'{{"Message":"malformed clickId","device":"{DEVICE}","ip":"{IP}"}}'
            if failing
            else '{"status":"ok"}'
        )
        if h == hours - 1:
            body = SCRIPT
        rows.append(
            {
                "tracking_id": "t1",
                "tracker_name": "Partner One",
                "publisher_name": "One Ads",
                "attempt_timestamp": T0 + timedelta(hours=h),
                "conversion_timestamp": T0 + timedelta(hours=h),
                "response_code": 400 if failing else 200,
                "response_body": body,
                "notifying_status": "failed" if failing else "sent",
                "postback_url": f"https://one.example/pb?click_id=c{h}&gaid={GAID}&ip={IP}",
                "postback_url_parameters": f"click_id=c{h}&gaid={GAID}&ip={IP}",
                "click_url_parameters": f"click_id=c{h}&ua=Mozilla%2F5.0",
                "appmetrica_device_id": DEVICE,
                "google_aid": GAID,
                "click_ipv6": f"::ffff:{IP}",
                "click_user_agent": UA,
                "event_name": "install",
            }
        )
        rows.append(
            {
                **rows[-1],
                "tracking_id": "t2",
                "tracker_name": "Partner Two",
                "response_code": 200,
                "response_body": "OK",
                "notifying_status": "sent",
            }
        )
    return pl.DataFrame(rows, schema_overrides={"response_code": pl.Int32})


def everything(report: pk.PartnerReport) -> str:
    return (
        json.dumps(report.to_dict(), ensure_ascii=False)
        + report.to_html()
        + report.timeline.write_csv()
        + str(report)
        + "".join(repr(vars(i)) for i in report.issues)  # every field, the example included
    )


def test_report_says_what_fails_since_when_and_how_often() -> None:
    rep = partner_report(attempts(), "t1", examples=3)
    assert (rep.tracking_id, rep.tracker_name, rep.publisher_name) == (
        "t1",
        "Partner One",
        "One Ads",
    )
    assert (rep.attempts, rep.failed_attempts) == (48, 24)
    assert [(i.category, i.signature) for i in rep.issues] == [
        ("request_error", "malformed clickId"),
        ("request_error", SCRIPT),
    ]
    main = rep.issues[0]
    assert main.response_codes == {"400": 23}
    assert main.first_seen == T0 + timedelta(hours=24)
    assert main.last_seen == T0 + timedelta(hours=46)
    assert rep.failing_since == main.started_at or rep.failing_since == main.first_seen
    assert main.title == "Your server rejects the request (400)"
    assert "malformed clickId" in main.request and main.likely_cause
    # an Issue of the diagnosis, redacted, with its number, title and request
    assert isinstance(main, pk.Issue) and main.key == "t1|request_error|malformed clickId"
    assert (main.likely_cause, main.contact) == (main.hypothesis.text, main.hypothesis.contact)
    assert main.example["attempt_timestamp"] == main.last_seen
    assert list(main.to_dict())[:2] == ["number", "signature"]
    assert not {"tracking_id", "hypothesis", "example"} & set(main.to_dict())
    assert "23 of" not in rep.headline() and "24 of 48 sending attempts failed" in rep.headline()
    # examples: spread over the issue's span (first and last included), the fields to send
    ex = rep.examples.filter(pl.col("issue") == 1)
    assert ex["attempt_timestamp"].to_list() == [
        T0 + timedelta(hours=24),
        T0 + timedelta(hours=35),
        T0 + timedelta(hours=46),
    ]
    assert rep.examples.columns == [
        "issue",
        "signature",
        "attempt_timestamp",
        "response_code",
        "response_body",
        "postback_url",
        "notifying_status",
    ]
    expected_codes = pl.DataFrame(
        {"issue": [1, 2], "response_code": [400, 400], "attempts": [23, 1]},
        schema={"issue": pl.Int32, "response_code": pl.Int32, "attempts": pl.UInt32},
    )
    assert_frame_equal(rep.codes.select("issue", "response_code", "attempts"), expected_codes)
    assert rep.timeline.filter(pl.col("failing"))["count"].sum() == 24


def test_hash_hides_identifiers_everywhere_with_stable_tokens() -> None:
    rep = partner_report(attempts(), "t1", key=b"k")
    text = everything(rep)
    for secret in (GAID, DEVICE, IP, UA, "Mozilla%2F5.0"):
        assert secret not in text, secret
    token = pk.Redactor(b"k").token(GAID)
    urls = rep.examples["postback_url"].to_list()
    assert all(f"gaid={token}" in u for u in urls)  # same device, same token: still comparable
    assert "&ip=id:" in urls[0] and "click_id=c24" in urls[0]  # evidence stays
    assert "keyed hashes" in rep.summary_html() and "Redaction is OFF" not in rep.summary_html()


def test_remove_drops_identifiers_without_tokens() -> None:
    rep = partner_report(attempts(), "t1", redact="remove")
    text = everything(rep)
    for secret in (GAID, DEVICE, IP, UA):
        assert secret not in text, secret
    assert "id:" not in rep.examples.write_csv()
    assert "gaid=(removed)" in rep.examples["postback_url"][0]
    assert "removed everywhere" in rep.summary_html()


def test_redact_none_shows_identifiers_and_says_so() -> None:
    rep = partner_report(attempts(), "t1", redact="none")
    assert GAID in rep.examples["postback_url"][0] and DEVICE in rep.examples["response_body"][0]
    assert "Redaction is OFF" in rep.summary_html()
    assert rep.provenance.redaction == "none" and "redaction is off" in str(rep)


def test_hostile_bodies_are_escaped_in_every_html_section() -> None:
    page = partner_report(attempts(), "t1").to_html()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_time_range_and_provenance(tmp_path: Path) -> None:
    frame = attempts()
    path = tmp_path / "export.csv"
    frame.with_columns(
        (pl.col("attempt_timestamp").dt.epoch("s")).alias("attempt_timestamp"),
        (pl.col("conversion_timestamp").dt.epoch("s")).alias("conversion_timestamp"),
    ).write_csv(path)
    loaded, source = pk.load(path, report=True, cache=False, progress=False)
    rep = partner_report(
        loaded, "Partner One", since="2026-11-03T06:00", until="2026-11-03", source=source
    )
    p = rep.provenance
    assert p.files == [{"name": "export.csv", "rows": 96}]
    assert (p.rows_read, p.rows_loaded, p.rows_rejected, p.export_attempts) == (96, 96, 0, 96)
    assert p.since == T0 + timedelta(hours=30) and p.until == T0 + timedelta(days=2)
    assert (p.report_attempts, p.first_attempt, p.last_attempt) == (
        18,
        T0 + timedelta(hours=30),
        T0 + timedelta(hours=47),
    )
    assert p.toolkit_version == pk.__version__
    assert "export.csv" in rep.provenance_html() and "96 read" in rep.provenance_html()


def test_diagnosis_in_gives_the_same_report_and_default_tracker_is_the_worst() -> None:
    frame = attempts()
    from_frame = partner_report(frame, "t1", key=b"k")
    from_diagnosis = partner_report(pk.diagnose(frame), None, key=b"k")
    assert from_diagnosis.tracking_id == "t1"
    assert_frame_equal(from_diagnosis.examples, from_frame.examples)


def test_errors_name_what_is_wrong() -> None:
    with pytest.raises(PostbackKitError, match="no attempts of tracker 'nope'") as err:
        partner_report(attempts(), "nope")
    assert "t1" in str(err.value)
    with pytest.raises(PostbackKitError, match="run from 2026-11-02"):
        partner_report(attempts(), "t1", since="2027-01-01")
    with pytest.raises(ConfigError, match="unknown redaction level"):
        partner_report(attempts(), "t1", redact="some")
    with pytest.raises(ConfigError, match="cannot read the time"):
        partner_report(attempts(), "t1", since="yesterday")
    with pytest.raises(ConfigError, match="time range is empty"):
        partner_report(attempts(), "t1", since="2026-11-03", until="2026-11-02")


def test_charts_are_the_pattern_and_the_codes() -> None:
    timeline, codes = partner_report(attempts(), "t1").charts()
    spec = codes.to_dict()
    assert spec["title"] == "Failed attempts by response code and issue"
    assert {r["code"] for r in spec["datasets"][next(iter(spec["datasets"]))]} == {"400"}
    assert "Failed attempts over time, tracker t1" in json.dumps(timeline.to_dict())
