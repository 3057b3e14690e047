"""The sample generator: deterministic, loadable, realistic, and its faults are where the truth
says they are."""

from __future__ import annotations

import gzip
import json
import re
import shlex
import warnings
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit import samples
from postback_kit.cli import main
from postback_kit.errors import ConfigError
from postback_kit.schema import FIELD_NAMES

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "data" / "samples"
INT64_MAX = 2**63 - 1
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
ZERO_ID = "00000000-0000-0000-0000-000000000000"
CONTRACT_KEYS = {
    "id",
    "tracking_id",
    "description",
    "category",
    "pattern",
    "signature_contains",
    "response_codes",
    "started_at",
    "ended_at",
    "segment",
    "parameter",
    "retry_behavior",
}


@pytest.fixture(scope="module")
def sample() -> samples.Sample:
    return samples.generate(12_000, seed=7)


@pytest.fixture(scope="module")
def frame(sample: samples.Sample) -> pl.DataFrame:
    """The export with integer times, a postback key and the fault each tracker carries."""
    by_tracker = {f["tracking_id"]: f["id"] for f in sample.truth["faults"]}
    return sample.frame.with_columns(
        [pl.col(f"{p}_timestamp").cast(pl.Int64).alias(p) for p in _TIMES],
        fault=pl.col("tracking_id").replace_strict(by_tracker, default=None),
        postback=pl.concat_str("postback_url", "conversion_timestamp", separator="|"),
    )


_TIMES = ("click", "install", "conversion", "attempt")


def fault(sample: samples.Sample, fault_id: str) -> dict:
    return next(f for f in sample.truth["faults"] if f["id"] == fault_id)


def rows_of(frame: pl.DataFrame, sample: samples.Sample, fault_id: str) -> pl.DataFrame:
    return frame.filter(pl.col("tracking_id") == fault(sample, fault_id)["tracking_id"])


def ts(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


def load_quiet(source: Path | str, **kw) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a rejected row is a failure
        frame, report = pk.load(source, report=True, cache=False, progress=False, **kw)
    assert report.rows_rejected == 0
    return frame.collect()


# --------------------------------------------------------------------------- determinism


def test_the_same_seed_gives_the_same_sample_and_another_seed_another() -> None:
    a = samples.generate(2_500, seed=3)
    b = samples.generate(2_500, seed=3)
    c = samples.generate(2_500, seed=4)
    assert_frame_equal(a.frame, b.frame)
    assert a.truth == b.truth
    assert a.frame.height != c.frame.height or not a.frame.equals(c.frame)
    assert (
        a.frame.get_column("click_id").head(50).to_list()
        != c.frame.get_column("click_id").head(50).to_list()
    )


def test_the_row_count_is_the_requested_one_or_just_over() -> None:
    s = samples.generate(5_000, seed=11)
    assert 5_000 <= s.frame.height < 5_000 + 200
    assert s.truth["attempts"] == s.frame.height
    assert s.truth["requested_attempts"] == 5_000


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown fault"):
        samples.generate(1_000, faults=["no-such-fault"])
    with pytest.raises(ConfigError):
        samples.generate(0)
    with pytest.raises(ConfigError):
        samples.generate(1_000, days=0)


def test_a_chosen_fault_only_and_the_other_trackers_are_healthy() -> None:
    s = samples.generate(3_000, seed=5, faults=["timeout-outage"])
    assert [f["id"] for f in s.truth["faults"]] == ["timeout-outage"]
    outage = s.truth["faults"][0]["tracking_id"]
    healthy = {t["tracking_id"] for t in s.truth["trackers"] if t["healthy"]}
    assert outage not in healthy and len(healthy) == len(s.truth["trackers"]) - 1
    others = s.frame.filter(pl.col("tracking_id") != outage)
    assert others.get_column("response_code").unique().to_list() == ["200"]
    # without its fault, the click-id tracker's clicks all carry an ID
    assert (s.frame.get_column("click_id") != "").all()


# --------------------------------------------------------------------------- the export


def test_every_documented_field_as_the_export_writes_it(sample: samples.Sample) -> None:
    f = sample.frame
    assert f.columns == list(FIELD_NAMES)
    assert "attribution_touch_type" in f.columns
    assert all(dtype == pl.String for dtype in f.dtypes)
    assert f.null_count().sum_horizontal().item() == 0  # empty is "", as in the file
    for p in _TIMES:
        assert f.get_column(f"{p}_timestamp").str.contains(r"^\d{10}$").all()
        local = f.select(
            pl.col(f"{p}_datetime").str.to_datetime("%Y-%m-%d %H:%M:%S").dt.epoch("s")
            - pl.col(f"{p}_timestamp").cast(pl.Int64)
        ).to_series()
        assert local.unique().to_list() == [3 * 3600]  # Europe/Moscow, UTC+3
    codes = set(f.get_column("response_code").unique().to_list())
    assert (
        "" in codes
        and "200" in codes
        and codes
        <= {"", "200", "204", "400", "403"}
        | {
            "409",
            "502",
            "503",
        }
    )


def test_times_are_consistent(frame: pl.DataFrame) -> None:
    first_click = frame.filter(pl.col("cost_model") != "cpr")
    assert first_click.filter(
        ~(
            (pl.col("click") <= pl.col("install"))
            & (pl.col("install") <= pl.col("conversion"))
            & (pl.col("conversion") <= pl.col("attempt"))
        )
    ).is_empty()
    # a re-engagement's click comes after the install, before the conversion
    again = frame.filter(pl.col("cost_model") == "cpr")
    assert again.height > 0
    assert again.filter(
        ~(
            (pl.col("install") <= pl.col("click"))
            & (pl.col("click") <= pl.col("conversion"))
            & (pl.col("conversion") <= pl.col("attempt"))
        )
    ).is_empty()


def test_the_conversions_fall_in_the_window(sample: samples.Sample, frame: pl.DataFrame) -> None:
    start, end = ts(sample.truth["start"]), ts(sample.truth["end"])
    assert frame.get_column("conversion").min() >= start
    assert frame.get_column("conversion").max() < end
    assert sample.days() == [f"2026-11-0{d}" for d in range(2, 9)]


def test_identifiers_look_real(sample: samples.Sample) -> None:
    f = sample.frame
    tracking = set(f.get_column("tracking_id").unique().to_list())
    assert "12345678901234567890" in tracking and int("12345678901234567890") > INT64_MAX
    assert any(len(t) < 10 for t in tracking)
    names = set(f.get_column("tracker_name").to_list())
    assert any(re.search("[а-яА-Я]", n) for n in names)
    device = f.get_column("appmetrica_device_id")
    assert device.str.contains(r"^\d{17,20}$").all()
    assert device.cast(pl.UInt64).max() > INT64_MAX  # beyond Int64, kept exact as text
    by_os = {
        os_name: f.filter(pl.col("os_name") == os_name)
        for os_name in f.get_column("os_name").unique().to_list()
    }
    assert set(by_os) == {"android", "ios", "windows"}
    assert by_os["windows"].height < by_os["ios"].height
    android, ios, windows = by_os["android"], by_os["ios"], by_os["windows"]
    assert android.get_column("google_aid").str.contains(f"^{UUID}$|^{ZERO_ID}$").all()
    assert (android.select("ios_ifa", "ios_ifv", "windows_aid") == "").to_numpy().all()
    assert ios.get_column("ios_ifv").str.contains(f"^{UUID}$").all()
    assert ios.get_column("ios_ifa").str.contains(f"^{UUID}$|^{ZERO_ID}$").all()
    assert (ios.get_column("ios_ifa") == ZERO_ID).any() and (
        ios.get_column("ios_ifa") != ZERO_ID
    ).any()
    assert (ios.select("google_aid", "windows_aid") == "").to_numpy().all()
    assert windows.get_column("windows_aid").str.contains(f"^{UUID}$").all()
    ips = pl.concat([f.get_column("click_ipv6"), f.get_column("install_ipv6")])
    assert ips.str.contains(r"^::ffff:\d+\.\d+\.\d+\.\d+$|^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}$").all()
    assert ips.str.starts_with("::ffff:").any() and (~ips.str.starts_with("::ffff:")).any()
    assert ios.get_column("click_user_agent").str.contains("like Mac OS X").all()
    assert android.get_column("click_user_agent").str.contains("Android").all()
    assert set(f.get_column("cost_model").unique().to_list()) == {"cpi", "cpa", "cpr"}
    events = set(f.get_column("event_name").unique().to_list())
    assert {"purchase", "registration", "level_up", ""} <= events
    assert f.get_column("app_version_name").n_unique() >= 4
    # the postback URL is the partner endpoint and the parameters
    url = f.get_column("postback_url")
    params = f.get_column("postback_url_parameters")
    assert (url.str.split("?").list.last() == params).all()
    assert url.str.contains(r"^https://[a-z0-9.-]+\.example/").all()


def test_retries_are_new_rows_of_the_same_postback(frame: pl.DataFrame) -> None:
    postbacks = (
        frame.sort("attempt")
        .group_by("postback", maintain_order=True)
        .agg(
            n=pl.len(),
            statuses=pl.col("notifying_status"),
            codes=pl.col("response_code"),
            gaps=pl.col("attempt").diff().drop_nulls(),
        )
    )
    retried = postbacks.filter(pl.col("n") > 1)
    assert retried.height > 100
    assert retried.get_column("n").max() == samples.RetryPolicy().max_attempts
    gaps = retried.get_column("gaps").explode()
    assert gaps.min() >= 300 and gaps.max() <= 600  # every 5 to 10 minutes
    for statuses, codes in retried.select("statuses", "codes").iter_rows():
        assert statuses[:-1] == ["failed"] * (len(statuses) - 1)  # failed … then sent or not
        assert all(c != "200" for c in codes[:-1])
    assert (
        (frame.get_column("notifying_status") == "sent")
        == (frame.get_column("response_code") == "200")
    ).all()


# --------------------------------------------------------------------------- writing, loading


@pytest.fixture(scope="module")
def written(sample: samples.Sample, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    sample.write_csv(folder / "csv")
    sample.write_json(folder / "json")
    sample.write_truth(folder / "ground_truth.json")
    return folder


def test_csv_and_json_load_to_the_same_exact_rows(sample: samples.Sample, written: Path) -> None:
    csv_files = sorted(p.name for p in (written / "csv").iterdir())
    assert csv_files == [f"postbacks_{d}.csv" for d in sample.days()]
    from_csv = load_quiet(written / "csv")
    from_json = load_quiet(written / "json" / "postbacks.json")
    assert_frame_equal(from_csv, from_json)
    assert from_csv.height == sample.frame.height
    f = sample.frame
    for name in (
        "tracking_id",
        "appmetrica_device_id",
        "click_id",
        "postback_url",
        "response_body",
    ):
        expected = f.get_column(name).replace("", None)
        assert from_csv.get_column(name).to_list() == expected.to_list(), name
    assert from_csv.get_column("response_code").null_count() == (f["response_code"] == "").sum()
    assert from_csv.schema["attempt_timestamp"] == pl.Datetime("us", "UTC")
    moscow = from_csv.select(
        (pl.col("attempt_datetime") == pl.col("attempt_timestamp")).all()
    ).item()
    assert moscow  # the *_datetime fields agree with the timestamps once read in UTC+3
    truth = json.loads((written / "ground_truth.json").read_text("utf-8"))
    assert truth == sample.truth


def test_json_is_the_logs_api_shape_with_string_values(written: Path) -> None:
    doc = json.loads((written / "json" / "postbacks.json").read_text("utf-8"))
    assert set(doc) == {"data"}
    assert all(isinstance(v, str) for v in doc["data"][0].values())
    assert list(doc["data"][0]) == list(FIELD_NAMES)


@pytest.mark.parametrize("options", [{"per_day": False}, {"gzip": True, "bom": True}])
def test_csv_options(sample: samples.Sample, tmp_path: Path, options: dict) -> None:
    paths = sample.write_csv(tmp_path, **options)
    if options.get("per_day") is False:
        assert [p.name for p in paths] == ["postbacks.csv"]
    else:
        raw = gzip.decompress(paths[0].read_bytes())
        assert raw.startswith(b"\xef\xbb\xbfapplication_id,")
    assert load_quiet(tmp_path).height == sample.frame.height


def test_json_per_day_and_gzip(sample: samples.Sample, tmp_path: Path) -> None:
    paths = sample.write_json(tmp_path, per_day=True, gzip=True)
    assert [p.name for p in paths] == [f"postbacks_{d}.json.gz" for d in sample.days()]
    assert load_quiet(tmp_path).height == sample.frame.height
    with pytest.raises(ConfigError):
        sample.write_json(tmp_path / "one.json", per_day=True)


# --------------------------------------------------------------------------- the truth


def test_the_truth_has_the_documented_format(sample: samples.Sample) -> None:
    truth = sample.truth
    assert {"seed", "attempts", "start", "end", "trackers", "faults"} <= set(truth)
    trackers = truth["trackers"]
    assert len(trackers) == 10
    for t in trackers:
        assert {"tracking_id", "tracker_name", "publisher_name", "healthy"} <= set(t)
    healthy = [t for t in trackers if t["healthy"]]
    assert len(healthy) == 1
    faulty = [f["tracking_id"] for f in truth["faults"]]
    assert len(faulty) == len(set(faulty)) == 9  # each fault on its own tracker
    assert healthy[0]["tracking_id"] not in faulty
    outcomes = {"request_error", "partner_error", "network_error", "other_code"}
    outcomes |= {"soft_failure", "false_failure"}
    for f in truth["faults"]:
        assert set(f) >= CONTRACT_KEYS, f["id"]
        assert f["category"] in outcomes
        assert f["pattern"] in {"persistent", "intermittent", "incident", "onset", "resolved"}
        assert f["retry_behavior"] in {"transient", "deterministic"}
        assert f["segment"] is None or set(f["segment"]) == {"column", "value"}
        assert f["parameter"] is None or set(f["parameter"]) == {"name", "problem"}
        for when in (f["started_at"], f["ended_at"]):
            assert when is None or datetime.fromisoformat(when).tzinfo is not None
        assert f["attempts"] > 0 and f["postbacks"] > 0, f["id"]
    json.dumps(truth)  # plain JSON


def test_each_fault_shows_its_codes_and_signature(
    sample: samples.Sample, frame: pl.DataFrame
) -> None:
    for f in sample.truth["faults"]:
        mine = rows_of(frame, sample, f["id"])
        if f["category"] == "soft_failure":
            hit = mine.filter(
                pl.col("response_body").str.contains(f["signature_contains"], literal=True)
            )
        else:
            hit = mine.filter(pl.col("notifying_status") == "failed")
        codes = {None if c == "" else int(c) for c in hit.get_column("response_code").to_list()}
        assert codes == set(f["response_codes"]), f["id"]
        if not f["signature_contains"].startswith("("):  # (no answer), (empty body): no body
            bodies = hit.get_column("response_body")
            assert bodies.str.contains(f["signature_contains"], literal=True).any(), f["id"]
            assert f["signature_contains"] in f["signatures"][0]
            one_of = pl.any_horizontal(
                pl.col("response_body").str.contains(m, literal=True) for m in f["signatures"]
            )
            assert hit.select(one_of.all()).item(), f["id"]
        assert hit.height == f["attempts"], f["id"]


def test_the_healthy_tracker_only_answers_200(sample: samples.Sample, frame: pl.DataFrame) -> None:
    healthy = next(t for t in sample.truth["trackers"] if t["healthy"])
    mine = frame.filter(pl.col("tracking_id") == healthy["tracking_id"])
    assert mine.height > 100
    assert mine.get_column("response_code").unique().to_list() == ["200"]
    assert mine.get_column("postback").n_unique() == mine.height  # never retried


def test_malformed_click_id(sample: samples.Sample, frame: pl.DataFrame) -> None:
    f = fault(sample, "malformed-click-id")
    mine = rows_of(frame, sample, f["id"])
    bad = mine.get_column("response_body").str.contains("malformed clickId", literal=True)
    assert bad.any()
    assert (mine.filter(bad).get_column("click_id") == "").all()
    assert mine.filter(bad).get_column("postback_url").str.contains("click_id=&").all()
    assert (mine.filter(~bad).get_column("click_id") != "").all()  # every empty ID fails
    assert f["parameter"] == {"name": "click_id", "problem": "empty"}
    assert f["retry_behavior"] == "deterministic" and f["pattern"] == "persistent"
    share = (  # of the postbacks (not of the attempts, which retries inflate)
        mine.unique("postback")
        .group_by(pl.col("conversion_datetime").str.slice(0, 10))
        .agg(share=(pl.col("click_id") == "").mean())
        .get_column("share")
    )
    assert share.min() > 0.03 and share.max() < 0.6  # stable, every day


def test_partner_5xx_bursts(sample: samples.Sample, frame: pl.DataFrame) -> None:
    f = fault(sample, "partner-5xx-bursts")
    mine = rows_of(frame, sample, f["id"])
    failed = mine.filter(pl.col("notifying_status") == "failed")
    assert failed.get_column("response_body").str.contains("<title>50[23] ").all()
    windows = [(ts(a), ts(b)) for a, b in f["windows"]]
    assert len(windows) >= 20
    when = failed.get_column("attempt").to_list()
    assert all(any(a <= t < b for a, b in windows) for t in when)  # only inside bursts
    assert f["postbacks_never_sent"] == 0  # the retries get through
    hit = failed.get_column("postback").unique()
    sent = mine.filter(
        pl.col("postback").is_in(hit.implode()), pl.col("notifying_status") == "sent"
    )
    assert sent.get_column("postback").sort().to_list() == hit.sort().to_list()


def test_timeout_outage(sample: samples.Sample, frame: pl.DataFrame) -> None:
    f = fault(sample, "timeout-outage")
    mine = rows_of(frame, sample, f["id"])
    start, end = ts(f["started_at"]), ts(f["ended_at"])
    assert 2 * 3600 <= end - start <= 4 * 3600
    inside = mine.filter(pl.col("attempt").is_between(start, end, closed="left"))
    assert inside.height > 20
    assert (inside.get_column("response_code") == "").all()
    assert (inside.get_column("response_body") == "").all()
    outside = mine.filter(~pl.col("attempt").is_between(start, end, closed="left"))
    assert outside.get_column("response_code").unique().to_list() == ["200"]
    assert f["category"] == "network_error" and f["pattern"] == "incident"
    assert f["postbacks_never_sent"] == 0


def test_goal_value_after_release(sample: samples.Sample, frame: pl.DataFrame) -> None:
    f = fault(sample, "goal-value-after-release")
    mine = rows_of(frame, sample, f["id"])
    bad = mine.filter(pl.col("response_body").str.contains("INVALID_GOAL_VALUE"))
    version = f["segment"]["value"]
    assert f["segment"]["column"] == "app_version_name"
    assert (bad.get_column("app_version_name") == version).all()
    assert (bad.get_column("event_name") == "purchase").all()
    assert bad.get_column("attempt").min() >= ts(f["started_at"])
    assert bad.get_column("postback_url").str.contains(r"goal_value=\d+%2C00&").all()
    purchases = mine.filter(pl.col("event_name") == "purchase")
    before = purchases.filter(pl.col("conversion") < ts(f["started_at"]))
    assert before.height > 20 and (before.get_column("response_code") == "200").all()
    new = purchases.filter(pl.col("app_version_name") == version)
    assert (new.get_column("response_code") == "400").all()
    other = mine.filter(pl.col("app_version_name") == version, pl.col("event_name") != "purchase")
    assert other.height > 0 and (other.get_column("response_code") == "200").all()


def test_soft_failure(sample: samples.Sample, frame: pl.DataFrame) -> None:
    f = fault(sample, "soft-failure-click-not-found")
    mine = rows_of(frame, sample, f["id"])
    soft = mine.filter(pl.col("response_body").str.contains("click not found"))
    assert soft.height == f["attempts"] > 10
    assert (soft.get_column("response_code") == "200").all()
    assert (soft.get_column("notifying_status") == "sent").all()
    assert (
        soft.get_column("response_body")
        == soft.select(
            pl.concat_str(
                pl.lit('{"status":"error","message":"click not found: '), "click_id", pl.lit('"}')
            )
        ).to_series()
    ).all()


def test_duplicate_click_id(sample: samples.Sample, frame: pl.DataFrame) -> None:
    f = fault(sample, "duplicate-click-id")
    mine = rows_of(frame, sample, f["id"])
    dup = mine.filter(pl.col("response_body").str.contains("DUPLICATE_CLICK_ID"))
    assert (dup.get_column("response_code") == "409").all()
    assert (dup.get_column("event_name") == "level_up").all()
    # an earlier level_up with the same click got through
    sent = mine.filter(pl.col("event_name") == "level_up", pl.col("notifying_status") == "sent")
    earliest = sent.group_by("click_id").agg(pl.col("conversion").min())
    joined = dup.join(earliest, on="click_id", how="left", suffix="_sent")
    assert joined.filter(~(pl.col("conversion_sent") < pl.col("conversion"))).is_empty()


def test_token_rotated(sample: samples.Sample, frame: pl.DataFrame) -> None:
    f = fault(sample, "token-rotated")
    mine = rows_of(frame, sample, f["id"])
    fixed = ts(f["ended_at"])
    tokens = mine.get_column("postback_url").str.extract(r"security_token=([0-9a-f]+)")
    mine = mine.with_columns(token=tokens)
    refused = mine.filter(pl.col("response_code") == "403")
    assert (refused.get_column("response_body") == "INVALID_SECURITY_TOKENS").all()
    assert refused.get_column("token").n_unique() == 1
    old = refused.get_column("token")[0]
    accepted = mine.filter(pl.col("response_code") == "200")
    assert accepted.get_column("token").unique().to_list() != [old]
    assert old not in accepted.get_column("token").to_list()
    created = mine.group_by("postback").agg(pl.col("attempt").min(), pl.col("token").first())
    assert (created.filter(pl.col("attempt") >= fixed).get_column("token") != old).all()
    assert (created.filter(pl.col("attempt") < fixed).get_column("token") == old).all()
    assert f["pattern"] == "resolved" and f["parameter"]["problem"] == "changed"


def test_ios_idfa_macro(sample: samples.Sample, frame: pl.DataFrame) -> None:
    f = fault(sample, "ios-idfa-macro")
    mine = rows_of(frame, sample, f["id"])
    bad = mine.filter(pl.col("response_body").str.contains("Invalid device id"))
    assert (bad.get_column("os_name") == "ios").all()
    assert bad.get_column("postback_url_parameters").str.contains("idfa=%7Bidfa%7D").all()
    android = mine.filter(pl.col("os_name") == "android")
    assert android.height > 20 and (android.get_column("response_code") == "200").all()
    assert not android.get_column("postback_url").str.contains("%7B").any()
    assert f["segment"] == {"column": "os_name", "value": "ios"}
    assert f["parameter"] == {"name": "idfa", "problem": "macro"}


def test_no_content_partner(sample: samples.Sample, frame: pl.DataFrame) -> None:
    f = fault(sample, "no-content-204")
    mine = rows_of(frame, sample, f["id"])
    nc = mine.filter(pl.col("response_code") == "204")
    assert (nc.get_column("cost_model") == "cpa").all() and (nc["response_body"] == "").all()
    assert (nc.get_column("notifying_status") == "failed").all()
    per_postback = nc.group_by("postback").len().get_column("len")
    assert per_postback.min() > 1  # accepted every time, sent again and again
    assert f["category"] == "false_failure"


# --------------------------------------------------------------------------- invariants, any seed


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), days=st.integers(1, 9))
def test_invariants_hold_for_any_seed(seed: int, days: int) -> None:
    s = samples.generate(1_500, seed=seed, days=days)
    f = s.frame
    assert f.height >= 1_500 and f.columns == list(FIELD_NAMES)
    assert len(s.days()) <= days
    healthy = {t["tracking_id"] for t in s.truth["trackers"] if t["healthy"]}
    assert f.filter(pl.col("tracking_id").is_in(list(healthy)))[
        "response_code"
    ].unique().to_list() in (
        ["200"],
        [],
    )
    t = {p: pl.col(f"{p}_timestamp").cast(pl.Int64) for p in _TIMES}
    assert f.filter(t["conversion"] > t["attempt"]).is_empty()
    assert f.filter(pl.col("cost_model") != "cpr", t["click"] > t["install"]).is_empty()


# ------------------------------------------------------------- command line, committed sample


def test_cli_writes_a_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "--out", str(tmp_path), "--attempts", "2000", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "timeout-outage" in out and "attempts" in out
    assert (tmp_path / "json" / "postbacks.json").exists()
    assert not (tmp_path / "csv").exists()
    truth = json.loads((tmp_path / "ground_truth.json").read_text("utf-8"))
    assert truth["attempts"] == load_quiet(tmp_path / "json").height


def _documented_command() -> list[str]:
    readme = (COMMITTED / "README.md").read_text("utf-8")
    found = re.search(r"^postback-kit sample .*$", readme, re.MULTILINE)
    assert found, "data/samples/README.md shows the command that made the sample"
    return shlex.split(found.group(0))[1:]


def test_the_committed_sample_is_what_the_documented_command_makes(tmp_path: Path) -> None:
    command = _documented_command()
    out = command.index("--out") + 1
    assert command[out] == "data/samples"
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert " ".join(command[out + 1 :]) in makefile  # `make sample` runs the same command
    command[out] = str(tmp_path)
    assert main(command) == 0
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(COMMITTED)
        for p in COMMITTED.rglob("*")
        if p.is_file() and p.name != "README.md"
    )
    assert made == committed
    for rel in made:
        a, b = (tmp_path / rel).read_bytes(), (COMMITTED / rel).read_bytes()
        if rel.suffix == ".gz":
            a, b = gzip.decompress(a), gzip.decompress(b)
        assert a == b, f"{rel} differs: run `make sample` and commit"
    size = sum((COMMITTED / rel).stat().st_size for rel in committed)
    assert size < 6_000_000
