"""Seeded generator of realistic AppMetrica postback exports with planted faults.

>>> from postback_kit import samples
>>> sample = samples.generate(2_000, seed=7)
>>> sample.frame.height >= 2_000
True
>>> [f["id"] for f in sample.truth["faults"]][:3]
['malformed-click-id', 'partner-5xx-bursts', 'timeout-outage']
>>> samples.write_sample("data/samples", 24_000, seed=7, gzip=True)  # doctest: +SKIP

``generate`` simulates one application's postbacks for a week: users click an ad of one of ten
trackers, install the app and send events; AppMetrica sends a postback per conversion to the
tracker's partner and retries a failed one as new export rows with the same ``postback_url``.
Each fault of :data:`DEFAULT_FAULTS` is planted on its own tracker; one tracker has none. The
ground truth (``Sample.truth``, ``data/samples/ground_truth.json``) says what was planted, in the
format of ``docs/architecture.md``, "Ground truth of the samples", plus what the generator
produced (``attempts``, ``postbacks``, ``first_seen``, ...).

- ``scenario.py``: the trackers and the faults, as data (what is planted and why);
- ``engine.py``: the vectorised simulation (numpy and polars, no per-row Python).

Simplifications, on purpose:

- AppMetrica retries a failed postback every 5-10 minutes for up to 24 hours. Permanently failing
  postbacks would then be hundreds of rows each; :class:`RetryPolicy` stops after
  ``max_attempts`` (24 by default, about three hours). ``RetryPolicy(max_attempts=None)``
  gives the full schedule.
- The platform counts only ``200`` as sent (the newer AppMetrica docs): a ``204`` partner gets
  the same postback again and again (the ``no-content-204`` fault).
- An export of a date range holds the postbacks whose conversion falls in it, with all their
  attempts, in event-time order with each postback's attempts together; ``Sample.write_csv``
  writes one file per conversion day in the app's time zone.
"""

from __future__ import annotations

import contextlib
import gzip as gziplib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal, cast

import polars as pl

from ..errors import ConfigError
from . import engine
from .scenario import (
    DEFAULT_FAULTS,
    TIMEZONE,
    TRACKERS,
    At,
    Bursts,
    Fault,
    Hit,
    Postback,
    Response,
    RetryPolicy,
    Tracker,
)

__all__ = [
    "DEFAULT_FAULTS",
    "TIMEZONE",
    "TRACKERS",
    "At",
    "Bursts",
    "Fault",
    "Hit",
    "Postback",
    "Response",
    "RetryPolicy",
    "Sample",
    "Tracker",
    "generate",
    "write_sample",
]


def generate(
    attempts: int = 40_000,
    *,
    seed: int = 7,
    start: str | datetime = "2026-11-02",
    days: int = 7,
    faults: Literal["default"] | Sequence[Fault | str] = "default",
    retry: RetryPolicy | None = None,
) -> Sample:
    """Generate about ``attempts`` export rows and their ground truth.

    The frame has at least ``attempts`` rows, and at most one user's postbacks (a few dozen
    rows) more. ``start`` is local midnight in Europe/Moscow unless it carries a time zone; the
    export covers the conversions of ``days`` days from it. ``faults`` is ``"default"`` (all of
    :data:`DEFAULT_FAULTS`), or a list of faults or fault ids: a tracker without a fault is
    healthy. The same arguments always give the same sample.

    >>> s = generate(3_000, seed=1, faults=["timeout-outage"])
    >>> [f["id"] for f in s.truth["faults"]]
    ['timeout-outage']
    """
    if attempts < 1:
        raise ConfigError("attempts must be positive.", found=str(attempts))
    sc = engine.resolve(start, days, faults, retry or RetryPolicy(), seed)
    run = engine.run(sc, attempts, seed)
    frame = engine.export(engine.assemble(sc, run, seed))
    return Sample(frame, engine.truth(sc, run, seed=seed, requested=attempts))


@dataclass
class Sample:
    """A generated export and its ground truth.

    ``frame`` has every documented field plus ``attribution_touch_type``, all as the exported
    strings (``""`` where the export is empty): ``*_timestamp`` Unix seconds, ``*_datetime``
    ``yyyy-mm-dd hh:mm:ss`` in Europe/Moscow, an empty ``response_code`` for no answer.
    ``truth`` is the ground truth (see ``docs/architecture.md``).
    """

    frame: pl.DataFrame
    truth: dict[str, Any]

    def days(self) -> list[str]:
        """The conversion days of the export (``yyyy-mm-dd``, app time zone)."""
        return (
            self.frame.get_column("conversion_datetime").str.slice(0, 10).unique().sort().to_list()
        )

    def _parts(self, per_day: bool) -> list[tuple[str, pl.DataFrame]]:
        if not per_day:
            return [("postbacks", self.frame)]
        day = pl.col("conversion_datetime").str.slice(0, 10)
        return [(f"postbacks_{d}", self.frame.filter(day == d)) for d in self.days()]

    def write_csv(
        self,
        folder: str | os.PathLike[str],
        *,
        per_day: bool = True,
        gzip: bool = False,
        bom: bool = False,
    ) -> list[Path]:
        """Write the export as CSV into ``folder``: ``postbacks_YYYY-MM-DD.csv`` per conversion
        day (or one ``postbacks.csv``), optionally gzipped and with a UTF-8 byte order mark."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, part in self._parts(per_day):
            path = out / f"{name}.csv{'.gz' if gzip else ''}"
            with _output(path, gzip) as fh:
                if bom:
                    fh.write(b"\xef\xbb\xbf")
                for k, rows in enumerate(part.iter_slices(_SLICE)):
                    empty_as_null = rows.select(  # so that an empty value is written unquoted
                        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in rows.columns
                    )
                    empty_as_null.write_csv(fh, include_header=k == 0)
            paths.append(path)
        return paths

    def write_json(
        self, folder_or_file: str | os.PathLike[str], *, per_day: bool = False, gzip: bool = False
    ) -> list[Path]:
        """Write the export as the Logs API answers it: ``{"data": [{...}, ...]}``, every value a
        string. A path ending in ``.json`` (or ``.json.gz``, gzipped) is the file itself;
        otherwise it is a folder that gets ``postbacks.json`` (or one file per conversion
        day), gzipped with ``gzip=True``."""
        target = Path(folder_or_file)
        if target.name.endswith((".json", ".json.gz")):
            if per_day:
                raise ConfigError(
                    "write_json(per_day=True) needs a folder, not a file name.",
                    found=str(target),
                    hint="pass the folder the daily files should go to.",
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            files = [(target, self.frame)]
        else:
            target.mkdir(parents=True, exist_ok=True)
            suffix = ".json.gz" if gzip else ".json"
            files = [(target / f"{name}{suffix}", part) for name, part in self._parts(per_day)]
        for path, part in files:
            with _output(path, path.name.endswith(".gz")) as fh:
                fh.write(b'{"data":[')
                for k, rows in enumerate(part.iter_slices(_SLICE)):
                    fh.write(b"," if k else b"")
                    fh.write(rows.write_json().encode("utf-8")[1:-1])  # the objects of [...]
                fh.write(b"]}\n")
        return [p for p, _ in files]

    def write_truth(self, path: str | os.PathLike[str]) -> Path:
        """Write the ground truth as indented JSON."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.truth, ensure_ascii=False, indent=2) + "\n", "utf-8")
        return target


_SLICE = 200_000  # rows written at a time


@contextlib.contextmanager
def _output(path: Path, compress: bool) -> Iterator[IO[bytes]]:
    """A file to write to, gzipped without name or time in the header (same data, same bytes)."""
    with path.open("wb") as raw:
        if not compress:
            yield raw
            return
        with gziplib.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            yield cast(IO[bytes], gz)


def write_sample(
    folder: str | os.PathLike[str],
    attempts: int = 24_000,
    seed: int = 7,
    *,
    format: Literal["csv", "json", "both"] = "both",
    gzip: bool = False,
    **options: Any,
) -> Sample:
    """Generate a sample and write ``csv/`` (one file per day), ``json/postbacks.json`` and
    ``ground_truth.json`` into ``folder``. Earlier ``postbacks*`` files there are replaced.

    >>> write_sample("data/samples", 24_000, seed=7, gzip=True)   # doctest: +SKIP
    """
    sample = generate(attempts, seed=seed, **options)
    root = Path(folder)
    for sub, write in (("csv", format != "json"), ("json", format != "csv")):
        target = root / sub
        if target.is_dir():
            for old in target.glob("postbacks*"):
                old.unlink()
        if not write:
            continue
        if sub == "csv":
            sample.write_csv(target, per_day=True, gzip=gzip)
        else:
            sample.write_json(target / ("postbacks.json.gz" if gzip else "postbacks.json"))
    sample.write_truth(root / "ground_truth.json")
    return sample
