"""Percent-encoding and query splitting as polars expressions (no per-row Python).

polars has no URL codec, so both directions work on the hexadecimal form of the UTF-8 bytes,
one token per byte (``"61 2f "``), where a single ``str.replace_many`` (Aho-Corasick) maps
tokens to their replacement:

- ``percent_encode`` maps each byte token to its own hex (unreserved ASCII) or to the hex of
  ``%XX``; the result equals ``urllib.parse.quote(value, safe="-._~")``.
- ``percent_decode`` maps each ``%XX`` triple (``"25 HH LL "``) to the byte it encodes; when the
  decoded bytes are not valid UTF-8 the value is returned unchanged (checked with a regular
  expression over the tokens before the bytes are turned back into text). It equals
  ``urllib.parse.unquote(value)`` on every value whose escapes form valid UTF-8.

Byte tokens are two hex digits and a space, so a pattern can only match at a token boundary.
"""

from __future__ import annotations

import polars as pl

__all__ = ["percent_decode", "percent_encode", "query_parameters"]

_HEX = "0123456789abcdef"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _byte_hex(text: str) -> str:
    return text.encode().hex()


# byte token -> hex of its encoded form (the spaces are dropped afterwards)
_ENCODE = {
    f"{b:02x} ": (f"{b:02x}" if b in _UNRESERVED else _byte_hex(f"%{b:02X}")) for b in range(256)
}

# "%" + two hex digits (either case) -> the byte, as a token
_HEX_DIGITS = "0123456789abcdefABCDEF"
_DECODE = {
    f"25 {_byte_hex(hi)} {_byte_hex(lo)} ": f"{int(hi + lo, 16):02x} "
    for hi in _HEX_DIGITS
    for lo in _HEX_DIGITS
}

# a sequence of byte tokens that is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)
_T = "[89ab][0-9a-f] "
_UTF8 = (
    "^(?:[0-7][0-9a-f] "
    f"|(?:c[2-9a-f]|d[0-9a-f]) {_T}"
    f"|e0 [ab][0-9a-f] {_T}|(?:e[1-9a-c]|e[ef]) {_T}{_T}|ed [89][0-9a-f] {_T}"
    f"|f0 [9ab][0-9a-f] {_T}{_T}|f[1-3] {_T}{_T}{_T}|f4 8[0-9a-f] {_T}{_T}"
    ")*$"
)


def _tokens(expr: pl.Expr) -> pl.Expr:
    return expr.str.encode("hex").str.replace_all("(..)", "$1 ")


def _from_tokens(tokens: pl.Expr) -> pl.Expr:
    return tokens.str.replace_all(" ", "", literal=True).str.decode("hex").cast(pl.String)


def percent_encode(expr: pl.Expr) -> pl.Expr:
    """Percent-encode every byte but ``A-Z a-z 0-9 - . _ ~`` (RFC 3986 unreserved).

    >>> pl.select(percent_encode(pl.lit("a b/é"))).item()
    'a%20b%2F%C3%A9'
    """
    return _from_tokens(
        _tokens(expr).str.replace_many(list(_ENCODE), list(_ENCODE.values()))
    ).str.replace_all(" ", "", literal=True)


def percent_decode(expr: pl.Expr, *, plus_is_space: bool = False) -> pl.Expr:
    """Decode ``%XX`` escapes (either case); ``+`` becomes a space if ``plus_is_space``.

    A value whose escapes do not decode to valid UTF-8 comes back unchanged.

    >>> pl.select(percent_decode(pl.lit("%D0%9F%2fa+b"), plus_is_space=True)).item()
    'П/a b'
    """
    if plus_is_space:
        expr = expr.str.replace_all("+", " ", literal=True)
    original = _tokens(expr)
    decoded = original.str.replace_many(list(_DECODE), list(_DECODE.values()))
    safe = pl.when(decoded.str.contains(_UTF8)).then(decoded).otherwise(original)
    return _from_tokens(safe)


def query_parameters(url: pl.Expr, *, decode: bool = True) -> pl.Expr:
    """A list of ``{name, value}`` structs: the query of ``url`` (after ``?``, before ``#``).

    Text without ``?`` and without ``://`` is taken as a query string itself (the
    ``postback_url_parameters`` field). A parameter without ``=`` has a null value.
    """
    query = (
        pl.when(url.str.contains("?", literal=True))
        .then(url.str.extract(r"\?([^#]*)", 1))
        .when(url.str.contains("://", literal=True))
        .then(pl.lit(""))
        .otherwise(url.str.extract(r"^([^#]*)", 1))
    )
    pairs = query.str.split("&").list.eval(
        pl.element().filter(pl.element() != "").str.splitn("=", 2)
    )
    if not decode:
        return pairs.list.eval(pl.element().struct.rename_fields(["name", "value"]))
    return pairs.list.eval(
        pl.struct(
            name=percent_decode(pl.element().struct.field("field_0"), plus_is_space=True),
            value=percent_decode(pl.element().struct.field("field_1"), plus_is_space=True),
        )
    )
