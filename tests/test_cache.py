"""The cache key of an export: its files' contents (SHA-256), hashed in parallel, remembered;
what the cache folder holds, and clearing it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from postback_kit import cache


def _files(folder: Path, texts: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, text in enumerate(texts):
        p = folder / f"f{i}.csv"
        p.write_text(text, "utf-8")
        paths.append(p)
    return paths


def test_the_key_follows_the_contents_not_the_names(tmp_path: Path) -> None:
    texts = ["a,b\n1,2\n", "a,b\n3,4\n" * 1000, "a\n"]
    one = _files(tmp_path / "one", texts)
    two = _files(tmp_path / "two", texts)
    root = tmp_path / "cache"
    root.mkdir()
    key = cache.export_key(one, "tz=None", root)
    assert cache.export_key(two, "tz=None", root) == key  # same bytes elsewhere
    assert cache.export_key(two, "tz=None", None) == key  # without a memo
    assert cache.export_key(two, "tz=UTC", root) != key  # options are in the key
    assert cache.export_key(list(reversed(two)), "tz=None", root) != key  # order too
    two[1].write_text("a,b\n3,5\n" * 1000, "utf-8")
    assert cache.export_key(two, "tz=None", root) != key


def test_digests_are_sha256_and_remembered_per_file_stamp(tmp_path: Path) -> None:
    paths = _files(tmp_path / "x", ["one\n", "two\n", "three\n"])
    root = tmp_path / "cache"
    root.mkdir()
    cache.export_key(paths, "", root)
    memo = json.loads((root / "digests.json").read_text("utf-8"))
    assert sorted(memo.values()) == sorted(
        hashlib.sha256(p.read_bytes()).hexdigest() for p in paths
    )
    assert all(stamp.startswith("sha256|") for stamp in memo)
    assert cache.content_digest(paths[0], root) == hashlib.sha256(b"one\n").hexdigest()
    # a warm key reads the memo, not the files: a planted digest is what the key is made of
    stamp = next(s for s in memo if s.split("|")[1] == str(paths[0].resolve()))
    before = cache.export_key(paths, "", root)
    memo[stamp] = "0" * 64
    (root / "digests.json").write_text(json.dumps(memo), "utf-8")
    assert cache.export_key(paths, "", root) != before
    # digests of another algorithm (an older cache's memo) are not reused
    old = {s.replace("sha256|", "", 1): "f" * 40 for s in memo}
    (root / "digests.json").write_text(json.dumps(old), "utf-8")
    assert cache.export_key(paths, "", root) == before


def test_sweep_removes_only_old_leftovers_of_interrupted_loads(tmp_path: Path) -> None:
    import os
    import time

    old = time.time() - cache.STALE_AFTER - 60
    leftovers = [".day1.csv.gz.k3j_x9q2.gunzip", ".abc.report.json.0a1b2c3d"]
    for name in leftovers:
        (tmp_path / name).write_text("partial")
    batches = tmp_path / ".postbacks.json.zz9_8yx7"
    batches.mkdir()
    (batches / "0.parquet").write_text("partial")
    young = tmp_path / ".day2.csv.gz.abcd1234.gunzip"  # a load running now
    young.write_text("partial")
    kept = [".gitignore", "digests.json", "abc.0.parquet", ".hidden-notes"]
    for name in kept:
        (tmp_path / name).write_text("keep")
    for p in [*(tmp_path / n for n in leftovers), batches]:
        os.utime(p, (old, old))
    os.utime(tmp_path / ".gitignore", (old, old))

    assert sorted(cache.sweep(tmp_path)) == sorted([*leftovers, batches.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, young.name])


def test_load_sweeps_its_cache_folder(tmp_path: Path) -> None:
    import os
    import time

    import postback_kit as pk

    root = tmp_path / "cache"
    root.mkdir()
    stale = root / ".day1.csv.gz.k3j_x9q2.gunzip"
    stale.write_text("partial")
    old = time.time() - cache.STALE_AFTER - 60
    os.utime(stale, (old, old))
    export = _files(tmp_path / "export", ["tracking_id,attempt_timestamp\n1,1700000000\n"])[0]
    pk.load(export, cache=root)
    assert not stale.exists()


def test_usage_and_clear_count_whole_entries_and_keep_what_was_used(tmp_path: Path) -> None:
    import os
    import time

    import postback_kit as pk

    root = tmp_path / "cache"
    head = "tracking_id,response_code,attempt_timestamp,postback_url\n"
    texts = [
        head + "1,200,1700000000,https://a.example/?click=1\n",
        head + "2,400,1700000300,https://b.example/?click=2\n",
    ]
    first, second = _files(tmp_path / "export", texts)
    for path in (first, second):
        pk.diagnose(pk.load(path, cache=root))
    (root / "notes.txt").write_text("not ours")
    used = cache.usage(root)
    assert (used.exports, used.diagnoses) == (2, 2)
    assert used.export_bytes > 0 and used.diagnosis_bytes > 0
    assert used.other_bytes >= len("not ours")
    assert used.total_bytes == sum(p.stat().st_size for p in root.iterdir() if p.is_file())
    assert "2 export(s)" in used.summary() and "2 diagnosis(es)" in used.summary()

    # every file of the cache is a week old; reopening the first export marks it used now
    old = time.time() - 7 * 86400
    for p in root.iterdir():
        os.utime(p, (old, old))
    again = pk.diagnose(pk.load(first, cache=root))
    assert again.from_cache
    assert cache.clear(root, older_than=86400)[0] == 2  # the second export and its diagnosis
    left = cache.usage(root)
    assert (left.exports, left.diagnoses) == (1, 1)
    assert pk.diagnose(pk.load(first, cache=root)).from_cache

    removed, freed = cache.clear(root)
    assert removed == 2 and freed > 0
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]


def test_cli_cache_shows_and_clears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from postback_kit.cli import main

    root = tmp_path / "cache"
    monkeypatch.setenv("POSTBACK_KIT_CACHE_DIR", str(root))
    text = "tracking_id,response_code,attempt_timestamp,postback_url\n1,200,1,https://a.example/\n"
    export = _files(tmp_path / "export", [text])
    assert main(["diagnose", str(export[0]), "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert f"cache folder {root}" in out and "1 export(s)" in out and "1 diagnosis(es)" in out
    assert main(["cache", "--older-than", "3"]) == 2
    assert "--older-than only applies with --clear" in capsys.readouterr().err
    assert main(["cache", "--clear", "--older-than", "3"]) == 0
    assert "removed 0 cache entries not used for 3 day(s)" in capsys.readouterr().out
    assert main(["cache", "--clear"]) == 0
    out = capsys.readouterr().out
    assert "removed 2 cache entries" in out and "0 export(s)" in out
