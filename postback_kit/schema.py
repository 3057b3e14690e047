"""The canonical attempt table: every documented field of a postback export, typed once.

One row of an export is one sending *attempt* of a postback. ``load`` turns any export into a
frame with these columns (those the export has) and these types.

Type choices
------------
- **Identifiers are strings** (``tracking_id``, ``application_id``, ``publisher_id``,
  ``appmetrica_device_id``, ``click_id``): ``tracking_id`` can have 20 digits
  (``12345678901234567890``), beyond ``Int64``; an unsigned or 128-bit integer would fit today's
  values but loses leading zeros and breaks on the first non-numeric ID, while a float silently
  rounds. Strings keep every ID exactly as exported and join/compare exactly.
- **Times are timezone-aware** ``Datetime("us", "UTC")``: ``*_timestamp`` fields are Unix seconds;
  ``*_datetime`` fields are wall-clock strings in the application's time zone, converted to UTC
  (see ``load(timezone=...)``). A timestamp of ``0`` means "unknown" and becomes null.
- **``response_code`` is ``Int32``, null when there was no answer** (timeout, refused
  connection, DNS or TLS failure), which exports write as an empty value or ``0``. Null is
  distinguishable from every real code, including partner-specific ones (``1xxx``, ``6xxx``,
  ``9xx``).
- **Low-cardinality enumerations are ``Categorical``** (``notifying_status``, ``cost_model``,
  ``os_name``, ``match_type``, ``device_type``, ``attribution_touch_type``): the documented values
  are listed in ``Field.values``, and values the docs do not list are still accepted.
- Everything else is ``String``, kept byte-for-byte (response bodies included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from .errors import MissingColumnsError

__all__ = [
    "FIELDS",
    "PII_FIELDS",
    "Field",
    "field",
    "require_columns",
]

Kind = Literal["id", "int", "code", "timestamp", "datetime", "category", "text"]

UTC_DATETIME = pl.Datetime("us", "UTC")

_DTYPES: dict[str, pl.DataType] = {
    "id": pl.String(),
    "int": pl.Int64(),
    "code": pl.Int32(),
    "timestamp": UTC_DATETIME,
    "datetime": UTC_DATETIME,
    "category": pl.Categorical(),
    "text": pl.String(),
}


@dataclass(frozen=True)
class Field:
    """One column of the attempt table."""

    name: str
    kind: Kind
    description: str
    values: tuple[str, ...] = ()
    pii: bool = False
    """Identifies a user or a device: hidden by default in anything meant for a partner."""

    @property
    def dtype(self) -> pl.DataType:
        return _DTYPES[self.kind]


def _f(name: str, kind: Kind, description: str, *values: str, pii: bool = False) -> Field:
    return Field(name, kind, description, tuple(values), pii)


FIELDS: tuple[Field, ...] = (
    _f("application_id", "id", "Numeric ID of the application in AppMetrica."),
    _f("attribution_touch_type", "category", "Ad interaction type.", "click", "impression", ""),
    _f("click_datetime", "datetime", "Time of the click or impression."),
    _f("click_id", "id", "ID of the click or impression; empty when not available."),
    _f("click_ipv6", "text", "IP address at the click, IPv6 form.", pii=True),
    _f("click_timestamp", "timestamp", "Time of the click or impression (Unix seconds)."),
    _f("click_url_parameters", "text", "Parameters of the tracking URL, URL-encoded."),
    _f("click_user_agent", "text", "User agent at the click.", pii=True),
    _f("publisher_id", "id", "ID of the partner (0 for unattributed postbacks)."),
    _f("publisher_name", "text", "Name of the partner (empty for unattributed postbacks)."),
    _f("tracker_name", "text", "Name of the tracker (empty for unattributed postbacks)."),
    _f("tracking_id", "id", "Tracker ID (0 for unattributed postbacks); can exceed 64 bits."),
    _f("install_datetime", "datetime", "Time of the install."),
    _f("install_ipv6", "text", "IP address at the install, IPv6 form.", pii=True),
    _f("install_timestamp", "timestamp", "Time of the install (Unix seconds)."),
    _f(
        "match_type", "category", "Attribution method.", "fingerprint", "referrer", "identifier", ""
    ),
    _f("appmetrica_device_id", "id", "Device ID assigned by AppMetrica.", pii=True),
    _f("device_locale", "text", "Device language."),
    _f("device_manufacturer", "text", "Device manufacturer."),
    _f("device_model", "text", "Device model."),
    _f("device_type", "category", "Device type.", "phone", "tablet", "unknown"),
    _f("google_aid", "text", "Google advertising ID.", pii=True),
    _f("ios_ifa", "text", "iOS advertising ID (IDFA).", pii=True),
    _f("ios_ifv", "text", "iOS vendor ID (IDFV).", pii=True),
    _f("os_name", "category", "Operating system.", "ios", "android", "windows"),
    _f("os_version", "text", "Operating system version."),
    _f("windows_aid", "text", "Windows advertising ID.", pii=True),
    _f("app_package_name", "text", "Android package name or iOS bundle ID."),
    _f("app_version_name", "text", "Application version as set by the developer."),
    _f("conversion_datetime", "datetime", "Time of the event, install or re-engagement."),
    _f("conversion_timestamp", "timestamp", "Time of the conversion (Unix seconds)."),
    _f("event_name", "text", "Name of the event as passed to the SDK."),
    _f("attempt_datetime", "datetime", "Time of this sending attempt."),
    _f("attempt_timestamp", "timestamp", "Time of this sending attempt (Unix seconds)."),
    _f(
        "cost_model",
        "category",
        "Postback type: install, event or re-engagement.",
        "cpi",
        "cpa",
        "cpr",
    ),
    _f("notifying_status", "category", "The platform's verdict on this attempt.", "failed", "sent"),
    _f("postback_url", "text", "Full postback URL as sent."),
    _f("postback_url_parameters", "text", "Query parameters of the postback URL."),
    _f("response_body", "text", "Body of the partner's answer (untrusted text)."),
    _f("response_code", "code", "HTTP status of the answer; null when there was no answer."),
)

_BY_NAME = {f.name: f for f in FIELDS}

PII_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.pii)
"""Columns that identify a user or device: removed or hashed in partner-facing output."""

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)


def field(name: str) -> Field | None:
    """The documented field called ``name``, or None for a column the docs do not list."""
    return _BY_NAME.get(name)


def schema() -> pl.Schema:
    """The full canonical schema, in documented order."""
    return pl.Schema({f.name: f.dtype for f in FIELDS})


def columns_of(frame: pl.LazyFrame | pl.DataFrame) -> list[str]:
    if isinstance(frame, pl.LazyFrame):
        return frame.collect_schema().names()
    return frame.columns


def require_columns(
    frame: pl.LazyFrame | pl.DataFrame, columns: Iterable[str], *, needed_for: str
) -> None:
    """Raise ``MissingColumnsError`` naming every column of ``columns`` the frame lacks.

    >>> require_columns(pl.DataFrame({"tracking_id": ["1"]}), ["response_code"],
    ...                 needed_for="diagnose")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    MissingColumnsError: diagnose needs the column(s) response_code, ...
    """
    have = columns_of(frame)
    missing = [c for c in columns if c not in have]
    if missing:
        raise MissingColumnsError(missing, needed_for=needed_for, available=have)
