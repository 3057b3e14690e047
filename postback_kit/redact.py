"""Hide users' identifiers in anything meant for a partner.

Device and advertising IDs, IP addresses and user agents (``schema.PII_FIELDS``) are replaced by
a stable keyed hash (``id:3f9a61c2d0``): the same device gets the same token inside one report,
so a partner can still see that two attempts concern one device, but cannot recover the ID. The
key is random per ``Redactor`` unless you pass one (or set ``POSTBACK_KIT_REDACT_KEY``) to keep
tokens stable across reports.

Identifiers are also removed where they hide inside text: in ``postback_url``,
``postback_url_parameters``, ``click_url_parameters`` and ``response_body``, every exact
occurrence of an identifier found in the PII columns (raw or URL-encoded) is replaced, values of
parameters whose names say they carry a device ID, IP or user agent are replaced, and anything
shaped like an IP address or an advertising ID (UUID) in a device parameter is replaced.

>>> r = Redactor(key=b"k")
>>> r.token("38400000-8cf0-11bd-b23e-10b96e40000d")
'id:...'                                                     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import polars as pl

from .schema import PII_FIELDS

__all__ = ["ID_PARAMETERS", "TEXT_COLUMNS", "Redactor", "redact"]

TEXT_COLUMNS = ("postback_url", "postback_url_parameters", "click_url_parameters", "response_body")
"""Free-text columns searched for identifiers hidden inside them."""

ID_PARAMETERS = (
    "idfa",
    "ifa",
    "ios_ifa",
    "idfv",
    "ifv",
    "ios_ifv",
    "gaid",
    "google_aid",
    "adid",
    "advertising_id",
    "aaid",
    "android_id",
    "oaid",
    "device_id",
    "deviceid",
    "appmetrica_device_id",
    "windows_aid",
    "waid",
    "ip",
    "ipv6",
    "ip_address",
    "user_ip",
    "click_ipv6",
    "install_ipv6",
    "ua",
    "user_agent",
    "useragent",
    "click_user_agent",
)
"""Query parameter names whose values are always hidden (case-insensitive)."""

_IPV4 = r"\b(?:\d{1,3}\.){3}\d{1,3}\b"
_IPV6_FULL = r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"
_IPV6_SHORT = r"(?i)\b(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?"
_ENCODED_OR_PLAIN_VALUE = r"(?:[^&;#\s%]|%[013-9A-Fa-f][0-9A-Fa-f]|%2[0-57-9A-Fa-f])*"
_MAPPED = r"(?i)::ffff:(?:\d{1,3}\.){3}\d{1,3}"
_IP_MASK = "ip:hidden"
_MACRO = re.compile(r"\{[^{}]*\}|\(\w+\)|\$\{?\w+\}?|%\w+%|\[\w+\]")
_ID_PARAM = (
    rf"(?i)(?:^|[?&;]|%26|%3F)(?:{'|'.join(ID_PARAMETERS)})(?:=|%3D){_ENCODED_OR_PLAIN_VALUE}"
)


class Redactor:
    """Replaces identifiers by keyed hashes; one instance per report keeps tokens consistent."""

    def __init__(self, key: bytes | str | None = None) -> None:
        if key is None:
            env = os.environ.get("POSTBACK_KIT_REDACT_KEY")
            key = env if env else secrets.token_bytes(32)
        self._key = key.encode() if isinstance(key, str) else key

    def __repr__(self) -> str:  # never show the key
        return "Redactor(key=<hidden>)"

    def token(self, value: str) -> str:
        """The stable token that replaces ``value``."""
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"id:{digest[:10]}"

    def _tokens(self, values: Iterable[str], spellings: Iterable[str] = ()) -> dict[str, str]:
        """Spelling → token for every identifier, raw and URL-encoded; ``spellings`` are values
        as they appear inside URLs (maybe encoded), tokenised by their decoded value."""
        pairs: dict[str, str] = {}
        for v in values:
            if not v or len(v) < 6:  # too short to be an identifier; avoid clobbering text
                continue
            tok = self.token(v)
            for spelling in (
                v,
                quote(v, safe=""),
                quote_plus(v),
                quote(quote(v, safe=""), safe=""),
            ):
                pairs.setdefault(spelling, tok)
        for raw in spellings:
            decoded = unquote_plus(unquote(raw))
            if _MACRO.fullmatch(decoded):  # an unresolved macro is evidence, not an identifier
                continue
            if len(raw) >= 6 and not raw.startswith("id:"):
                pairs.setdefault(raw, self.token(decoded))
        return pairs

    def frame(self, frame: pl.DataFrame, *, text_columns: Iterable[str] = ()) -> pl.DataFrame:
        """A copy of ``frame`` with identifiers hidden in PII and free-text columns.

        ``text_columns`` are searched too, besides :data:`TEXT_COLUMNS` (e.g. ``message``,
        ``signature`` derived from a body).
        """
        pii = [c for c in PII_FIELDS if c in frame.columns]
        extra = [c for c in text_columns if c in frame.columns and c not in TEXT_COLUMNS]
        texts = [c for c in TEXT_COLUMNS if c in frame.columns] + extra
        values: set[str] = set()
        for c in pii:
            values.update(frame[c].cast(pl.String).drop_nulls().unique().to_list())
        in_urls: set[str] = set()
        for c in texts:
            found = frame.select(
                pl.col(c)
                .cast(pl.String)
                .str.extract_all(_ID_PARAM)
                .explode()
                .str.replace(r"^.*?(?:=|%3D|%3d)", "")
                .unique()
            ).to_series()
            in_urls.update(v for v in found.drop_nulls().to_list() if v)
        mapping = self._tokens(values, in_urls)
        patterns = sorted(mapping, key=len, reverse=True)
        replacements = [mapping[p] for p in patterns]
        out = frame.with_columns(
            pl.when(pl.col(c).is_not_null())
            .then(
                pl.col(c)
                .cast(pl.String)
                .replace_strict(mapping, default=pl.lit("id:hidden"), return_dtype=pl.String)
            )
            .alias(c)
            for c in pii
        )
        exprs = []
        for c in texts:
            e = pl.col(c).cast(pl.String)
            if patterns:
                e = e.str.replace_many(patterns, replacements)
            e = e.str.replace_all(_MAPPED, _IP_MASK).str.replace_all(_IPV4, _IP_MASK)
            e = e.str.replace_all(_IPV6_FULL, _IP_MASK).str.replace_all(_IPV6_SHORT, _IP_MASK)
            exprs.append(e.alias(c))
        return out.with_columns(exprs)

    def text(self, text: str, known: Iterable[str] = ()) -> str:
        """Redact one string (e.g. a URL shown in a narrative), hiding ``known`` identifiers."""
        df = pl.DataFrame({"postback_url": [text]})
        mapping = self._tokens(known)
        if mapping:
            df = df.with_columns(pl.col("postback_url").str.replace_many(mapping))
        return str(self.frame(df)["postback_url"][0])


def redact(frame: pl.DataFrame, *, key: bytes | str | None = None) -> pl.DataFrame:
    """Shortcut: ``Redactor(key).frame(frame)``."""
    return Redactor(key).frame(frame)
