"""Bounded-memory reading of gzip and Logs API JSON exports (issue #8).

The reference is the reader that held the whole document in memory (``json.loads`` of the
whole text), kept here verbatim as ``_whole_json_reference``: the streamed reader must give the
same frame and the same LoadReport, with batches and read chunks small enough to cut records.
"""

from __future__ import annotations

import gzip
import importlib
import io
import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit import jsonstream, samples
from postback_kit.errors import ExportReadError, LoadWarning
from postback_kit.schema import FIELD_NAMES
from tests.test_jsonstream import reference_columns

loadmod = importlib.import_module("postback_kit.load")  # the module: pk.load is the function

# --------------------------------------------------------------------------- the reference


def _whole_json_reference(path: Path) -> tuple[pl.DataFrame, pk.LoadReport]:
    """What ``load(path, cache=False, report=True)`` gave for a JSON file before #8: the whole
    document through ``json.loads``, every record a row of String columns, then typed."""
    text = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    doc = json.loads(text.decode("utf-8-sig"), parse_int=str, parse_float=str, parse_constant=str)
    frame, names, rejected, count = reference_columns(
        doc.get("data") if isinstance(doc, dict) else doc
    )
    report = pk.LoadReport()
    offset = loadmod._offset(path, frame, None, report)
    typed = loadmod._typed(frame, None, offset)
    bad = typed.filter(pl.col(loadmod._PROBLEM).is_not_null())
    good_rows = typed.filter(pl.col(loadmod._PROBLEM).is_null()).drop(
        loadmod._PROBLEM, loadmod._RECORD
    )
    for rec, reason in bad.select(loadmod._RECORD, loadmod._PROBLEM).iter_rows():
        rejected.append({"record": rec, "line": None, "reason": reason})
    columns = list(names)
    loadmod._file_report(
        report,
        path,
        "json",
        path.name.endswith(".gz"),
        count,
        good_rows.height,
        rejected,
        columns,
    )
    out = loadmod._combined([good_rows.lazy()]).collect()
    report.columns = out.columns
    report.missing = [n for n in FIELD_NAMES if n not in report.columns]
    report.unknown = [c for c in report.columns if c not in FIELD_NAMES]
    return out, report


def _comparable(report: pk.LoadReport) -> dict[str, Any]:
    out = report.to_dict()
    out["from_cache"] = None
    return out


# --------------------------------------------------------------------------- exports


def _json_export(folder: Path, *, gz: bool = False, bom: bool = False) -> Path:
    """A generated export as the Logs API JSON, with what a real one can hold besides: records
    that are not objects, a value that does not parse, numbers as JSON numbers (one with an
    exponent), nested values, booleans, and a key that only a late record has."""
    folder.mkdir(exist_ok=True)
    plain = samples.generate(300, seed=11).write_json(folder / "gen.json")[0]
    doc = json.loads(plain.read_text("utf-8"))
    plain.unlink()
    data: list[Any] = doc["data"]
    data[3]["attempt_timestamp"] = "yesterday"
    data[5]["response_code"] = "__INT__"
    data[6]["extra_nested"] = {"a": [1, "}{]["], "b": None}
    data[7]["flag"] = True
    data.insert(9, ["not", "an", "object"])
    data.insert(20, "__NUM__")
    data.insert(21, None)
    late = dict(data[-3])
    late["late_key"] = "__EXP__"
    late["tracker_name"] = 'brace } bracket ] quote " escape \\ unicode \u00e9\U0001f600'
    data[-3] = late
    text = json.dumps({"meta": {"data": "not this"}, "data": data, "rows": len(data)})
    text = text.replace('"__INT__"', "500").replace('"__NUM__"', "-12.5e-3")
    text = text.replace('"__EXP__"', "1.50E+10")
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    path = folder / ("export.json.gz" if gz else "export.json")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.fixture(params=["records", "characters"])
def tiny_batches(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read chunks of 100 characters (records are cut by the chunks) and batches of 7 records
    or of 5000 characters of text: the export is many batches."""
    monkeypatch.setattr(loadmod, "_JSON_CHUNK", 100)
    if request.param == "records":
        monkeypatch.setattr(loadmod, "_JSON_BATCH", 7)
    else:
        monkeypatch.setattr(loadmod, "_JSON_BATCH_CHARS", 5000)


def _leftovers(*folders: Path) -> list[str]:
    return [p.name for f in folders if f.exists() for p in f.iterdir() if p.name.startswith(".")]


@pytest.fixture
def tmpdir_of_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder (where files are decompressed without a cache), to look into."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --------------------------------------------------------------------------- JSON


@pytest.mark.parametrize("gz", [False, True], ids=["json", "json.gz"])
@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_streamed_json_equals_the_whole_document_reader(
    tmp_path: Path, tiny_batches: None, tmpdir_of_process: Path, gz: bool, cache: bool
) -> None:
    path = _json_export(tmp_path / "export", gz=gz, bom=True)
    expected, expected_report = _whole_json_reference(path)
    # the reference itself sees what was planted
    assert expected_report.rows_rejected == 4
    assert [r["record"] for r in expected_report.rejected] == [3, 9, 20, 21]
    assert "late_key" in expected.columns and expected["late_key"].drop_nulls().to_list() == [
        "1.50E+10"
    ]
    assert expected["response_code"][4] == 500 and expected["flag"].drop_nulls().to_list() == [
        "true"
    ]
    cache_dir = tmp_path / "cache"
    with pytest.warns(LoadWarning, match=f"4 of {expected_report.rows_read} rows"):
        frame, report = pk.load(path, report=True, cache=cache_dir if cache else False)
    assert_frame_equal(frame.collect(), expected)
    assert _comparable(report) == _comparable(expected_report)
    assert report.rejected == expected_report.rejected
    assert _leftovers(cache_dir, tmpdir_of_process) == []
    if cache:
        with pytest.warns(LoadWarning, match=f"4 of {expected_report.rows_read} rows"):
            warm, warm_report = pk.load(path, report=True, cache=cache_dir)
        assert warm_report.from_cache
        assert_frame_equal(warm.collect(), expected)


def test_json_batches_are_bounded(tmp_path: Path, tiny_batches: None) -> None:
    """The reader writes many small batches, each with only the keys its records have."""
    path = _json_export(tmp_path / "export")
    parts = tmp_path / "parts"
    parts.mkdir()
    raw = loadmod._read_json(path, None, parts, loadmod._JSON_BATCH)
    heights = [pl.scan_parquet(p).select(pl.len()).collect().item() for p in raw.parts]
    assert len(raw.parts) > 10 and sum(heights) + len(raw.rejected) == raw.rows_read
    assert max(heights) <= 7 if loadmod._JSON_BATCH == 7 else max(heights) < 5
    with_late = [p for p in raw.parts if "late_key" in pl.read_parquet_schema(p)]
    assert len(with_late) == 1 and raw.columns[-1] == "late_key"


def test_json_without_data_list_and_top_level_array(
    tmp_path: Path, tmpdir_of_process: Path
) -> None:
    top = tmp_path / "top.json"
    top.write_text('[{"tracking_id": "1"}, 7, {"tracking_id": "2", "response_code": 404}]')
    with pytest.warns(LoadWarning, match="1 of 3 rows"):
        frame, report = pk.load(top, report=True, cache=False)
    assert frame.collect()["tracking_id"].to_list() == ["1", "2"]
    assert report.rejected[0]["record"] == 1
    assert report.rejected[0]["reason"] == "record is a str, not an object"

    # "data" twice: the last one counts, as with json.loads
    twice = tmp_path / "twice.json"
    twice.write_text('{"data": [{"tracking_id": "1"}], "x": 1, "data": [{"tracking_id": "2"}]}')
    assert load_quiet(twice).frame.collect()["tracking_id"].to_list() == ["2"]
    gone = tmp_path / "gone.json"
    gone.write_text('{"data": [{"tracking_id": "1"}], "data": null, "errors": []}')
    with pytest.raises(ExportReadError, match='no "data" list') as err:
        pk.load(gone, cache=False)
    assert "top-level keys: data, errors" in str(err.value)
    other = tmp_path / "other.json"
    other.write_text('{"data": [{"name": "bob", "age": 3}]}')
    with pytest.raises(ExportReadError, match="not a postback export"):
        pk.load(other, cache=tmp_path / "cache")
    with pytest.raises(ExportReadError, match="not a postback export"):
        pk.load(other, cache=False)
    assert _leftovers(tmp_path / "cache", tmpdir_of_process) == []


def load_quiet(source: Path, cache: Path | bool = False) -> pk.LoadResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no rejection expected
        return pk.load(source, report=True, cache=cache, progress=False)


@pytest.mark.parametrize("gz", [False, True], ids=["json", "json.gz"])
def test_truncated_json_is_the_same_clear_error(
    tmp_path: Path, tiny_batches: None, tmpdir_of_process: Path, gz: bool
) -> None:
    whole = _json_export(tmp_path / "export").read_bytes()
    cache = tmp_path / "cache"
    for cut in (len(whole) // 3, len(whole) - 200, len(whole) - 3):
        text = whole[:cut]
        try:
            json.loads(text.decode("utf-8"), parse_int=str)
        except ValueError as exc:
            expected = str(exc)
        path = tmp_path / ("cut.json.gz" if gz else "cut.json")
        path.write_bytes(gzip.compress(text) if gz else text)
        for where in (cache, False):
            with pytest.raises(ExportReadError, match="not valid JSON") as err:
                pk.load(path, cache=where)
            message = str(err.value)
            assert str(path) in message and "Hint:" in message
            assert expected in message  # the position in the whole text, as json.loads says
    assert _leftovers(cache, tmpdir_of_process) == []


# --------------------------------------------------------------------------- gzip


def _export_csv(folder: Path, *, bom: bool) -> list[Path]:
    return samples.generate(400, seed=3).write_csv(folder, per_day=True, bom=bom)


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("crlf", [False, True])
def test_csv_gz_equals_the_plain_file(
    tmp_path: Path, tmpdir_of_process: Path, bom: bool, crlf: bool
) -> None:
    plain = _export_csv(tmp_path / "plain", bom=bom)
    gz = tmp_path / "gz"
    gz.mkdir()
    for p in plain:
        data = p.read_bytes()
        if crlf:
            data = data.replace(b"\n", b"\r\n")
            p.write_bytes(data)
        (gz / f"{p.name}.gz").write_bytes(gzip.compress(data))
    expected, expected_report = load_quiet(tmp_path / "plain")
    for cache in (False, tmp_path / "cache"):
        frame, report = load_quiet(gz, cache)
        assert_frame_equal(frame.collect(), expected.collect())
        got, want = _comparable(report), _comparable(expected_report)
        assert [f["compressed"] for f in got["files"]] == [True] * len(plain)
        for f in (*got["files"], *want["files"]):
            f["path"] = Path(f["path"]).name.removesuffix(".gz")
            f["compressed"] = None
        got["notes"] = [n.replace(".csv.gz:", ".csv:") for n in got["notes"]]
        assert got == want
    assert _leftovers(tmp_path / "cache", tmpdir_of_process) == []


def test_damaged_csv_gz_falls_back_to_the_strict_reader(
    tmp_path: Path, tmpdir_of_process: Path
) -> None:
    text = (
        "tracking_id,response_code,response_body\n"
        "1,200,OK\n"
        "2,500,oops,surplus\n"
        '3,200,"quoted,\r\nnewline"\n'
        "4,abc,x\n"
    )
    path = tmp_path / "e.csv.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + text.encode()))
    with pytest.warns(LoadWarning, match="2 of 4 rows"):
        frame, report = pk.load(path, report=True, cache=tmp_path / "cache")
    assert frame.collect()["tracking_id"].to_list() == ["1", "3"]
    assert frame.collect()["response_body"][1] == "quoted,\r\nnewline"
    assert [(r["line"], r["reason"]) for r in report.rejected] == [
        (3, "has 4 fields, the header has 3"),
        (6, "response_code=abc is not an integer"),
    ]
    assert report.files[0].compressed and report.files[0].format == "csv"
    assert _leftovers(tmp_path / "cache", tmpdir_of_process) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # cut in the deflate stream
        lambda b: b[:-4],  # the length trailer is missing
        lambda b: b[:-8] + bytes(8),  # checksum and length wrong
        lambda b: b[:10] + b"garbage" + b[17:],
    ],
    ids=["half", "no-trailer", "bad-crc", "garbage"],
)
def test_damaged_gzip_is_a_clear_error_and_leaves_no_file(
    tmp_path: Path, tmpdir_of_process: Path, damage: Any
) -> None:
    text = "".join(f"{i},t,200,OK,1700000000,sent\n" for i in range(5000))
    data = gzip.compress(
        (
            "tracking_id,tracker_name,response_code,response_body,attempt_timestamp,"
            f"notifying_status\n{text}"
        ).encode()
    )
    path = tmp_path / "e.csv.gz"
    path.write_bytes(damage(data))
    cache = tmp_path / "cache"
    for where in (cache, False):
        with pytest.raises(ExportReadError, match="gzip file is damaged or truncated") as err:
            pk.load(path, cache=where)
        assert str(path) in str(err.value) and "Hint:" in str(err.value)
    assert _leftovers(cache, tmpdir_of_process) == []


def test_gzipped_parquet_and_empty_gzip(tmp_path: Path, tmpdir_of_process: Path) -> None:
    buf = io.BytesIO()
    pl.DataFrame({"tracking_id": ["3"], "response_code": ["404"]}).write_parquet(buf)
    path = tmp_path / "p.parquet.gz"
    path.write_bytes(gzip.compress(buf.getvalue()))
    frame, report = load_quiet(path)
    assert frame.collect()["response_code"].to_list() == [404]
    assert (report.files[0].format, report.files[0].compressed) == ("parquet", True)
    empty = tmp_path / "empty.csv.gz"
    empty.write_bytes(gzip.compress(b""))
    with pytest.raises(ExportReadError, match="empty"):
        pk.load(empty, cache=False)
    assert _leftovers(tmpdir_of_process) == []


# --------------------------------------------------------------------------- the record reader


@dataclass(frozen=True)
class Num:
    """A JSON number or constant, written as its text (json.loads gives the text back)."""

    text: str


numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,80})(\.[0-9]{1,12})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity"]),
).map(Num)
tricky = st.text(
    alphabet=st.one_of(
        st.sampled_from([*'{}[]",:\\/ \n\t', "\u00e9", "\U0001f600", "\x00"]),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=30,
)
scalars = st.one_of(st.none(), st.booleans(), numbers, tricky)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(tricky, inner, max_size=4)
    ),
    max_leaves=12,
)
records_ = st.lists(st.one_of(st.dictionaries(tricky, values, max_size=6), values), max_size=8)


def _dump(value: Any, ascii_: bool, sep: str) -> str:
    if isinstance(value, Num):
        return value.text
    if isinstance(value, dict):
        items = (f"{_dump(k, ascii_, sep)}:{sep}{_dump(v, ascii_, sep)}" for k, v in value.items())
        return "{" + sep + f",{sep}".join(items) + sep + "}"
    if isinstance(value, list):
        return "[" + sep + f",{sep}".join(_dump(v, ascii_, sep) for v in value) + sep + "]"
    return json.dumps(value, ensure_ascii=ascii_)


def _read_all(text: str, chunk: int) -> list[Any]:
    out: list[Any] = []
    for rec in jsonstream.records(io.StringIO(text), chunk):
        if rec is jsonstream.RESTART:
            out.clear()
        else:
            out.append(rec)
    return out


def _loads(text: str) -> Any:
    return json.loads(text, parse_int=str, parse_float=str, parse_constant=str)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=records_,
    before=st.dictionaries(tricky, values, max_size=2),
    ascii_=st.booleans(),
    sep=st.sampled_from(["", " ", "\n", " \r\n\t"]),
    chunk=st.integers(min_value=1, max_value=64),
    cut=st.none() | st.integers(min_value=0),
)
def test_record_reader_equals_json_loads(
    data: list[Any],
    before: dict[str, Any],
    ascii_: bool,
    sep: str,
    chunk: int,
    cut: int | None,
) -> None:
    """Every record (numbers kept as their exact text) as ``json.loads(...)["data"]``, whatever
    the chunks; a document cut anywhere fails with the same message (position included)."""
    doc = {k: v for k, v in before.items() if k != "data"}
    doc["data"] = data
    text = sep + _dump(doc, ascii_, sep) + sep
    if cut is not None:
        text = text[: cut % (len(text) + 1)]
    try:
        expected = _loads(text)
    except ValueError as exc:
        with pytest.raises(ValueError) as err:
            _read_all(text, chunk)
        assert str(err.value) == str(exc)
        return
    assert _read_all(text, chunk) == expected["data"]


@pytest.mark.parametrize("chunk", range(1, 9))
def test_numbers_cut_by_a_chunk_are_read_whole(chunk: int) -> None:
    """A number cut at the end of the buffer decodes as a shorter one ("-0" of "-0.5", "1" of
    "1e5", "12" of "123"): it is decoded again with the text that follows."""
    long = "9" * 60  # longer than the lookahead the reader keeps before decoding a value
    numbers = [f"{long}1e5", f"-{long}.25", f"{long}12345", f"{long}7.5E-3", f"{long}2e+10"] * 20
    numbers += ["-0.0", "0", "-12.5e-07"]
    text = '{"x": -0.5e+10, "data": [' + ", ".join(numbers) + ', {"a": 1.5E-3}]}'
    assert _read_all(text, chunk) == [*numbers, {"a": "1.5E-3"}]


@pytest.mark.parametrize(
    "text",
    [
        '{"data": [1, 2]} x',
        '{"data": [1 2]}',
        '{"data": [1,]}',
        '{"data" [1]}',
        '{"data": [1], }',
        '{"data": [{"a": "\\x"}]}',
        '{"data": [{"a": "\u0001"}]}',
        '{"data": [{"a": 1}]}\n\n]',
        "\n\n   [1, 2, tru]",
        '{"data": [' + '{"a": "x"}, ' * 50 + '{"a": 01}]}',
        "",
    ],
)
@pytest.mark.parametrize("chunk", [1, 5, 4096])
def test_record_reader_errors_say_what_json_loads_says(text: str, chunk: int) -> None:
    with pytest.raises(ValueError) as exc:
        _loads(text)
    with pytest.raises(ValueError) as err:
        _read_all(text, chunk)
    assert str(err.value) == str(exc.value)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('{"errors": [], "data": {"a": 1}}', "top-level keys: errors, data"),
        ("{}", "top-level keys: "),
        ('"data"', "str"),
        ("12", "str"),
    ],
)
def test_record_reader_without_data_list(text: str, found: str) -> None:
    with pytest.raises(jsonstream.NoDataList) as err:
        _read_all(text, 3)
    assert err.value.found == found
