"""Response body → human message → masked template ("signature"), the way error trackers group.

A partner answers each postback with a body: JSON, ``key=value;`` pairs, an HTML error page from
a proxy, a bare token, a sentence. Two steps turn it into something to group by:

1. :func:`message_expr` pulls out the human message: the value of a known JSON key
   (``message``, ``error``, ``{"error": {"message": ...}}``, ``{"errors": [{"message": ...}]}``,
   …), of a ``key=value`` pair (``err_msg=...``), the ``<title>``/``<h1>`` of an HTML page, or the
   text itself. Whitespace is collapsed and long messages are cut to :data:`MESSAGE_LIMIT`
   characters (ending in ``…``).
2. :func:`signature_expr` masks what varies per request — URLs, e-mails, UUIDs, IP addresses,
   timestamps, numbers and hex IDs, long alphanumeric IDs, quoted values — with placeholders
   (``<url>``, ``<email>``, ``<uuid>``, ``<ip>``, ``<ts>``, ``<num>``, ``<id>``, ``"<str>"``), so
   that ``click not found: 1a2b3c4d5e`` and ``click not found: 9f8e7d6c5b`` share the signature
   ``click not found: <num>``. Numbers and hex IDs share ``<num>`` on purpose: a hex ID that
   happens to be all digits must land in the same signature as its siblings.

Case is kept: signatures stay readable (``INVALID_CLICK_ID``) and one partner writes its
messages one way. Quoted identifiers (``"click_id"``) are kept too, because they name the
parameter at fault; quoted values with digits, spaces or other characters are masked.
A body without a message gets the signature ``(empty body)``, or ``(no answer)`` when there was no
HTTP answer at all (null ``response_code``).

The rules are polars string expressions (:func:`message_expr`, :func:`signature_expr`: every
JSON path tried on every body). :func:`with_signatures` and ``classify`` compute the same values
once per *distinct* body and join them back, in steps on the collected frame of distinct bodies
(no Python function per row): a JSON body is parsed only for the paths whose keys it contains
and leaves at the first that gives a message, the markup and ``key=value`` rules run over the
other bodies, each distinct message is masked once, and the work is split between the cores.
``tests/test_signatures_equivalence.py`` checks that both forms agree.

>>> signature_of('{"error": {"code": 12, "message": "click not found: 1a2b3c4d5e6f"}}')
'click not found: <num>'
>>> extract_message("success=false; err_msg=Invalid token")
'Invalid token'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

import polars as pl

__all__ = [
    "EMPTY_BODY",
    "MESSAGE_LIMIT",
    "NO_ANSWER",
    "NO_ANSWER_CODE",
    "code_text",
    "extract_message",
    "message_expr",
    "signature_expr",
    "signature_of",
    "with_signatures",
]

MESSAGE_LIMIT: Final = 200
"""Messages and signatures longer than this many characters are cut and end in ``…``."""

NO_ANSWER: Final = "(no answer)"
"""Signature of an attempt that got no HTTP answer (timeout, refused, DNS, TLS) and no body."""

NO_ANSWER_CODE: Final = "no answer"
"""How a null ``response_code`` (no answer) is written where a code is shown as text: the keys
of an issue's ``response_codes``, ``Explanation``'s text, the ``code`` column of the views."""


def code_text(column: str = "response_code") -> pl.Expr:
    """The response code as text, :data:`NO_ANSWER_CODE` for none, named ``code``."""
    return pl.col(column).cast(pl.String).fill_null(NO_ANSWER_CODE).alias("code")


EMPTY_BODY: Final = "(empty body)"
"""Signature of an answer whose body is empty (or only whitespace)."""

_RAW_LIMIT = 4000  # characters of a message that are normalised and masked at all
_ELLIPSIS = "…"

# --------------------------------------------------------------------------- message

# JSON paths tried in order; the first that yields a non-empty string wins. Nested shapes first
# (an "error" that is an object must not win over its "message").
_JSON_PATHS: tuple[str, ...] = (
    *(f"$.error.{key}" for key in ("message", "Message", "msg", "description", "detail", "reason")),
    "$.Error.Message",
    "$.Error.message",
    *(f"$.errors[0].{key}" for key in ("message", "Message", "msg", "detail", "description")),
    "$.Errors[0].Message",
    "$.errors[0]",
    "$.error[0].message",
    *(
        f"$.{outer}.{key}"
        for outer in ("data", "result", "response")
        for key in ("message", "error")
    ),
    "$.message",
    "$.Message",
    "$.MESSAGE",
    "$.msg",
    "$.Msg",
    "$.error_message",
    "$.errorMessage",
    "$.ErrorMessage",
    "$.error_msg",
    "$.err_msg",
    "$.errmsg",
    "$.error_description",
    "$.errorDescription",
    "$.status_message",
    "$.statusMessage",
    "$.error",
    "$.Error",
    "$.err",
    "$.description",
    "$.Description",
    "$.detail",
    "$.details",
    "$.reason",
    "$.Reason",
    "$[0].message",
    "$[0].error",
    # last resort: an error code as text ({"status":"rejected","code":"INVALID_GOAL_VALUE"});
    # numeric codes are not messages (see _usable)
    "$.error_code",
    "$.errorCode",
    "$.ErrorCode",
    "$.code",
    "$.Code",
)

_KV_KEYS = (
    "err_?msg|error_?message|error_?description|error_?msg|errmsg|error|err|message|msg"
    "|reason|description|detail"
)
# `key=value` pairs separated by ; & , or spaces; the value runs to the next separator.
_KV = rf"(?i)(?:^|[;&,?\s])(?:{_KV_KEYS})\s*=\s*([^;&\r\n]+)"
_HTML = r"(?i)<(?:!doctype\s+html|html|head|body|title|h1)\b"
_XML_MESSAGE = (
    r"(?is)<(?:message|errormessage|error_message|error|description|reason|faultstring)"
    r"(?:\s[^>]*)?>\s*([^<]*[^<\s])\s*</"
)
_TITLE = r"(?is)<title[^>]*>(.*?)</title"
_H1 = r"(?is)<h1[^>]*>(.*?)</h1"
_SCRIPT_STYLE = r"(?is)<(script|style)\b.*?</(?:script|style)\s*>"
_TAG = r"(?s)<[^>]*>"
# bare literals, and an empty quoted string ('err_msg=""' has no message)
_NOT_A_MESSAGE = (
    r"(?i)^(?:true|false|null|none|''|" + '""' + r"|-?[0-9]+(?:\.[0-9]+)?(?:e[+\-]?[0-9]+)?)$"
)
_ENTITIES = {
    "&amp;": "&",
    "&lt;": "<",
    "&gt;": ">",
    "&quot;": '"',
    "&#39;": "'",
    "&#039;": "'",
    "&apos;": "'",
    "&nbsp;": " ",
}


# The helpers below are straight chains of string operations: an expression that used its input
# twice (when/then/otherwise) would double the whole tree under it at every level.


def _usable(value: pl.Expr) -> pl.Expr:
    """``value`` stripped, or null when it is empty, an object/array, a bare literal or only
    mask placeholders (see :data:`_ONLY_PLACEHOLDERS`)."""
    return (
        value.str.strip_chars()
        .str.replace(_NOT_A_MESSAGE, "")
        .str.replace(_ONLY_PLACEHOLDERS, "")
        .str.extract(r"(?s)^([^\[{\s].*)$", 1)
    )


def _html_text(value: pl.Expr) -> pl.Expr:
    text = value.str.replace_all(_SCRIPT_STYLE, " ").str.replace_all(_TAG, " ")
    for entity, char in _ENTITIES.items():
        text = text.str.replace_all(entity, char, literal=True)
    return text


def _normalise(value: pl.Expr) -> pl.Expr:
    """Control characters and whitespace runs → one space; stripped; empty → null."""
    return (
        value.str.slice(0, _RAW_LIMIT)
        .str.replace_all(r"[\s\x00-\x1f\x7f]+", " ")
        .str.strip_chars()
        .str.extract(r"^(.+)$", 1)
    )


def _truncate(value: pl.Expr, limit: int = MESSAGE_LIMIT) -> pl.Expr:
    # Cut to limit-1 characters plus the ellipsis, so the result has `limit` characters and
    # truncating twice changes nothing (signatures are idempotent).
    return value.str.replace(rf"(?s)^(.{{{limit - 1}}})..+$", "${1}" + _ELLIPSIS)


def _text(body: pl.Expr) -> pl.Expr:
    return body.cast(pl.String).str.strip_chars()


def _raw_message(text: pl.Expr, json_message: pl.Expr | None = None) -> pl.Expr:
    """The message before truncation (whitespace-normalised, at most 4000 characters).

    ``text`` is the stripped body (:func:`_text`); staged callers pass it as a column so that
    the many branches below read it instead of recomputing it, and ``json_message`` as the
    column :func:`_first_json_message` computed (the same value, parsed only where a key can match).
    """
    is_json = text.str.starts_with("{") | text.str.starts_with("[")
    # Markup: an HTML page, an XML document, or at least an element with a closing tag (a
    # message that merely starts with a placeholder such as "<num>" is not markup).
    is_markup = (
        text.str.contains(_HTML)
        | text.str.starts_with("<?xml")
        | (text.str.contains(r"^<[A-Za-z][\w:\-]*[^>]*>") & text.str.contains("</", literal=True))
    )
    if json_message is None:
        json_message = pl.coalesce([_usable(text.str.json_path_match(p)) for p in _JSON_PATHS])
    markup_message = pl.coalesce(
        _usable(text.str.extract(_XML_MESSAGE, 1)),
        _usable(_html_text(text.str.extract(_TITLE, 1))),
        _usable(_html_text(text.str.extract(_H1, 1))),
        _usable(_html_text(text)),
    )
    kv_value = text.str.extract(_KV, 1)
    # URL-encoded pairs (`status=error&message=Invalid+goal`): `+` and `%20` are spaces.
    kv_message = _usable(
        pl.when(text.str.contains(r"\s"))
        .then(kv_value)
        .otherwise(kv_value.str.replace_all("+", " ", literal=True).str.replace_all("%20", " "))
    )
    quoted = text.str.extract(r'^"([^"]*)"$', 1)  # a body that is one JSON string
    # ... unless what it quotes is only placeholders: then the body is a signature of a quoted
    # message ('"<str>"'), and unwrapping it would make the signature of a signature differ
    quoted = pl.when(quoted.str.contains(_ONLY_PLACEHOLDERS)).then(None).otherwise(quoted)
    candidate = pl.coalesce(
        pl.when(is_json).then(json_message),
        pl.when(is_markup & ~is_json).then(markup_message),
        pl.when(~is_json & ~is_markup).then(kv_message),
        quoted,
        text,
    )
    return _normalise(candidate)


def message_expr(body: pl.Expr) -> pl.Expr:
    """The human message inside a response body, as a polars expression (null when none).

    JSON bodies give the value of the first known key (``message``, ``Message``, ``msg``,
    ``error``, ``error_message``, ``errorMessage``, ``description``, ``detail``, ``reason``,
    ``status_message``, …), nested ones included (``{"error": {"message": ...}}``,
    ``{"errors": [{"message": ...}]}``); a JSON body without such a key is its own message.
    ``key=value;`` bodies give ``err_msg``/``error``/``message``/… ; HTML pages their
    ``<title>`` (else ``<h1>``, else their text); anything else is the message itself.
    Whitespace is collapsed and messages longer than :data:`MESSAGE_LIMIT` characters are cut.

    >>> df = pl.DataFrame({"b": ['{"Message":"malformed clickId","Status":400}']})
    >>> df.select(message_expr(pl.col("b"))).item()
    'malformed clickId'
    """
    return _truncate(_raw_message(_text(body)))


# --------------------------------------------------------------------------- masking


def _containing_digit(chars: str, min_len: int) -> str:
    """Regex for a run of ``chars`` at least ``min_len`` long with at least one ASCII digit.

    (The regex engine has no look-ahead: enumerate where the first digit may stand.)
    """
    alternatives = [f"{chars}{{{k}}}[0-9]{chars}{{{min_len - 1 - k},}}" for k in range(min_len - 1)]
    alternatives.append(f"{chars}{{{min_len - 1},}}[0-9]{chars}*")
    return "(?:" + "|".join(alternatives) + ")"


_MONTH = "(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_DAY = "(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*"
_HEX4 = "[0-9a-f]{1,4}"

# (what, regex, replacement), applied in this order: wide shapes before the pieces they contain.
MASKS: tuple[tuple[str, str, str], ...] = (
    ("url", r"(?i)\b(?:https?|ftp|wss?)://[^\s\"'<>]+", "<url>"),
    ("email", r"(?i)\b[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)+", "<email>"),
    (
        "uuid",
        r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "<uuid>",
    ),
    (
        "ipv6",
        rf"(?i)\b(?:(?:{_HEX4}:){{7}}{_HEX4}|(?:{_HEX4}:){{1,7}}:(?:{_HEX4}(?::{_HEX4}){{0,6}})?)",
        "<ip>",
    ),
    ("ipv4", r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?::[0-9]{1,5})?\b", "<ip>"),
    (
        "ts",
        "(?i)"
        # ISO 8601 and friends: 2024-05-01, 2024/05/01 10:00, 2024-05-01T10:00:00.123+03:00
        r"\b[0-9]{4}[\-/][0-9]{1,2}[\-/][0-9]{1,2}"
        r"(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)?"
        r"(?:Z|\s?[+\-][0-9]{2}:?[0-9]{2}|\s?UTC|\s?GMT)?"
        # 01.05.2024 (10:00:00)
        r"|\b[0-9]{1,2}[./][0-9]{1,2}[./][0-9]{2,4}(?:[ T,]+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?"
        # Wed, 01 May 2024 10:00:00 GMT
        rf"|\b{_DAY},?\s+[0-9]{{1,2}}\s+{_MONTH}\s+[0-9]{{4}}"
        r"(?:\s+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?(?:\s+(?:GMT|UTC))?"
        # 10:00:00(.123)
        r"|\b[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?\b",
        "<ts>",
    ),
    # Numbers and hex IDs share one placeholder: a hex ID that happens to be all digits
    # (2 % of 8-character IDs) must not split its template in two. Digits after "_" count.
    ("num", r"(\b|_)[0-9]+(?:\.[0-9]+)?\b", "${1}<num>"),
    ("hex", rf"(?i)\b(?:0x[0-9a-f]+|{_containing_digit('[0-9a-f]', 6)})\b", "<num>"),
    ("id", rf"\b{_containing_digit('[A-Za-z0-9_]', 16)}\b", "<id>"),
)
"""The masks of :func:`signature_expr`, in the order they apply: ``(name, regex, placeholder)``."""

_PLACEHOLDERS = sorted(
    {placeholder.removeprefix("${1}") for _n, _r, placeholder in MASKS} | {"<str>"}
)
_ONLY_PLACEHOLDERS = (
    r"^[^\p{L}\p{N}]*(?:(?:" + "|".join(map(re.escape, _PLACEHOLDERS)) + r")[^\p{L}\p{N}]*)+$"
)
"""A value made only of mask placeholders (and signs, punctuation, spaces): ``<num>``, ``-<num>``,
``"<str>"``. It is not a message: only masking writes it, from a value that was none (``0`` →
``<num>``, a quoted number → ``"<str>"``), so reading it as a message would make the signature
of a signature differ from the signature (masking must be idempotent)."""

_IDENT = r"[A-Za-z_.\-]*"  # a quoted identifier ("click_id") is kept: it names the field at fault


def _mask_quoted(text: pl.Expr) -> pl.Expr:
    # Quoted identifiers are protected with control characters (normalisation removed every
    # control character from the text), the other quoted values masked, then the quotes restored.
    text = text.str.replace_all(rf'"({_IDENT})"', "\x01${1}\x02")
    text = text.str.replace_all(r'"[^"\n]*"', '"<str>"')
    # Single quotes open a value only after a non-word character (not in "don't").
    text = text.str.replace_all(rf"(^|[^\w])'({_IDENT})'", "${1}\x03${2}\x04")
    text = text.str.replace_all(r"(^|[^\w])'[^'\n]*'", "${1}'<str>'")
    for sentinel, quote in (("\x01", '"'), ("\x02", '"'), ("\x03", "'"), ("\x04", "'")):
        text = text.str.replace_all(sentinel, quote, literal=True)
    return text


def _mask(message: pl.Expr) -> pl.Expr:
    text = message
    for _name, pattern, placeholder in MASKS:
        text = text.str.replace_all(pattern, placeholder)
    text = _mask_quoted(text)
    return text.str.replace_all(r"\s+", " ").str.strip_chars()


def _empty_signature(code: pl.Expr | None) -> pl.Expr:
    if code is None:
        return pl.lit(EMPTY_BODY)
    no_answer = code.is_null() | (code == 0)  # exports write 0 when there was no answer
    return pl.when(no_answer).then(pl.lit(NO_ANSWER)).otherwise(pl.lit(EMPTY_BODY))


def signature_expr(body: pl.Expr, code: pl.Expr | None = None) -> pl.Expr:
    """The masked template of a body's message, as a polars expression (never null).

    ``code`` (the ``response_code`` expression) tells an empty answer from no answer: a body
    without a message is ``(no answer)`` where the code is null (or 0) and ``(empty body)``
    otherwise (always ``(empty body)`` when ``code`` is not given).

    >>> df = pl.DataFrame({"b": ["click not found: 1a2b3c4d5e", "click not found: 9f8e7d6c5b"]})
    >>> df.select(signature_expr(pl.col("b"))).to_series().unique().to_list()
    ['click not found: <num>']
    """
    raw = _raw_message(_text(body))
    return pl.coalesce(_truncate(_mask(raw)), _empty_signature(code))


# --------------------------------------------------------------------------- frames

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

BODY = "__pk_body"


def per_distinct_body(
    frame: pl.LazyFrame,
    body: str,
    stages: Sequence[Stage],
    *,
    drop: Sequence[str] = (),
) -> pl.LazyFrame:
    """Add columns computed from the distinct values of the ``body`` column only.

    ``stages`` are applied one after the other to the frame of distinct bodies, where the body
    is ``pl.col("__pk_body")``; the columns named in ``drop`` are intermediate and not joined
    back. Rows keep their order. This is how the regex-heavy work runs once per distinct body
    instead of once per attempt.
    """
    distinct = frame.select(pl.col(body).cast(pl.String).alias(BODY)).unique()
    for stage in stages:
        distinct = stage(distinct) if callable(stage) else distinct.with_columns(**stage)
    distinct = distinct.drop(drop)
    joined = frame.with_columns(pl.col(body).cast(pl.String).alias(BODY)).join(
        distinct, on=BODY, how="left", nulls_equal=True, maintain_order="left"
    )
    return joined.drop(BODY)


TEXT = "__pk_text"
JSON_MESSAGE = "__pk_json_message"
RAW = "__pk_raw"
SIGNATURE = "__pk_signature"
INTERMEDIATE = (TEXT, JSON_MESSAGE, RAW)
"""Columns of :func:`body_stages` that are not joined back."""

Stage = dict[str, pl.Expr] | Callable[[pl.LazyFrame], pl.LazyFrame]
"""A step of :func:`per_distinct_body`: columns to add, or a function of the whole frame."""


def _path_keys(path: str) -> tuple[str, ...]:
    """The object keys of a JSON path (``$.error.message`` → ``("error", "message")``,
    ``$.errors[0]`` → ``("errors",)``, ``$[0].message`` → ``("message",)``)."""
    return tuple(re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)", path))


_QUOTED_KEYS: Final = tuple(dict.fromkeys(f'"{k}"' for p in _JSON_PATHS for k in _path_keys(p)))
_KEY_BIT: Final = {quoted: 1 << i for i, quoted in enumerate(_QUOTED_KEYS)}
assert len(_KEY_BIT) <= 64, "the keys of _JSON_PATHS must fit in a UInt64 bit mask"


def _key_masks(texts: pl.Series) -> pl.Series:
    """Bit mask of the :data:`_QUOTED_KEYS` each text contains (one Aho-Corasick pass)."""
    found = (
        texts.str.extract_many(list(_QUOTED_KEYS), overlapping=True)
        .to_frame("k")
        .with_row_index("i")
        .explode("k")
        .drop_nulls("k")
        .group_by("i")
        .agg(pl.col("k").replace_strict(_KEY_BIT, return_dtype=pl.UInt64).bitwise_or())
    )
    masks = pl.repeat(0, texts.len(), dtype=pl.UInt64, eager=True)
    return masks.scatter(found["i"], found["k"])


def _first_json_message(texts: pl.Series) -> pl.Series:
    """For each text, the value of the first of :data:`_JSON_PATHS` that yields a usable
    message (null when none, and for texts that are not JSON).

    The same as coalescing ``_usable(json_path_match(path))`` over every path, in order, but a
    text leaves the race at the first path that gives it a message, and a path parses only the
    texts that contain every key it names (``"error"`` and ``"message"``), or any ``\\u``
    escape (a key could be spelled with one): a JSON path can only match where its keys are
    written, so most bodies are parsed once.
    """
    result = pl.repeat(None, texts.len(), dtype=pl.String, eager=True).alias(texts.name)
    is_json = (texts.str.starts_with("{") | texts.str.starts_with("[")).fill_null(False)
    pos = is_json.arg_true()
    rest = texts.filter(is_json)
    escaped = rest.str.contains("\\u", literal=True)
    masks = _key_masks(rest)
    for path in _JSON_PATHS:
        if rest.is_empty():
            break
        need = 0
        for key in _path_keys(path):
            need |= _KEY_BIT[f'"{key}"']
        cond = ((masks & need) == need) | escaped
        if not cond.any():
            continue
        cand = cond.arg_true()
        value = (
            rest.gather(cand)
            .to_frame("t")
            .select(_usable(pl.col("t").str.json_path_match(path)))
            .to_series()
        )
        hit = value.is_not_null()
        if not hit.any():
            continue
        result.scatter(pos.gather(cand.filter(hit)), value.filter(hit))
        keep = pl.repeat(True, rest.len(), eager=True).scatter(cand.filter(hit), False)
        rest, pos, escaped, masks = (s.filter(keep) for s in (rest, pos, escaped, masks))
    return result


def _raw_messages(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``__pk_raw`` (:func:`_raw_message` of ``__pk_text``): JSON bodies apart from the
    others, so that the markup and ``key=value`` branches run over the bodies they can apply to.

    For a JSON body the other branches are null (the quoted-string test too: it starts with
    ``{``/``[``), so its raw message is its JSON message, else the text itself."""
    text = pl.col(TEXT)
    is_json = (text.str.starts_with("{") | text.str.starts_with("[")).fill_null(False)
    json_rows = frame.filter(is_json).with_columns(
        _normalise(pl.coalesce(pl.col(JSON_MESSAGE), text)).alias(RAW)
    )
    other = frame.filter(~is_json).with_columns(_raw_message(text, pl.col(JSON_MESSAGE)).alias(RAW))
    return pl.concat([json_rows, other], how="vertical")


def _masked(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``message`` and ``__pk_signature`` from ``__pk_raw``; the masks run once per
    distinct raw message (bodies that differ only outside their message share it)."""
    raw = pl.col(RAW)
    templates = frame.select(raw).unique().with_columns(_truncate(_mask(raw)).alias(SIGNATURE))
    return frame.with_columns(_truncate(raw).alias("message")).join(
        templates, on=RAW, how="left", nulls_equal=True
    )


def _body_columns_of(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.with_columns(_text(pl.col(BODY)).alias(TEXT))
    frame = frame.with_columns(_first_json_message(frame[TEXT]).alias(JSON_MESSAGE))
    return _masked(_raw_messages(frame))


_PARALLEL_ROWS = 50_000  # distinct bodies from which the work is split between the cores


def _body_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`_body_columns_of` on slices of the frame, in as many threads as polars has
    (``POLARS_MAX_THREADS``, the cores by default): each step works on one column, which polars
    computes on one core; every row's result depends on that row only, and polars releases the
    GIL."""
    workers = min(pl.thread_pool_size(), frame.height // _PARALLEL_ROWS)
    if workers < 2:
        return _body_columns_of(frame)
    size = -(-frame.height // workers)
    slices = [frame.slice(i * size, size) for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return pl.concat(list(pool.map(_body_columns_of, slices)), how="vertical")


def _body_stage(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The columns of :func:`body_stages`, computed on the collected frame of distinct bodies
    (its steps filter and join it, which a lazy plan would recompute from the scan)."""
    schema: dict[str, pl.DataType] = dict(frame.collect_schema())
    schema.update({name: pl.String() for name in (TEXT, JSON_MESSAGE, RAW, "message", SIGNATURE)})
    return frame.map_batches(_body_columns, schema=schema)


def body_stages() -> list[Stage]:
    """Stages for :func:`per_distinct_body` (the body is ``__pk_body``): the intermediate
    ``__pk_text``, ``__pk_json_message`` and ``__pk_raw``, then ``message`` and
    ``__pk_signature`` (the signature, null where the body has no message).

    The same builders as :func:`message_expr` and :func:`signature_expr`, computed in steps so
    that the stripped body and the raw message are computed once, each JSON body is parsed for
    the paths whose keys it has (:func:`_first_json_message`), the markup and ``key=value``
    branches run over the bodies that are not JSON, and each distinct raw message is masked once.
    """
    return [_body_stage]


def finish_signature(code: pl.Expr | None) -> pl.Expr:
    """``signature`` from ``__pk_signature``, with the special values for bodiless rows."""
    return pl.coalesce(pl.col(SIGNATURE), _empty_signature(code)).alias("signature")


def with_signatures(
    frame: Frame, *, body: str = "response_body", code: str | None = "response_code"
) -> Frame:
    """Add ``message`` and ``signature`` columns, computed once per distinct body.

    ``code`` names the response-code column used to tell ``(no answer)`` from
    ``(empty body)``; it is ignored when the frame has no such column. Existing ``message`` and
    ``signature`` columns are replaced. Returns the same kind of frame it was given.

    >>> df = pl.DataFrame({"response_code": [404, 404, None],
    ...                    "response_body": ["no click 81234", "no click 99", None]})
    >>> with_signatures(df)["signature"].to_list()
    ['no click <num>', 'no click <num>', '(no answer)']
    """
    lazy = frame.lazy()
    names = lazy.collect_schema().names()
    lazy = lazy.drop([c for c in ("message", "signature") if c in names])
    has_body = body in names
    if not has_body:
        lazy = lazy.with_columns(pl.lit(None, pl.String).alias(body))
    lazy = per_distinct_body(lazy, body, body_stages(), drop=INTERMEDIATE)
    code_expr = pl.col(code) if code is not None and code in names else None
    lazy = lazy.with_columns(finish_signature(code_expr)).drop(SIGNATURE)
    if not has_body:
        lazy = lazy.drop(body)
    return lazy.collect() if isinstance(frame, pl.DataFrame) else lazy


# --------------------------------------------------------------------------- scalars


class _NotGiven:
    def __repr__(self) -> str:
        return "<not given>"


_NOT_GIVEN = _NotGiven()


def _one_row(body: str | None) -> pl.DataFrame:
    frame = pl.LazyFrame({BODY: [body]}, schema={BODY: pl.String})
    for stage in body_stages():
        frame = stage(frame) if callable(stage) else frame.with_columns(**stage)
    return frame.collect()


def extract_message(body: str | None) -> str | None:
    """The human message of one body (the scalar form of :func:`message_expr`).

    >>> extract_message('<html><head><title>502 Bad Gateway</title></head></html>')
    '502 Bad Gateway'
    >>> extract_message("   ") is None
    True
    """
    value = _one_row(body)["message"].item()
    return None if value is None else str(value)


def signature_of(body: str | None, code: int | _NotGiven | None = _NOT_GIVEN) -> str:
    """The signature of one body (the scalar form of :func:`signature_expr`).

    Pass the response code to tell an answer with an empty body (``(empty body)``) from no
    answer at all (``code=None`` → ``(no answer)``); without it, an empty body is
    ``(empty body)``.

    >>> signature_of("Conversion 123456 rejected at 2024-05-01 10:00:00")
    'Conversion <num> rejected at <ts>'
    >>> signature_of(None, code=None), signature_of("", code=204)
    ('(no answer)', '(empty body)')
    """
    frame = _one_row(body)
    if isinstance(code, _NotGiven):
        return str(frame.select(finish_signature(None)).item())
    frame = frame.with_columns(pl.lit(code, pl.Int32).alias("__pk_code"))
    return str(frame.select(finish_signature(pl.col("__pk_code"))).item())
