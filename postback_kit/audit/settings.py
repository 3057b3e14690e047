"""Audit an export against a partner's in-app event postback settings.

>>> config = load_partner_config("partner.toml")              # doctest: +SKIP
>>> result = audit_settings(pk.load("export.csv"), config)    # doctest: +SKIP
>>> print(result.summary())                                   # doctest: +SKIP

The export shows what was sent; the configuration says what should have been sent. Each rule
below compares the two in the terms of the settings page (seed 004). Counts are postbacks, not
attempts: retries of one postback (the documented delivery key of
:func:`postback_kit.deliveries.with_delivery_id`: same tracker, URL, conversion time, event, cost
model, device) count once, and the time of its first attempt is its sending time.

====== ========================== ======== =====================================================
code   rule                       severity meaning
====== ========================== ======== =====================================================
PK601  sent-outside-window        error    sent although the event came after the in-app event
                                           postback window in force at sending time
PK602  window-unknown             info     no window known at sending time, or no install time
PK611  event-not-selected         error    an event neither selected nor mapped was sent
PK612  event-name-case            error    sent event differs only in case from a mapped one
PK613  partner-event-mismatch     warning  the partner event name sent is not the mapped one
PK614  excluded-with-all          warning  af_app_opened sent although "all events" excludes it
PK621  revenue-shared             error    revenue or currency sent although the sharing level
                                           masks it with N/A
PK622  values-shared              error    event value sent although the level is "No data"
PK623  masked-although-allowed    info     N/A sent although the level shares values/revenue
PK631  condition-not-met          error    event sent although none of its conditions matched
PK632  condition-unverifiable     info     conditions set, but the export has no event value
PK641  other-media-source         error    "This partner only", yet events attributed to other
                                           media sources (or organic) were sent
PK651  configured-event-missing   warning  the configuration sends an event the export lacks
====== ========================== ======== =====================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote_plus

import polars as pl

from ..deliveries import with_delivery_id
from ..schema import require_columns
from .config import PARAMETER_ROLES, PartnerConfig, WindowChange, _Validator
from .template import Finding, lint_template, parse_template, resolve_catalogue
from .urlcodec import query_parameters

__all__ = ["AUDIT_RULES", "AuditResult", "Violation", "audit_settings"]

NOT_SENT_WITH_ALL: tuple[str, ...] = ("af_app_opened",)
"""Events not reported when a partner gets "all events" (with uninstalls and sessions)."""
REVENUE_KEYS: tuple[str, ...] = ("af_revenue", "af_currency")
"""Keys of the event value that "Values without revenue" masks with N/A."""
_DEFAULT_PARAMETERS = {
    "revenue": ["revenue", "monetary", "price", "event_revenue"],
    "currency": ["currency", "event_revenue_currency"],
    "event_value": ["event_value", "json"],
}
_SHARING_LABEL = {
    "none": "No data",
    "values_without_revenue": "Values without revenue",
    "values_and_revenue": "Values and revenue",
}

AUDIT_RULES: dict[str, tuple[str, str, str]] = {
    "PK601": (
        "sent-outside-window",
        "error",
        "In-app event postback window: event postbacks are sent only for events within that "
        "many days of the install; later events are still recorded and attributed to the "
        "partner, but no postback is sent. The window in force when the postback is sent "
        "applies, not the one at install: installed with a 15-day window changed to 10 the "
        "next day, a purchase on day 13 is not sent; changed again to 20, a purchase on day 17 "
        "is sent. Postbacks sent beyond the window mean the platform's window is not this "
        "configuration's (or changed at other dates).",
    ),
    "PK602": (
        "window-unknown",
        "info",
        "The window could not be checked for these postbacks: no window setting is known for "
        "their sending time (before the first window_history entry), or the export lacks the "
        "install or conversion time.",
    ),
    "PK611": (
        "event-not-selected",
        "error",
        "Only the in-app events selected for the partner (mapped to a partner event, or added "
        "to the events sent as they are) get postbacks. An event outside that list was sent: "
        "the platform's event selection is not this configuration's.",
    ),
    "PK612": (
        "event-name-case",
        "error",
        "Event names are case-sensitive: an event sent as 'Purchase' is not the mapped "
        "'purchase'. Use the same name in every app version and for every media source, or "
        "map each spelling.",
    ),
    "PK613": (
        "partner-event-mismatch",
        "warning",
        "Event mapping: each advertiser event is sent under the partner's name for it (purchase "
        "→ event5). The partner event name in these postbacks is not the mapped one, so the "
        "partner may not count them.",
    ),
    "PK614": (
        "excluded-with-all",
        "warning",
        "When all events are reported as they are, af_app_opened, uninstalls and sessions are "
        "not reported; yet such events were sent.",
    ),
    "PK621": (
        "revenue-shared",
        "error",
        "Data to include: with 'No data' (the default) or 'Values without revenue', revenue "
        "(monetary, af_revenue) and currency (af_currency) are masked with N/A. These postbacks "
        "carry a revenue or currency value: the partner receives data the configuration does "
        "not share.",
    ),
    "PK622": (
        "values-shared",
        "error",
        "Data to include: with 'No data' (the default) only the event itself is sent, the event "
        "value is masked with N/A. These postbacks carry the event value.",
    ),
    "PK623": (
        "masked-although-allowed",
        "info",
        "The sharing level 'Values and revenue' sends all event parameters including revenue, "
        "yet these postbacks carry N/A: the level on the platform was lower when they were "
        "sent, or the event had no such value.",
    ),
    "PK631": (
        "condition-not-met",
        "error",
        "Conditional in-app event postbacks: when conditions are set for an event, it is sent "
        "only if the event value has the property with the value of at least one condition "
        "(equal only, up to 5, OR). These events matched none, yet were sent.",
    ),
    "PK632": (
        "condition-unverifiable",
        "info",
        "Conditions are set for these events, but the export has no event value to check them "
        "against (no event value parameter in the postback, or it is masked with N/A).",
    ),
    "PK641": (
        "other-media-source",
        "error",
        "Options for sending postbacks: with 'This partner only' the partner gets events "
        "attributed to it only; with 'All media sources, including organic' it also gets "
        "events attributed to others. These postbacks are for events not attributed to this "
        "partner (unattributed/organic, publisher_id 0, or another publisher).",
    ),
    "PK651": (
        "configured-event-missing",
        "warning",
        "The configuration sends these events but the export has no postback for them: the "
        "event did not happen in the period, arrives under another name (case!), the tracker "
        "has no event postback for it, or the window or conditions excluded every occurrence.",
    ),
}


@dataclass
class Violation:
    """One rule broken by the export: how many postbacks, and example rows."""

    code: str
    rule: str
    severity: str
    message: str
    count: int
    examples: pl.DataFrame
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "count": self.count,
            "explanation": self.explanation,
            "examples": self.examples.to_dicts(),
        }


@dataclass
class AuditResult:
    """The violations of one partner configuration in one export.

    ``postbacks`` has one row per event postback (its first attempt; ``delivery_id`` from
    :func:`postback_kit.deliveries.with_delivery_id`, ``attempts`` its count) with what the
    rules looked at:
    ``days_since_install``, ``window_days`` and ``window_status`` (within | outside | lifetime
    | unknown) at sending time, and the ``revenue``, ``currency``, ``event_value``,
    ``partner_event`` values read from the postback.
    """

    config: PartnerConfig
    violations: list[Violation]
    postbacks: pl.DataFrame
    windows: list[WindowChange]
    template_findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error or warning."""
        return not any(v.severity in ("error", "warning") for v in self.violations)

    def to_frame(self) -> pl.DataFrame:
        """One row per violation: code, rule, severity, count, message."""
        schema = {
            "code": pl.String,
            "rule": pl.String,
            "severity": pl.String,
            "count": pl.Int64,
            "message": pl.String,
        }
        rows = [{k: getattr(v, k) for k in schema} for v in self.violations]
        return pl.DataFrame(rows, schema=schema)

    def window_histogram(self) -> pl.DataFrame:
        """Event postbacks per whole day since install and window status (for a chart)."""
        return (
            self.postbacks.filter(pl.col("days_since_install").is_not_null())
            .group_by(
                day=pl.col("days_since_install").floor().cast(pl.Int64),
                window_status=pl.col("window_status"),
            )
            .agg(postbacks=pl.len())
            .sort("day", "window_status")
        )

    def summary(self) -> str:
        name = self.config.name or self.config.source
        lines = [
            f"{name}: {self.postbacks.height:,} event postbacks checked, "
            f"{len(self.violations)} rule(s) broken"
        ]
        for v in self.violations:
            lines.append(f"  {v.code} {v.severity} ({v.count:,}): {v.message}")
        for f in self.template_findings:
            lines.append(f"  template {f.code} {f.severity}: {f.message}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "postbacks": self.postbacks.height,
            "violations": [v.to_dict() for v in self.violations],
            "windows": [w.label for w in self.windows],
            "template_findings": [f.to_dict() for f in self.template_findings],
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------- preparation

HistoryItem = WindowChange | tuple[date | datetime | str, int | str | None]


def _windows(config: PartnerConfig, history: Sequence[HistoryItem] | None) -> list[WindowChange]:
    if history is None:
        return config.window_changes()
    v = _Validator("history")
    out = []
    for i, item in enumerate(history):
        if isinstance(item, WindowChange):
            out.append(item)
        else:
            since, days = item
            out.append(
                WindowChange(
                    v.since(f"history[{i}]", since),
                    None if days is None else v.window(f"history[{i}]", days),
                )
            )
    return sorted(out, key=lambda w: w.since)


def _utc(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        return (
            col.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else col.dt.convert_time_zone("UTC")
        )
    if dtype.is_integer():
        return pl.from_epoch(col, time_unit="s").dt.replace_time_zone("UTC")
    text = col.cast(pl.String).str.strip_chars()
    as_int = text.cast(pl.Int64, strict=False)
    return pl.coalesce(
        pl.from_epoch(as_int.replace(0, None), time_unit="s").dt.replace_time_zone("UTC"),
        text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_zone="UTC"),
    )


def _role_parameters(config: PartnerConfig, notes: list[str]) -> dict[str, list[str]]:
    """URL parameter names carrying revenue, currency, event value and partner event name."""
    found: dict[str, list[str]] = {r: [p] for r, p in config.parameters.items()}
    if config.template:
        cat, uses = resolve_catalogue(config.template, config.style)
        for prm in parse_template(config.template, uses).parameters:
            for u in uses:
                macro = cat.get(u.name) if u.syntax == cat.syntax else None
                inside = prm.value_start <= u.start and u.end <= prm.end
                if (
                    macro
                    and inside
                    and macro.role in PARAMETER_ROLES
                    and macro.role not in config.parameters
                ):
                    found.setdefault(macro.role, []).append(unquote_plus(prm.name))
    else:
        for role, names in _DEFAULT_PARAMETERS.items():
            found.setdefault(role, names)
        notes.append(
            "no template in the configuration: revenue, currency and event value are read from "
            "the usual parameter names ("
            + ", ".join(n for names in _DEFAULT_PARAMETERS.values() for n in names)
            + ")."
        )
    return found


def _delivery_ids(lazy: pl.LazyFrame, schema: pl.Schema, notes: list[str]) -> pl.LazyFrame:
    """Add ``delivery_id``: the attempts of one postback (its retries) share it.

    It is :func:`~postback_kit.deliveries.with_delivery_id`'s (the documented key
    :data:`~postback_kit.deliveries.DELIVERY_KEY`) on the columns as given, so it joins with the
    ``delivery_id`` of ``diagnose``. That key needs ``tracking_id`` and a URL column: an export
    without them is keyed on the key columns it has (conversion time, event, device), with a note.
    """
    absent = [
        name
        for name, present in (
            ("tracking_id", "tracking_id" in schema),
            ("postback_url", "postback_url" in schema or "postback_url_parameters" in schema),
        )
        if not present
    ]
    if absent:
        lazy = lazy.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in absent)
        notes.append(
            f"the export lacks {' and '.join(absent)}: retries are told apart by the other "
            "delivery key columns only (conversion time, event name, device)."
        )
    return with_delivery_id(lazy).drop(absent)


def _prepare(
    frame: pl.DataFrame | pl.LazyFrame,
    config: PartnerConfig,
    windows: list[WindowChange],
    notes: list[str],
) -> pl.DataFrame:
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    require_columns(lazy, ["event_name"], needed_for="audit_settings")
    if "cost_model" in schema:
        lazy = lazy.filter(pl.col("cost_model").cast(pl.String) == "cpa")
    else:
        lazy = lazy.filter(pl.col("event_name").fill_null("") != "")
        notes.append(
            "no cost_model column: every row with an event_name is taken as an event postback."
        )
    lazy = _delivery_ids(lazy, schema, notes)
    times = [
        c for c in ("install_timestamp", "conversion_timestamp", "attempt_timestamp") if c in schema
    ]
    lazy = lazy.with_columns(_utc(c, schema[c]) for c in times)
    url = next((c for c in ("postback_url", "postback_url_parameters") if c in schema), None)
    if "attempt_timestamp" in schema:
        lazy = lazy.sort("attempt_timestamp", nulls_last=True)
    # one row per postback: its first attempt, and how many attempts it took
    lazy = lazy.with_columns(attempts=pl.len().over("delivery_id")).unique(
        subset="delivery_id", keep="first", maintain_order=True
    )

    sent_at = next((c for c in ("attempt_timestamp", "conversion_timestamp") if c in schema), None)
    lazy = lazy.with_columns(
        sent_at=pl.col(sent_at) if sent_at else pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    )
    if "install_timestamp" in schema and "conversion_timestamp" in schema:
        days = (pl.col("conversion_timestamp") - pl.col("install_timestamp")).dt.total_seconds(
            fractional=True
        ) / 86400
    else:
        days = pl.lit(None, dtype=pl.Float64)
        notes.append(
            "the export lacks install_timestamp or conversion_timestamp: the window is not checked."
        )
    lazy = lazy.with_columns(days_since_install=days)

    roles = _role_parameters(config, notes)
    params = query_parameters(pl.col(url).cast(pl.String)) if url else None
    values = {}
    for role in PARAMETER_ROLES:
        exprs = []
        if role in schema:
            exprs.append(pl.col(role).cast(pl.String))
        if params is not None and roles.get(role):
            names = roles[role]
            exprs.append(
                params.list.eval(
                    pl.element()
                    .filter(pl.element().struct.field("name").is_in(names))
                    .struct.field("value")
                ).list.first()
            )
        values[role] = pl.coalesce(exprs) if exprs else pl.lit(None, dtype=pl.String)
    lazy = lazy.with_columns(**values)

    win = pl.DataFrame(
        {"window_since": [w.since for w in windows], "window_days": [w.days for w in windows]},
        schema={"window_since": pl.Datetime("us", "UTC"), "window_days": pl.Int64},
    )
    pb = lazy.collect().sort("sent_at", nulls_last=True)
    known = pb.filter(pl.col("sent_at").is_not_null())
    unknown = pb.filter(pl.col("sent_at").is_null())
    pb = pl.concat(
        [
            known.join_asof(win, left_on="sent_at", right_on="window_since", strategy="backward"),
            unknown.with_columns(
                window_since=pl.lit(None, dtype=win.schema["window_since"]),
                window_days=pl.lit(None, dtype=pl.Int64),
            ),
        ],
        how="vertical_relaxed",
    )
    status = (
        pl.when(pl.col("window_since").is_null() | pl.col("days_since_install").is_null())
        .then(pl.lit("unknown"))
        .when(pl.col("window_days").is_null())
        .then(pl.lit("lifetime"))
        .when(pl.col("days_since_install") > pl.col("window_days"))
        .then(pl.lit("outside"))
        .otherwise(pl.lit("within"))
    )
    return pb.with_columns(window_status=status)


# --------------------------------------------------------------------------- the rules


def _present(col: str) -> pl.Expr:
    """A value that is there: not null, not empty, not the N/A mask."""
    v = pl.col(col).str.strip_chars()
    return v.is_not_null() & (v != "") & (v.str.to_uppercase() != "N/A")


def _masked(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.to_uppercase() == "N/A"


def _json_field(col: str, key: str) -> pl.Expr:
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return pl.col(col).str.json_path_match(f"$['{escaped}']")


def _names(rows: pl.DataFrame, limit: int = 8) -> str:
    counts = (
        rows.group_by("event_name")
        .agg(n=pl.len())
        .sort("n", "event_name", descending=[True, False])
    )
    shown = [f"{r['event_name']!r} ({r['n']:,})" for r in counts.head(limit).iter_rows(named=True)]
    more = counts.height - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


class _Rules:
    def __init__(self, pb: pl.DataFrame, config: PartnerConfig, examples: int) -> None:
        self.pb = pb
        self.config = config
        self.examples = examples
        self.found: list[Violation] = []

    def add(self, code: str, rows: pl.DataFrame, message: str, columns: Sequence[str] = ()) -> None:
        if rows.height == 0:
            return
        base = ["event_name", "sent_at", "days_since_install"]
        keep = [c for c in dict.fromkeys([*base, *columns, "postback_url"]) if c in rows.columns]
        rule, severity, explanation = AUDIT_RULES[code]
        if "sent_at" in rows.columns:
            rows = rows.sort("sent_at", nulls_last=True)
        sample = rows.head(self.examples).select(keep)
        self.found.append(
            Violation(code, rule, severity, message, rows.height, sample, explanation)
        )

    def window(self, windows: list[WindowChange]) -> None:
        pb = self.pb
        out = pb.filter(pl.col("window_status") == "outside")
        if out.height:
            used = out.select("window_since", "window_days").unique().sort("window_since")
            labels = ", ".join(
                WindowChange(r["window_since"], r["window_days"]).label
                for r in used.iter_rows(named=True)
            )
            days = out["days_since_install"]
            lo, hi = f"{float(days.min()):.1f}", f"{float(days.max()):.1f}"  # type: ignore[arg-type]
            span = lo if lo == hi else f"{lo} to {hi}"
            self.add(
                "PK601",
                out,
                f"{out.height:,} event postback(s) were sent {span} days after the install, "
                f"beyond the in-app event postback window in force when they were sent "
                f"({labels}).",
                ["install_timestamp", "conversion_timestamp", "window_days", "window_since"],
            )
        early = pb.filter(pl.col("window_since").is_null() & pl.col("sent_at").is_not_null())
        self.add(
            "PK602",
            early,
            f"{early.height:,} event postback(s) were sent before the first known window setting "
            f"({windows[0].since:%Y-%m-%d}): their window is unknown.",
        )

    def events(self) -> None:
        cfg, pb = self.config, self.pb
        selected = cfg.selected_events()
        if selected is not None:
            lower = {s.lower(): s for s in selected}
            name = pl.col("event_name").fill_null("")
            outside = pb.filter(~name.is_in(list(selected)))
            case = outside.filter(name.str.to_lowercase().is_in(list(lower)))
            other = outside.filter(~name.str.to_lowercase().is_in(list(lower)))
            if case.height:
                pairs = case.select("event_name").unique()["event_name"].sort().to_list()
                said = ", ".join(
                    f"{p!r} is sent, {lower[p.lower()]!r} is mapped" for p in pairs[:5]
                )
                self.add(
                    "PK612",
                    case,
                    f"{case.height:,} postback(s) whose event name differs only in case from a "
                    f"selected one: {said}.",
                )
            self.add(
                "PK611",
                other,
                f"{other.height:,} postback(s) for events neither selected nor mapped for this "
                f"partner: {_names(other)}.",
            )
            present = set(pb["event_name"].drop_nulls().unique().to_list())
            missing = sorted(selected - present)
            if missing:
                rows = pl.DataFrame(
                    {"event_name": missing, "partner_event": [cfg.mapping.get(e) for e in missing]},
                    schema={"event_name": pl.String, "partner_event": pl.String},
                )
                said = ", ".join(
                    f"{e!r}" + (f" (→ {cfg.mapping[e]!r})" if e in cfg.mapping else "")
                    for e in missing
                )
                self.add(
                    "PK651",
                    rows,
                    f"{len(missing)} configured event(s) have no postback in the export: {said}.",
                    ["partner_event"],
                )
        else:
            excluded = pb.filter(pl.col("event_name").is_in(list(NOT_SENT_WITH_ALL)))
            self.add(
                "PK614",
                excluded,
                f"{excluded.height:,} postback(s) for {_names(excluded)}, which 'all events' "
                "does not report.",
            )
        if cfg.mapping and pb["partner_event"].null_count() < pb.height:
            expected = pl.col("event_name").replace_strict(
                cfg.mapping, default=None, return_dtype=pl.String
            )
            wrong = pb.filter(
                expected.is_not_null() & (pl.col("partner_event").fill_null("") != expected)
            )
            if wrong.height:
                first = wrong.row(0, named=True)
                self.add(
                    "PK613",
                    wrong.with_columns(expected_partner_event=expected),
                    f"{wrong.height:,} postback(s) carry another partner event name than the "
                    f"mapping (e.g. {first['event_name']!r} → "
                    f"{cfg.mapping[first['event_name']]!r} expected, "
                    f"{first['partner_event']!r} sent).",
                    ["partner_event", "expected_partner_event"],
                )

    def sharing(self) -> None:
        cfg, pb = self.config, self.pb
        level = _SHARING_LABEL[cfg.sharing]
        cols = ["revenue", "currency", "event_value"]
        if cfg.sharing in ("none", "values_without_revenue"):
            inside = pl.lit(False)
            if cfg.sharing == "values_without_revenue":
                for key in REVENUE_KEYS:
                    f = _json_field("event_value", key)
                    inside = inside | (f.is_not_null() & (f.str.to_uppercase() != "N/A"))
            leak = pb.filter(_present("revenue") | _present("currency") | inside.fill_null(False))
            self.add(
                "PK621",
                leak,
                f"{leak.height:,} postback(s) carry revenue or currency although data sharing "
                f"is '{level}', which masks them with N/A.",
                cols,
            )
        if cfg.sharing == "none":
            leak = pb.filter(_present("event_value"))
            self.add(
                "PK622",
                leak,
                f"{leak.height:,} postback(s) carry the event value although data sharing is "
                f"'{level}' (event_value should be N/A).",
                cols,
            )
        if cfg.sharing == "values_and_revenue":
            masked = pb.filter(
                _masked("revenue").fill_null(False)
                | _masked("event_value").fill_null(False)
                | _masked("currency").fill_null(False)
            )
            self.add(
                "PK623",
                masked,
                f"{masked.height:,} postback(s) carry N/A although data sharing is '{level}'.",
                cols,
            )

    def conditions(self) -> None:
        cfg, pb = self.config, self.pb
        if not cfg.conditions:
            return
        events = list(cfg.conditions)
        match: pl.Expr = pl.lit(None, dtype=pl.Boolean)
        for event, conds in reversed(cfg.conditions.items()):
            hit = pl.any_horizontal(
                [
                    (_json_field("event_value", c.property) == c.value).fill_null(False)
                    for c in conds
                ]
            )
            match = pl.when(pl.col("event_name") == event).then(hit).otherwise(match)
        scoped = pb.filter(pl.col("event_name").is_in(events))
        checkable = _present("event_value")
        failed = scoped.filter(checkable & ~match.fill_null(True))
        said = "; ".join(
            f"{e}: " + " or ".join(f"{c.property} == {c.value!r}" for c in cs)
            for e, cs in cfg.conditions.items()
        )
        self.add(
            "PK631",
            failed,
            f"{failed.height:,} postback(s) were sent although no condition matched ({said}).",
            ["event_value"],
        )
        blind = scoped.filter(~checkable)
        self.add(
            "PK632",
            blind,
            f"{blind.height:,} postback(s) of events with conditions carry no event value "
            "to check.",
            ["event_value"],
        )

    def media_sources(self, notes: list[str]) -> None:
        cfg, pb = self.config, self.pb
        if cfg.media_sources != "this_partner_only":
            return
        if "publisher_id" not in pb.columns and "tracking_id" not in pb.columns:
            notes.append(
                "the export has neither publisher_id nor tracking_id: media sources are not "
                "checked."
            )
            return
        other = pl.lit(False)
        if "publisher_id" in pb.columns:
            pid = pl.col("publisher_id").cast(pl.String).fill_null("")
            other = other | pid.is_in(["", "0"])
            if cfg.publisher_id is not None:
                other = other | (pid != cfg.publisher_id)
        if "tracking_id" in pb.columns:
            other = other | (pl.col("tracking_id").cast(pl.String).fill_null("") == "0")
        rows = pb.filter(other)
        self.add(
            "PK641",
            rows,
            f"{rows.height:,} postback(s) are for events not attributed to this partner "
            "(unattributed/organic or another publisher) although events are sent for "
            "'This partner only'.",
            ["publisher_id", "tracking_id"],
        )


def audit_settings(
    frame: pl.DataFrame | pl.LazyFrame,
    config: PartnerConfig,
    *,
    history: Sequence[HistoryItem] | None = None,
    examples: int = 5,
) -> AuditResult:
    """Check the event postbacks of an export against a partner configuration.

    ``history`` replaces the configuration's window history: ``[(since, days), ...]`` with
    ``days`` a number or None/"lifetime" (the window in force when a postback is sent applies),
    e.g. ``[("2024-01-01", 15), ("2024-01-02", 10), ("2024-01-15", 20)]``. ``examples``: rows
    kept per violation.
    """
    notes: list[str] = []
    windows = _windows(config, history)
    pb = _prepare(frame, config, windows, notes)
    rules = _Rules(pb, config, examples)
    rules.window(windows)
    rules.events()
    rules.sharing()
    rules.conditions()
    rules.media_sources(notes)
    findings = (
        lint_template(config.template, style=config.style, postback="event")
        if config.template
        else []
    )
    order = list(AUDIT_RULES)
    rules.found.sort(key=lambda v: order.index(v.code))
    return AuditResult(config, rules.found, pb, windows, findings, notes)
