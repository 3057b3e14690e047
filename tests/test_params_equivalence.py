"""The parameter stage parses each tracker's URLs once (``parse_parameters``) and reuses them for
every issue: its tables are exactly those of the original per-issue implementation, kept here as
the reference, on a generated export with every planted fault."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit import samples
from postback_kit.deliveries import with_delivery_id
from postback_kit.diagnose import ISSUE_OUTCOMES
from postback_kit.params import (
    _PRIORITY,
    _ROW,
    CHANGED_MIN_UNITS,
    MALFORMED_MIN_OK,
    PARAMETER_COLUMNS,
    PROBLEMS,
    REFERENCE_MIN_SHARE,
    SOURCES,
    ParamRules,
    _default_rules,
    _empty_table,
    _frame,
    _share,
    parameter_table,
    parse_parameters,
    parse_query,
    suspect_parameters,
)


def reference_parameter_table(
    frame: pl.DataFrame,
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
    """
    rules = rules or _default_rules()
    df = _frame(frame)
    present = [c for c in columns if c in df.columns]
    if not present:
        return _empty_table()
    unit = pl.col("delivery_id") if "delivery_id" in df.columns else pl.int_range(pl.len())
    base = df.select(
        hit.fill_null(False).alias("hit"),
        ok.fill_null(False).alias("ok"),
        unit.cast(pl.String).alias("unit"),
        *present,
    ).filter(pl.col("hit") | pl.col("ok"))
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

    flags = base.lazy().select("hit", "ok", "unit").with_row_index(_ROW)
    parsed = [
        parse_query(base.select(col), col).with_columns(
            source=pl.lit(SOURCES.get(col, col)), rank=pl.lit(rank)
        )
        for rank, col in enumerate(present)
    ]
    value = pl.col("value")
    long = (
        pl.concat(parsed)
        # one column per source and row: postback_url_parameters, else the URL's query
        .filter(pl.col("rank") == pl.col("rank").min().over(_ROW, "source"))
        .unique([_ROW, "source", "name"], keep="first", maintain_order=True)
        .drop("rank")
        .join(flags, on=_ROW)
        .with_columns(empty=value.is_null() | (value == ""))
        .with_columns(macro=~pl.col("empty") & rules.is_macro(value))
        .with_columns(clean=~pl.col("empty") & ~pl.col("macro"))
        .with_columns(shape=pl.when("clean").then(rules.shape(value)))
        .sort(_ROW, "source", "name")
        .collect()
    )
    if long.is_empty():
        return _empty_table()
    key = ["source", "name"]

    # malformed: a shape none of the successful values of this parameter has
    ok_shapes = (
        long.filter(pl.col("ok") & pl.col("clean"))
        .group_by(*key, "shape")
        .agg(n=pl.len())
        .with_columns(total=pl.col("n").sum().over(key))
        .filter(pl.col("total") >= MALFORMED_MIN_OK)
    )
    reference = ok_shapes.filter(pl.col("n") >= REFERENCE_MIN_SHARE * pl.col("total")).select(
        *key, "shape", in_reference=pl.lit(True)
    )
    judged = ok_shapes.select(key).unique().with_columns(judged=pl.lit(True))

    # changed: constant on each side, different between them
    clean = long.filter("clean")
    changed = (
        clean.group_by(key)
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
        .select(*key, "v_hit")
    )

    long = (
        long.join(reference, on=[*key, "shape"], how="left")
        .join(judged, on=key, how="left")
        .join(changed, on=key, how="left")
        .with_columns(
            malformed=pl.col("clean")
            & pl.col("judged").fill_null(False)
            & pl.col("in_reference").is_null(),
            changed=(pl.col("clean") & pl.col("hit") & (value == pl.col("v_hit"))).fill_null(False),
        )
    )
    flagged = (
        long.unpivot(
            index=[_ROW, *key, "hit", "ok", "value"],
            on=["empty", "macro", "malformed", "changed"],
            variable_name="problem",
            value_name="flag",
        )
        .filter("flag")
        .sort(_ROW)  # group_by keeps this order within groups: examples are the first rows
        .group_by(*key, "problem")
        .agg(
            failing=pl.col("hit").sum().cast(pl.Int64),
            ok=pl.col("ok").sum().cast(pl.Int64),
            example_failing=value.filter("hit").first(),
        )
    )
    present_counts = long.group_by(key).agg(
        present_hit=pl.col("hit").sum().cast(pl.Int64),
        present_ok=pl.col("ok").sum().cast(pl.Int64),
    )
    missing = present_counts.join(totals, on="source").select(
        *key,
        problem=pl.lit("missing"),
        failing=pl.col("n_hit") - pl.col("present_hit"),
        ok=pl.col("n_ok") - pl.col("present_ok"),
        example_failing=pl.lit(None, pl.String),
    )
    example_ok = (
        long.filter(pl.col("ok") & pl.col("clean") & ~pl.col("malformed"))
        .group_by(key)
        .agg(example_ok=value.sort_by(_ROW).first())
    )
    grid = present_counts.select(key).join(
        pl.DataFrame({"problem": list(PROBLEMS), "__order": range(len(PROBLEMS))}), how="cross"
    )
    table = (
        grid.join(
            pl.concat([flagged, missing], how="vertical_relaxed"), on=[*key, "problem"], how="left"
        )
        .join(totals, on="source")
        .join(example_ok, on=key, how="left")
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


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    sample = samples.generate(12_000, seed=3)
    folder = tmp_path_factory.mktemp("export")
    sample.write_csv(folder, per_day=False)
    frame = pk.load(folder, cache=False)
    return with_delivery_id(pk.classify(frame)).collect()


def test_parsed_once_gives_the_tables_of_parsing_per_issue(classified: pl.DataFrame) -> None:
    """Every issue of every tracker, as diagnose compares them: new path == old results."""
    key = ["outcome", "signature"]
    ok = pl.col("outcome") == "success"
    is_issue = pl.col("outcome").is_in(ISSUE_OUTCOMES)
    compared = with_suspects = 0
    for (_tid,), att in classified.partition_by("tracking_id", as_dict=True).items():
        rows = att.filter(ok | is_issue).unique(
            ["delivery_id", *key], keep="first", maintain_order=True
        )
        parsed = parse_parameters(rows, dedupe=True)
        parsed_rows = parse_parameters(rows, dedupe=False)
        issues = rows.filter(is_issue).select(key).unique().sort(key).iter_rows()
        for outcome, signature in issues:
            hit = (pl.col("outcome") == outcome) & pl.col("signature").eq_missing(signature)
            expected = reference_parameter_table(rows, hit, ok)
            assert_frame_equal(parameter_table(parsed, hit, ok), expected)
            assert_frame_equal(parameter_table(parsed_rows, hit, ok), expected)
            assert_frame_equal(parameter_table(rows, hit, ok), expected)
            assert suspect_parameters(parsed, hit, ok) == suspect_parameters(rows, hit, ok)
            compared += 1
            with_suspects += bool(suspect_parameters(parsed, hit, ok))
    assert compared >= 10 and with_suspects >= 1  # the planted parameter faults are among them


def test_parsed_once_without_parameter_columns_or_delivery_id() -> None:
    frame = pl.DataFrame(
        {
            "outcome": ["success", "request_error", "success", "request_error"],
            "click_url_parameters": ["a%3D1%26b%3D2", "a%3D%26b%3D2", None, "b%3D2"],
        }
    )
    hit, ok = pl.col("outcome") == "request_error", pl.col("outcome") == "success"
    parsed = parse_parameters(frame)
    assert parsed.present == ("click_url_parameters",)
    assert_frame_equal(parameter_table(parsed, hit, ok), reference_parameter_table(frame, hit, ok))
    bare = frame.select("outcome")
    assert parameter_table(parse_parameters(bare), hit, ok).is_empty()
    assert reference_parameter_table(bare, hit, ok).is_empty()


def test_parsed_once_keeps_the_first_of_a_repeated_name_and_the_fallbacks() -> None:
    """A name repeated in one query counts with its first value; a row whose
    ``postback_url_parameters`` give no parameter falls back to the URL's query; rows with the
    same URL are parsed once and still each have their parameters."""
    urls = [
        "https://p.io/cb?click_id=&click_id=ab12cd34ab12cd34&goal=1",
        "https://p.io/cb?click_id=ab12cd34ab12cd34&click_id=&goal=1",
        "https://p.io/cb?click_id=ab12cd34ab12cd34&goal=1",
        "https://p.io/cb?click_id=ab12cd34ab12cd34&goal=1",
        "https://p.io/cb?click_id={click_id}&goal=1",
        "https://p.io/cb?click_id=&goal=1",
    ]
    frame = pl.DataFrame(
        {
            "delivery_id": [1, 2, 3, 4, 5, 6],
            "outcome": ["request_error", "success", "success", "success", "request_error", "x"],
            "postback_url": urls,
            "postback_url_parameters": [None, "", "goal=2", None, "goal=3&goal=4", None],
        }
    )
    hit, ok = pl.col("outcome") == "request_error", pl.col("outcome") == "success"
    expected = reference_parameter_table(frame, hit, ok)
    for dedupe in (True, False):
        assert_frame_equal(
            parameter_table(parse_parameters(frame, dedupe=dedupe), hit, ok), expected
        )
    row = expected.filter(pl.col("name") == "click_id", pl.col("problem") == "empty").row(
        0, named=True
    )
    assert (row["failing"], row["ok"]) == (1, 0)  # row 2's empty second click_id does not count


_TOKEN = r"%[0-9A-Fa-f]{2}|[^%]+|%"
_C = "[89ab][0-9a-f]"
_UTF8_HEX = (
    "^(?:[0-7][0-9a-f]"
    f"|(?:c[2-9a-f]|d[0-9a-f]){_C}"
    f"|e0[ab][0-9a-f]{_C}|(?:e[1-9a-c]|e[ef]){_C}{_C}|ed[89][0-9a-f]{_C}"
    f"|f0[9ab][0-9a-f]{_C}{_C}|f[1-3]{_C}{_C}{_C}|f48[0-9a-f]{_C}{_C}"
    ")*$"
)


def reference_url_decode(s: pl.Expr, *, plus: bool) -> pl.Expr:
    """The original percent-decoding, applied to every value."""
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


def reference_parse_query(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """The original parse_query: every name, value and raw text through the decoding."""
    raw = pl.col("__raw")
    raw = (
        pl.when(~raw.str.contains("=", literal=True) & raw.str.contains("(?i)%3D"))
        .then(reference_url_decode(raw, plus=False))
        .otherwise(raw)
    )
    query = (
        pl.when(raw.str.contains(r"(?s)^[^?=&]*\?"))
        .then(raw.str.extract(r"(?s)^[^?=&]*\?(.*)$", 1))
        .when(raw.str.contains(r"^[A-Za-z][A-Za-z0-9+.\-]*://"))
        .then(pl.lit(""))
        .otherwise(raw)
        .str.replace(r"#[^#&=]+$", "")
    )
    pieces = (
        frame.lazy()
        .select(pl.col(column).cast(pl.String).alias("__raw"))
        .with_row_index(_ROW)
        .select(_ROW, query.str.split("&").alias("__piece"))
        .explode("__piece")
        .with_columns(pl.col("__piece").str.strip_chars())
        .filter(pl.col("__piece").is_not_null() & (pl.col("__piece") != ""))
        .with_columns(pl.col("__piece").str.splitn("=", 2).alias("__kv"))
    )
    return pieces.select(
        _ROW,
        reference_url_decode(pl.col("__kv").struct.field("field_0"), plus=True).alias("name"),
        reference_url_decode(pl.col("__kv").struct.field("field_1"), plus=True).alias("value"),
    ).collect()


EDGE_URLS = [
    "https://p.io/cb?click_id=&goal=%7Bgoal%7D",
    "https://p.io/cb?a%3Db=1&c%26d=2%3D3&e=%26",  # percent-encoded '=' and '&'
    "https://p.io/cb?k=1&k=2&k=&k",  # repeated keys, empty value, name without '='
    "https://p.io/cb?idfa={idfa}&gaid=(gaid)&x=${x}&y=%7By%7D&z=#z#",  # unfilled macros
    "https://p.io/cb",  # no query string
    "https://p.io/cb?",
    "https://p.io/cb?a=1&b=2#frag",  # fragment
    "https://p.io/cb?a=1#",
    "a=hello+world&b=a%2Bb&c=%20%E2%82%AC",  # '+' and UTF-8 escapes
    "?a=%zz&b=%&c=%E2%82&d=%ff",  # invalid escapes and invalid UTF-8 stay as they are
    "param1%3D1%26param2%3D%7Bidfa%7D",  # a query encoded once more
    "param1%3D1%26param2%3D%E2",
    "a=1&&b=2&",
    " a = 1 & b=2 ",
    "%3D",
    "=1&=&==",
    "",
    None,
]


@pytest.mark.parametrize("dedupe", [True, False])
def test_parse_query_and_parse_parameters_on_edges_are_the_original(dedupe: bool) -> None:
    """parse_query decodes only the rows with a '%': its rows are those of decoding every row;
    so are the parsed tables, with postback_url parsed only for the rows whose
    postback_url_parameters gave none."""
    frame = pl.DataFrame({"u": EDGE_URLS})
    got = parse_query(frame, "u").collect()
    assert_frame_equal(got, reference_parse_query(frame, "u"))
    assert got.height > 30  # the edges do give parameters
    both = pl.DataFrame(
        {
            "delivery_id": range(len(EDGE_URLS)),
            "outcome": ["success", "request_error"] * (len(EDGE_URLS) // 2),
            "postback_url": EDGE_URLS,
            "postback_url_parameters": EDGE_URLS[3:] + EDGE_URLS[:3],
            "click_url_parameters": EDGE_URLS[::-1],
        }
    )
    hit, ok = pl.col("outcome") == "request_error", pl.col("outcome") == "success"
    assert_frame_equal(
        parameter_table(parse_parameters(both, dedupe=dedupe), hit, ok),
        reference_parameter_table(both, hit, ok),
    )


def test_integer_keys_keep_sources_names_and_shapes_apart() -> None:
    """(source, name) and the shape are numbered in parse_parameters: the same name in the
    postback's and the click URL's parameters, a column of its own source, shapes that differ
    by length only, a malformed value and a changed one, each compared as the original."""
    n = 12
    frame = pl.DataFrame(
        {
            "delivery_id": list(range(2 * n)),
            "outcome": ["success"] * n + ["request_error"] * n,
            "postback_url": [f"https://p.io/cb?click_id={'ab' * 8}&goal=1&v={i}" for i in range(n)]
            + [f"https://p.io/cb?click_id={'ab' * 7}&goal=2&v=x" for _ in range(n)],
            "click_url_parameters": [f"click_id%3D{i:04d}%26goal%3D{{goal}}" for i in range(n)]
            + [f"click_id%3D{i:05d}" for i in range(n)],
            "extra": ["goal=1&click_id=" if i % 3 else "click_id=zz" for i in range(2 * n)],
        }
    )
    hit, ok = pl.col("outcome") == "request_error", pl.col("outcome") == "success"
    for unit in (pl.String, pl.Float64):  # delivery ids that are not integers are compared as text
        typed = frame.with_columns(pl.col("delivery_id") // 2).cast({"delivery_id": unit})
        assert_frame_equal(
            parameter_table(parse_parameters(typed), hit, ok),
            reference_parameter_table(typed, hit, ok),
        )
    columns = (*PARAMETER_COLUMNS, "extra")
    for cols in (PARAMETER_COLUMNS, columns, ("extra", "click_url_parameters")):
        expected = reference_parameter_table(frame, hit, ok, columns=cols)
        for dedupe in (True, False):
            got = parameter_table(parse_parameters(frame, columns=cols, dedupe=dedupe), hit, ok)
            if cols == PARAMETER_COLUMNS:
                assert_frame_equal(got, expected)
            else:
                # a source other than postback/click ranks like click: equal rows of the two
                # sources are in no defined order (in the original as well), so compare as sets
                by = ["source", "name", "problem"]
                assert_frame_equal(got.sort(by), expected.sort(by))
    table = reference_parameter_table(frame, hit, ok)
    flagged = set(table.filter(pl.col("failing") > 0).select("source", "name", "problem").rows())
    # the test compares what it means to: each source's click_id and goal on its own
    assert {("postback", "click_id", "malformed"), ("postback", "goal", "changed")} <= flagged
    assert ("click", "click_id", "malformed") in flagged
