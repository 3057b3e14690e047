from __future__ import annotations

import csv
import gzip
import io
import json
import warnings
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit.errors import ExportReadError, LoadWarning, MissingColumnsError

HEADER = "tracking_id,tracker_name,response_code,response_body,attempt_timestamp,notifying_status"


def write(path: Path, text: str, *, bom: bool = False, crlf: bool = False) -> Path:
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def load_quiet(source, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no rejection expected
        return pk.load(source, report=True, **kw)


# --------------------------------------------------------------------------- CSV quirks


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("crlf", [False, True])
def test_csv_bom_crlf_and_quoted_bodies(tmp_path: Path, bom: bool, crlf: bool) -> None:
    body = '{"Message":"malformed clickId","Status":400}'
    text = (
        f"{HEADER}\n"
        f'12345678901234567890,Аdvertising iOS campaign,400,"{body.replace(chr(34), 2 * chr(34))}",'
        "1700000000,failed\n"
        '2,"a, b",502,"<html>\n<title>502 Bad Gateway</title>\n</html>",1700000060,failed\n'
        "3,,,,1700000120,failed\n"
    )
    frame, report = load_quiet(write(tmp_path / "e.csv", text, bom=bom, crlf=crlf), cache=False)
    df = frame.collect()
    assert report.rows_read == 3 and report.rows_loaded == 3 and report.rows_rejected == 0
    assert "tracking_id" in df.columns  # the BOM is not part of the first name
    assert df["tracking_id"].to_list() == ["12345678901234567890", "2", "3"]
    assert df["tracker_name"].to_list() == ["Аdvertising iOS campaign", "a, b", None]
    assert df["response_body"][0] == body
    newline = "\r\n" if crlf else "\n"
    assert (
        df["response_body"][1] == f"<html>{newline}<title>502 Bad Gateway</title>{newline}</html>"
    )
    assert df["response_code"].to_list() == [400, 502, None]
    assert df.schema["attempt_timestamp"] == pl.Datetime("us", "UTC")
    assert df.schema["notifying_status"] == pl.Categorical


def test_no_answer_is_null_whether_empty_or_zero(tmp_path: Path) -> None:
    rows = ["1,t,0,,1700000000,failed", "1,t,,,1700000001,failed", "1,t,1004,x,1700000002,failed"]
    text = HEADER + "\n" + "\n".join(rows) + "\n"
    df = load_quiet(write(tmp_path / "e.csv", text), cache=False).frame.collect()
    assert df["response_code"].to_list() == [None, None, 1004]


def test_unknown_columns_are_kept_and_missing_are_reported(tmp_path: Path) -> None:
    text = "attribution_touch_type,tracking_id,my_column\nclick,7,hello\n"
    frame, report = load_quiet(write(tmp_path / "e.csv", text), cache=False)
    df = frame.collect()
    assert df.columns == ["attribution_touch_type", "tracking_id", "my_column"]
    assert report.unknown == ["my_column"]
    assert "response_code" in report.missing
    with pytest.raises(MissingColumnsError) as err:
        pk.require_columns(frame, ["tracking_id", "response_code"], needed_for="diagnose")
    assert "response_code" in str(err.value) and "field list" in str(err.value)


def test_unknown_category_values_are_accepted(tmp_path: Path) -> None:
    text = "tracking_id,os_name,cost_model\n1,harmonyos,cpx\n2,ios,cpi\n"
    df = load_quiet(write(tmp_path / "e.csv", text), cache=False).frame.collect()
    assert df["os_name"].cast(pl.String).to_list() == ["harmonyos", "ios"]
    assert df["cost_model"].cast(pl.String).to_list() == ["cpx", "cpi"]


# --------------------------------------------------------------------------- formats


def test_json_with_every_value_a_string_and_numbers_exact(tmp_path: Path) -> None:
    doc = {
        "data": [
            {
                "tracking_id": "12345678901234567890",
                "response_code": "200",
                "attempt_timestamp": "1556258660",
                "response_body": "SUCCESS",
                "attribution_touch_type": "click",
                "tracker_name": "Аdvertising",
            },
            # numbers as JSON numbers: kept exact, never through float
            {
                "tracking_id": 98765432109876543210,
                "response_code": 500,
                "attempt_timestamp": 1556258700,
                "response_body": None,
            },
        ]
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    df = load_quiet(path, cache=False).frame.collect()
    assert df["tracking_id"].to_list() == ["12345678901234567890", "98765432109876543210"]
    assert df["response_code"].to_list() == [200, 500]
    assert df["attempt_timestamp"][0] == datetime(2019, 4, 26, 6, 4, 20, tzinfo=UTC)
    assert df["response_body"].to_list() == ["SUCCESS", None]


def test_gzip_parquet_and_detection_by_content(tmp_path: Path) -> None:
    text = f"{HEADER}\n1,t,400,bad,1700000000,failed\n"
    (tmp_path / "day1.csv.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "day2").write_bytes(text.replace("\n1,", "\n2,").encode())  # no extension
    pl.DataFrame({"tracking_id": ["3"], "response_code": ["404"]}).write_parquet(
        tmp_path / "day3.data"
    )
    jsontext = json.dumps({"data": [{"tracking_id": "4", "response_code": "200"}]})
    (tmp_path / "day4.txt").write_bytes(gzip.compress(jsontext.encode()))
    paths = sorted(tmp_path.iterdir())
    frame, report = load_quiet(paths, cache=False)
    df = frame.collect().sort("tracking_id")
    assert df["tracking_id"].to_list() == ["1", "2", "3", "4"]
    assert df["response_code"].to_list() == [400, 400, 404, 200]
    formats = {Path(f.path).name: (f.format, f.compressed) for f in report.files}
    assert formats == {
        "day1.csv.gz": ("csv", True),
        "day2": ("csv", False),
        "day3.data": ("parquet", False),
        "day4.txt": ("json", True),
    }


def test_folder_glob_and_list_sources(tmp_path: Path) -> None:
    for day in (1, 2, 3):
        write(
            tmp_path / f"postbacks_2026-11-0{day}.csv",
            f"{HEADER}\n{day},t,200,OK,1700000000,sent\n",
        )
    write(tmp_path / "notes.md", "# not an export\n")
    frame, report = load_quiet(tmp_path, cache=False)
    assert frame.collect().height == 3
    assert [s["file"].endswith("notes.md") for s in report.skipped] == [True]
    assert (
        load_quiet(str(tmp_path / "*_2026-11-0[12].csv"), cache=False).frame.collect().height == 2
    )
    assert load_quiet([tmp_path / "postbacks_2026-11-01.csv"], cache=False).report.rows_read == 1


def test_files_with_different_columns_are_combined(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "tracking_id,response_code\n1,200\n")
    write(tmp_path / "b.csv", "response_body,tracking_id\nbad,2\n")
    df = load_quiet(tmp_path, cache=False).frame.collect().sort("tracking_id")
    assert_frame_equal(
        df,
        pl.DataFrame(
            {
                "tracking_id": ["1", "2"],
                "response_code": [200, None],
                "response_body": [None, "bad"],
            },
            schema_overrides={"response_code": pl.Int32},
        ),
        check_column_order=False,
    )


# --------------------------------------------------------------------------- times


def test_datetime_fields_are_aware_and_offset_inferred(tmp_path: Path) -> None:
    text = (
        "attempt_timestamp,attempt_datetime,install_datetime\n"
        "1700000000,2023-11-15 01:13:20,2023-11-14 03:00:00\n"
    )
    frame, report = load_quiet(write(tmp_path / "e.csv", text), cache=False)
    row = frame.collect().row(0, named=True)
    assert row["attempt_datetime"] == row["attempt_timestamp"]
    assert row["install_datetime"] == datetime(2023, 11, 14, 0, 0, tzinfo=UTC)
    assert any("UTC+03:00" in n for n in report.notes)


def test_explicit_timezone_and_derived_attempt_timestamp(tmp_path: Path) -> None:
    text = "attempt_datetime\n2026-07-01 12:00:00\n"
    df = load_quiet(
        write(tmp_path / "e.csv", text), cache=False, timezone="Europe/Berlin"
    ).frame.collect()
    assert df["attempt_timestamp"][0] == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- broken input


def test_broken_rows_are_rejected_with_line_and_reason(tmp_path: Path) -> None:
    text = (
        f"{HEADER}\n"
        '1,t,400,"multi\nline",1700000000,failed\n'  # lines 2-3
        "2,t,abc,x,1700000000,failed\n"  # line 4: bad code
        "3,t,200,x,yesterday,sent\n"  # line 5: bad timestamp
        "4,t,200,OK,1700000000,sent\n"
    )
    path = write(tmp_path / "e.csv", text)
    with pytest.warns(LoadWarning, match="2 of 4 rows"):
        frame, report = pk.load(path, report=True, cache=False)
    assert frame.collect()["tracking_id"].to_list() == ["1", "4"]
    rej = report.rejected_frame()
    assert rej["line"].to_list() == [4, 5]
    assert rej["record"].to_list() == [1, 2]
    assert "response_code=abc is not an integer" in rej["reason"][0]
    assert "attempt_timestamp=yesterday" in rej["reason"][1]
    assert report.rows_read == report.rows_loaded + report.rows_rejected == 4


def test_rows_with_extra_fields_fall_back_to_the_strict_reader(tmp_path: Path) -> None:
    text = (
        f"{HEADER}\n"
        "1,t,200,OK,1700000000,sent\n"
        "2,t,500,oops,1700000000,failed,surplus\n"
        '3,t,200,"quoted,\nnewline",1700000000,sent\n'
        "4,t,200\n"
    )
    with pytest.warns(LoadWarning):
        frame, report = pk.load(write(tmp_path / "e.csv", text), report=True, cache=False)
    assert frame.collect()["tracking_id"].to_list() == ["1", "3"]
    assert [(r["line"], r["reason"]) for r in report.rejected] == [
        (3, "has 7 fields, the header has 6"),
        (6, "has 3 fields, the header has 6"),
    ]


def test_unterminated_quote_is_reported_not_lost(tmp_path: Path) -> None:
    rows = "".join(f"{i},t,200,OK,1700000000,sent\n" for i in range(3))
    text = f"{HEADER}\n{rows}" + '9,t,500,"never closed,1700000000,failed\n' + rows
    with pytest.warns(LoadWarning):
        frame, report = pk.load(write(tmp_path / "e.csv", text), report=True, cache=False)
    assert frame.collect().height == 3
    assert report.rows_rejected == 1 and report.rejected[0]["line"] == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (b'{"data": [', "not valid JSON"),
        (b'{"errors": []}', 'no "data" list'),
        (b"name,age\nbob,3\n", "not a postback export"),
    ],
)
def test_unreadable_files_raise_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ExportReadError, match=message) as err:
        pk.load(path, cache=False)
    assert (str(path) in str(err.value) and "Hint:" in str(err.value)) or message == "empty"


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportReadError, match="no such file"):
        pk.load(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- cache


def test_second_open_comes_from_the_parquet_cache(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", f"{HEADER}\n1,t,400,bad,1700000000,failed\n")
    cache = tmp_path / "cache"
    first, r1 = pk.load(path, report=True, cache=cache)
    second, r2 = pk.load(path, report=True, cache=cache)
    assert not r1.from_cache and r2.from_cache
    assert_frame_equal(first.collect(), second.collect())
    assert all(
        p.suffix in {".parquet", ".json"} and len(p.stem.split(".")[0]) == 32
        for p in cache.iterdir()
        if p.name != "digests.json"
    )
    path.write_text(f"{HEADER}\n1,t,400,bad,1700000000,failed\n2,t,200,OK,1700000000,sent\n")
    third, r3 = pk.load(path, report=True, cache=cache)
    assert not r3.from_cache and third.collect().height == 2


def test_cached_rejections_still_warn(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", f"{HEADER}\n1,t,x,bad,1700000000,failed\n")
    for _ in range(2):
        with pytest.warns(LoadWarning):
            pk.load(path, cache=tmp_path / "c")


# --------------------------------------------------------------------------- round trips

nasty = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
ids = st.integers(min_value=0, max_value=10**20 - 1).map(str)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(ids, nasty, nasty, st.sampled_from([None, 200, 400, 502, 9001])),
        min_size=1,
        max_size=8,
    )
)
def test_round_trip_csv_and_json(
    tmp_path: Path, rows: list[tuple[str, str, str, int | None]]
) -> None:
    expected = pl.DataFrame(
        {
            "tracking_id": [r[0] for r in rows],
            "tracker_name": [r[1] or None for r in rows],
            "response_body": [r[2] or None for r in rows],
            "response_code": [r[3] for r in rows],
        },
        schema={
            "tracking_id": pl.String,
            "tracker_name": pl.String,
            "response_body": pl.String,
            "response_code": pl.Int32,
        },
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["tracking_id", "tracker_name", "response_body", "response_code"])
    for r in rows:
        w.writerow([r[0], r[1], r[2], "" if r[3] is None else r[3]])
    csv_path = tmp_path / "rt.csv"
    csv_path.write_bytes(buf.getvalue().encode("utf-8"))
    json_path = tmp_path / "rt.json"
    json_path.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "tracking_id": r[0],
                        "tracker_name": r[1],
                        "response_body": r[2],
                        "response_code": "" if r[3] is None else str(r[3]),
                    }
                    for r in rows
                ]
            }
        ),
        "utf-8",
    )
    for path in (csv_path, json_path):
        got = load_quiet(path, cache=False).frame.collect()
        assert_frame_equal(got, expected, check_column_order=False)


def test_quoted_empty_values_are_empty_not_errors(tmp_path: Path) -> None:
    """Writers that quote every field (polars' write_csv among them) write "" for empty."""
    text = f'{HEADER}\n"1","t","","","1700000000","failed"\n"2","t","0","x","","sent"\n'
    df = load_quiet(write(tmp_path / "e.csv", text), cache=False).frame.collect()
    assert df["response_code"].to_list() == [None, None]
    assert df["attempt_timestamp"][1] is None and df["response_body"].to_list() == [None, "x"]


# --------------------------------------------------------------------------- streaming + parts


def _export_with_a_bad_row(folder: Path) -> list[Path]:
    """A generated export (every field) in three day files; one row of the second is damaged."""
    from postback_kit import samples

    folder.mkdir()
    paths = sorted(samples.generate(3_000, seed=5).write_csv(folder))
    for extra in paths[3:]:
        extra.unlink()
    paths = paths[:3]
    with paths[1].open(newline="", encoding="utf-8") as fh:
        records = list(csv.reader(fh))
    at = records[0].index("attempt_timestamp")
    records[5][at] = "yesterday"
    with paths[1].open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(records)
    return paths


def _comparable(report: pk.LoadReport) -> dict[str, object]:
    out = report.to_dict()
    for f in out["files"]:
        f["path"] = Path(f["path"]).name.removesuffix(".gz")
        f["compressed"] = None
    for r in out["rejected"]:
        r["file"] = Path(r["file"]).name.removesuffix(".gz")
    out["from_cache"] = None
    out["notes"] = [n.replace(".csv.gz:", ".csv:") for n in out["notes"]]
    return out


def test_streamed_csv_parts_equal_the_whole_file_reader(tmp_path: Path) -> None:
    """Plain CSV is typed by the streaming engine into one cached Parquet part per file; the
    same files gzipped are first decompressed to a temporary file. Frames and reports (rows,
    rejected row with its line and reason) are the same, cold, warm and without a cache."""
    plain = _export_with_a_bad_row(tmp_path / "plain")
    gz = tmp_path / "gz"
    gz.mkdir()
    for p in plain:
        (gz / f"{p.name}.gz").write_bytes(gzip.compress(p.read_bytes()))
    cache = tmp_path / "cache"
    results = {}
    for name, source, kw in (
        ("whole", gz, {"cache": False}),
        ("streamed, no cache", tmp_path / "plain", {"cache": False}),
        ("streamed, cold", tmp_path / "plain", {"cache": cache}),
        ("streamed, warm", tmp_path / "plain", {"cache": cache}),
    ):
        with pytest.warns(LoadWarning, match="1 of"):
            results[name] = pk.load(source, report=True, progress=False, **kw)
    expected_frame, expected_report = results.pop("whole")
    expected = expected_frame.collect()
    assert expected_report.rows_rejected == 1 and expected.height == expected_report.rows_loaded
    assert (
        "attempt_timestamp=yesterday is not Unix seconds" in expected_report.rejected[0]["reason"]
    )
    assert expected_report.rejected[0]["record"] == 4 and expected_report.rejected[0]["line"]
    for name, (frame, report) in results.items():
        assert_frame_equal(frame.collect(), expected)
        assert _comparable(report) == _comparable(expected_report), name
    assert results["streamed, warm"].report.from_cache
    assert not results["streamed, cold"].report.from_cache
    parts = sorted(p.name.split(".", 1)[1] for p in cache.glob("*.parquet"))
    assert parts == ["0.parquet", "1.parquet", "2.parquet"]  # one part per file


def test_an_incomplete_cache_entry_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", f"{HEADER}\n1,t,400,bad,1700000000,failed\n")
    cache = tmp_path / "cache"
    first = pk.load(path, cache=cache).collect()
    next(cache.glob("*.0.parquet")).unlink()  # e.g. removed by a cache cleaner
    again, report = pk.load(path, cache=cache, report=True)
    assert not report.from_cache
    assert_frame_equal(again.collect(), first)


def test_bytes_that_are_not_utf8_are_kept_replaced_and_counted_or_refused(tmp_path: Path) -> None:
    """A partner's body in another encoding: the record is kept, each byte that is not UTF-8
    becomes U+FFFD, and the report says how many records had one (from the cache too). A file
    whose header, or more than a tenth of its records, is not UTF-8 is in another encoding:
    refused with a clear error."""
    head = b"tracking_id,response_code,attempt_timestamp,postback_url,response_body\n"
    rows = b"".join(b"%d,200,1700000000,https://a.example/?c=%d,ok\n" % (i, i) for i in range(20))
    path = tmp_path / "export.csv"
    path.write_bytes(head + rows + b"20,500,1700000100,https://a.example/?c=20,bad \xff\xfe!\n")
    for _ in range(2):  # read, then from the cache
        frame, report = pk.load(path, cache=tmp_path / "cache", report=True)
        assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (21, 21, 0)
        assert any("1 record(s) held bytes that are not UTF-8" in n for n in report.notes)
        assert frame.collect()["response_body"].to_list()[-1] == "bad \ufffd\ufffd!"

    for name, text, found in (
        ("header.csv", b"tracking_id,response_c\xf4de\n1,\xff\n", "the header line"),
        ("cp1251.csv", b"tracking_id,response_body\n1,\xef\xf0\xe8\n2,\xe2\xe5\n3,ok\n", "2 of 3"),
    ):
        (tmp_path / name).write_bytes(text)
        with pytest.raises(pk.ExportReadError, match="not UTF-8 text") as err:
            pk.load(tmp_path / name, cache=False)
        assert found in str(err.value)
