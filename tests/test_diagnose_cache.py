"""The diagnosis cache: an export reopened with the same arguments, rules and toolkit is read,
not recomputed; anything that changes the result changes the key; a damaged or planted entry is
never trusted."""

from __future__ import annotations

import io
import pickle
import pickletools
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit import cache
from tests.test_diagnose import attempts_at_minutes

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "csv"


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(SAMPLE, folder)
    return folder


def _entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("*.diagnosis.pickle"))


def _assert_same(a: pk.Diagnosis, b: pk.Diagnosis) -> None:
    assert a.to_json() == b.to_json()
    assert a.trackers == b.trackers
    assert a.export == b.export and a.bucket == b.bucket
    assert_frame_equal(a.attempts, b.attempts)
    assert_frame_equal(a.deliveries, b.deliveries)


def test_a_reopened_export_reads_the_diagnosis_it_computed(export: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    first = pk.diagnose(pk.load(export, cache=root))
    assert not first.from_cache
    assert len(_entries(root)) == 1
    again = pk.diagnose(pk.load(export, cache=root))
    assert again.from_cache
    _assert_same(first, again)
    computed = pk.diagnose(pk.load(export, cache=False))
    assert not computed.from_cache
    _assert_same(computed, again)
    # the files are named by digests only: no path, tracker or argument shows in them
    names = [p.name for p in root.iterdir() if ".diagnosis." in p.name]
    assert len(names) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}\.diagnosis\.[a-z.]+", n) for n in names)


def test_every_argument_that_changes_the_result_has_its_own_entry(
    export: Path, tmp_path: Path
) -> None:
    root = tmp_path / "cache"
    frame = pk.load(export, cache=root)
    tracker = pk.diagnose(frame, cache=False).trackers[0].tracking_id
    calls = [
        {},
        {"tracker": tracker},
        {"since": "2026-11-03"},
        {"since": "2026-11-03", "until": "2026-11-05"},
        {"bucket": "15m"},
    ]
    results = [pk.diagnose(frame, **kw) for kw in calls]
    assert not any(r.from_cache for r in results)
    assert len(_entries(root)) == len(calls)
    for kw, before in zip(calls, results, strict=True):
        after = pk.diagnose(frame, **kw)
        assert after.from_cache, kw
        _assert_same(before, after)
    assert results[1].trackers[0].tracking_id == tracker and len(results[1].trackers) == 1


def test_changed_rules_are_diagnosed_again(export: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    frame = pk.load(export, cache=root)
    plain = pk.diagnose(frame)
    rules = tmp_path / "mine.toml"
    target = plain.issues[0]
    rules.write_text(
        f"""
[[rule]]
id = "mine.first"
text = "Our own reading of it."
action = "Ask the team."
contact = "self"
categories = ["{target.category}"]
priority = 1000
"""
    )
    mine = pk.diagnose(frame, rules=rules)
    assert not mine.from_cache
    assert mine.issues[0].hypothesis.id == "mine.first"
    assert pk.diagnose(frame, rules=rules).from_cache
    # same file name, other content: a new key (the rules' content counts, not their name)
    rules.write_text(rules.read_text().replace("Our own reading", "Another reading"))
    edited = pk.diagnose(frame, rules=rules)
    assert not edited.from_cache
    assert edited.issues[0].hypothesis.text.startswith("Another reading")
    # the built-in base still reads its own entry
    assert pk.diagnose(frame).from_cache


def test_what_is_not_the_loaded_frame_is_computed_every_time(export: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    frame = pk.load(export, cache=root)
    derived = frame.filter(pl.col("attempt_timestamp") >= pl.datetime(2026, 11, 3, time_zone="UTC"))
    assert not pk.diagnose(derived).from_cache
    assert not pk.diagnose(frame.collect()).from_cache
    assert not pk.diagnose(frame, cache=False).from_cache
    assert _entries(root) == []
    assert not pk.diagnose(pk.load(export, cache=False)).from_cache
    assert not pk.diagnose(derived).from_cache


def test_a_damaged_entry_is_computed_and_written_again(export: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    first = pk.diagnose(pk.load(export, cache=root))
    (entry,) = root.glob("*.diagnosis.pickle")
    entry.write_bytes(b"not a pickle")
    again = pk.diagnose(pk.load(export, cache=root))
    assert not again.from_cache
    _assert_same(first, again)
    assert pk.diagnose(pk.load(export, cache=root)).from_cache
    next(root.glob("*.diagnosis.attempts.parquet")).write_bytes(b"PAR1 damaged")
    assert not pk.diagnose(pk.load(export, cache=root)).from_cache
    next(root.glob("*.diagnosis.attempts.parquet")).unlink()  # an incomplete entry
    assert not pk.diagnose(pk.load(export, cache=root)).from_cache


def test_a_reopened_diagnosis_reads_its_frames_on_first_use(export: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    first = pk.diagnose(pk.load(export, cache=root))
    again = pk.diagnose(pk.load(export, cache=root))
    assert isinstance(again.__dict__["attempts"], Path)
    assert again.triage().equals(first.triage())  # the tracker list needs no frame
    assert isinstance(again.__dict__["attempts"], Path)
    assert_frame_equal(again.attempts, first.attempts)
    assert isinstance(again.__dict__["attempts"], pl.DataFrame)
    later = pk.diagnose(pk.load(export, cache=root))
    for path in root.glob("*.diagnosis.deliveries.parquet"):
        path.unlink()  # the cache folder cleaned before the frame was used
    with pytest.raises(pk.PostbackKitError, match="diagnose the export again"):
        _ = later.deliveries


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


def test_a_planted_pickle_is_refused_not_run(export: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    first = pk.diagnose(pk.load(export, cache=root))
    (entry,) = root.glob("*.diagnosis.pickle")
    marker = tmp_path / "ran"
    entry.write_bytes(pickle.dumps(_Planted(marker)))
    with pytest.raises(pickle.UnpicklingError, match="pathlib"):
        cache.read_pickle(entry, (pk.Issue, pk.TrackerDiagnosis))
    again = pk.diagnose(pk.load(export, cache=root))
    assert not marker.exists()
    assert not again.from_cache
    _assert_same(first, again)


def test_dump_pickle_reads_back_time_zones_without_getattr() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    value = {"at": datetime(2026, 11, 5, 11, tzinfo=ZoneInfo("Europe/Moscow"))}
    data = cache.dump_pickle(value)
    assert b"getattr" not in data
    assert cache.read_pickle_bytes(data, (datetime, ZoneInfo)) == value
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.getattr"):
        cache.read_pickle_bytes(pickle.dumps(value), (datetime, ZoneInfo))


def test_only_the_listed_classes_are_read_not_what_their_modules_hold() -> None:
    # os.system("true") named through an allowed module: postback_kit.cache imports os
    data = b"\x80\x04\x8c\x12postback_kit.cache\x8c\x09os.system\x93\x8c\x04true\x85R."
    assert pickletools.dis(data, out=io.StringIO()) is None  # a well-formed pickle
    with pytest.raises(pickle.UnpicklingError, match=r"postback_kit\.cache\.os\.system"):
        cache.read_pickle_bytes(data, (pk.Issue,))
    with pytest.raises(pickle.UnpicklingError, match=r"diagnose\.diagnose"):
        cache.read_pickle_bytes(pickle.dumps(pk.diagnose), (pk.Issue,))


def test_since_and_until_equal_filtering_the_frame(export: Path) -> None:
    frame = pk.load(export, cache=False)
    ts = pl.col("attempt_timestamp")
    window = frame.filter(
        (ts >= pl.datetime(2026, 11, 3, 12, time_zone="UTC"))
        & (ts < pl.datetime(2026, 11, 5, time_zone="UTC"))
    )
    got = pk.diagnose(frame, since="2026-11-03T15:00+03:00", until="2026-11-05")
    assert got.to_json() == pk.diagnose(window).to_json()
    assert got.export["start"] >= "2026-11-03T12:00:00Z"
    assert got.export["end"] < "2026-11-05"
    with pytest.raises(pk.ConfigError, match="not a time"):
        pk.diagnose(frame, since="last tuesday")


def test_one_tracker_is_judged_at_the_end_of_the_whole_export() -> None:
    """A postback failed once, 2 days before the export ends (another tracker's attempts run
    on): it is lost, not still retrying, also when that tracker is diagnosed alone."""
    rows = [
        ("a", "https://a.example/?n=1", 503, "down", 0),
        ("a", "https://a.example/?n=2", 200, "OK", 10),
        ("b", "https://b.example/?n=1", 200, "OK", 2 * 24 * 60),
    ]
    frame = attempts_at_minutes(rows)
    whole = pk.diagnose(frame).tracker("a")
    alone = pk.diagnose(frame, tracker="a").tracker("a")
    assert (whole.undelivered, whole.retrying) == (1, 0)
    assert (alone.undelivered, alone.retrying) == (1, 0)
