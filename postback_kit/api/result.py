"""The plain objects around a fetch: :class:`FetchPolicy` (timeouts, retries and clocks that go
in) and :class:`FetchResult` (the files that come out, a sequence ``load`` reads directly).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, overload

from .spans import _utc_today


@dataclass(frozen=True)
class FetchPolicy:
    """Timeouts, retries and clocks of :func:`fetch`; the defaults suit the real API.

    Tests and local servers inject ``sleep``/``clock``/``jitter``/``today``:

    >>> fake = FetchPolicy(sleep=lambda s: None, jitter=lambda: 0.5)
    """

    connect_timeout: float = 10.0
    """Seconds to open a connection."""
    read_timeout: float = 120.0
    """Seconds the server may stay silent, before the answer and between blocks of the body."""
    retries: int = 5
    """New attempts of one request after 5xx, timeouts, dropped or corrupt bodies."""
    backoff: float = 1.0
    """First wait before a retry; doubles each time, times a jitter factor in [0.5, 1]."""
    backoff_max: float = 60.0
    poll_growth: float = 1.5
    """Each wait after a 202 is this much longer than the one before..."""
    poll_max: float = 120.0
    """... up to this (or up to ``poll_interval`` when that is longer)."""
    queue_wait: float = 60.0
    """Wait after a 429 when the answer has no ``Retry-After``."""
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random
    today: Callable[[], date] = _utc_today
    """Today's date, for ``refetch_recent_days``."""


class FetchResult(Sequence[Path]):
    """The export files of one :func:`fetch`, in date order; ``load`` reads it directly.

    >>> result = fetch(1111, "2024-05-01", "2024-05-07", dest="exports")  # doctest: +SKIP
    >>> frame = load(result)                                            # doctest: +SKIP
    >>> result.fetched, result.reused                                   # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        application_id: str,
        since: date,
        until: date,
        dest: Path,
        files: Sequence[Path],
        fetched: Sequence[Path],
        reused: Sequence[Path],
        requests: int,
        bytes_downloaded: int,
    ) -> None:
        self.application_id = application_id
        self.since = since
        self.until = until
        self.dest = dest
        self.files: tuple[Path, ...] = tuple(files)
        self.fetched: tuple[Path, ...] = tuple(fetched)
        """Files downloaded by this run."""
        self.reused: tuple[Path, ...] = tuple(reused)
        """Files a previous run left complete, kept as they were."""
        self.requests = requests
        self.bytes_downloaded = bytes_downloaded

    def __len__(self) -> int:
        return len(self.files)

    @overload
    def __getitem__(self, index: int) -> Path: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Path]: ...
    def __getitem__(self, index: int | slice) -> Path | Sequence[Path]:
        return self.files[index]

    def __iter__(self) -> Iterator[Path]:
        return iter(self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "dest": str(self.dest),
            "files": [str(p) for p in self.files],
            "fetched": [str(p) for p in self.fetched],
            "reused": [str(p) for p in self.reused],
            "requests": self.requests,
            "bytes_downloaded": self.bytes_downloaded,
        }

    def summary(self) -> str:
        lines = [
            f"application {self.application_id}, {self.since} … {self.until}: "
            f"{len(self.files)} file(s) in {self.dest} ({len(self.fetched)} downloaded, "
            f"{len(self.reused)} reused), {self.requests} request(s), "
            f"{_human_bytes(self.bytes_downloaded)} downloaded"
        ]
        lines += [f"  {p.name}" + ("" if p in self.fetched else " (reused)") for p in self.files]
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        return (
            f"FetchResult(application_id={self.application_id!r}, since={self.since}, "
            f"until={self.until}, files={len(self.files)}, fetched={len(self.fetched)}, "
            f"reused={len(self.reused)}, dest={str(self.dest)!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FetchResult) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover
