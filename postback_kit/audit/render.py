"""Fill a template from export rows, and compare the result with what was actually sent.

>>> frame = pl.DataFrame({"click_id": ["c1", None], "os_name": ["ios", "android"]})
>>> out = render_template("https://pb.example.com/?cid={click_id}&os={os_name}", frame)
>>> out["rendered"].to_list()
['https://pb.example.com/?cid=c1&os=ios', 'https://pb.example.com/?cid=&os=android']
>>> out["empty_macros"].to_list()
[[], ['click_id']]

A macro takes its value from the export field its catalogue entry names (``column``); a macro
the catalogue does not know (or knows without a field) takes the tracking-URL parameter of the
same name from ``click_url_parameters`` when the export has it, since AppMetrica passes any
tracking-URL parameter written as ``{name}``. A macro with no source stays in the rendered text
as written and is listed in ``unresolved_macros``. Values are percent-encoded in URL templates.

Everything is one polars expression per template piece (literal text or macro), concatenated
with ``concat_str``: no Python runs per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import polars as pl

from ..errors import MissingColumnsError
from .macros import MacroCatalogue, MacroUse
from .template import TemplateParts, parse_template, resolve_catalogue
from .urlcodec import percent_decode, percent_encode, query_parameters

__all__ = ["RenderComparison", "compare_rendered", "render_template"]

_EMPTY_LIST = pl.List(pl.String)
STATUSES = ("same", "different", "missing", "extra", "not_rendered")


class _Context:
    """The template taken apart once, and one value expression per macro name."""

    def __init__(
        self,
        template: str,
        schema: pl.Schema,
        style: str,
        macros: MacroCatalogue | None,
        extra_macros: Any,
    ) -> None:
        self.template = template
        self.catalogue, uses = resolve_catalogue(template, style, macros, extra_macros)
        # only the platform's own syntax is substituted; anything else is sent as text
        self.uses = [u for u in uses if u.syntax == self.catalogue.syntax]
        self.parts: TemplateParts = parse_template(template, uses)
        self.schema = schema
        self.values: dict[str, pl.Expr | None] = {u.name: self._value(u.name) for u in self.uses}

    def _value(self, name: str) -> pl.Expr | None:
        macro = self.catalogue.get(name)
        if macro is not None and macro.column is not None:
            if macro.column in self.schema:
                return _formatted(macro.column, self.schema[macro.column], macro.format)
            return None
        from_link = macro is None or not macro.documented or macro.source == "Link"
        if from_link and "click_url_parameters" in self.schema:
            return _tracking_parameter(name)
        return None

    @property
    def unresolved(self) -> list[str]:
        return list(dict.fromkeys(n for n, v in self.values.items() if v is None))

    def concat(self, start: int, end: int, *, encode: bool, decode_literals: bool) -> pl.Expr:
        """The text of ``template[start:end]`` with its macros filled in."""
        pieces: list[pl.Expr] = []
        at = start
        for u in self.uses:
            if u.start < start or u.end > end:
                continue
            pieces.append(pl.lit(self._literal(at, u.start, decode_literals)))
            pieces.append(self._macro(u, encode))
            at = u.end
        pieces.append(pl.lit(self._literal(at, end, decode_literals)))
        return pl.concat_str(pieces)

    def _literal(self, start: int, end: int, decode: bool) -> str:
        text = self.template[start:end]
        return unquote_plus(text) if decode else text

    def _macro(self, u: MacroUse, encode: bool) -> pl.Expr:
        value = self.values[u.name]
        if value is None:
            return pl.lit(self.template[u.start : u.end])
        value = value.fill_null("")
        return percent_encode(value) if encode else value

    def has_unresolved(self, start: int, end: int) -> bool:
        return any(
            self.values[u.name] is None for u in self.uses if start <= u.start and u.end <= end
        )


def _formatted(column: str, dtype: pl.DataType, fmt: str | None) -> pl.Expr:
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        utc = (
            col.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else col.dt.convert_time_zone("UTC")
        )
        if fmt == "unix":
            return utc.dt.epoch("s").cast(pl.String)
        if fmt == "rfc3339":
            return utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return utc.dt.strftime("%Y-%m-%d %H:%M:%S")
    return col.cast(pl.String)


def _tracking_parameter(name: str) -> pl.Expr:
    src = pl.col("click_url_parameters").cast(pl.String)
    # the export may give the parameters once more URL-encoded (param1%3D1%26param2%3D2)
    text = pl.when(src.str.contains("=", literal=True)).then(src).otherwise(percent_decode(src))
    raw = text.str.extract(rf"(?:^|[?&]){pl.escape_regex(name)}=([^&#]*)", 1)
    return percent_decode(raw, plus_is_space=True)


def _schema(frame: pl.DataFrame | pl.LazyFrame) -> pl.Schema:
    return frame.collect_schema()


def render_template(
    template: str,
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    style: str = "auto",
    encode: bool | None = None,
    macros: MacroCatalogue | None = None,
    extra_macros: str | Path | Iterable[str | Path] | None = None,
) -> pl.DataFrame:
    """The export rows with the template filled in from each row.

    Adds ``rendered`` (the postback as it would be sent), ``empty_macros`` (macros whose
    value is empty or missing in that row: iOS IDs on Android, a click ID on an unattributed
    install) and ``unresolved_macros`` (macros no export field or tracking parameter can fill;
    they stay in ``rendered`` as written). ``encode`` (default: True for URLs, False for JSON
    bodies) percent-encodes the values.
    """
    ctx = _Context(template, _schema(frame), style, macros, extra_macros)
    if encode is None:
        encode = ctx.parts.kind in ("url", "query")
    rendered = ctx.concat(0, len(template), encode=encode, decode_literals=False)
    empties = [
        pl.when(value.is_null() | (value == "")).then(pl.lit(name))
        for name, value in ctx.values.items()
        if value is not None
    ]
    empty = pl.concat_list(empties).list.drop_nulls() if empties else pl.lit([], dtype=_EMPTY_LIST)
    out = frame.lazy().with_columns(
        rendered=rendered,
        empty_macros=empty,
        unresolved_macros=pl.lit(ctx.unresolved, dtype=_EMPTY_LIST),
    )
    return out.collect()


# --------------------------------------------------------------------------- comparison


@dataclass
class RenderComparison:
    """Rendered parameters against the ``postback_url`` actually sent.

    ``rows``: one row per (export row, parameter, occurrence): ``row`` (position in the
    export), ``parameter``, ``occurrence`` (0 for the first of a repeated name), ``rendered``,
    ``sent`` (both decoded), ``status``: ``same`` | ``different`` | ``missing`` (in the
    template, not in the sent URL) | ``extra`` (sent, not in the template) | ``not_rendered``
    (a macro of that value has no source in the export). The pseudo-parameter ``(base)`` is the
    URL before ``?``.
    ``summary``: per parameter and status, the count and the first row.
    """

    rows: pl.DataFrame
    summary: pl.DataFrame

    def differences(self) -> pl.DataFrame:
        """The rows whose status is not ``same``."""
        return self.rows.filter(pl.col("status") != "same")

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary.to_dicts(), "differences": self.differences().height}


def compare_rendered(
    template: str,
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    style: str = "auto",
    sent: str | None = None,
    macros: MacroCatalogue | None = None,
    extra_macros: str | Path | Iterable[str | Path] | None = None,
) -> RenderComparison:
    """Compare, parameter by parameter, the template filled from each row with what was sent.

    ``sent`` is the column holding the URL actually sent: ``postback_url`` by default, else
    ``postback_url_parameters``. Values are compared decoded (``%2F`` equals ``/``, ``+`` in a
    sent URL is a space).
    """
    schema = _schema(frame)
    if sent is None:
        sent = next((c for c in ("postback_url", "postback_url_parameters") if c in schema), None)
    if sent is None or sent not in schema:
        raise MissingColumnsError(
            [sent or "postback_url"], needed_for="compare_rendered", available=schema.names()
        )
    ctx = _Context(template, schema, style, macros, extra_macros)
    base = frame.lazy().with_row_index("row")

    specs: list[pl.Expr] = []
    counts: dict[str, int] = {}
    if ctx.parts.kind == "url" and ctx.parts.query is not None:
        a = ctx.parts.core[0]
        end = ctx.parts.query[0] - 1
        specs.append(_spec(ctx, "(base)", 0, a, end, decode=False))
    for prm in ctx.parts.parameters:
        if prm.start == prm.end:
            continue
        name = unquote_plus(prm.name)
        k = counts.get(name, 0)
        counts[name] = k + 1
        specs.append(_spec(ctx, name, k, prm.value_start, prm.end, decode=True))

    key = ["row", "parameter", "occurrence"]
    if specs:
        wanted = (
            base.select("row", pl.concat_list(specs).alias("p"))
            .explode("p")
            .unnest("p")
            .with_columns(_t=pl.lit(True))
        )
    else:
        wanted = pl.LazyFrame(
            schema={
                "row": pl.UInt32,
                "parameter": pl.String,
                "occurrence": pl.Int64,
                "rendered": pl.String,
                "_unres": pl.Boolean,
                "_t": pl.Boolean,
            }
        )
    url = pl.col(sent).cast(pl.String)
    got = (
        base.select("row", query_parameters(url).alias("p"))
        .explode("p")
        .unnest("p")
        .filter(pl.col("name").is_not_null())
        .rename({"name": "parameter", "value": "sent"})
        .with_columns(occurrence=pl.int_range(pl.len()).over("row", "parameter"))
    )
    if ctx.parts.kind == "url":
        sent_base = base.filter(url.str.contains("://", literal=True)).select(
            "row",
            parameter=pl.lit("(base)"),
            occurrence=pl.lit(0, dtype=pl.Int64),
            sent=percent_decode(url.str.extract(r"^([^?#]*)", 1)),
        )
        got = pl.concat([got, sent_base], how="diagonal_relaxed")
    got = got.with_columns(pl.col("occurrence").cast(pl.Int64), _s=pl.lit(True))
    wanted = wanted.with_columns(pl.col("occurrence").cast(pl.Int64))

    rows = (
        wanted.join(got, on=key, how="full", coalesce=True)
        .with_columns(
            status=pl.when(pl.col("_t").is_null())
            .then(pl.lit("extra"))
            .when(pl.col("_s").is_null())
            .then(pl.lit("missing"))
            .when(pl.col("_unres"))
            .then(pl.lit("not_rendered"))
            .when(pl.col("rendered").fill_null("") == pl.col("sent").fill_null(""))
            .then(pl.lit("same"))
            .otherwise(pl.lit("different"))
            .cast(pl.Enum(STATUSES))
        )
        .select(*key, "rendered", "sent", "status")
        .sort(key)
        .collect()
    )
    summary = (
        rows.group_by("parameter", "status")
        .agg(count=pl.len(), first_row=pl.col("row").min())
        .sort("parameter", "status")
    )
    return RenderComparison(rows, summary)


def _spec(ctx: _Context, name: str, k: int, start: int, end: int, *, decode: bool) -> pl.Expr:
    return pl.struct(
        parameter=pl.lit(name),
        occurrence=pl.lit(k, dtype=pl.Int64),
        rendered=ctx.concat(start, end, encode=False, decode_literals=decode),
        _unres=pl.lit(ctx.has_unresolved(start, end)),
    )
