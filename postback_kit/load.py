"""Load postback exports (CSV, CSV.gz, Logs API JSON, Parquet) into the canonical attempt table.

>>> frame = load("data/samples/csv")                     # doctest: +SKIP
>>> frame, report = load("data/samples/csv", report=True)  # doctest: +SKIP
>>> print(report.summary())                              # doctest: +SKIP

Nothing is dropped silently: a row that cannot be read is kept out of the frame, counted, and
listed in the :class:`LoadReport` with its file, line and reason, and ``load`` warns
(:class:`~postback_kit.errors.LoadWarning`) whenever that happens.
"""

from __future__ import annotations

import csv
import glob as globlib
import gzip
import io
import json
import os
import re
import shutil
import tempfile
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple, TypeVar, overload

import polars as pl

from . import cache as cachelib
from . import jsonstream
from .errors import ExportReadError, LoadWarning
from .schema import FIELD_NAMES, FIELDS
from .schema import field as field_of

__all__ = ["FileReport", "LoadReport", "LoadResult", "load"]

Source = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
Format = Literal["csv", "json", "parquet"]
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

_EXPORT_SUFFIXES = {".csv", ".json", ".parquet", ".pq", ".gz", ".tsv", ".txt", ""}
_MAX_EXAMPLES = 1000
_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_PROBLEM = "__problem"
_RECORD = "__record"


# --------------------------------------------------------------------------- report


@dataclass
class FileReport:
    """What was read from one file."""

    path: str
    format: str
    compressed: bool
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    columns: list[str]


@dataclass
class LoadReport:
    """Files read, rows per file, rejected rows with file/line/reason, and the columns found."""

    files: list[FileReport] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """Up to 1000 rejected rows: ``{"file", "line", "record", "reason"}``."""
    skipped: list[dict[str, str]] = field(default_factory=list)
    """Files in a folder that are not postback exports: ``{"file", "reason"}``."""
    columns: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Documented fields the export does not have."""
    unknown: list[str] = field(default_factory=list)
    """Columns the docs do not list; they are kept as text."""
    notes: list[str] = field(default_factory=list)
    from_cache: bool = False

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    def rejected_frame(self) -> pl.DataFrame:
        """The rejected rows (up to 1000) as a frame: file, line, record, reason."""
        schema = {"file": pl.String, "line": pl.Int64, "record": pl.Int64, "reason": pl.String}
        return pl.DataFrame(self.rejected, schema=schema)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            rows_read=self.rows_read, rows_loaded=self.rows_loaded, rows_rejected=self.rows_rejected
        )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadReport:
        files = [FileReport(**f) for f in data.get("files", [])]
        keep = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "files"}
        return cls(files=files, **keep)

    def summary(self) -> str:
        lines = [
            f"{len(self.files)} file(s), {self.rows_read:,} rows read, "
            f"{self.rows_loaded:,} loaded, {self.rows_rejected:,} rejected"
            + (" (from cache)" if self.from_cache else "")
        ]
        for f in self.files:
            gz = " (gzip)" if f.compressed else ""
            lines.append(
                f"  {f.path}: {f.format}{gz}, {f.rows_read:,} rows, {f.rows_rejected:,} rejected"
            )
        for r in self.rejected[:10]:
            lines.append(
                f"  rejected {r['file']}:{r['line']} (record {r['record']}): {r['reason']}"
            )
        if self.rows_rejected > 10:
            lines.append(f"  … {self.rows_rejected - 10:,} more rejected rows")
        for s in self.skipped:
            lines.append(f"  skipped {s['file']}: {s['reason']}")
        if self.missing:
            lines.append(f"  missing fields: {', '.join(self.missing)}")
        if self.unknown:
            lines.append(f"  unknown columns kept: {', '.join(self.unknown)}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(self.summary())}</pre>"


class LoadResult(NamedTuple):
    """``load(..., report=True)`` returns the frame and its report."""

    frame: pl.LazyFrame
    report: LoadReport


# --------------------------------------------------------------------------- sources


def _resolve(source: Source) -> tuple[list[Path], list[dict[str, str]], set[Path]]:
    """Expand paths, folders and globs; return files, skipped folder members, explicit files."""
    items: Iterable[str | os.PathLike[str]]
    items = [source] if isinstance(source, str | os.PathLike) else source
    files: list[Path] = []
    explicit: set[Path] = set()
    skipped: list[dict[str, str]] = []
    for item in items:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if not p.is_file() or any(
                    part.startswith(".") for part in p.relative_to(path).parts
                ):
                    continue
                if _suffix(p) in _EXPORT_SUFFIXES:
                    files.append(p)
                else:
                    skipped.append(
                        {"file": str(p), "reason": f"not an export file type ({p.suffix})"}
                    )
        elif path.is_file():
            files.append(path)
            explicit.add(path)
        elif any(ch in text for ch in "*?["):
            matched = sorted(Path(p) for p in globlib.glob(text, recursive=True))
            matched = [p for p in matched if p.is_file()]
            if not matched:
                raise ExportReadError(
                    text, "the pattern matches no file.", hint="check the folder and the pattern."
                )
            files.extend(matched)
            explicit.update(matched)
        else:
            raise ExportReadError(
                text,
                "no such file or folder.",
                hint=f"check the path; relative paths start at the current folder ({Path.cwd()}).",
            )
    if not files:
        raise ExportReadError(
            os.fspath(items[0]) if isinstance(items, list) and items else "",
            "no export file found.",
            hint="point load() at CSV, CSV.gz, JSON or Parquet exports.",
        )
    # keep order, drop exact duplicates of the same path (a folder and a file inside it)
    seen: set[Path] = set()
    unique = [p for p in files if not (p.resolve() in seen or seen.add(p.resolve()))]  # type: ignore[func-returns-value]
    return unique, skipped, explicit


def _suffix(p: Path) -> str:
    return p.suffix.lower()


def _sniff(head: bytes) -> Format:
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    return "csv"


# --------------------------------------------------------------------------- readers


class _Raw(NamedTuple):
    frame: pl.DataFrame  # every column String, plus __record (0-based record index)
    rejected: list[dict[str, Any]]  # structural rejections: record, line, reason
    rows_read: int
    line_of: dict[int, int]  # record -> first line, where known
    repaired: int = 0  # records whose bytes that are not UTF-8 became U+FFFD


def _text_stream(path: Path, src: Path | None, errors: str = "strict") -> IO[str]:
    raw: IO[bytes] = (src or path).open("rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors=errors, newline="")


# what a decoded string holds that UTF-8 (polars, Parquet) cannot: a byte that is not UTF-8 (the
# CSV reader's surrogateescape gives U+DC80..U+DCFF) or a lone UTF-16 surrogate escape of the JSON
# ("\ud83d", half an emoji cut by a partner's truncated response body)
_NOT_TEXT = re.compile("[\ud800-\udfff]")


def _to_text(values: list[Any]) -> int:
    """Replace in place what is not text by U+FFFD (one per code unit); return how many of the
    values had some (``None`` values are left as they are)."""
    repaired = 0
    for j, v in enumerate(values):
        if v is not None and _NOT_TEXT.search(v):
            values[j] = _NOT_TEXT.sub("\ufffd", v)
            repaired += 1
    return repaired


MAX_REPAIRED_SHARE = 0.1
"""Above this share of records with bytes that are not UTF-8, a CSV file is taken for another
encoding and refused (rather than kept with most of its text replaced)."""


def _read_csv_strict(path: Path, src: Path | None) -> _Raw:
    """Record-by-record reading that knows every record's line and rejects malformed ones."""
    rejected: list[dict[str, Any]] = []
    good: list[list[str]] = []
    records: list[int] = []
    line_of: dict[int, int] = {}
    repaired = 0
    # a byte that is not UTF-8 (a partner's body in another encoding) is escaped, then kept as
    # U+FFFD and counted; a header that is not UTF-8 means the whole file is in another encoding
    with _text_stream(path, src, errors="surrogateescape") as fh:
        reader = csv.reader(fh, strict=False)
        try:
            header = next(reader)
        except StopIteration:
            raise ExportReadError(path, "the file is empty.") from None
        if any(_NOT_TEXT.search(name) for name in header):
            raise ExportReadError(
                path,
                "the file is not UTF-8 text.",
                found="the header line has bytes that are not UTF-8",
                hint="export again as UTF-8 CSV.",
            )
        width = len(header)
        prev_end = reader.line_num
        index = -1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                index += 1
                rejected.append(
                    {"record": index, "line": prev_end + 1, "reason": f"unreadable record: {exc}"}
                )
                break
            index += 1
            start = prev_end + 1
            prev_end = reader.line_num
            line_of[index] = start
            if _to_text(row):
                repaired += 1
            if len(row) != width:
                span = f"lines {start}-{prev_end}" if prev_end > start else f"line {start}"
                reason = f"has {len(row)} fields, the header has {width}"
                if prev_end - start > 50:
                    reason += f" (an unterminated quote swallowed {span})"
                rejected.append({"record": index, "line": start, "reason": reason})
                continue
            good.append(row)
            records.append(index)
    frame = pl.DataFrame(
        {name: [r[i] for r in good] for i, name in enumerate(_dedupe(header))},
        schema={name: pl.String for name in _dedupe(header)},
    ).with_columns(
        pl.Series(_RECORD, records, dtype=pl.Int64),
        pl.all().exclude(_RECORD).replace("", None) if good else pl.all(),
    )
    if repaired > MAX_REPAIRED_SHARE * (index + 1):
        raise ExportReadError(
            path,
            "the file is not UTF-8 text.",
            found=f"{repaired:,} of {index + 1:,} records have bytes that are not UTF-8",
            hint="export again as UTF-8 CSV.",
        )
    return _Raw(frame, rejected, index + 1, line_of, repaired)


def _dedupe(names: list[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        name = n.strip()
        k, base = 1, name
        while name in out:
            k += 1
            name = f"{base}_{k}"
        out.append(name)
    return out


def _json_scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


_JSON_BATCH = 50_000  # records per intermediate frame: bounds the memory of the JSON reader
_JSON_BATCH_CHARS = 64 << 20  # ... and characters of JSON text per frame (long bodies)
_JSON_CHUNK = jsonstream.CHUNK  # characters read at a time


class _JsonRaw(NamedTuple):
    parts: list[Path]  # the records as String columns + __record, one Parquet file per batch
    columns: list[str]  # every key, in the order of its first record
    rejected: list[dict[str, Any]]  # records that are not objects
    rows_read: int
    repaired: int = 0  # values whose lone UTF-16 surrogates became U+FFFD


def _read_json(path: Path, src: Path | None, tmp: Path, batch: int) -> _JsonRaw:
    """The Logs API JSON: ``{"data": [{...}, ...]}``; every number is kept as its exact text.

    The records are read one by one (:mod:`postback_kit.jsonstream`) and written ``batch`` at a
    time (or fewer: ``_JSON_BATCH_CHARS`` of text) as String columns into Parquet files in the
    folder ``tmp``: memory holds one batch."""
    names: dict[str, None] = {}
    rejected: list[dict[str, Any]] = []
    parts: list[Path] = []
    cols: dict[str, list[str | None]] = {}
    idx: list[int] = []
    count = start = repaired = 0

    def flush() -> None:
        nonlocal start, repaired
        start = reader.position
        if not idx:
            return
        schema = {**dict.fromkeys(cols, pl.String), _RECORD: pl.Int64}
        try:
            frame = pl.DataFrame({**cols, _RECORD: idx}, schema=schema)
        except UnicodeEncodeError:  # only then are the values searched (rare, costly)
            repaired += sum(_to_text(values) for values in cols.values())
            frame = pl.DataFrame({**cols, _RECORD: idx}, schema=schema)
        frame = frame.with_columns(pl.exclude(_RECORD).replace("", None))
        target = tmp / f"{len(parts)}.parquet"
        frame.write_parquet(target, compression="lz4", statistics=False)
        parts.append(target)
        cols.clear()
        idx.clear()

    try:
        with _text_stream(path, src) as fh:
            reader = jsonstream.Records(fh, _JSON_CHUNK)
            for rec in reader:
                if rec is jsonstream.RESTART:  # a (second) "data": the last one counts
                    for p in parts:
                        p.unlink()
                    for kept in (names, rejected, parts, cols, idx):
                        kept.clear()
                    count = repaired = 0
                    continue
                i, count = count, count + 1
                if not isinstance(rec, dict):
                    reason = f"record is a {type(rec).__name__}, not an object"
                    rejected.append({"record": i, "line": None, "reason": reason})
                    continue
                n = len(idx)
                for k, v in rec.items():
                    col = cols.get(k)
                    if col is None:
                        col = cols[k] = [None] * n
                        names.setdefault(k, None)
                    col.append(v if type(v) is str else _json_scalar(v))
                idx.append(i)
                if len(rec) != len(cols):  # keys of earlier records that this one lacks
                    for col in cols.values():
                        if len(col) == n:
                            col.append(None)
                if n + 1 >= batch or reader.position - start >= _JSON_BATCH_CHARS:
                    flush()
            flush()
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, jsonstream.NoDataList):
            raise ExportReadError(
                path,
                'this JSON is not a postback export (no "data" list).',
                found=exc.found,
                hint='the Logs API answers {"data": [...]}.',
            ) from None
        raise ExportReadError(
            path,
            "the file is not valid JSON.",
            found=str(exc)[:200],
            hint="a truncated download is the usual cause: export again.",
        ) from None
    return _JsonRaw(parts, list(names), rejected, count, repaired)


def _stream_json(
    path: Path,
    src: Path | None,
    tz: str | None,
    report: LoadReport,
    explicit: bool,
    part: Path | None,
) -> _Read | None:
    """The Logs API JSON, read in batches of records into temporary Parquet files (next to the
    cache part, or in the temporary folder), then typed by the streaming engine into ``part``
    (or a frame without a cache), like a plain CSV file (``_stream_csv``)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=part.parent if part else None))
    try:
        raw = _read_json(path, src, tmp, _JSON_BATCH)
        if not _is_export(path, raw.columns, report, explicit):
            return None
        # a key that only later records have is a column: the union of the batches' columns
        lf = pl.concat([pl.scan_parquet(p) for p in raw.parts], how="diagonal").select(
            *raw.columns, _RECORD
        )
        offset = _offset(path, lf, tz, report)
        typed = _typed(lf, tz, offset)
        frame, _, rows, n_bad = _sink_typed(typed, part, drop=(_RECORD,))
        rejected = list(raw.rejected)
        if n_bad:
            bad = (typed if frame is None else frame.lazy()).filter(pl.col(_PROBLEM).is_not_null())
            for rec, reason in (
                bad.select(_RECORD, _PROBLEM).collect(engine="streaming").iter_rows()
            ):
                rejected.append({"record": rec, "line": None, "reason": reason})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _file_report(
        report, path, "json", src is not None, raw.rows_read, rows - n_bad, rejected, raw.columns
    )
    if raw.repaired:
        report.notes.append(
            f"{path.name}: {raw.repaired:,} value(s) held a lone UTF-16 surrogate escape (such as "
            "half of an emoji cut by a truncated response body), which is not text: each was "
            "kept with U+FFFD (\ufffd) in its place"
        )
    return _streamed(frame, part, n_bad, drop=(_RECORD,))


def _read_parquet(path: Path, src: Path | None = None) -> _Raw:
    try:
        df = pl.read_parquet(src or path)
    except pl.exceptions.PolarsError as exc:
        raise ExportReadError(
            path,
            "the Parquet file cannot be read.",
            found=str(exc)[:200],
            hint="write it again; a partial copy is the usual cause.",
        ) from None
    df = df.with_row_index(_RECORD).with_columns(pl.col(_RECORD).cast(pl.Int64))
    return _Raw(df, [], df.height, {})


# --------------------------------------------------------------------------- typing


def _typed(df: Frame, tz: str | None, offset_s: int) -> Frame:
    """Cast string columns to the canonical types; rows with values that do not parse get a
    reason in ``__problem`` instead of a silently wrong value. Lazy in, lazy out (the streaming
    engine runs it file by file)."""
    exprs: list[pl.Expr] = []
    problems: list[pl.Expr] = []
    schema = df.collect_schema()
    for name in schema.names():
        f = field_of(name)
        if name == _RECORD:
            continue
        if f is None:  # unknown column: kept as text, empty is null as everywhere
            if schema[name] == pl.String:
                exprs.append(
                    pl.when(pl.col(name).str.len_bytes() > 0).then(pl.col(name)).alias(name)
                )
            continue
        col = pl.col(name)
        if schema[name] == f.dtype and f.dtype != pl.String:
            continue
        if schema[name] != pl.String:
            col = col.cast(pl.String)
        stripped = col.str.strip_chars()
        raw = pl.when(stripped.str.len_bytes() > 0).then(stripped)  # quoted "" is empty too
        if f.kind == "code":
            value = raw.cast(pl.Int32, strict=False)
            bad = raw.is_not_null() & value.is_null()
            exprs.append(pl.when(value != 0).then(value).alias(name))
            problems.append(
                pl.when(bad).then(pl.format(f"{name}={{}} is not an integer", col.str.slice(0, 40)))
            )
        elif f.kind == "timestamp":
            secs = raw.cast(pl.Int64, strict=False)
            bad = raw.is_not_null() & secs.is_null()
            ts = pl.from_epoch(pl.when(secs != 0).then(secs), time_unit="s")
            exprs.append(ts.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(name))
            problems.append(
                pl.when(bad).then(
                    pl.format(f"{name}={{}} is not Unix seconds", col.str.slice(0, 40))
                )
            )
        elif f.kind == "datetime":
            naive = raw.str.to_datetime(_DATETIME_FORMAT, strict=False, time_unit="us")
            bad = raw.is_not_null() & naive.is_null()
            if tz is not None:
                aware = naive.dt.replace_time_zone(
                    tz, ambiguous="earliest", non_existent="null"
                ).dt.convert_time_zone("UTC")
            else:
                aware = (naive - pl.duration(seconds=offset_s)).dt.replace_time_zone("UTC")
            exprs.append(aware.alias(name))
            problems.append(
                pl.when(bad).then(
                    pl.format(f"{name}={{}} is not yyyy-mm-dd hh:mm:ss", col.str.slice(0, 40))
                )
            )
        elif f.kind == "category":
            exprs.append(pl.when(col.str.len_bytes() > 0).then(col).cast(pl.Categorical))
        else:
            exprs.append(pl.when(col.str.len_bytes() > 0).then(col).alias(name))
    problem = (
        pl.concat_str(problems, separator="; ", ignore_nulls=True) if problems else pl.lit(None)
    )
    out = df.with_columns(*exprs, pl.when(problem != "").then(problem).alias(_PROBLEM))
    # unknown columns stay text; derive a missing *_timestamp from its *_datetime
    names = schema.names()
    for prefix in ("attempt", "conversion", "install", "click"):
        ts_name, dt_name = f"{prefix}_timestamp", f"{prefix}_datetime"
        if ts_name not in names and dt_name in names:
            out = out.with_columns(pl.col(dt_name).alias(ts_name))
    return out


def _infer_offset(df: pl.DataFrame | pl.LazyFrame) -> tuple[int, str] | None:
    """Infer the fixed UTC offset of ``*_datetime`` from ``*_timestamp`` pairs, to 15 minutes."""
    columns = df.collect_schema().names()
    for prefix in ("attempt", "conversion", "install", "click"):
        ts, dt = f"{prefix}_timestamp", f"{prefix}_datetime"
        if ts in columns and dt in columns:
            pair = (
                df.lazy()
                .select(
                    secs=pl.col(ts).cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False),
                    naive=pl.col(dt)
                    .cast(pl.String)
                    .str.strip_chars()
                    .str.to_datetime(_DATETIME_FORMAT, strict=False, time_unit="us"),
                )
                .drop_nulls()
                .filter(pl.col("secs") > 0)
                .head(10_000)
                .collect()
            )
            if pair.height == 0:
                continue
            diff = pair.select((pl.col("naive").dt.epoch("s") - pl.col("secs")).median()).item()
            offset = round(diff / 900.0) * 900
            return offset, f"{dt} is read as UTC{_fmt_offset(offset)}, inferred from {ts}"
    return None


def _fmt_offset(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    h, m = divmod(abs(seconds) // 60, 60)
    return f"{sign}{h:02d}:{m:02d}"


# --------------------------------------------------------------------------- one file


class _Read(NamedTuple):
    frame: pl.LazyFrame  # the file's typed, accepted rows
    part: dict[str, Any] | None  # its Parquet part in the cache: {"file", "problem", "rejected"}


def _read_file(
    path: Path, tz: str | None, report: LoadReport, explicit: bool, part: Path | None
) -> _Read | None:
    """Read, type and check one file; with ``part``, write its typed rows there (the cache).

    A plain CSV file is scanned and typed by the streaming engine straight into ``part`` (or a
    frame without a cache): the text of the whole file is never in memory. The Logs API JSON is
    read record by record, in batches (``_stream_json``). A gzip file is first decompressed by
    streaming into a temporary file (next to ``part``, or in the temporary folder), which is
    then read as a plain file and deleted. Parquet and CSV that polars cannot parse (extra
    fields, broken quotes) are read whole.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise ExportReadError(
            path,
            "the file cannot be opened.",
            found=exc.strerror,
            hint="check that it exists and is readable.",
        ) from None
    if head[:2] != b"\x1f\x8b":
        return _read_plain(path, None, head, tz, report, explicit, part)
    src = _gunzip(path, part.parent if part is not None else None)
    try:
        with src.open("rb") as fh:
            head = fh.read(4096)
        return _read_plain(path, src, head, tz, report, explicit, part)
    finally:
        src.unlink(missing_ok=True)


_GUNZIP_CHUNK = 1 << 20


def _gunzip(path: Path, folder: Path | None) -> Path:
    """Decompress the gzip file ``path`` by streaming into a temporary file in ``folder`` (or the
    temporary folder); the caller deletes it. A damaged or truncated file is an ExportReadError
    (a gzip file ends with the length and checksum of its data: both are checked)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".gunzip", dir=folder)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as gz:
            while True:
                try:
                    chunk = gz.read(_GUNZIP_CHUNK)
                except (OSError, EOFError, zlib.error) as exc:
                    raise ExportReadError(
                        path,
                        "the gzip file is damaged or truncated.",
                        found=str(exc),
                        hint="download the export again.",
                    ) from None
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise ExportReadError(
                        path,
                        "the gzip file cannot be decompressed to a temporary file.",
                        found=f"{exc.strerror} ({tmp.parent})",
                        hint="free disk space there, or load with cache= a folder on a "
                        "larger disk (the file is decompressed next to the cache).",
                    ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _read_plain(
    path: Path,
    src: Path | None,
    head: bytes,
    tz: str | None,
    report: LoadReport,
    explicit: bool,
    part: Path | None,
) -> _Read | None:
    """``_read_file`` of an uncompressed file: ``src`` is the decompressed copy of ``path``
    (None: ``path`` itself is plain); reports and errors name ``path``."""
    compressed = src is not None
    if not head.strip():
        if explicit:
            raise ExportReadError(
                path,
                "the file is empty.",
                hint="export again; an export has at least a header line.",
            )
        report.skipped.append({"file": str(path), "reason": "empty file"})
        return None
    fmt = _sniff(head)
    if fmt == "csv":
        try:
            return _stream_csv(path, tz, report, explicit, part, src)
        except _NotParsable:
            pass  # the strict reader below finds the damaged records
    elif fmt == "json":
        return _stream_json(path, src, tz, report, explicit, part)
    # a CSV file here is one polars could not parse (_NotParsable): record by record
    raw = _read_parquet(path, src) if fmt == "parquet" else _read_csv_strict(path, src)

    columns = [c for c in raw.frame.columns if c != _RECORD]
    if not _is_export(path, columns, report, explicit):
        return None
    offset = _offset(path, raw.frame, tz, report)
    typed = _typed(raw.frame, tz, offset)
    bad = typed.filter(pl.col(_PROBLEM).is_not_null())
    good = typed.filter(pl.col(_PROBLEM).is_null()).drop(_PROBLEM, _RECORD)

    rejected = list(raw.rejected)
    if bad.height:
        for rec, reason in bad.select(_RECORD, _PROBLEM).iter_rows():
            rejected.append({"record": rec, "line": raw.line_of.get(rec), "reason": reason})
    _file_report(report, path, fmt, compressed, raw.rows_read, good.height, rejected, columns)
    if raw.repaired:
        report.notes.append(
            f"{path.name}: {raw.repaired:,} record(s) held bytes that are not UTF-8 (a partner's "
            "response in another encoding?): each such byte was kept as U+FFFD (\ufffd)"
        )
    if part is None:
        return _Read(good.lazy(), None)
    cachelib.atomic_write(part, lambda p: good.write_parquet(p, statistics=True))
    info = {"file": part.name, "problem": False, "rejected": 0}
    return _Read(_scan_part(part.parent, info), info)


class _NotParsable(Exception):
    """polars cannot parse this CSV file (extra fields, broken quotes)."""


def _stream_csv(
    path: Path,
    tz: str | None,
    report: LoadReport,
    explicit: bool,
    part: Path | None,
    src: Path | None = None,
) -> _Read | None:
    """The fast path of a plain CSV file: scan → type → sink the part (streaming engine).

    The part keeps every row with its ``__problem`` (null when the row is good); the rejected
    rows are read back from it (their position is their record number), and the frame of the
    file filters them out. Raises ``_NotParsable`` when polars cannot parse the file."""
    try:
        lf = pl.scan_csv(src or path, infer_schema=False, raise_if_empty=False)
        columns = lf.collect_schema().names()
        sample = lf.head(10_000).collect()
    except pl.exceptions.PolarsError as exc:
        raise _NotParsable from exc
    if not columns or (len(columns) == 1 and not columns[0].strip() and sample.height == 0):
        raise ExportReadError(
            path,
            "the file is empty.",
            hint="export again; an export always has a header line with the field names.",
        )
    if not _is_export(path, columns, report, explicit):
        return None
    offset = _offset(path, sample, tz, report)
    typed = _typed(lf, tz, offset)
    try:
        frame, counted, rows, n_bad = _sink_typed(typed, part)
    except pl.exceptions.PolarsError as exc:
        raise _NotParsable from exc
    rejected: list[dict[str, Any]] = []
    if n_bad:
        bad = (
            counted.with_row_index(_RECORD)
            .filter(pl.col(_PROBLEM).is_not_null())
            .select(pl.col(_RECORD).cast(pl.Int64), _PROBLEM)
            .collect()
        )
        line_of = _record_lines(path, src, bad[_RECORD].to_list())
        rejected = [
            {"record": rec, "line": line_of.get(rec), "reason": reason}
            for rec, reason in bad.iter_rows()
        ]
    _file_report(report, path, "csv", src is not None, rows, rows - n_bad, rejected, columns)
    return _streamed(frame, part, n_bad)


def _sink_typed(
    typed: pl.LazyFrame, part: Path | None, drop: tuple[str, ...] = ()
) -> tuple[pl.DataFrame | None, pl.LazyFrame, int, int]:
    """Sink the typed rows (with their ``__problem``) into the cache ``part`` with the streaming
    engine, or collect them when there is no cache (the frame is returned, else None); return
    what was written as a LazyFrame too, with the count of rows and of rejected ones."""
    if part is not None:
        cachelib.atomic_write(part, lambda p: typed.drop(*drop).sink_parquet(p, statistics=True))
        frame, counted = None, pl.scan_parquet(part)
    else:
        frame = typed.collect(engine="streaming")
        counted = frame.lazy()
    rows, n_bad = counted.select(pl.len(), pl.col(_PROBLEM).is_not_null().sum()).collect().row(0)
    return frame, counted, rows, n_bad


def _streamed(
    frame: pl.DataFrame | None, part: Path | None, n_bad: int, drop: tuple[str, ...] = ()
) -> _Read:
    """What a streamed file gives: the accepted rows of ``frame`` (no cache), else of its part."""
    if frame is not None:
        good = frame.filter(pl.col(_PROBLEM).is_null()) if n_bad else frame
        return _Read(good.drop(_PROBLEM, *drop).lazy(), None)
    assert part is not None
    info = {"file": part.name, "problem": True, "rejected": n_bad}
    return _Read(_scan_part(part.parent, info), info)


def _scan_part(root: Path, info: dict[str, Any]) -> pl.LazyFrame:
    """The accepted rows of one cached part (see ``_stream_csv``)."""
    frame = pl.scan_parquet(root / info["file"])
    if info.get("problem"):
        if info.get("rejected"):
            frame = frame.filter(pl.col(_PROBLEM).is_null())
        frame = frame.drop(_PROBLEM)
    return frame


def _is_export(path: Path, columns: list[str], report: LoadReport, explicit: bool) -> bool:
    if any(c in FIELD_NAMES for c in columns):
        return True
    cols = ", ".join(columns)[:200]
    reason = "no documented postback field among its columns"
    if explicit:
        raise ExportReadError(
            path,
            f"this is not a postback export: {reason}.",
            found=f"columns: {cols}",
            hint="export with fields such as tracking_id, response_code, "
            "response_body, attempt_timestamp.",
        )
    report.skipped.append({"file": str(path), "reason": reason})
    return False


def _offset(
    path: Path, frame: pl.DataFrame | pl.LazyFrame, tz: str | None, report: LoadReport
) -> int:
    """The fixed UTC offset of ``*_datetime`` (0 with ``timezone=``); notes what was assumed."""
    if tz is not None:
        return 0
    inferred = _infer_offset(frame)
    if inferred:
        offset, note = inferred
        if offset:
            report.notes.append(f"{path.name}: {note}")
        return offset
    columns = frame.collect_schema().names()
    if any(field_of(c) and field_of(c).kind == "datetime" for c in columns):  # type: ignore[union-attr]
        report.notes.append(
            f"{path.name}: *_datetime read as UTC (no *_timestamp to infer "
            "the app's time zone from; pass timezone=)"
        )
    return 0


def _file_report(
    report: LoadReport,
    path: Path,
    fmt: str,
    compressed: bool,
    rows_read: int,
    rows_loaded: int,
    rejected: list[dict[str, Any]],
    columns: list[str],
) -> None:
    rejected.sort(key=lambda r: r["record"])
    for r in rejected:
        if len(report.rejected) < _MAX_EXAMPLES:
            report.rejected.append({"file": str(path), **r})
    report.files.append(
        FileReport(
            path=str(path),
            format=fmt,
            compressed=compressed,
            rows_read=rows_read,
            rows_loaded=rows_loaded,
            rows_rejected=len(rejected),
            columns=columns,
        )
    )


def _record_lines(path: Path, src: Path | None, records: list[int]) -> dict[int, int]:
    """First line of each wanted CSV record (1-based, header = line 1); read only when needed."""
    want = set(records)
    last = max(want)
    out: dict[int, int] = {}
    with _text_stream(path, src) as fh:
        reader = csv.reader(fh, strict=False)
        next(reader, None)
        prev_end = reader.line_num
        for index, _row in enumerate(reader):
            if index in want:
                out[index] = prev_end + 1
            prev_end = reader.line_num
            if index >= last:
                break
    return out


# --------------------------------------------------------------------------- load


def _canonical_order(columns: list[str]) -> list[str]:
    known = [f.name for f in FIELDS if f.name in columns]
    return known + [c for c in columns if c not in known]


@overload
def load(
    source: Source,
    *,
    report: Literal[False] = ...,
    timezone: str | None = ...,
    cache: bool | str | os.PathLike[str] | None = ...,
    progress: bool | None = ...,
) -> pl.LazyFrame: ...
@overload
def load(
    source: Source,
    *,
    report: Literal[True],
    timezone: str | None = ...,
    cache: bool | str | os.PathLike[str] | None = ...,
    progress: bool | None = ...,
) -> LoadResult: ...


def load(
    source: Source,
    *,
    report: bool = False,
    timezone: str | None = None,
    cache: bool | str | os.PathLike[str] | None = True,
    progress: bool | None = None,
) -> pl.LazyFrame | LoadResult:
    """Load a postback export into the canonical attempt table (a ``polars.LazyFrame``).

    Parameters
    ----------
    source
        A file, a folder (every export file below it), a glob, or a list of them. CSV, CSV.gz,
        the Logs API JSON and Parquet are recognised by their content.
    report
        Also return a :class:`LoadReport` (files, rows, rejected rows, columns).
    timezone
        Time zone of the ``*_datetime`` fields (the application's time zone in AppMetrica), e.g.
        ``"Europe/Moscow"``. By default it is inferred from ``*_timestamp`` pairs as a fixed
        offset, or taken as UTC.
    cache
        ``True``: keep typed Parquet in ``$POSTBACK_KIT_CACHE_DIR`` (default
        ``~/.cache/postback-kit``), keyed by the files' content, so the next open is fast; a
        folder: keep it there; ``False``: hold the frame in memory only. The cache holds one
        Parquet part per file, written by polars' streaming engine as the file is parsed, so
        loading an export larger than memory is bounded by one file's batches; the frame
        returned scans the parts.
    progress
        Show a progress bar over files (default: when there are several files or over 50 MB).
    """
    files, skipped, explicit = _resolve(source)
    root = cachelib.cache_dir(cache)
    if root is not None:
        cachelib.sweep(root)
    options = f"tz={timezone}"
    key = cachelib.export_key(files, options, root) if root else None
    if root and key:
        report_path = root / f"{key}.report.json"
        cached = _cached(root, report_path)
        if cached is not None:
            rep, frame = cached
            _warn_rejections(rep)
            cachelib.remember(frame, root, key)
            return LoadResult(frame, rep) if report else frame

    rep = LoadReport(skipped=list(skipped))
    frames: list[pl.LazyFrame] = []
    parts: list[dict[str, Any]] = []
    total = sum(p.stat().st_size for p in files)
    show = progress if progress is not None else (len(files) > 3 or total > 50_000_000)
    iterator: Iterable[Path] = files
    if show:
        from tqdm.auto import tqdm

        iterator = tqdm(files, desc="loading export", unit="file")
    for path in iterator:
        part = root / f"{key}.{len(parts)}.parquet" if root and key else None
        read = _read_file(path, timezone, rep, path in explicit, part)
        if read is not None:
            frames.append(read.frame)
            if read.part is not None:
                parts.append(read.part)
    if not frames:
        raise ExportReadError(
            os.fspath(files[0]),
            "none of the files is a postback export.",
            found="; ".join(f"{s['file']}: {s['reason']}" for s in rep.skipped),
            hint="point load() at the export files themselves.",
        )
    frame = _combined(frames)
    rep.columns = frame.collect_schema().names()
    rep.missing = [n for n in FIELD_NAMES if n not in rep.columns]
    rep.unknown = [c for c in rep.columns if c not in FIELD_NAMES]
    _warn_rejections(rep)

    if root and key:
        # the report is written last: a cache entry without it is incomplete and not used
        stored = {**rep.to_dict(), "parts": parts}
        cachelib.atomic_write(
            root / f"{key}.report.json",
            lambda p: p.write_text(json.dumps(stored, ensure_ascii=False), "utf-8"),
        )
        cachelib.remember(frame, root, key)
    return LoadResult(frame, rep) if report else frame


def _combined(frames: list[pl.LazyFrame]) -> pl.LazyFrame:
    """The files' frames as one, documented fields first in their documented order."""
    combined = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    return combined.select(_canonical_order(combined.collect_schema().names()))


def _cached(root: Path, report_path: Path) -> tuple[LoadReport, pl.LazyFrame] | None:
    """The report and the frame of a complete cache entry (its Parquet parts), or None."""
    if not report_path.exists():
        return None
    try:
        stored = json.loads(report_path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    parts = stored.get("parts")
    if not parts or not all((root / p["file"]).exists() for p in parts):
        return None
    rep = LoadReport.from_dict(stored)
    rep.from_cache = True
    cachelib.touch(report_path)  # used now: `postback-kit cache --clear --older-than` keeps it
    return rep, _combined([_scan_part(root, p) for p in parts])


def _warn_rejections(rep: LoadReport) -> None:
    if rep.rows_rejected:
        first = rep.rejected[0]
        warnings.warn(
            f"{rep.rows_rejected:,} of {rep.rows_read:,} rows could not be read and are not in "
            f"the frame; first: {first['file']}:{first['line']} ({first['reason']}). "
            "Call load(..., report=True) for the list.",
            LoadWarning,
            stacklevel=3,
        )
