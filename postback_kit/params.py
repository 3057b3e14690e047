"""URL parameters of postbacks: which parameter is missing, empty, an unresolved macro, malformed
or changed in the attempts an issue hits, compared with the attempts that succeed.

A partner that answers ``400 malformed clickId`` usually means one parameter: ``click_id=`` sent
empty because AppMetrica could not fill the macro, ``{click_id}`` sent literally, a truncated
value, or a token rotated on one side. Comparing the failing attempts of a tracker with its
successful ones shows which.

>>> parse_query(pl.DataFrame({"u": ["https://p.io/cb?click_id=&goal=%7Bgoal%7D"]}), "u").collect()
shape: (2, 3)
┌─────┬──────────┬────────┐
│ row ┆ name     ┆ value  │
│ --- ┆ ---      ┆ ---    │
│ u32 ┆ str      ┆ str    │
╞═════╪══════════╪════════╡
│ 0   ┆ click_id ┆        │
│ 0   ┆ goal     ┆ {goal} │
└─────┴──────────┴────────┘

The macro styles and value shapes are data (``postback_kit/data/params.toml``), extensible
through :meth:`ParamRules.load`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from .errors import ConfigError

__all__ = [
    "PARAMETER_COLUMNS",
    "PROBLEMS",
    "ParamRules",
    "ParsedParameters",
    "Shape",
    "SuspectParameter",
    "parameter_table",
    "parse_parameters",
    "parse_query",
    "suspect_parameters",
]

PARAMETER_COLUMNS: tuple[str, ...] = (
    "postback_url_parameters",
    "postback_url",
    "click_url_parameters",
)
"""Columns whose query parameters are examined, in order of preference."""

PROBLEMS: tuple[str, ...] = ("missing", "empty", "macro", "malformed", "changed")
"""What can be wrong with a parameter in one attempt:

- ``missing``: absent in this attempt although other attempts of the tracker carry it;
- ``empty``: present without a value (``click_id=`` or ``click_id``), which is how AppMetrica
  sends a macro it cannot fill;
- ``macro``: an unresolved placeholder (``{click_id}``, ``(idfa)``, ``%7Bclick_id%7D``, …);
- ``malformed``: filled, but its shape (``hex32``, ``uuid``, ``digits10``, …) is none of the
  shapes the successful attempts show for this parameter;
- ``changed``: constant within the failing attempts and constant within the successful ones, but
  different between them (a rotated token, a changed goal ID).
"""

SOURCES: dict[str, str] = {
    "postback_url_parameters": "postback",
    "postback_url": "postback",
    "click_url_parameters": "click",
}
"""Parameter source per column: the postback's own parameters (from ``postback_url_parameters``
or, when absent, the query of ``postback_url``) or those of the tracking (click) URL."""

REFERENCE_MIN_SHARE = 0.1
"""A shape is a normal shape of a parameter when at least this share of its successful values
has it."""
MALFORMED_MIN_OK = 3
"""``malformed`` needs at least this many successful values of the parameter to compare with."""
CHANGED_MIN_UNITS = 3
"""``changed`` needs the constant values on each side in at least this many deliveries (or
attempts, without ``delivery_id``), so a single retried postback is not a "constant"."""

_ROW = "row"
_TOKEN = r"%[0-9A-Fa-f]{2}|[^%]+|%"
_C = "[89ab][0-9a-f]"
_UTF8_HEX = (  # hex of a valid UTF-8 byte sequence (no overlongs, no surrogates)
    "^(?:[0-7][0-9a-f]"
    f"|(?:c[2-9a-f]|d[0-9a-f]){_C}"
    f"|e0[ab][0-9a-f]{_C}|(?:e[1-9a-c]|e[ef]){_C}{_C}|ed[89][0-9a-f]{_C}"
    f"|f0[9ab][0-9a-f]{_C}{_C}|f[1-3]{_C}{_C}{_C}|f48[0-9a-f]{_C}{_C}"
    ")*$"
)


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Shape:
    """A value shape: the first matching ``pattern`` names it; ``length`` appends the length."""

    name: str
    pattern: str
    length: bool = False

    def label(self, value: pl.Expr) -> pl.Expr:
        """The shape's name for ``value`` (``hex32``: the name and the length when ``length``)."""
        name = pl.lit(self.name)
        return name + value.str.len_chars().cast(pl.String) if self.length else name


@dataclass(frozen=True)
class ParamRules:
    """Macro patterns and value shapes (from ``data/params.toml``, extensible).

    >>> rules = ParamRules.default()
    >>> "(idfa)" in [m["example"] for m in rules.macros]
    True
    """

    macros: tuple[dict[str, str], ...]
    """``{"name", "pattern", "example"}`` per macro style; ``pattern`` is matched against the
    decoded value."""
    shapes: tuple[Shape, ...]

    @classmethod
    def default(cls) -> ParamRules:
        """The rules shipped with the package."""
        text = resources.files("postback_kit").joinpath("data/params.toml").read_text("utf-8")
        return cls._from_toml(text, "postback_kit/data/params.toml")

    @classmethod
    def load(cls, path: str | Path, *, extend: bool = True) -> ParamRules:
        """Rules from a TOML file of the same format, added to the defaults unless
        ``extend=False``."""
        path = Path(path)
        try:
            text = path.read_text("utf-8")
        except OSError as err:
            raise ConfigError(
                f"cannot read the parameter rules {path}", found=str(err), hint="check the path"
            ) from err
        own = cls._from_toml(text, str(path))
        if not extend:
            return own
        base = cls.default()
        return cls(base.macros + own.macros, own.shapes + base.shapes)

    @classmethod
    def _from_toml(cls, text: str, origin: str) -> ParamRules:
        try:
            data = tomllib.loads(text)
            macros = tuple(
                {
                    "name": m.get("name", m["pattern"]),
                    "pattern": m["pattern"],
                    "example": m.get("example", ""),
                }
                for m in data.get("macro", [])
            )
            shapes = tuple(
                Shape(s["name"], s["pattern"], bool(s.get("length", False)))
                for s in data.get("shape", [])
            )
        except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as err:
            raise ConfigError(
                f"{origin} is not a valid parameter rules file",
                found=f"{type(err).__name__}: {err}",
                hint="each [[macro]] needs a `pattern`; each [[shape]] a `name` and a `pattern` "
                "(see postback_kit/data/params.toml)",
            ) from err
        return cls(macros, shapes)

    def is_macro(self, value: pl.Expr) -> pl.Expr:
        """True where ``value`` is entirely an unresolved macro."""
        if not self.macros:
            return pl.lit(False)
        pattern = "|".join(f"(?:{m['pattern']})" for m in self.macros)
        return value.str.contains(pattern).fill_null(False)

    def shape(self, value: pl.Expr) -> pl.Expr:
        """The shape name of ``value`` (``hex32``, ``uuid``, ``digits10``, ``text``, …)."""
        out: Any = pl
        for s in self.shapes:
            out = out.when(value.str.contains(s.pattern)).then(s.label(value))
        if out is pl:
            return pl.lit("text")
        return out.otherwise(pl.lit("text"))


_DEFAULT_RULES: ParamRules | None = None


def _default_rules() -> ParamRules:
    global _DEFAULT_RULES
    if _DEFAULT_RULES is None:
        _DEFAULT_RULES = ParamRules.default()
    return _DEFAULT_RULES


# --------------------------------------------------------------------------- parsing


def _url_decode(s: pl.Expr, *, plus: bool) -> pl.Expr:
    """Percent-decode ``s`` (and ``+`` → space when ``plus``), vectorised.

    Each ``%XX`` becomes its byte and every other run of characters its UTF-8 bytes (as hex),
    the hex is decoded to bytes and read back as UTF-8. A value whose decoded bytes are not valid
    UTF-8 is kept as it was (with ``+`` decoded); invalid escapes (``%zz``) stay literal.
    """
    if plus:
        s = s.str.replace_all("+", " ", literal=True)
    element = pl.element()
    hexed = (
        s.str.extract_all(_TOKEN)
        .list.eval(
            pl.when(element.str.contains("^%[0-9A-Fa-f]{2}$"))
            .then(element.str.slice(1).str.to_lowercase())
            .otherwise(element.str.encode("hex"))
        )
        .list.join("")
    )
    decoded = pl.when(hexed.str.contains(_UTF8_HEX)).then(hexed).str.decode("hex")
    return (
        pl.when(s.str.contains("%", literal=True))
        .then(pl.coalesce(decoded.cast(pl.String), s))
        .otherwise(s)
    )


def parse_query(frame: pl.DataFrame | pl.LazyFrame, column: str) -> pl.LazyFrame:
    """The query parameters of ``column``, one row per parameter: ``row``, ``name``, ``value``.

    ``row`` is the position of the attempt in ``frame``; names and values are URL-decoded
    (``%7B`` → ``{``, ``+`` → space); ``value`` is null for a name without ``=``.

    Accepts a full URL (the part after ``?``, without a ``#fragment``), a bare query
    (``a=1&b=2``, with or without a leading ``?``) and a query encoded once more as
    ``click_url_parameters`` are (``param1%3D1%26param2%3D2``). Empty pieces (``a=1&&b=2``, a
    trailing ``&``) are skipped; a repeated name gives one row per occurrence. Null values give
    no rows. Never raises on odd text: what cannot be decoded is kept as it is.
    """
    raw = pl.col("__raw")
    text = frame.lazy().select(pl.col(column).cast(pl.String).alias("__raw")).with_row_index(_ROW)
    # click_url_parameters: the whole query is URL-encoded once more (no '=' but a '%3D')
    twice = ~raw.str.contains("=", literal=True) & raw.str.contains("(?i)%3D")
    rows = _decode_where(text.collect(), ["__raw"], twice, plus=False)
    query = (
        pl.when(raw.str.contains(r"(?s)^[^?=&]*\?"))
        .then(raw.str.extract(r"(?s)^[^?=&]*\?(.*)$", 1))
        .when(raw.str.contains(r"^[A-Za-z][A-Za-z0-9+.\-]*://"))
        .then(pl.lit(""))
        .otherwise(raw)
        # a #fragment ends the query; `#macro#` placeholders are not fragments
        .str.replace(r"#[^#&=]+$", "")
    )
    pieces = (
        rows.lazy()
        .select(_ROW, query.str.split("&").alias("__piece"))
        .explode("__piece")
        .with_columns(pl.col("__piece").str.strip_chars())
        .filter(pl.col("__piece").is_not_null() & (pl.col("__piece") != ""))
        .with_columns(pl.col("__piece").str.splitn("=", 2).alias("__kv"))
        .select(
            _ROW,
            pl.col("__kv").struct.field("field_0").alias("name"),
            pl.col("__kv").struct.field("field_1").alias("value"),
        )
        .collect()
    )
    name, value = pl.col("name"), pl.col("value")
    escaped = name.str.contains("[%+]") | value.str.contains("[%+]")  # '+' is a space
    return (
        _decode_where(pieces, ["name", "value"], escaped, plus=True)
        .lazy()
        .select(_ROW, "name", "value")
    )


def _decode_where(
    frame: pl.DataFrame, columns: list[str], need: pl.Expr, *, plus: bool
) -> pl.DataFrame:
    """``frame`` with ``columns`` URL-decoded (:func:`_url_decode`), done only on the rows where
    ``need`` holds and put back in place: ``need`` must hold wherever a value has a ``%`` (or a
    ``+`` when ``plus``), since any other value decodes to itself. Most values have neither."""
    mask = frame.select(need.fill_null(False)).to_series()
    if not mask.any():
        return frame
    at = mask.arg_true()
    hard = frame.filter(mask).select(_url_decode(pl.col(c), plus=plus) for c in columns)
    return frame.with_columns(
        frame.get_column(c).clone().scatter(at, hard.get_column(c)) for c in columns
    )


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class SuspectParameter:
    """A parameter whose problem separates the attempts an issue hits from successful ones."""

    name: str
    problem: str
    """One of :data:`PROBLEMS`."""
    share_failing: float
    """Share of the hit deliveries (postbacks; attempts without ``delivery_id``) with this
    problem."""
    share_ok: float
    """Share of the successful deliveries with this problem."""
    score: float
    """``share_failing - share_ok``: 1 when every hit attempt has it and no successful one."""
    example_failing: str | None
    """A value from a hit attempt with the problem (None for ``missing``)."""
    example_ok: str | None
    """A value of the same parameter from a successful attempt."""
    source: str = "postback"
    """``postback`` (the postback URL's parameters) or ``click`` (the tracking URL's)."""
    failing: int = 0
    """Hit deliveries with the problem."""
    ok: int = 0
    """Successful deliveries with the problem."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("share_failing", "share_ok", "score"):
            out[key] = round(out[key], 4)
        return out


def _frame(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _empty_table() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "source": pl.String,
            "name": pl.String,
            "problem": pl.String,
            "failing": pl.Int64,
            "ok": pl.Int64,
            "share_failing": pl.Float64,
            "share_ok": pl.Float64,
            "score": pl.Float64,
            "example_failing": pl.String,
            "example_ok": pl.String,
        }
    )


@dataclass(frozen=True, eq=False)
class ParsedParameters:
    """The URL parameters of a frame's rows, parsed once, for comparing many ``hit``/``ok``.

    :func:`parameter_table` and :func:`suspect_parameters` parse the parameters of the rows they
    compare. When the same rows are compared for many issues (every issue of a tracker), parse
    them once with :func:`parse_parameters` and pass the result instead of the frame: the tables
    are the same, and the parsing is done once instead of once per issue.

    >>> parsed = parse_parameters(tracker_rows)                          # doctest: +SKIP
    >>> for hit in issues:                                               # doctest: +SKIP
    ...     suspects = suspect_parameters(parsed, hit, ok)
    """

    frame: pl.DataFrame
    """The rows, as given."""
    present: tuple[str, ...]
    """The columns of ``columns`` the frame has, in order of preference."""
    long: pl.DataFrame
    """One row per row of ``frame`` (``__uid``: its position), source and parameter name, with
    ``value``, ``empty``, ``macro``, ``clean`` and ``shape``; in the order of the rows.
    ``__key`` numbers the (source, name) pair (see ``keys``), ``__shape`` the shape (null
    where ``shape`` is): the comparison groups and looks up by these integers."""
    rules: ParamRules
    keys: pl.DataFrame = field(default_factory=lambda: _empty_keys())
    """``__key`` → ``source``, ``name`` (row ``k`` is key ``k``; some keys may not occur)."""


_UID = "__uid"
_KEY = "__key"
_SHAPE = "__shape"


def _empty_long() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            _UID: pl.UInt32,
            "source": pl.String,
            "name": pl.String,
            "value": pl.String,
            "empty": pl.Boolean,
            "macro": pl.Boolean,
            "clean": pl.Boolean,
            "shape": pl.String,
            _KEY: pl.UInt32,
            _SHAPE: pl.UInt32,
        }
    )


def _empty_keys() -> pl.DataFrame:
    return pl.DataFrame(schema={_KEY: pl.UInt32, "source": pl.String, "name": pl.String})


def parse_parameters(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    columns: Sequence[str] = PARAMETER_COLUMNS,
    rules: ParamRules | None = None,
    dedupe: bool | None = None,
) -> ParsedParameters:
    """Parse the URL parameters of every row of ``frame`` once (see :class:`ParsedParameters`).

    ``dedupe``: parse each distinct value of a column once and give every row the parameters of
    its value (retries repeat their URL); by default only when values repeat enough for it to
    pay (URLs that carry a click ID are nearly all distinct). The result is the same either way.
    """
    rules = rules or _default_rules()
    df = _frame(frame)
    present = tuple(c for c in columns if c in df.columns)
    covered: dict[str, pl.Series] = {}  # per source: the rows that have parameters already
    sources = list(dict.fromkeys(SOURCES.get(c, c) for c in present))
    parsed: list[pl.DataFrame] = []
    for col in present:
        source = SOURCES.get(col, col)
        text = df.select(pl.col(col).cast(pl.String).alias("__v")).with_row_index(_UID)
        if source in covered:
            # the rows whose earlier column gave parameters keep those: not parsed again
            text = text.filter(~covered[source])
        if dedupe is None:  # an estimate is enough to choose (a null counts as a value)
            repeats = text.select(pl.col("__v").approx_n_unique()).item() < 0.5 * text.height
        if dedupe or (dedupe is None and repeats):
            distinct = text.select("__v").unique().drop_nulls()
            by_value = (
                parse_query(distinct, "__v")
                .with_row_index("__pos")  # the order of the parameters within a query
                .join(distinct.lazy().with_row_index("__vrow"), left_on=_ROW, right_on="__vrow")
                .select("__v", "__pos", "name", "value")
            )
            rows = (
                text.lazy()
                .join(by_value, on="__v", how="inner")
                .sort(_UID, "__pos")
                .select(_UID, "name", "value")
            )
        else:
            rows = parse_query(text, "__v").select(
                pl.lit(text[_UID]).gather(pl.col(_ROW)).alias(_UID), "name", "value"
            )
        # one column per source and row: postback_url_parameters, else the URL's query
        got = rows.with_columns(
            source=pl.lit(source), __src=pl.lit(sources.index(source), pl.UInt32)
        ).collect()
        mask = covered.get(source, pl.repeat(False, df.height, eager=True))
        covered[source] = mask.scatter(got.get_column(_UID), True)
        parsed.append(got)
    if not parsed:
        return ParsedParameters(df, present, _empty_long(), rules)
    value = pl.col("value")
    long = pl.concat(parsed).sort(_UID, maintain_order=True)
    # (source, name) numbered: name number × sources + source number (names are few)
    names = long.get_column("name").unique().to_frame()
    long = long.join(
        names.with_row_index("__name"), on="name", how="left", maintain_order="left"
    ).with_columns((pl.col("__name") * len(sources) + pl.col("__src")).cast(pl.UInt32).alias(_KEY))
    keys = pl.select(
        pl.int_range(names.height * len(sources), dtype=pl.UInt32).alias(_KEY)
    ).with_columns(
        source=pl.lit(pl.Series(sources, dtype=pl.String)).gather(pl.col(_KEY) % len(sources)),
        name=pl.lit(names.get_column("name")).gather(pl.col(_KEY) // len(sources)),
    )
    # a name repeated in one query counts with its first value (each row's parameters of a
    # source come from one column, in the order of its query)
    long = long.filter(
        (pl.col(_UID).cast(pl.UInt64) * keys.height + pl.col(_KEY)).is_first_distinct()
    )
    # what a value is (empty, a macro, its shape) is judged once per distinct value
    judged = (
        long.lazy()
        .select(value)
        .unique()
        .drop_nulls()
        .with_columns(empty=value == "")
        .with_columns(macro=~pl.col("empty") & rules.is_macro(value))
        .with_columns(clean=~pl.col("empty") & ~pl.col("macro"))
        .collect()
    )
    judged = pl.concat(
        [
            judged.filter(~pl.col("clean")).with_columns(shape=pl.lit(None, pl.String)),
            *_shaped(judged.filter("clean"), rules),
        ]
    )
    shapes = judged.select(pl.col("shape").drop_nulls().unique()).with_row_index(_SHAPE)
    judged = judged.join(shapes, on="shape", how="left", maintain_order="left")
    # each row's judgement by position in judged: joining only the values on an index and
    # gathering is cheaper than a join of the whole table that keeps its order
    at = (
        long.select(value)
        .join(
            judged.select(value).with_row_index("__j"),
            on="value",
            how="left",
            maintain_order="left",
        )
        .get_column("__j")
    )
    long = (
        pl.concat(
            [long, judged.select("empty", "macro", "clean", "shape", _SHAPE)[at]],
            how="horizontal",
        )
        .lazy()
        .with_columns(
            pl.col("empty").fill_null(True),  # a name without "=" has no value: empty
            pl.col("macro", "clean").fill_null(False),
        )
        .select(_empty_long().columns)
        .collect()
    )
    return ParsedParameters(df, present, long, rules, keys)


def _shaped(values: pl.DataFrame, rules: ParamRules) -> list[pl.DataFrame]:
    """``values`` (non-null ``value``s) with their :meth:`ParamRules.shape`, in pieces: each
    pattern is tried only on the values no earlier pattern matched (a when/then chain would try
    every pattern on every value)."""
    value, out = pl.col("value"), []
    for s in rules.shapes:
        if values.is_empty():
            break
        hit = values.select(value.str.contains(s.pattern)).to_series()
        out.append(values.filter(hit).with_columns(shape=s.label(value)))
        values = values.filter(~hit)
    return [*out, values.with_columns(shape=pl.lit("text"))]


def parameter_table(
    frame: pl.DataFrame | ParsedParameters,
    hit: pl.Expr,
    ok: pl.Expr,
    *,
    columns: Sequence[str] = PARAMETER_COLUMNS,
    rules: ParamRules | None = None,
) -> pl.DataFrame:
    """Every parameter × problem with its share among hit and among successful attempts.

    ``hit`` marks the attempts hit by the issue, ``ok`` the successful attempts of the same
    tracker; other attempts are ignored. Counts are per delivery (``delivery_id``; per attempt
    without it): a postback retried 24 times counts once on the failing side, and once on the
    successful side too if a retry got through. Columns: ``source``, ``name``, ``problem``,
    ``failing``/``ok`` (deliveries with the problem), ``share_failing``/``share_ok`` (of the hit /
    successful deliveries that have the source column), ``score`` (``share_failing - share_ok``),
    ``example_failing``, ``example_ok``; best score first. Columns of ``columns`` the frame lacks
    are skipped; with none of them the table is empty. See :data:`PROBLEMS` for the rules.

    ``frame`` may be :func:`parse_parameters` output (``columns`` and ``rules`` are then the
    ones it was parsed with): the same rows compared for many issues are parsed once.
    """
    if not isinstance(frame, ParsedParameters):
        # only the rows compared are parsed (the others are dropped below anyway)
        rows = frame.filter(hit.fill_null(False) | ok.fill_null(False))
        frame = parse_parameters(rows, columns=columns, rules=rules)
    parsed = frame
    df, present, rules = parsed.frame, list(parsed.present), parsed.rules
    if not present:
        return _empty_table()
    unit = pl.col("delivery_id") if "delivery_id" in df.columns else pl.int_range(pl.len())
    if "delivery_id" in df.columns and not df.schema["delivery_id"].is_integer():
        unit = unit.cast(pl.String)  # an integer id is compared as it is (text is slower)
    base = (
        df.select(
            hit.fill_null(False).alias("hit"),
            ok.fill_null(False).alias("ok"),
            unit.alias("unit"),
            *present,
        )
        .with_row_index(_UID)
        .filter(pl.col("hit") | pl.col("ok"))
    )
    # one row per delivery and side: retries repeat the same URL, and a postback retried 24
    # times must weigh as much as one sent once (a delivery both hit and cured counts on each side)
    base = base.unique(["unit", "hit", "ok"], keep="first", maintain_order=True)
    if base.is_empty():
        return _empty_table()

    sources: dict[str, list[str]] = {}
    for col in present:
        sources.setdefault(SOURCES.get(col, col), []).append(col)
    # attempts per source that have one of its columns (the denominators of the shares)
    totals = pl.concat(
        [
            base.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in cols])).select(
                source=pl.lit(src),
                n_hit=pl.col("hit").sum().cast(pl.Int64),
                n_ok=pl.col("ok").sum().cast(pl.Int64),
            )
            for src, cols in sources.items()
        ]
    )

    # the parsed parameters of the rows compared: _ROW is the position among them
    flags = base.select(_UID, "hit", "ok", "unit").with_row_index(_ROW)
    value = pl.col("value")
    # long is in row order (and _ROW grows with __uid): the examples below are first rows
    # (a lookup by position: __uid is the row of the frame, the join on it is a gather)
    row_of = (
        pl.select(pl.repeat(None, df.height, dtype=pl.UInt32).alias(_ROW))
        .to_series()
        .scatter(flags[_UID], flags[_ROW])
    )
    long = parsed.long.with_columns(row_of.gather(parsed.long[_UID])).drop_nulls(_ROW)
    long = pl.concat(
        [long.drop(_UID), flags.select("hit", "ok", "unit")[long[_ROW]]], how="horizontal"
    )
    if long.is_empty():
        return _empty_table()
    # (source, name) is the integer __key of parse_parameters: groups on it, and what is known
    # per key (judged, the changed value) is looked up by position instead of joined
    key = pl.col(_KEY)
    n_keys = parsed.keys.height
    n_shapes = int(long.get_column(_SHAPE).max() or 0) + 1  # type: ignore[arg-type]

    # malformed: a shape none of the successful values of this parameter has
    ok_shapes = (
        long.filter(pl.col("ok") & pl.col("clean"))
        .group_by(_KEY, _SHAPE)
        .agg(n=pl.len())
        .with_columns(total=pl.col("n").sum().over(_KEY))
        .filter(pl.col("total") >= MALFORMED_MIN_OK)
    )
    reference = ok_shapes.filter(pl.col("n") >= REFERENCE_MIN_SHARE * pl.col("total")).select(
        (key.cast(pl.UInt64) * n_shapes + pl.col(_SHAPE)).alias("code")
    )
    judged = _per_key(n_keys, ok_shapes.get_column(_KEY).unique(), True, pl.Boolean())

    # changed: constant on each side, different between them
    clean = long.filter("clean")
    changed = (
        clean.group_by(_KEY)
        .agg(
            ok_values=value.filter("ok").n_unique(),
            ok_units=pl.col("unit").filter("ok").n_unique(),
            v_ok=value.filter("ok").first(),
            hit_values=value.filter("hit").n_unique(),
            hit_units=pl.col("unit").filter("hit").n_unique(),
            v_hit=value.filter("hit").first(),
        )
        .filter(
            (pl.col("ok_values") == 1)
            & (pl.col("hit_values") == 1)
            & (pl.col("ok_units") >= CHANGED_MIN_UNITS)
            & (pl.col("hit_units") >= CHANGED_MIN_UNITS)
            & (pl.col("v_ok") != pl.col("v_hit"))
        )
    )
    v_hit = _per_key(n_keys, changed.get_column(_KEY), changed.get_column("v_hit"), pl.String())

    in_reference = (key.cast(pl.UInt64) * n_shapes + pl.col(_SHAPE)).is_in(
        reference.get_column("code").implode()
    )
    long = long.with_columns(
        malformed=(
            pl.col("clean") & pl.lit(judged).gather(key) & ~in_reference.fill_null(False)
        ).fill_null(False),
        changed=(pl.col("clean") & pl.col("hit") & (value == pl.lit(v_hit).gather(key))).fill_null(
            False
        ),
    )
    # per problem, in the order of the rows (long is in row order): the examples are first rows
    flagged = pl.concat(
        [
            long.filter(problem)
            .group_by(_KEY)
            .agg(
                failing=pl.col("hit").sum().cast(pl.Int64),
                ok=pl.col("ok").sum().cast(pl.Int64),
                example_failing=value.filter("hit").first(),
            )
            .with_columns(problem=pl.lit(problem))
            for problem in ("empty", "macro", "malformed", "changed")
        ]
    )
    present_counts = (
        long.group_by(_KEY)
        .agg(
            present_hit=pl.col("hit").sum().cast(pl.Int64),
            present_ok=pl.col("ok").sum().cast(pl.Int64),
        )
        .join(parsed.keys, on=_KEY)
    )
    missing = present_counts.join(totals, on="source").select(
        _KEY,
        failing=pl.col("n_hit") - pl.col("present_hit"),
        ok=pl.col("n_ok") - pl.col("present_ok"),
        example_failing=pl.lit(None, pl.String),
        problem=pl.lit("missing"),
    )
    example_ok = (
        long.filter(pl.col("ok") & pl.col("clean") & ~pl.col("malformed"))
        .group_by(_KEY)
        .agg(example_ok=value.first())  # the first row: long is in row order
    )
    grid = present_counts.select(_KEY, "source", "name").join(
        pl.DataFrame({"problem": list(PROBLEMS), "__order": range(len(PROBLEMS))}), how="cross"
    )
    table = (
        grid.join(
            pl.concat([flagged, missing], how="vertical_relaxed"),
            on=[_KEY, "problem"],
            how="left",
        )
        .join(totals, on="source")
        .join(example_ok, on=_KEY, how="left")
        .with_columns(pl.col("failing", "ok").fill_null(0))
        .with_columns(
            share_failing=_share(pl.col("failing"), pl.col("n_hit")),
            share_ok=_share(pl.col("ok"), pl.col("n_ok")),
        )
        .with_columns(score=pl.col("share_failing") - pl.col("share_ok"))
        .with_columns(
            __score=pl.col("score").round(3),
            __source=(pl.col("source") != "postback").cast(pl.Int8),
            __rank=pl.col("problem").replace_strict(_PRIORITY, default=len(_PRIORITY)),
        )
        .sort(
            ["__score", "__source", "__rank", "share_failing", "name"],
            descending=[True, False, False, True, False],
        )
    )
    return table.select(_empty_table().columns)


_PRIORITY = {p: i for i, p in enumerate(("macro", "malformed", "changed", "empty", "missing"))}
"""Ties of score: the postback's own parameters first (the partner reads those), then the
problem that is never legitimate first: a literal macro or a malformed value is always a bug;
an empty or missing value can be normal (no ``gaid`` on iOS)."""


def _per_key(n: int, keys: pl.Series, values: Any, dtype: pl.DataType) -> pl.Series:
    """A lookup array over the ``n`` keys: ``values`` at ``keys``, null elsewhere."""
    out = pl.Series(_KEY, [None] * n, dtype=dtype)
    if keys.is_empty():
        return out
    if not isinstance(values, pl.Series):
        values = pl.Series([values] * keys.len(), dtype=dtype)
    return out.scatter(keys, values)


def _share(count: pl.Expr, total: pl.Expr) -> pl.Expr:
    return pl.when(total > 0).then(count / total).otherwise(0.0)


def suspect_parameters(
    frame: pl.DataFrame | ParsedParameters,
    hit: pl.Expr,
    ok: pl.Expr,
    *,
    columns: Sequence[str] = PARAMETER_COLUMNS,
    min_share: float = 0.5,
    min_score: float = 0.3,
    rules: ParamRules | None = None,
) -> list[SuspectParameter]:
    """Parameters whose problem separates the hit attempts from the successful ones, best first.

    A parameter × problem is a suspect when at least ``min_share`` of the hit attempts have the
    problem and ``share_failing - share_ok`` (the score) is at least ``min_score``: a problem
    that the successful attempts share as often does not explain the failures. Ranked by score,
    then the postback's own parameters before the click URL's, then the problem (``macro``,
    ``malformed``, ``changed``, ``empty``, ``missing``: a literal macro is always a bug, an
    empty value can be normal), then by share among the hit deliveries. See
    :func:`parameter_table` for every candidate.

    >>> suspects = suspect_parameters(attempts, hit=pl.col("response_code") == 400,
    ...                               ok=pl.col("outcome") == "success")  # doctest: +SKIP
    >>> suspects[0].name, suspects[0].problem                           # doctest: +SKIP
    ('click_id', 'empty')
    """
    table = parameter_table(frame, hit, ok, columns=columns, rules=rules).filter(
        (pl.col("share_failing") >= min_share) & (pl.col("score") >= min_score)
    )
    return [
        SuspectParameter(
            name=row["name"],
            problem=row["problem"],
            share_failing=row["share_failing"],
            share_ok=row["share_ok"],
            score=row["score"],
            example_failing=row["example_failing"],
            example_ok=row["example_ok"],
            source=row["source"],
            failing=row["failing"],
            ok=row["ok"],
        )
        for row in table.iter_rows(named=True)
    ]
