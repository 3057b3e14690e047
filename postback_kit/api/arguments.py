"""The arguments of a fetch, checked before any request: filters, field names, days, the chunk
size and the API address, with the defaults they fall back to.

Each checker raises :class:`~postback_kit.errors.ConfigError` saying what is wrong and how to
write it. :func:`parse_filters` is public; it also reads the text of a text area, one
``field=value`` per line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..schema import FIELD_NAMES

DEFAULT_BASE_URL = "https://api.appmetrica.yandex.ru"
DATE_DIMENSIONS = ("default", "receive")
DEFAULT_FIELDS: tuple[str, ...] = tuple(n for n in FIELD_NAMES if n != "attribution_touch_type")
"""Every field of the documented field list (``attribution_touch_type`` is answered by the API
but not listed as requestable; ask for it explicitly if you want it)."""

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def parse_filters(filters: Mapping[str, object] | Sequence[str] | str | None) -> dict[str, str]:
    """Equality filters from a mapping, ``["field=value", ...]`` or text (one per line).

    >>> parse_filters(["response_code=400", "tracking_id = 123"])
    {'response_code': '400', 'tracking_id': '123'}
    >>> parse_filters("response_code=400\\npublisher_name=Ad, Inc.")
    {'response_code': '400', 'publisher_name': 'Ad, Inc.'}
    """
    if filters is None:
        return {}
    items: list[tuple[str, object]]
    if isinstance(filters, Mapping):
        items = [(str(k).strip(), v) for k, v in filters.items()]
    else:
        lines = filters.splitlines() if isinstance(filters, str) else list(filters)
        items = []
        for line in lines:
            if not str(line).strip():
                continue
            key, sep, text = str(line).partition("=")
            if not sep or not key.strip():
                raise ConfigError(
                    f"the filter {line!r} is not field=value.",
                    hint="write filters as field=value, e.g. response_code=400.",
                )
            items.append((key.strip(), text.strip()))
    out: dict[str, str] = {}
    for name, value in items:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ConfigError(
                f"the filter value of {name} must be text or an integer.",
                found=type(value).__name__,
                hint="the Logs API supports equality filters only: field=value.",
            )
        out[name] = str(value)
    return out


def _check_field(name: str, what: str) -> None:
    if name in FIELD_NAMES:
        return
    close = difflib.get_close_matches(name, FIELD_NAMES, n=1, cutoff=0.6)
    raise ConfigError(
        f"unknown {what} {name!r}.",
        found=f"did you mean {close[0]!r}?" if close else None,
        hint="use the documented field names (postback_kit.FIELDS): "
        + ", ".join(FIELD_NAMES[:6])
        + ", …",
    )


def _fields(fields: Sequence[str] | str | None) -> tuple[str, ...]:
    if fields is None:
        return DEFAULT_FIELDS
    names = (
        fields.split(",") if isinstance(fields, str) else [p for f in fields for p in f.split(",")]
    )
    out: list[str] = []
    for raw in names:
        name = raw.strip()
        if name and name not in out:
            _check_field(name, "field")
            out.append(name)
    if not out:
        raise ConfigError("no fields were requested.", hint="omit fields= to get every field.")
    return tuple(out)


def _day(value: date | datetime | str, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(
            f"{what}={value!r} is not a date.",
            hint="write dates as YYYY-MM-DD, e.g. 2024-05-01.",
        ) from None


def _chunk_size(chunk: str | int | timedelta) -> timedelta:
    if isinstance(chunk, timedelta):
        size = chunk
    elif isinstance(chunk, int) and not isinstance(chunk, bool):
        size = timedelta(days=chunk)
    else:
        m = re.fullmatch(r"\s*(\d+)\s*([dh])\s*", str(chunk).lower())
        if not m:
            raise ConfigError(f"chunk={chunk!r} is not a duration.", hint='use "1d", "7d" or "6h".')
        n = int(m.group(1))
        size = timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)
    if size < timedelta(hours=1) or size % timedelta(hours=1):
        raise ConfigError(f"chunk={chunk!r} must be a whole number of hours or days, at least 1h.")
    return size


def _base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"base_url={url!r} is not an http(s) address.",
            hint=f"the default is {DEFAULT_BASE_URL}.",
        )
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        raise ConfigError(
            f"base_url={url!r} would send the token unencrypted.",
            hint="use https:// (plain http is accepted only for a server on this machine).",
        )
    return url.strip().rstrip("/")
