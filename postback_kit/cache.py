"""The Parquet cache of loaded exports, keyed by the files' content.

A second ``load`` of the same export reads typed Parquet instead of parsing CSV or JSON again.
The key is a digest of the files' bytes (SHA-256; never of their names or of anything secret);
hashing a large file once is remembered by (path, size, modification time) so that a warm open
does not read the files at all.

The frame ``load`` returns is remembered with its cache entry (:func:`remember`,
:func:`origin`), so that ``diagnose`` given that very frame can keep its result next to it; a
frame derived from it (filtered, joined, collected) has no origin and is computed each time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Origin",
    "Usage",
    "atomic_write",
    "cache_dir",
    "clear",
    "code_digest",
    "content_digest",
    "dump_pickle",
    "export_key",
    "is_export_part",
    "origin",
    "read_pickle",
    "read_pickle_bytes",
    "remember",
    "sweep",
    "touch",
    "usage",
]

_MEMO_NAME = "digests.json"
_ALGORITHM = "sha256"  # in the memo's stamps: a digest of another algorithm is not reused
FORMAT_VERSION = "2"  # bump when the typed layout written to the cache changes (2: parts)


def cache_dir(cache: bool | str | os.PathLike[str] | None = True) -> Path | None:
    """Resolve the ``cache=`` argument of ``load`` to a folder, or None when caching is off."""
    if cache is False or cache is None:
        return None
    if cache is True:
        env = os.environ.get("POSTBACK_KIT_CACHE_DIR")
        if env:
            root = Path(env)
        else:
            base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            root = Path(base) / "postback-kit"
    else:
        root = Path(cache)
    root.mkdir(parents=True, exist_ok=True)
    return root


# what a load leaves while it works (tempfile's 8-character suffix): ``.<name>.XXXXXXXX`` (an
# atomic write, a folder of JSON batches) and ``.<name>.XXXXXXXX.gunzip`` (a decompressed file)
_LEFTOVER = re.compile(r"\..+\.[a-z0-9_]{8}(\.gunzip)?")
STALE_AFTER = 24 * 3600.0
"""Seconds after which a temporary file of an interrupted load is swept from the cache."""


def sweep(root: Path, older_than: float = STALE_AFTER) -> list[str]:
    """Remove what loads killed mid-way left in the cache folder ``root`` (temporary files and
    folders older than ``older_than`` seconds: a running load's are younger); return their names.

    ``load`` calls it on every run, so an interrupted load costs disk only until the next one.
    """
    removed: list[str] = []
    cutoff = time.time() - older_than
    for entry in root.iterdir():
        if not _LEFTOVER.fullmatch(entry.name):
            continue
        try:
            if entry.lstat().st_mtime > cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # gone already, or not ours to remove: the next sweep tries again
        removed.append(entry.name)
    return removed


def _memo(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / _MEMO_NAME).read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def atomic_write(target: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a hidden temporary file next to ``target``, then rename it to
    ``target``: a reader sees the old file or the whole new one, never a part (the temporary
    file is removed if ``write`` fails; :func:`sweep` removes it if the process was killed)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _save_memo(root: Path, memo: dict[str, str]) -> None:
    atomic_write(root / _MEMO_NAME, lambda p: p.write_text(json.dumps(memo), "utf-8"))


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{_ALGORITHM}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _digest(path: Path) -> str:
    # SHA-256: about 1.9 GB/s here (the CPU's SHA extensions) against 1.1 GB/s for BLAKE2b;
    # hashlib releases the GIL, so several files hash in parallel (export_key)
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def content_digest(path: Path, root: Path | None = None) -> str:
    """SHA-256 digest of a file's bytes, remembered per (path, size, mtime) under ``root``."""
    stamp = _stamp(path)
    memo = _memo(root) if root else {}
    if stamp in memo:
        return memo[stamp]
    digest = _digest(path)
    if root is not None:
        memo[stamp] = digest
        _save_memo(root, memo)
    return digest


def export_key(paths: list[Path], options: str, root: Path | None) -> str:
    """Cache key of a whole export: its files' contents, in order, and the load options.

    The files not remembered under ``root`` are hashed in parallel, one thread per core."""
    memo = _memo(root) if root else {}
    stamps = [_stamp(p) for p in paths]
    todo = {s: p for s, p in zip(stamps, paths, strict=True) if s not in memo}
    if todo:
        workers = max(1, min(len(todo), os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            memo.update(zip(todo, pool.map(_digest, todo.values()), strict=True))
        if root is not None:
            _save_memo(root, memo)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"v{FORMAT_VERSION}|{options}".encode())
    for stamp in stamps:
        h.update(memo[stamp].encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- size and cleaning

# what the cache folder holds: <key>.<n>.parquet and <key>.report.json (an export),
# <key>.diagnosis.* (a diagnosis); the entry's key is the name up to the first dot
_ENTRY = re.compile(r"(?P<key>[0-9a-f]{32})\.(?P<kind>diagnosis\.|report\.json$|\d+\.parquet$)")


@dataclass(frozen=True)
class Usage:
    """What a cache folder holds (:func:`usage`)."""

    root: Path
    exports: int
    export_bytes: int
    diagnoses: int
    diagnosis_bytes: int
    other_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.export_bytes + self.diagnosis_bytes + self.other_bytes

    def summary(self) -> str:
        def size(n: int) -> str:
            return f"{n / 2**20:,.1f} MiB"

        return (
            f"cache folder {self.root}: {size(self.total_bytes)}\n"
            f"  {self.exports} export(s) as Parquet: {size(self.export_bytes)}\n"
            f"  {self.diagnoses} diagnosis(es): {size(self.diagnosis_bytes)}\n"
            f"  other (digest memo, temporary files): {size(self.other_bytes)}"
        )


def is_export_part(name: str) -> bool:
    """Whether a file name of the cache folder is a Parquet part of an export (not a kept
    diagnosis)."""
    m = _ENTRY.match(name)
    return m is not None and m["kind"].endswith(".parquet")


def _entries(root: Path) -> dict[tuple[str, str], list[Path]]:
    """The folder's files by entry: (key, "export" or "diagnosis") -> files."""
    out: dict[tuple[str, str], list[Path]] = {}
    for path in root.iterdir():
        m = _ENTRY.match(path.name)
        if m and path.is_file():
            kind = "diagnosis" if m["kind"] == "diagnosis." else "export"
            out.setdefault((m["key"], kind), []).append(path)
    return out


def usage(root: Path) -> Usage:
    """Count and size what the cache folder ``root`` holds."""
    sizes = {"export": 0, "diagnosis": 0}
    counts = {"export": 0, "diagnosis": 0}
    listed: set[Path] = set()
    for (_key, kind), files in _entries(root).items():
        counts[kind] += 1
        sizes[kind] += sum(f.stat().st_size for f in files)
        listed.update(files)
    other = sum(p.stat().st_size for p in root.iterdir() if p.is_file() and p not in listed)
    return Usage(
        root, counts["export"], sizes["export"], counts["diagnosis"], sizes["diagnosis"], other
    )


def touch(path: Path) -> None:
    """Mark a cache entry as used now (its file's modification time: what :func:`clear`'s
    ``older_than`` reads); a read-only cache is left as it is."""
    with contextlib.suppress(OSError):
        os.utime(path)


def clear(root: Path, older_than: float | None = None) -> tuple[int, int]:
    """Remove the cache entries of ``root`` (exports and diagnoses) not used for ``older_than``
    seconds, or all of them (and the digest memo) when it is None; return (entries, bytes)
    removed. An entry is removed whole; temporary files go with :func:`sweep`."""
    cutoff = None if older_than is None else time.time() - older_than
    removed = freed = 0
    for files in _entries(root).values():
        if cutoff is not None and max(f.stat().st_mtime for f in files) > cutoff:
            continue
        for f in files:
            try:
                size = f.stat().st_size
                f.unlink()
            except OSError:
                continue
            freed += size
        removed += 1
    if older_than is None:
        memo = root / _MEMO_NAME
        if memo.exists():
            freed += memo.stat().st_size
            memo.unlink()
        sweep(root)
    return removed, freed


# --------------------------------------------------------------------------- frames' origin


@dataclass(frozen=True)
class Origin:
    """The cache entry a frame returned by ``load`` reads: the folder and the export's key."""

    root: Path
    key: str


# id(frame) -> (a weak reference to the frame, its origin); the entry goes with the frame
_ORIGINS: dict[int, tuple[weakref.ref[Any], Origin]] = {}


def remember(frame: Any, root: Path, key: str) -> None:
    """Note that ``frame`` (a ``LazyFrame`` made by ``load``) is the export cached as ``key``."""
    ident = id(frame)

    def forget(ref: weakref.ref[Any]) -> None:
        if _ORIGINS.get(ident, (None,))[0] is ref:
            del _ORIGINS[ident]

    _ORIGINS[ident] = (weakref.ref(frame, forget), Origin(root, key))


def origin(frame: Any) -> Origin | None:
    """The cache entry of ``frame`` if it is the very object ``load`` returned, else None."""
    entry = _ORIGINS.get(id(frame))
    return entry[1] if entry is not None and entry[0]() is frame else None


@functools.cache
def code_digest() -> str:
    """A digest of the package's code and built-in data files (``*.py``, ``*.toml``): a result
    cached by one version of the toolkit is never read by another."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".toml") and path.is_file():
            h.update(path.relative_to(package).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def dump_pickle(obj: Any) -> bytes:
    """Pickle ``obj`` for :func:`read_pickle`: time zones are written as ``ZoneInfo(key)`` (their
    own reduction goes through ``builtins.getattr``, which the reader refuses)."""
    import copyreg
    from zoneinfo import ZoneInfo

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[ZoneInfo] = lambda zone: (ZoneInfo, (zone.key,))
    pickler.dump(obj)
    return buffer.getvalue()


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, allowed: Collection[type]) -> None:
        super().__init__(file)
        self.allowed = {(c.__module__, c.__qualname__): c for c in allowed}

    def find_class(self, module: str, name: str) -> Any:
        # only the listed classes, by exact name: no function, no module attribute (a dotted
        # name such as "os.system" resolved through an allowed module is refused too)
        found = self.allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not expected in this cache file")
        return found


def read_pickle(path: Path, allowed: Collection[type]) -> Any:
    """Read a pickle written by the toolkit into its cache, refusing anything but the classes
    ``allowed`` (a file planted in the cache folder cannot run code)."""
    return read_pickle_bytes(path.read_bytes(), allowed)


def read_pickle_bytes(data: bytes, allowed: Collection[type]) -> Any:
    """:func:`read_pickle` of bytes in memory."""
    return _Unpickler(io.BytesIO(data), allowed).load()
