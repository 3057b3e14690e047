"""The Parquet cache of loaded exports, keyed by the files' content.

A second ``load`` of the same export reads typed Parquet instead of parsing CSV or JSON again.
The key is a digest of the files' bytes (never of their names or of anything secret); hashing a
large file once is remembered by (path, size, modification time) so that a warm open does not
read the files at all.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["cache_dir", "content_digest", "export_key"]

_MEMO_NAME = "digests.json"
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


def _memo(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / _MEMO_NAME).read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def content_digest(path: Path, root: Path | None = None) -> str:
    """BLAKE2b digest of a file's bytes, remembered per (path, size, mtime) under ``root``."""
    st = path.stat()
    stamp = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo = _memo(root) if root else {}
    if stamp in memo:
        return memo[stamp]
    h = hashlib.blake2b(digest_size=20)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    digest = h.hexdigest()
    if root is not None:
        memo[stamp] = digest
        tmp = root / f".{_MEMO_NAME}.{os.getpid()}"
        tmp.write_text(json.dumps(memo), "utf-8")
        tmp.replace(root / _MEMO_NAME)
    return digest


def export_key(paths: list[Path], options: str, root: Path | None) -> str:
    """Cache key of a whole export: its files' contents, in order, and the load options."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"v{FORMAT_VERSION}|{options}".encode())
    for p in paths:
        h.update(content_digest(p, root).encode())
    return h.hexdigest()
