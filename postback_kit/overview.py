"""The triage overview of a diagnosis: the tracker list, codes and time buckets per tracker.

Step 1 of the troubleshooting workflow (notebook 01) reads one export's trackers side by side,
then one tracker at a time. Everything a pick shows is aggregated here once per export, as plain
polars frames; :class:`postback_kit.ui.Triage` only filters and draws them.

>>> view = triage_overview(pk.diagnose(frame))        # doctest: +SKIP
>>> view.trackers.select("tracker", "share_request_error", "top_signatures")  # doctest: +SKIP
>>> view.codes_of("12345678901234567890")             # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from .diagnose import ISSUE_OUTCOMES
from .schema import require_columns
from .signatures import code_text
from .timeline import series_counts

if TYPE_CHECKING:
    from .diagnose import Diagnosis

__all__ = [
    "FAILING_CLASSES",
    "TriageOverview",
    "code_counts",
    "tracker_list",
    "triage_overview",
]

FAILING_CLASSES: tuple[str, ...] = ISSUE_OUTCOMES
"""The outcomes a tracker list shows a failed share of (``share_<class>``), in this order: the
classes of ``diagnose``'s issues."""

_COUNTS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "bucket": pl.Datetime("us", "UTC"),
    "series": pl.String,
    "failing": pl.Boolean,
    "count": pl.Int64,
    "example": pl.String,
}


def tracker_list(rows: pl.DataFrame, top_signatures: dict[str, str] | None = None) -> pl.DataFrame:
    """The tracker list: ``rows`` (:meth:`Diagnosis.triage`) with ``tracker``, shares, signatures.

    Adds ``tracker`` (``name (ID)``, or the ID when there is no name), ``share_<class>`` for each
    of :data:`FAILING_CLASSES` (``failed_<class>`` ÷ ``attempts``, 0 for a tracker without
    attempts) and ``top_signatures`` (from ``top_signatures`` by ``tracking_id``, ``""`` when
    absent). An empty ``rows`` stays empty.
    """
    if rows.is_empty():
        return rows
    require_columns(
        rows,
        ["tracking_id", "tracker_name", "attempts", *(f"failed_{c}" for c in FAILING_CLASSES)],
        needed_for="tracker_list",
    )
    attempts = pl.col("attempts").cast(pl.Float64)
    return rows.with_columns(
        pl.when(pl.col("tracker_name").is_not_null())
        .then(pl.format("{} ({})", pl.col("tracker_name"), pl.col("tracking_id")))
        .otherwise(pl.col("tracking_id"))
        .alias("tracker"),
        *(
            (pl.col(f"failed_{c}") / attempts).fill_nan(0.0).alias(f"share_{c}")
            for c in FAILING_CLASSES
        ),
        pl.col("tracking_id")
        .replace_strict(top_signatures or {}, default="", return_dtype=pl.String)
        .alias("top_signatures"),
    )


def code_counts(attempts: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Attempts per tracker, response code and class, with a real example body each.

    Columns: ``tracking_id``, ``code`` (String; no answer is ``"no answer"``), ``outcome``
    (String), ``attempts`` (UInt32), ``example`` (a response body, null if none had one),
    ``share`` (of the tracker's attempts). Per tracker the most frequent code comes first.
    """
    lf = attempts.lazy()
    require_columns(
        lf, ["tracking_id", "response_code", "outcome", "response_body"], needed_for="code_counts"
    )
    code = code_text()
    return (
        lf.group_by("tracking_id", code, pl.col("outcome").cast(pl.String))
        .agg(
            pl.len().alias("attempts"),
            pl.col("response_body").drop_nulls().first().alias("example"),
        )
        .with_columns(
            (pl.col("attempts") / pl.col("attempts").sum().over("tracking_id")).alias("share")
        )
        .sort(["tracking_id", "attempts", "code"], descending=[False, True, False])
        .collect()
    )


@dataclass
class TriageOverview:
    """The aggregates of one export's triage (see :func:`triage_overview`)."""

    trackers: pl.DataFrame
    """The tracker list (:func:`tracker_list`), worst first; empty without trackers."""
    codes: pl.DataFrame
    """:func:`code_counts` of every tracker."""
    counts: pl.DataFrame
    """Attempts per ``tracking_id``, ``bucket``, ``series`` (the failing class, or
    ``delivered``), with ``failing``, ``count`` and ``example``
    (:func:`postback_kit.timeline.series_counts` per tracker)."""
    every: str
    """Bucket size of ``counts``."""
    _codes: dict[Any, pl.DataFrame] = field(default_factory=dict, init=False, repr=False)
    _counts: dict[Any, pl.DataFrame] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        # split once, so a pick is a dictionary look-up
        if not self.codes.is_empty():
            self._codes = self.codes.partition_by("tracking_id", as_dict=True)
        if not self.counts.is_empty():
            self._counts = self.counts.partition_by("tracking_id", as_dict=True)

    @property
    def classes(self) -> tuple[str, ...]:
        """The classes of :data:`FAILING_CLASSES` some tracker of the export failed with."""
        if self.trackers.is_empty():
            return ()
        return tuple(c for c in FAILING_CLASSES if self.trackers[f"failed_{c}"].sum())

    def codes_of(self, tracking_id: str) -> pl.DataFrame:
        """The rows of :attr:`codes` of one tracker (an empty frame for an unknown one)."""
        return self._codes.get((tracking_id,), self.codes.clear())

    def counts_of(self, tracking_id: str) -> pl.DataFrame:
        """One tracker's :attr:`counts` without ``tracking_id``: the error timeline's data."""
        counts = self._counts.get((tracking_id,))
        if counts is None or counts.is_empty():
            return pl.DataFrame(schema=_COUNTS_SCHEMA)
        return counts.drop("tracking_id")


def triage_overview(diagnosis: Diagnosis) -> TriageOverview:
    """Aggregate a diagnosis once for the triage views: tracker list, codes, time buckets.

    The top signatures of a tracker are its three worst issues' signatures with their attempts
    (``"malformed clickId (3); <num> Bad Gateway (1)"``). Time buckets are the diagnosis's.
    """
    rows = diagnosis.triage() if diagnosis.trackers else pl.DataFrame()
    tops = {
        t.tracking_id: "; ".join(
            f"{i.signature} ({i.attempts:,})" for i in t.issues[:3] if i.signature
        )
        for t in diagnosis.trackers
    }
    att = diagnosis.attempts
    if att.is_empty():
        codes = pl.DataFrame()
        counts = pl.DataFrame()
    else:
        codes = code_counts(att)
        counts = series_counts(att, diagnosis.bucket, per=["tracking_id"])
    return TriageOverview(tracker_list(rows, tops), codes, counts, diagnosis.bucket)
