"""The Logs API JSON reader (``load._read_json`` over ``jsonstream``) gives what the whole
document through ``json.loads`` gives: the same columns in the same order, the same values as
text, the same rejected records, whatever the batches and the read chunks."""

from __future__ import annotations

import importlib
import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import postback_kit as pk

loadmod = importlib.import_module("postback_kit.load")  # the module: pk.load is the function
_RECORD = loadmod._RECORD


class Num:
    """A JSON number written as this exact text (the reader keeps numbers as their text)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _dump(value: Any, compact: bool) -> str:
    sep, colon = (",", ":") if compact else (", ", ": ")
    if isinstance(value, Num):
        return value.text
    if isinstance(value, dict):
        items = (f"{json.dumps(k)}{colon}{_dump(v, compact)}" for k, v in value.items())
        return "{" + sep.join(items) + "}"
    if isinstance(value, list):
        return "[" + sep.join(_dump(v, compact) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _reference(text: str) -> tuple[pl.DataFrame, list[str], list[dict[str, Any]], int]:
    """What the reader gives, from the whole document through ``json.loads``."""
    doc = json.loads(text, parse_int=str, parse_float=str, parse_constant=str)
    return reference_columns(doc["data"] if isinstance(doc, dict) else doc)


def reference_columns(
    records: list[Any],
) -> tuple[pl.DataFrame, list[str], list[dict[str, Any]], int]:
    """The records of a decoded document as the reader's String columns (every key, in the order
    of its first record; ``""`` is null) and ``__record``, with the keys, the rejected records
    (not objects) and the count of records."""
    names: dict[str, None] = {}
    rejected: list[dict[str, Any]] = []
    good: list[dict[str, Any]] = []
    idx: list[int] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            reason = f"record is a {type(rec).__name__}, not an object"
            rejected.append({"record": i, "line": None, "reason": reason})
            continue
        for k in rec:
            names.setdefault(k, None)
        good.append(rec)
        idx.append(i)
    cols = {n: [loadmod._json_scalar(r.get(n)) for r in good] for n in names}
    frame = pl.DataFrame(
        {**cols, _RECORD: idx}, schema={**dict.fromkeys(names, pl.String), _RECORD: pl.Int64}
    ).with_columns(pl.exclude(_RECORD).replace("", None))
    return frame, list(names), rejected, len(records)


def _read(path: Path, batch: int, chunk: int) -> tuple[pl.DataFrame, list[str], Any]:
    """``_read_json`` of ``path`` with ``batch`` records per part and read chunks of ``chunk``
    characters: the parts joined as ``_stream_json`` joins them."""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setattr(loadmod, "_JSON_CHUNK", chunk)
        raw = loadmod._read_json(path, None, Path(tmp), batch)
        if raw.parts:
            frame = pl.concat([pl.read_parquet(p) for p in raw.parts], how="diagonal")
            frame = frame.select(*raw.columns, _RECORD)
        else:
            frame = pl.DataFrame(schema={_RECORD: pl.Int64})
    return frame, raw.columns, raw


def _check(records: list[Any], tmp: Path, *, compact: bool, batch: int, chunk: int) -> None:
    text = _dump({"data": records}, compact)
    path = tmp / "export.json"
    path.write_text(text, "utf-8")
    expected, names, rejected, count = _reference(text)
    frame, columns, raw = _read(path, batch, chunk)
    assert columns == names
    assert raw.rejected == rejected
    assert raw.rows_read == count
    if expected.height:
        assert_frame_equal(frame, expected)
    else:
        assert frame.height == 0


def test_a_lone_surrogate_is_kept_as_a_replacement_character_and_said(tmp_path: Path) -> None:
    """``\\ud83d`` (half an emoji, cut by a partner's truncated body) is valid JSON but not
    text: the record is kept with U+FFFD in its place, and the report says how many values had
    one, first or late in a batch, warm from the cache too; a valid pair stays the emoji."""
    head = '{"tracking_id": "1", "response_code": "200", "response_body": "ok"}, '
    for records, expected in (
        (
            head + '{"tracking_id": "2", "response_code": "500", "response_body": "busy \\ud83d"}',
            [("1", "ok"), ("2", "busy \ufffd")],
        ),
        (
            '{"tracking_id": "\\ud800", "response_code": "200", "response_body": "\\ud83d\\ude00"}',
            [("\ufffd", "\U0001f600")],
        ),
    ):
        folder = tmp_path / str(len(records))
        folder.mkdir()
        path = folder / "s.json"
        path.write_text('{"data": [' + records + "]}", "utf-8")
        for _ in range(2):  # computed, then from the cache
            frame, report = pk.load(path, cache=tmp_path / "cache", report=True)
            rows = frame.collect()
            assert rows.height == report.rows_loaded == records.count("tracking_id")
            assert report.rows_rejected == 0
            assert any("1 value(s) held a lone UTF-16 surrogate" in n for n in report.notes)
        assert rows.select("tracking_id", "response_body").rows() == expected


# --------------------------------------------------------------------------- hypothesis

KEYS = ["tracking_id", "response_code", "a", 'é\u00a0k\\"', ""]
text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=6)
numbers = st.sampled_from(["0", "-0", "12", "-0.5", "1.50E+10", "2e-3", "123456789012345678901"])
scalars = st.one_of(text, st.just(""), st.none(), st.booleans(), numbers.map(Num))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=5,
)


@st.composite
def exports(draw: st.DrawFn) -> list[Any]:
    """Records that mostly repeat the keys of a first one, sometimes in another order, with a
    key missing, a key more (a late one), a value null or nested, or not an object."""
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=5, unique=True))
    out: list[Any] = []
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(["same"] * 6 + ["shuffled", "missing", "more", "odd"]))
        ks = list(keys)
        if kind == "shuffled":
            ks = draw(st.permutations(ks))
        elif kind == "missing":
            ks.pop(draw(st.integers(0, len(ks) - 1)))
        elif kind == "more":
            ks.insert(draw(st.integers(0, len(ks))), draw(st.sampled_from(["late", *KEYS])))
        if kind == "odd":
            out.append(draw(st.one_of(text, st.none(), st.lists(scalars, max_size=2))))
        else:
            out.append({k: draw(values) for k in ks})
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=exports(),
    compact=st.booleans(),
    batch=st.integers(1, 12),
    chunk=st.sampled_from([7, 64, 4096]),
)
def test_reader_equals_json_loads(
    records: list[Any], compact: bool, batch: int, chunk: int
) -> None:
    """The reader (many batches, records cut by the read chunks) gives the columns of the whole
    document through ``json.loads``."""
    with tempfile.TemporaryDirectory() as tmp:
        _check(records, Path(tmp), compact=compact, batch=batch, chunk=chunk)


@pytest.mark.parametrize("batch", [1, 2, 3, 50_000])
def test_key_seen_only_late_and_keys_in_other_orders(tmp_path: Path, batch: int) -> None:
    base = {"tracking_id": "1", "response_code": "200", "x": None}
    records: list[Any] = [dict(base, tracking_id=str(i)) for i in range(6)]
    records[2] = {"x": "z", "response_code": "500", "tracking_id": "2"}  # other order
    records[4] = {"tracking_id": "4", "x": ""}  # response_code missing
    records.append({**base, "late": Num("1.50E+10"), "nested": {"k": [Num("-0.5"), True]}})
    records.append({**base, "late": None})
    records.append(7)
    _check(records, tmp_path, compact=True, batch=batch, chunk=4096)
    frame, columns, raw = _read(tmp_path / "export.json", batch, 4096)
    assert columns == ["tracking_id", "response_code", "x", "late", "nested"]
    assert frame["late"].to_list() == [None] * 6 + ["1.50E+10", None]
    assert frame["nested"][6] == '{"k": ["-0.5", true]}'
    assert raw.rejected[0]["record"] == 8
