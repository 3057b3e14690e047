"""Fold sending attempts into deliveries: one row per postback, however often it was retried.

An export has one row per *attempt*. AppMetrica retries a failed postback every few minutes for
up to about 24 hours, so one conversion sent to one partner URL can appear many times: failed,
failed, … then sent, or never sent. Counting attempts overstates an issue (a partner that is down
for an hour produces a dozen failed rows per conversion) and hides what matters to the
advertiser: how many conversions never reached the partner.

>>> lf = with_delivery_id(classified)                               # doctest: +SKIP
>>> per_postback = deliveries(lf).collect()                         # doctest: +SKIP
>>> hit = per_postback.filter(pl.col("delivery_id").is_in(hit_ids))  # doctest: +SKIP
>>> retry_stats(hit).behavior                                       # doctest: +SKIP
'transient'

``deliveries`` expects the classified attempt table: ``tracking_id``, ``attempt_timestamp`` and
``outcome`` (see "Column contract between the diagnose stages" in docs/architecture.md);
``signature`` is used when present.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from .errors import MissingColumnsError
from .schema import columns_of, require_columns

__all__ = [
    "DELIVERED_OUTCOMES",
    "DELIVERY_KEY",
    "FINAL_OUTCOMES",
    "RETRIED_OUTCOMES",
    "TRANSIENT_MIN_CURED_SHARE",
    "RetryStats",
    "deliveries",
    "retry_behavior",
    "retry_stats",
    "with_delivery_id",
]

DELIVERY_KEY: tuple[str, ...] = (
    "tracking_id",
    "postback_url",
    "postback_url_parameters",
    "conversion_timestamp",
    "event_name",
    "cost_model",
    "appmetrica_device_id",
)
"""Columns whose values identify one postback: the attempts that share them are its retries.

Why these: a retry repeats *the same conversion* (``conversion_timestamp``, ``event_name``,
``cost_model``, the device ``appmetrica_device_id``) of one tracker (``tracking_id``) *to the same
URL* (``postback_url``, whose macros are already filled in with the click ID, device IDs, …).
AppMetrica retries a failed postback every few minutes for up to 24 h, so without folding,
a one-hour partner outage looks like a dozen failures per conversion.

``postback_url_parameters`` stands in for ``postback_url`` when the URL is absent (the column or
the value); ``conversion_datetime`` stands in for ``conversion_timestamp`` the same way. Only the
columns the export has are used; ``tracking_id`` and a URL column are required.

Limits:

- Without ``conversion_timestamp``/``appmetrica_device_id``, two conversions whose filled-in URL
  is identical (a postback without per-user macros, e.g. a bare install ping) merge into one
  delivery; the URL usually carries a click ID, which keeps them apart.
- Conversion times are whole seconds: the same event sent twice by one device within a second
  is one delivery.
- A URL that embeds the time of each attempt (a send-time macro) splits every retry into its own
  delivery; the attempts per delivery are then all 1 and the retry analysis says little.
- Several postbacks of one campaign (up to 5) to different URLs are different deliveries, as
  they should be.
"""

DELIVERED_OUTCOMES: tuple[str, ...] = ("success", "false_failure")
"""Outcomes that delivered the conversion (a ``soft_failure`` did not: the partner refused it)."""

RETRIED_OUTCOMES: tuple[str, ...] = (
    "request_error",
    "partner_error",
    "network_error",
    "other_code",
)
"""Failures the platform itself counts as failed and therefore retries (not ``soft_failure``,
which it counts as sent)."""

FINAL_OUTCOMES: tuple[str, ...] = ("delivered", "undelivered", "retrying")
"""Values of ``final_outcome`` in :func:`deliveries`."""

TRANSIENT_MIN_CURED_SHARE = 0.5
""":func:`retry_behavior` says ``transient`` when at least this share of the settled deliveries
hit by an issue was eventually delivered by a retry."""

_TS = "attempt_timestamp"
_URL_COLUMNS = ("postback_url", "postback_url_parameters")
_END = "__export_end"


def _coalesced(have: list[str], names: tuple[str, ...]) -> pl.Expr | None:
    present = [pl.col(n).cast(pl.String) for n in names if n in have]
    if not present:
        return None
    return pl.coalesce(present) if len(present) > 1 else present[0]


def with_delivery_id(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``delivery_id`` (``UInt64``): attempts of one postback (its retries) share it.

    The id is a hash of the present :data:`DELIVERY_KEY` columns, so it is stable for the same
    values within one polars version; use it to group and join, not as a stored identifier.

    >>> lf = pl.LazyFrame({"tracking_id": ["1", "1"], "postback_url": ["https://p/?c=a"] * 2})
    >>> lf.pipe(with_delivery_id).select(pl.col("delivery_id").n_unique()).collect().item()
    1
    """
    have = columns_of(frame)
    require_columns(frame, ["tracking_id"], needed_for="with_delivery_id")
    url = _coalesced(have, _URL_COLUMNS)
    if url is None:
        raise MissingColumnsError(
            ["postback_url or postback_url_parameters"],
            needed_for="with_delivery_id (which attempts are retries of one postback)",
            available=have,
        )
    parts: list[pl.Expr] = [pl.col("tracking_id").cast(pl.String).alias("tracking_id")]
    parts.append(url.alias("url"))
    conversion = _coalesced(have, ("conversion_timestamp", "conversion_datetime"))
    if conversion is not None:
        parts.append(conversion.alias("conversion"))
    parts.extend(
        pl.col(name).cast(pl.String).alias(name)
        for name in ("event_name", "cost_model", "appmetrica_device_id")
        if name in have
    )
    return frame.with_columns(pl.struct(parts).hash(seed=0).alias("delivery_id"))


def deliveries(
    frame: pl.LazyFrame,
    *,
    export_end: datetime | None = None,
    retry_horizon: timedelta = timedelta(hours=24),
) -> pl.LazyFrame:
    """One row per delivery (postback) with its fate.

    ``frame`` is the classified attempt table (``tracking_id``, ``attempt_timestamp``,
    ``outcome``; ``signature`` when present); ``delivery_id`` is added when missing.

    Columns of the result, sorted by ``tracking_id``, ``first_attempt``:

    ========================== ============================================================
    ``tracking_id``            the tracker
    ``delivery_id``            see :func:`with_delivery_id`
    ``attempts``               attempts of this postback
    ``first_attempt``          time of its first attempt
    ``last_attempt``           time of its last attempt
    ``delivered_at``           first attempt that delivered (``success`` or
                               ``false_failure``), null if none did
    ``final_outcome``          ``delivered``, ``undelivered`` or ``retrying``
    ``time_to_delivery``       ``delivered_at - first_attempt`` (``Duration``)
    ``failed_attempts``        attempts that did not deliver
    ``duplicates``             delivering attempts after the first one: the partner got the
                               conversion more than once (e.g. a 202/204 counted as failed)
    ``first_failure_outcome``  outcome of the first failed attempt (null if none failed)
    ``first_failure_signature`` its signature
    ``last_outcome``           outcome of the last attempt
    ``last_signature``         its signature
    ========================== ============================================================

    **Retrying**: not delivered, the last attempt failed in a way the platform retries
    (:data:`RETRIED_OUTCOMES`; a ``soft_failure`` counts as sent and is never retried), and the
    first attempt lies within ``retry_horizon`` of ``export_end``, so the platform's retry window
    was still open when the export ends. The window is counted from the first attempt (the
    platform gives up about 24 h after it), not from the last: a postback first tried 30 h before
    the end and last tried 7 h before it has been given up on. ``export_end`` defaults to the
    latest ``attempt_timestamp`` of ``frame``; pass the export's end when ``frame`` is a subset
    (one tracker) of a larger export.
    """
    require_columns(frame, ["tracking_id", _TS, "outcome"], needed_for="deliveries")
    have = columns_of(frame)
    if "delivery_id" not in have:
        frame = with_delivery_id(frame)
    signature = pl.col("signature") if "signature" in have else pl.lit(None, pl.String)
    if export_end is not None and export_end.tzinfo is None:
        export_end = export_end.replace(tzinfo=UTC)
    end = pl.lit(export_end) if export_end is not None else pl.col(_TS).max()

    ts = pl.col(_TS)
    outcome = pl.col("outcome").cast(pl.String)
    delivered = pl.col("__delivered")
    failed = ~delivered

    # one stable sort by time up front: within every delivery the attempts are then in time
    # order (ties in the export's order), so first/last need no sort per delivery; only the
    # columns read are sorted, the signature as a category (first/last then move integers,
    # not text), and the first delivering time is a minimum (a filter per delivery is slower)
    per_delivery = (
        frame.filter(ts.is_not_null())
        .select(
            "tracking_id",
            "delivery_id",
            ts,
            "outcome",
            signature.cast(pl.String).cast(pl.Categorical).alias("__signature"),
            outcome.is_in(DELIVERED_OUTCOMES).fill_null(False).alias("__delivered"),
            end.cast(pl.Datetime("us", "UTC")).alias(_END),
        )
        .sort(_TS, maintain_order=True)
        .group_by("tracking_id", "delivery_id")
        .agg(
            attempts=pl.len(),
            first_attempt=ts.first(),
            last_attempt=ts.last(),
            delivered_at=pl.when(delivered).then(ts).min(),
            failed_attempts=failed.sum(),
            __successes=delivered.sum(),
            first_failure_outcome=pl.col("outcome").filter(failed).first(),
            first_failure_signature=pl.col("__signature").filter(failed).first(),
            last_outcome=pl.col("outcome").last(),
            last_signature=pl.col("__signature").last(),
            __end=pl.col(_END).first(),
        )
    )
    still_open = pl.col("first_attempt") > pl.col("__end") - pl.lit(retry_horizon)
    retried = pl.col("last_outcome").cast(pl.String).is_in(RETRIED_OUTCOMES)
    final = (
        pl.when(pl.col("__successes") > 0)
        .then(pl.lit("delivered"))
        .when(still_open & retried)
        .then(pl.lit("retrying"))
        .otherwise(pl.lit("undelivered"))
        .cast(pl.Enum(FINAL_OUTCOMES))
    )
    return per_delivery.select(
        "tracking_id",
        "delivery_id",
        pl.col("attempts").cast(pl.UInt32),
        "first_attempt",
        "last_attempt",
        "delivered_at",
        final.alias("final_outcome"),
        (pl.col("delivered_at") - pl.col("first_attempt")).alias("time_to_delivery"),
        pl.col("failed_attempts").cast(pl.UInt32),
        (pl.col("__successes").cast(pl.Int64) - 1)
        .clip(lower_bound=0)
        .cast(pl.UInt32)
        .alias("duplicates"),
        "first_failure_outcome",
        pl.col("first_failure_signature").cast(pl.String),
        "last_outcome",
        pl.col("last_signature").cast(pl.String),
    ).sort("tracking_id", "first_attempt", "delivery_id")


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryStats:
    """What retries did for the deliveries hit by one issue.

    ``median_time_to_delivery`` is over the cured deliveries; ``to_dict`` gives it in seconds.
    """

    deliveries: int
    """Deliveries hit by the issue."""
    cured: int
    """Eventually delivered (a retry got through)."""
    lost: int
    """Given up on: never delivered and no longer retried."""
    retrying: int
    """Not delivered yet, still inside the retry window at the end of the export."""
    median_attempts: float | None
    median_time_to_delivery: timedelta | None
    behavior: str
    """``transient``, ``deterministic`` or ``unknown``: see :func:`retry_behavior`."""

    @property
    def cured_share(self) -> float | None:
        """Cured share of the settled (cured or lost) deliveries; None when none settled."""
        settled = self.cured + self.lost
        return self.cured / settled if settled else None

    def to_dict(self) -> dict[str, Any]:
        ttd = self.median_time_to_delivery
        share = self.cured_share
        return {
            "deliveries": self.deliveries,
            "cured": self.cured,
            "lost": self.lost,
            "retrying": self.retrying,
            "cured_share": None if share is None else round(share, 4),
            "median_attempts": None
            if self.median_attempts is None
            else round(self.median_attempts, 2),
            "median_time_to_delivery": None if ttd is None else round(ttd.total_seconds(), 1),
            "behavior": self.behavior,
        }


def retry_stats(deliveries_hit: pl.DataFrame, category: str | None = None) -> RetryStats:
    """Summarise the rows of :func:`deliveries` hit by one issue (see :class:`RetryStats`).

    ``category`` is the issue's outcome class. For a ``false_failure`` (the partner accepted,
    the platform counted it failed and sends it again) every hit delivery is "delivered", so
    what retries do is read from the last attempt instead: *cured* when the platform's last
    attempt was a plain ``success`` (it stopped retrying), *lost* (repeated) when the last
    attempt was still the false failure after at least one retry, *retrying* when it was tried
    only once so far.
    """
    require_columns(
        deliveries_hit, ["final_outcome", "attempts", "time_to_delivery"], needed_for="retry_stats"
    )
    final = deliveries_hit["final_outcome"].cast(pl.String)
    if category == "false_failure":
        require_columns(deliveries_hit, ["last_outcome"], needed_for="retry_stats")
        last = deliveries_hit["last_outcome"].cast(pl.String)
        once = deliveries_hit["attempts"] <= 1
        cured = int((last == "success").sum())
        lost = int(((last != "success") & ~once).sum())
        retrying = deliveries_hit.height - cured - lost
    else:
        cured = int((final == "delivered").sum())
        lost = int((final == "undelivered").sum())
        retrying = int((final == "retrying").sum())
    attempts = deliveries_hit["attempts"].median()
    ttd = deliveries_hit["time_to_delivery"].drop_nulls().median()
    settled = cured + lost
    if settled == 0:
        behavior = "unknown"
    elif cured / settled >= TRANSIENT_MIN_CURED_SHARE:
        behavior = "transient"
    else:
        behavior = "deterministic"
    return RetryStats(
        deliveries=deliveries_hit.height,
        cured=cured,
        lost=lost,
        retrying=retrying,
        median_attempts=None if attempts is None else float(attempts),  # type: ignore[arg-type]
        median_time_to_delivery=ttd if isinstance(ttd, timedelta) else None,
        behavior=behavior,
    )


def retry_behavior(deliveries_hit: pl.DataFrame, category: str | None = None) -> str:
    """``transient`` when retries mostly cure the postbacks an issue hits, else ``deterministic``.

    ``deliveries_hit`` holds the rows of :func:`deliveries` for the deliveries the issue hit.
    Of those that have settled (``delivered`` or ``undelivered``; ``retrying`` ones are not
    counted), if at least :data:`TRANSIENT_MIN_CURED_SHARE` (half) were eventually delivered the
    issue is ``transient`` (a partner outage, a timeout: retrying helps); otherwise the same
    postback fails again and again (or is never retried, like a soft failure) and the issue is
    ``deterministic`` (a bad parameter, a wrong URL: only fixing the settings helps).
    ``unknown`` when no hit delivery has settled yet. For a ``false_failure`` issue pass its
    ``category``: retries cure it only when the platform's last attempt was a plain success (a
    ``204`` answered again and again is ``deterministic``), see :func:`retry_stats`.
    """
    return retry_stats(deliveries_hit, category).behavior
