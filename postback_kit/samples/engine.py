"""The simulation behind ``samples.generate``: scenario in, export rows and ground truth out.

Users click, install and convert (``_users``, ``_conversions``); each conversion becomes a
postback whose URL is rendered from its tracker's template (``_urls``); the platform sends it
and retries it while it fails (``_attempts``); every attempt gets its partner's answer
(``_bodies``). Each step works on whole columns with numpy and polars: Python loops run only
over trackers, faults, groups of rows and retry rounds. Every random draw comes from a numpy
generator seeded with ``(seed, step)``, so a seed always gives the same rows.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from ..errors import ConfigError
from ..schema import FIELD_NAMES
from .scenario import (
    APP_VERSIONS,
    APPLICATION_ID,
    CATEGORIES,
    CHROME_VERSIONS,
    DEFAULT_FAULTS,
    DEVICES,
    DIURNAL,
    EVENT_DELAY_S,
    IPV4_FIRST,
    IPV6_PREFIXES,
    LOCALES,
    OS_VERSIONS,
    PACKAGES,
    PATTERNS,
    PRICES,
    RELEASE_AT,
    RELEASE_VERSION,
    SENT_CODES,
    TIMEZONE,
    TRACKERS,
    At,
    Fault,
    Response,
    RetryPolicy,
    Tracker,
)

Int = npt.NDArray[np.int64]


# --------------------------------------------------------------------------- random strings

_PAIRS = {
    case: np.frombuffer(
        b"".join(
            f"{i:02x}".encode() if case == "lower" else f"{i:02X}".encode() for i in range(256)
        ),
        dtype=np.uint16,
    )
    for case in ("lower", "upper")
}


@functools.cache
def _hex16() -> pl.Series:
    """Every 16-bit group as IPv6 writes it (``0`` to ``ffff``, no leading zeros)."""
    return pl.Series([format(i, "x") for i in range(65536)], dtype=pl.String)


def _strings(chars: npt.NDArray[np.uint8]) -> pl.Series:
    """An (n, width) matrix of ASCII codes as a String Series (no Python loop)."""
    n, width = chars.shape
    if n == 0:
        return pl.Series([], dtype=pl.String)
    raw = np.ascontiguousarray(chars).view(f"S{width}").ravel()
    return pl.Series(raw).cast(pl.String)


def _hex_chars(b: npt.NDArray[np.uint8], upper: bool = False) -> npt.NDArray[np.uint8]:
    pairs = _PAIRS["upper" if upper else "lower"][b]
    return pairs.view(np.uint8).reshape(b.shape[0], 2 * b.shape[1])


def _hex(rng: np.random.Generator, n: int, nbytes: int) -> pl.Series:
    return _strings(_hex_chars(rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)))


def _uuids(rng: np.random.Generator, n: int, *, upper: bool = False) -> pl.Series:
    """Random (version 4) UUIDs: ``xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx``."""
    b = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    h = _hex_chars(b, upper)
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    for dst, src, width in ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12)):
        chars[:, dst : dst + width] = h[:, src : src + width]
    return _strings(chars)


def _digits(rng: np.random.Generator, n: int, low: int, high: int) -> pl.Series:
    values = rng.integers(low, high, size=n, dtype=np.uint64, endpoint=True)
    return pl.Series(values).cast(pl.String)


def _choice(rng: np.random.Generator, values: Sequence[Any], n: int) -> pl.Series:
    """``n`` values drawn uniformly from ``values``."""
    return pl.Series(list(values)).gather(rng.integers(0, len(values), n))


def _weighted(rng: np.random.Generator, weights: Sequence[float], n: int) -> Int:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _ips(rng: np.random.Generator, n: int, v6_share: float) -> pl.Series:
    """``::ffff:`` IPv4-mapped addresses, and native IPv6 for a share of them."""
    parts = {
        "o0": _choice(rng, [str(x) for x in IPV4_FIRST], n),
        **{f"o{i}": pl.Series(rng.integers(0, 256, n)).cast(pl.String) for i in (1, 2, 3)},
        "p": _choice(rng, IPV6_PREFIXES, n),
        **{f"g{i}": _hex16().gather(rng.integers(0, 65536, n)) for i in range(6)},
        "v6": rng.random(n) < v6_share,
    }
    v4 = pl.concat_str(pl.lit("::ffff:"), pl.concat_str([f"o{i}" for i in range(4)], separator="."))
    v6 = pl.concat_str(["p", *[f"g{i}" for i in range(6)]], separator=":")
    return pl.DataFrame(parts).select(pl.when("v6").then(v6).otherwise(v4)).to_series()


def _per_group(
    frame: pl.DataFrame, group: Int, make: Callable[[int, pl.DataFrame], pl.Series | pl.Expr]
) -> pl.Series:
    """Compute a string column group by group: ``make(g, rows)`` sees only the rows of group
    ``g`` and returns their values (a Series, or an expression over ``rows``)."""
    n = frame.height
    if n == 0:
        return pl.Series([], dtype=pl.String)
    order = np.argsort(group, kind="stable")
    ordered = group[order]
    cuts = np.flatnonzero(np.diff(ordered)) + 1
    parts = []
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True):
        rows = frame[order[lo:hi]]
        value = make(int(ordered[lo]), rows)
        if isinstance(value, pl.Expr):
            value = rows.with_columns(value.alias("__value")).get_column("__value")
        parts.append(value.cast(pl.String).alias("value"))
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return pl.concat(parts).gather(inverse)


# --------------------------------------------------------------------------- templates

_MACRO = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BODY_FIELD = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


_SAFE_NAMES = (
    "click_id google_aid ios_ifa ios_ifv windows_aid appmetrica_device_id click_timestamp "
    "install_timestamp conversion_timestamp attempt_timestamp os_name cost_model event_name "
    "tracking_id publisher_id application_id app_package_name app_version_name revenue campaign "
    "site creative"
)
_URL_SAFE = frozenset(_SAFE_NAMES.split())
"""Values that never need URL-encoding (IDs, numbers, plain names)."""


def _url_quote(expr: pl.Expr) -> pl.Expr:
    for ch, enc in (("%", "%25"), (" ", "%20"), (",", "%2C"), ("&", "%26"), ("=", "%3D")):
        expr = expr.str.replace_all(ch, enc, literal=True)
    for ch, enc in (("+", "%2B"), ("{", "%7B"), ("}", "%7D"), ("#", "%23")):
        expr = expr.str.replace_all(ch, enc, literal=True)
    return expr


def _render(
    template: str,
    columns: Sequence[str],
    pattern: re.Pattern[str],
    quote: bool,
    extra: Mapping[str, pl.Expr] | None = None,
) -> pl.Expr:
    """A template as a polars expression over the named columns. An unknown name is kept
    literally (URL-encoded when ``quote``), as the platform sends a macro it cannot fill."""
    parts: list[pl.Expr] = []
    pos = 0
    for m in pattern.finditer(template):
        if m.start() > pos:
            parts.append(pl.lit(template[pos : m.start()]))
        name = m.group(1)
        if extra and name in extra:
            parts.append(extra[name])
        elif name in columns:
            value = pl.col(name).fill_null("")  # a value the platform lacks is sent empty
            parts.append(_url_quote(value) if quote and name not in _URL_SAFE else value)
        else:
            parts.append(pl.lit(f"%7B{name}%7D" if quote else m.group(0)))
        pos = m.end()
    if pos < len(template):
        parts.append(pl.lit(template[pos:]))
    return pl.concat_str(parts) if parts else pl.lit("")


def _macros(templates: Sequence[str]) -> set[str]:
    return {m.group(1) for t in templates for m in _MACRO.finditer(t)}


def _override(query: str, values: Mapping[str, str | None]) -> str:
    """Replace (or drop, for None) parameters of a ``k=v&k=v`` template."""
    out = []
    for pair in query.split("&"):
        key = pair.split("=", 1)[0]
        if key in values:
            if values[key] is None:
                continue
            pair = f"{key}={values[key]}"
        out.append(pair)
    return "&".join(out)


# --------------------------------------------------------------------------- generation


@dataclass
class Scenario:
    """The trackers and the chosen faults, placed in time: the window and every fault's
    attempt-time windows (outages, bursts) as Unix seconds."""

    start: datetime  # aware
    days: int
    trackers: tuple[Tracker, ...]
    faults: tuple[Fault, ...]
    retry: RetryPolicy
    release: datetime
    windows: list[list[tuple[int, int]]]  # per fault: attempt-time windows, Unix seconds

    @property
    def t0(self) -> int:
        return int(self.start.timestamp())

    @property
    def t1(self) -> int:
        return self.t0 + self.days * 86_400

    def tracker_index(self, key: str) -> int:
        return [t.key for t in self.trackers].index(key)

    def ts(self, at: At | None) -> int | None:
        return None if at is None else int(at.resolve(self.start, self.days).timestamp())


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _parse_start(start: str | datetime) -> datetime:
    value = datetime.fromisoformat(start) if isinstance(start, str) else start
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(TIMEZONE))
    return value


def resolve(
    start: str | datetime,
    days: int,
    faults: Literal["default"] | Sequence[Fault | str],
    retry: RetryPolicy,
    seed: int,
) -> Scenario:
    """Check the choice of faults and place the scenario in time (bursts are drawn here)."""
    if days < 1:
        raise ConfigError("days must be at least 1.", found=str(days))
    if isinstance(faults, str):
        if faults != "default":
            raise ConfigError(
                'faults must be "default" or a list of faults or fault ids.', found=repr(faults)
            )
        chosen = DEFAULT_FAULTS
    else:
        by_id = {f.id: f for f in DEFAULT_FAULTS}
        unknown = [f for f in faults if isinstance(f, str) and f not in by_id]
        if unknown:
            raise ConfigError(
                f"unknown fault id(s): {', '.join(unknown)}.",
                hint=f"known: {', '.join(by_id)}.",
            )
        chosen = tuple(by_id[f] if isinstance(f, str) else f for f in faults)
    keys = {t.key for t in TRACKERS}
    for f in chosen:
        if f.tracker not in keys:
            raise ConfigError(f"fault {f.id} names an unknown tracker {f.tracker!r}.")
        if f.category not in CATEGORIES or f.pattern not in PATTERNS:
            raise ConfigError(f"fault {f.id} has an unknown category or pattern.")
        if (f.columns or f.click_params) and (f.hit.where or f.hit.repeat):
            raise ConfigError(
                f"fault {f.id}: columns and click_params apply to whole clicks; "
                "use share, not where/repeat."
            )
    for t in TRACKERS:
        unknown_macros = _macros([p.query for p in t.postbacks]) - _URL_MACROS
        if unknown_macros:
            raise ConfigError(
                f"tracker {t.key}: unknown macro(s) {', '.join(sorted(unknown_macros))}.",
                hint="a misspelt macro belongs in a fault's params (planted on purpose).",
            )
    begin = _parse_start(start)
    sc = Scenario(begin, days, TRACKERS, chosen, retry, RELEASE_AT.resolve(begin, days), [])
    rng = _rng(seed, 1)
    for f in chosen:
        windows: list[tuple[int, int]] = []
        if f.retry_behavior == "transient" and (f.started or f.ended):
            windows.append((sc.ts(f.started) or sc.t0 - 86_400, sc.ts(f.ended) or sc.t1 + 86_400))
        if f.hit.bursts:
            count = max(1, round(f.hit.bursts.per_day * days))
            lo, hi = f.hit.bursts.minutes
            starts = np.sort(rng.integers(sc.t0, sc.t1, size=count))
            lengths = rng.integers(lo * 60, hi * 60, size=count, endpoint=True)
            windows.extend((int(s), int(s + n)) for s, n in zip(starts, lengths, strict=True))
        sc.windows.append(_merge(windows))
    return sc


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _moments(rng: np.random.Generator, n: int, t0: int, days: int) -> Int:
    """Unix seconds over ``days`` days from ``t0`` (local midnight), with a daily rhythm."""
    day = rng.integers(0, days, size=n)
    hour = _weighted(rng, DIURNAL, n)
    return t0 + day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, size=n)


_OSES = ("android", "ios", "windows")


def _table(rows: Mapping[str, Sequence[tuple[Any, ...]]], names: Sequence[str]) -> pl.DataFrame:
    """A reference table of all OSes as one frame, with the OS and the row weight."""
    return pl.DataFrame(
        [(os_name, *r) for os_name in _OSES for r in rows[os_name]],
        schema=["os", *names, "weight"],
        orient="row",
    )


_DEVICE_TABLE = _table(
    DEVICES, ["device_manufacturer", "device_model", "model_code", "device_type"]
)
_OS_VERSION_TABLE = _table(OS_VERSIONS, ["os_version"])
_APP_VERSION_TABLE = _table(APP_VERSIONS, ["base_version"])


def _draw_rows(rng: np.random.Generator, table: pl.DataFrame, os_idx: Int) -> pl.DataFrame:
    """For each user, a row of ``table`` among those of the user's OS, by weight."""
    pick = np.zeros(os_idx.size, dtype=np.int64)
    oses = table.get_column("os").to_list()
    weights = table.get_column("weight").to_numpy()
    for k, os_name in enumerate(_OSES):
        users = np.flatnonzero(os_idx == k)
        rows = np.array([i for i, o in enumerate(oses) if o == os_name])
        pick[users] = rows[_weighted(rng, weights[rows], users.size)]
    return table.drop("os", "weight")[pick]


def _user_agent(os_name: str) -> pl.Expr:
    """The browser (or in-app web view) a user clicked in."""
    kind = pl.col("ua_kind")
    if os_name == "ios":
        return pl.concat_str(
            pl.lit("Mozilla/5.0 ("),
            pl.when(pl.col("model_code") == "iPad")
            .then(pl.lit("iPad; CPU OS "))
            .otherwise(pl.lit("iPhone; CPU iPhone OS ")),
            pl.col("os_version").str.replace_all(".", "_", literal=True),
            pl.lit(" like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "),
            pl.when(kind < 0.7)
            .then(
                pl.concat_str(
                    pl.lit("Version/"),
                    pl.col("os_version").str.split(".").list.first(),
                    pl.lit(".0 Mobile/15E148 Safari/604.1"),
                )
            )
            .otherwise(pl.lit("Mobile/15E148")),
        )
    if os_name == "android":
        return pl.concat_str(
            pl.lit("Mozilla/5.0 (Linux; Android "),
            pl.col("os_version"),
            pl.lit("; "),
            pl.col("model_code"),
            pl.when(kind < 0.35)
            .then(pl.lit("; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/"))
            .otherwise(pl.lit(") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/")),
            pl.col("chrome"),
            pl.when(kind > 0.85)
            .then(pl.lit(" YaBrowser/25.10.4.112.00 SA/3"))
            .otherwise(pl.lit("")),
            pl.when(pl.col("device_type") == "tablet")
            .then(pl.lit(" Safari/537.36"))
            .otherwise(pl.lit(" Mobile Safari/537.36")),
        )
    return pl.concat_str(
        pl.lit("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"),
        pl.lit(" Chrome/"),
        pl.col("chrome"),
        pl.lit(" Safari/537.36 Edg/"),
        pl.col("chrome").str.split(".").list.first(),
        pl.lit(".0.0.0"),
    )


def _users(sc: Scenario, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """Attributed users, one per click: the tracker, the device, the click and the install."""
    tracker = _weighted(rng, [t.weight for t in sc.trackers], n)
    mix = np.array([[t.os_mix.get(o, 0.0) for o in _OSES] for t in sc.trackers])
    cum = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(n)
    os_idx = (u > cum[tracker, 0]).astype(np.int64) + (u > cum[tracker, 1])
    has_cpr = np.array([any(p.cost_model == "cpr" for p in t.postbacks) for t in sc.trackers])
    reengaged = has_cpr[tracker] & (rng.random(n) < 0.12)

    # when: the install (or, for a re-engagement, the conversion), and the click before it
    lead_days = 3
    anchor = _moments(rng, n, sc.t0 - lead_days * 86_400, sc.days + lead_days)
    click_lag = np.minimum(np.exp(rng.normal(7.0, 1.6, n)).astype(np.int64) + 15, 7 * 86_400)
    long_ago = rng.integers(10 * 86_400, 180 * 86_400, n)
    impressions = np.array([t.impressions for t in sc.trackers])[tracker]
    touch = np.where(~reengaged & (rng.random(n) < impressions), 1, 0)
    frame = pl.DataFrame(
        {
            "tracker": tracker,
            "os_name": pl.Series(_OSES).gather(os_idx),
            "reengaged": reengaged,
            "anchor": anchor,
            "install_ts": np.where(reengaged, anchor - long_ago, anchor),
            "click_ts": anchor - click_lag,
            "draw": rng.random(n),  # a click's draw, for faults that hit a share of clicks
            "attribution_touch_type": pl.Series(["click", "impression"]).gather(touch),
        }
    ).hstack(
        pl.concat(
            [
                _draw_rows(rng, _DEVICE_TABLE, os_idx),
                _draw_rows(rng, _OS_VERSION_TABLE, os_idx),
                _draw_rows(rng, _APP_VERSION_TABLE, os_idx),
            ],
            how="horizontal",
        )
    )

    # identifiers, in the form each OS gives them (zeros when the user limits ad tracking)
    zeros = "00000000-0000-0000-0000-000000000000"
    is_android, is_ios, is_windows = (pl.col("os_name") == o for o in _OSES)
    frame = frame.with_columns(
        device_locale=pl.Series([x for x, _ in LOCALES]).gather(
            _weighted(rng, [w for _, w in LOCALES], n)
        ),
        appmetrica_device_id=_digits(rng, n, 10**17, 2**64 - 1),
        google_aid=pl.when(is_android)
        .then(
            pl.when(pl.Series(rng.random(n) < 0.04)).then(pl.lit(zeros)).otherwise(_uuids(rng, n))
        )
        .otherwise(pl.lit("")),
        att=rng.random(n) < 0.35,
        ios_ifa=_uuids(rng, n, upper=True),
        ios_ifv=pl.when(is_ios).then(_uuids(rng, n, upper=True)).otherwise(pl.lit("")),
        windows_aid=pl.when(is_windows).then(_uuids(rng, n)).otherwise(pl.lit("")),
        click_ipv6=_ips(rng, n, 0.3),
        install_ipv6=_ips(rng, n, 0.3),
        same_ip=rng.random(n) < 0.6,
        ua_kind=rng.random(n),
        chrome=_choice(rng, CHROME_VERSIONS, n),
        match=rng.random(n),
        campaign=pl.Series(rng.integers(1, 4, n) * 1000 + tracker * 7).cast(pl.String),
        site=pl.format("s{}", pl.Series(rng.integers(100, 999, n))),
        creative=pl.Series(rng.integers(10_000, 99_999, n)).cast(pl.String),
    ).with_columns(
        ios_ifa=pl.when(is_ios)
        .then(pl.when("att").then("ios_ifa").otherwise(pl.lit(zeros)))
        .otherwise(pl.lit("")),
        install_ipv6=pl.when("same_ip").then("click_ipv6").otherwise("install_ipv6"),
        match_type=pl.when(pl.col("match") < 0.5, ~is_ios | pl.col("att"))
        .then(pl.lit("identifier"))
        .when(pl.col("match") < 0.75, is_android)
        .then(pl.lit("referrer"))
        .otherwise(pl.lit("fingerprint")),
    )

    # the click: its ID in the tracker's format, the browser, the tracking-URL parameters
    formats = ("hex32", "uuid", "digits")
    fmt = np.array([formats.index(t.click_id) for t in sc.trackers])[tracker]
    makers: dict[int, Callable[[int], pl.Series]] = {
        0: lambda m: _hex(rng, m, 16),
        1: lambda m: _uuids(rng, m),
        2: lambda m: _digits(rng, m, 10**15, 10**19 - 1),
    }
    ua_columns = frame.select("model_code", "device_type", "os_version", "ua_kind", "chrome")
    frame = frame.with_columns(
        click_id=_per_group(frame.select("tracker"), fmt, lambda g, rows: makers[g](rows.height)),
        click_user_agent=_per_group(ua_columns, os_idx, lambda g, rows: _user_agent(_OSES[g])),
    )

    # clicks hit by a fault that changes what the click looks like (an empty click_id)
    fault = np.full(n, -1, dtype=np.int64)
    draw = frame.get_column("draw").to_numpy()
    for j, f in enumerate(sc.faults):
        if f.columns or f.click_params:
            hit = (tracker == sc.tracker_index(f.tracker)) & (draw < f.hit.share)
            fault[hit] = j
            hit_s = pl.Series(hit)
            frame = frame.with_columns(
                pl.when(hit_s).then(pl.lit(v)).otherwise(c).alias(c) for c, v in f.columns.items()
            )
    templates = [t.click_params for t in sc.trackers]
    names = [c for c in frame.columns if c in _macros(templates)]

    def click_params(g: int, rows: pl.DataFrame) -> pl.Expr:
        t_idx, j = divmod(g, len(sc.faults) + 1)
        template = sc.trackers[t_idx].click_params
        if j > 0:
            template = _override(template, sc.faults[j - 1].click_params)
        return _render(template, names, _MACRO, quote=True)

    group = tracker * (len(sc.faults) + 1) + fault + 1
    return frame.with_columns(
        click_url_parameters=_per_group(frame.select(names), group, click_params)
    ).drop("att", "same_ip", "ua_kind", "chrome", "match", "model_code")


def _conversions(sc: Scenario, users: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Postbacks to send: one per conversion of an attributed user, inside the window."""
    tracker = users.get_column("tracker").to_numpy()
    reengaged = users.get_column("reengaged").to_numpy()
    anchor = users.get_column("anchor").to_numpy()
    settings = [p for t in sc.trackers for p in t.postbacks]
    offsets = np.cumsum([0] + [len(t.postbacks) for t in sc.trackers])
    users_of, setting_of, when_of = [], [], []
    for i, t in enumerate(sc.trackers):
        mine = np.flatnonzero(tracker == i)
        for k, p in enumerate(t.postbacks):
            if p.cost_model == "cpr":
                counts = reengaged[mine].astype(np.int64)
            elif p.cost_model == "cpi":
                counts = (~reengaged[mine]).astype(np.int64)
            elif p.repeatable:
                counts = rng.poisson(p.rate, mine.size) * ~reengaged[mine]
            else:
                counts = (rng.random(mine.size) < p.rate) * ~reengaged[mine]
            user = np.repeat(mine, counts)
            when = anchor[user].copy()
            if p.cost_model == "cpa":
                mean = EVENT_DELAY_S.get(p.event_name, EVENT_DELAY_S["purchase"])
                when += rng.exponential(mean, user.size).astype(np.int64) + 30
            users_of.append(user)
            setting_of.append(np.full(user.size, offsets[i] + k))
            when_of.append(when)
    user, setting, when = (np.concatenate(x) for x in (users_of, setting_of, when_of))
    keep = (when >= sc.t0) & (when < sc.t1)
    user, setting, when = user[keep], setting[keep], when[keep]
    order = np.lexsort((when, setting, user))
    user, setting, when = user[order], setting[order], when[order]
    # the how-manieth postback of this setting for this user (0 for the first)
    first = np.r_[True, (np.diff(user) != 0) | (np.diff(setting) != 0)]
    starts = np.flatnonzero(first)
    occurrence = np.arange(user.size) - np.repeat(starts, np.diff(np.r_[starts, user.size]))
    conv = pl.DataFrame(
        {
            "user": user,
            "setting": setting,  # the postback setting: an index into all trackers' settings
            "conversion_ts": when,
            "occurrence": occurrence,
            "cost_model": pl.Series([p.cost_model for p in settings]).gather(setting),
            "event_name": pl.Series([p.event_name for p in settings]).gather(setting),
        }
    )
    n = conv.height
    # the app version at the conversion: users update after the release at their own pace
    lag = rng.exponential(1.6 * 86_400, n).astype(np.int64)
    fresh = rng.random(n) < 0.9
    price = np.array(PRICES)[rng.integers(0, len(PRICES), n)]
    delay = 2 + rng.exponential(45, n).astype(np.int64)
    late = (rng.random(n) < 0.06) * rng.exponential(3 * 3_600, n).astype(np.int64)
    conv = pl.concat(
        [
            conv.with_columns(lag=lag, fresh=fresh, price=price, delay=delay, late=late),
            users[conv.get_column("user").to_numpy()],
        ],
        how="horizontal",
    )
    release = int(sc.release.timestamp())
    updated_at = pl.max_horizontal(pl.col("install_ts"), pl.lit(release)) + pl.col("lag")
    on_new = (pl.col("os_name") != "windows") & (
        (pl.col("conversion_ts") >= updated_at)
        | ((pl.col("install_ts") >= release) & pl.col("fresh"))
    )
    purchase = pl.col("event_name") == "purchase"
    return conv.with_columns(
        app_version_name=pl.when(on_new).then(pl.lit(RELEASE_VERSION)).otherwise("base_version"),
        revenue=pl.when(purchase).then(pl.format("{}.00", "price")).otherwise(pl.lit("")),
        first_ts=pl.col("conversion_ts")
        + pl.col("delay")
        + pl.when(pl.col("cost_model") == "cpa").then("late").otherwise(0),
    ).with_columns(
        revenue_comma=pl.col("revenue").str.replace(".", ",", literal=True),
        app_package_name=pl.col("os_name").replace_strict(PACKAGES),
        application_id=pl.lit(APPLICATION_ID),
        **{
            name: pl.lit(pl.Series([getattr(t, attr) for t in sc.trackers])).gather("tracker")
            for name, attr in (
                ("tracking_id", "tracking_id"),
                ("tracker_name", "name"),
                ("publisher_id", "publisher_id"),
                ("publisher_name", "publisher_name"),
            )
        },
        click_timestamp=pl.col("click_ts").cast(pl.String),
        install_timestamp=pl.col("install_ts").cast(pl.String),
        conversion_timestamp=pl.col("conversion_ts").cast(pl.String),
    )


def _conversion_faults(sc: Scenario, conv: pl.DataFrame) -> pl.DataFrame:
    """The deterministic fault hitting each postback (-1: none)."""
    rule = pl.lit(-1, dtype=pl.Int64)
    for j, f in reversed(list(enumerate(sc.faults))):
        if f.retry_behavior != "deterministic":
            continue
        cond = (pl.col("tracker") == sc.tracker_index(f.tracker)) & (pl.col("draw") < f.hit.share)
        for column, value in f.hit.where.items():
            cond &= pl.col(column) == value
        if f.hit.repeat:
            cond &= pl.col("occurrence") > 0
        if f.started is not None:
            cond &= pl.col("first_ts") >= sc.ts(f.started)
        if f.ended is not None:
            cond &= pl.col("first_ts") < sc.ts(f.ended)
        rule = pl.when(cond).then(pl.lit(j)).otherwise(rule)
    return conv.with_columns(fault=rule)


_URL_MACROS = frozenset(FIELD_NAMES) | {"revenue", "revenue_comma"}


def _urls(sc: Scenario, conv: pl.DataFrame) -> pl.DataFrame:
    """``postback_url`` and ``postback_url_parameters`` from each tracker's templates; a
    postback hit by a fault with ``params`` carries those values instead."""
    settings = [(t, p) for t in sc.trackers for p in t.postbacks]
    setting = conv.get_column("setting").to_numpy()
    fault = conv.get_column("fault").to_numpy()
    group = setting * (len(sc.faults) + 1) + fault + 1
    names = [c for c in conv.columns if c in _URL_MACROS]
    assert _macros([p.query for _, p in settings]) <= set(names), "a macro has no column yet"

    def query(g: int, rows: pl.DataFrame) -> pl.Expr:
        k, j = divmod(g, len(sc.faults) + 1)
        template = settings[k][1].query
        if j > 0:
            template = _override(template, sc.faults[j - 1].params)
        return _render(template, names, _MACRO, quote=True)

    def endpoint(g: int, rows: pl.DataFrame) -> pl.Expr:
        t, p = settings[g]
        return pl.lit(p.endpoint or t.endpoint)

    return conv.with_columns(
        postback_url_parameters=_per_group(conv.select(names), group, query),
        endpoint=_per_group(conv.select("tracker"), setting, endpoint),
    ).with_columns(postback_url=pl.concat_str("endpoint", pl.lit("?"), "postback_url_parameters"))


@dataclass
class _Responses:
    """Every answer of the scenario, numbered: each tracker's success, then each fault's."""

    codes: list[int | None] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    fault: list[int] = field(default_factory=list)  # -1 for a success
    ok: list[int] = field(default_factory=list)  # per postback setting: its success
    by_fault: list[tuple[Int, npt.NDArray[np.float64]]] = field(default_factory=list)

    def add(self, r: Response, fault: int) -> int:
        self.codes.append(r.code)
        self.bodies.append(r.body)
        self.fault.append(fault)
        return len(self.codes) - 1


def _responses(sc: Scenario) -> _Responses:
    out = _Responses()
    for t in sc.trackers:
        for p in t.postbacks:
            out.ok.append(out.add(p.ok or t.ok, -1))
    for j, f in enumerate(sc.faults):
        ids = np.array([out.add(r, j) for r in f.responses])
        w = np.array([r.weight for r in f.responses], dtype=float)
        out.by_fault.append((ids, np.cumsum(w / w.sum())))
    return out


def _attempts(
    sc: Scenario, conv: pl.DataFrame, answers: _Responses, rng: np.random.Generator
) -> pl.DataFrame:
    """Send every postback; retry failed ones as new attempts until sent or given up."""
    tracker = conv.get_column("tracker").to_numpy()
    rule = conv.get_column("fault").to_numpy()
    first = conv.get_column("first_ts").to_numpy()
    ok_id = np.array(answers.ok)[conv.get_column("setting").to_numpy()]
    sent_code = np.array([c in SENT_CODES for c in answers.codes])
    timed = [
        (j, sc.tracker_index(f.tracker), np.array(sc.windows[j], dtype=np.int64).reshape(-1, 2))
        for j, f in enumerate(sc.faults)
        if f.retry_behavior == "transient"
    ]
    lo, hi = sc.retry.interval_s
    cap = sc.retry.max_attempts or 10**9

    pending = np.arange(conv.height)
    when = first.copy()
    out_conv, out_ts, out_resp, out_no = [], [], [], []
    number = 0
    while pending.size:
        ts = when[pending]
        hit = rule[pending].copy()
        for j, ti, win in timed:
            if not win.size:
                continue
            inside = np.zeros(pending.size, dtype=bool)
            pos = np.searchsorted(win[:, 0], ts, side="right") - 1
            ok = pos >= 0
            inside[ok] = ts[ok] < win[pos[ok], 1]
            chance = rng.random(pending.size) < sc.faults[j].hit.probability
            hit[(hit < 0) & (tracker[pending] == ti) & inside & chance] = j
        resp = ok_id[pending].copy()
        draw = rng.random(pending.size)
        for j in np.unique(hit[hit >= 0]):
            ids, cum = answers.by_fault[j]
            m = hit == j
            resp[m] = ids[np.searchsorted(cum, draw[m], side="right").clip(max=len(ids) - 1)]
        out_conv.append(pending)
        out_ts.append(ts)
        out_resp.append(resp)
        out_no.append(np.full(pending.size, number))
        number += 1
        failed = ~sent_code[resp]
        nxt = ts + rng.integers(lo, hi, size=pending.size, endpoint=True)
        again = failed & (number < cap) & (nxt - first[pending] <= sc.retry.give_up_after_s)
        when[pending[again]] = nxt[again]
        pending = pending[again]
    conv_idx = np.concatenate(out_conv)
    ts_all = np.concatenate(out_ts)
    number_all = np.concatenate(out_no)
    # rows in event-time order, each postback's attempts together (as an export by event time)
    conversion_ts = conv.get_column("conversion_ts").to_numpy()[conv_idx]
    order = np.lexsort((number_all, conv_idx, conversion_ts))
    return pl.DataFrame(
        {
            "conv": conv_idx[order],
            "attempt_ts": ts_all[order],
            "response": np.concatenate(out_resp)[order],
            "attempt_no": number_all[order],
        }
    )


def _bodies(frame: pl.DataFrame, answers: _Responses, rng: np.random.Generator) -> pl.Series:
    """Each attempt's response body, with the per-request parts filled in."""

    def body(r: int, rows: pl.DataFrame) -> pl.Expr:
        template = answers.bodies[r]
        if "${" not in template:
            return pl.lit(template)
        n = rows.height
        per_request = {  # what differs from one answer to the next
            "request_id": pl.lit(_uuids(rng, n)),
            "number": pl.lit(_digits(rng, n, 10**9, 10**10 - 1)),
            "hex": pl.lit(_hex(rng, n, 8)),
        }
        return _render(template, rows.columns, _BODY_FIELD, quote=False, extra=per_request)

    columns = frame.select("click_id", "attempt_timestamp", goal_value="revenue_comma")
    return _per_group(columns, frame.get_column("response").to_numpy(), body).alias("response_body")


def _local(ts: str) -> pl.Expr:
    return (
        pl.from_epoch(ts, time_unit="s")
        .dt.convert_time_zone(TIMEZONE)
        .dt.strftime("%Y-%m-%d %H:%M:%S")
    )


@dataclass
class Run:
    """One simulation: the postbacks (``conv``), their attempts (``att``), the answers."""

    conv: pl.DataFrame
    att: pl.DataFrame
    answers: _Responses

    def first_users(self, attempts: int) -> Run:
        """Keep the attempts of the first users, whose rows add up to ``attempts`` or just
        over (users are independent and identically distributed)."""
        user = self.conv.get_column("user").to_numpy()[self.att.get_column("conv").to_numpy()]
        last = int(np.searchsorted(np.cumsum(np.bincount(user)), attempts))
        return Run(self.conv, self.att.filter(pl.Series(user <= last)), self.answers)


def simulate(sc: Scenario, n_users: int, seed: int) -> Run:
    """Simulate ``n_users`` users: their postbacks and every attempt to send them."""
    users = _users(sc, n_users, _rng(seed, 2))
    conv = _conversions(sc, users, _rng(seed, 3))
    conv = _urls(sc, _conversion_faults(sc, conv))
    answers = _responses(sc)
    return Run(conv, _attempts(sc, conv, answers, _rng(seed, 4)), answers)


def run(sc: Scenario, attempts: int, seed: int) -> Run:
    """A run of about ``attempts`` rows: simulate a few more users than a small pilot says are
    needed, then keep the first ones."""
    pilot_users = 4_000
    pilot = simulate(sc, pilot_users, seed + 1_000_003)
    n_users = math.ceil(1.15 * attempts * pilot_users / max(pilot.att.height, 1)) + 100
    while (result := simulate(sc, n_users, seed)).att.height < attempts:
        n_users = math.ceil(n_users * 1.3)
    return result.first_users(attempts)


def assemble(sc: Scenario, run: Run, seed: int) -> pl.DataFrame:
    """The export rows of a run: each attempt with its postback's fields and its answer."""
    conv, att, answers = run.conv, run.att, run.answers
    codes = pl.Series([str(c) if c is not None else "" for c in answers.codes], dtype=pl.String)
    status = pl.Series(["sent" if c in SENT_CODES else "failed" for c in answers.codes])

    conv = conv.with_columns(
        click_datetime=_local("click_ts"),
        install_datetime=_local("install_ts"),
        conversion_datetime=_local("conversion_ts"),
    )
    resp = att.get_column("response").to_numpy()
    keep = [c for c in conv.columns if c in FIELD_NAMES or c == "revenue_comma"]
    frame = conv.select(keep)[att.get_column("conv").to_numpy()].with_columns(
        att.get_column("attempt_ts"),
        att.get_column("response"),
        response_code=codes.gather(resp),
        notifying_status=status.gather(resp),
    )
    frame = frame.with_columns(
        attempt_timestamp=pl.col("attempt_ts").cast(pl.String),
        attempt_datetime=_local("attempt_ts"),
    )
    return frame.with_columns(_bodies(frame, answers, _rng(seed, 5)))


def export(raw: pl.DataFrame) -> pl.DataFrame:
    """The documented fields, in documented order, as the exported strings."""
    frame = raw.select(FIELD_NAMES)
    assert all(dtype == pl.String for dtype in frame.dtypes), frame.schema
    assert frame.null_count().sum_horizontal().item() == 0, "an empty value must be empty text"
    return frame


# --------------------------------------------------------------------------- ground truth


def _iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, ZoneInfo(TIMEZONE)).isoformat()


def _codes(f: Fault) -> list[int | None]:
    codes = {r.code for r in f.responses}
    return sorted(c for c in codes if c is not None) + ([None] if None in codes else [])


def truth(sc: Scenario, run: Run, *, seed: int, requested: int) -> dict[str, Any]:
    """The ground truth: what was planted (the documented keys first), and what the run made
    of it (attempts, postbacks, postbacks never sent, first and last seen)."""
    conv = run.att.get_column("conv").to_numpy()
    ts = run.att.get_column("attempt_ts").to_numpy()
    response = run.att.get_column("response").to_numpy()
    rule = np.array(run.answers.fault)[response]
    sent = np.array([c in SENT_CODES for c in run.answers.codes])[response]
    tracker = run.conv.get_column("tracker").to_numpy()
    postbacks, row_postback = np.unique(conv, return_inverse=True)
    n_trackers, n_faults = len(sc.trackers), max(len(sc.faults), 1)
    attempts_of = np.bincount(tracker[conv], minlength=n_trackers)
    postbacks_of = np.bincount(tracker[postbacks], minlength=n_trackers)
    ever_sent = np.bincount(row_postback, weights=sent, minlength=postbacks.size) > 0
    hit = rule >= 0
    pairs = np.unique(row_postback[hit] * n_faults + rule[hit])
    hit_postback, hit_rule = pairs // n_faults, pairs % n_faults
    faulty = {f.tracker for f in sc.faults}
    trackers = [
        {
            "tracking_id": t.tracking_id,
            "tracker_name": t.name,
            "publisher_name": t.publisher_name,
            "healthy": t.key not in faulty,
            "publisher_id": t.publisher_id,
            "key": t.key,
            "faults": [f.id for f in sc.faults if f.tracker == t.key],
            "postbacks": int(postbacks_of[i]),
            "attempts": int(attempts_of[i]),
        }
        for i, t in enumerate(sc.trackers)
    ]
    by_rule: dict[int, dict[str, int]] = {}
    for j in range(len(sc.faults)):
        mine = rule == j
        if mine.any():
            by_rule[j] = {
                "attempts": int(mine.sum()),
                "postbacks": int((hit_rule == j).sum()),
                "never": int(((hit_rule == j) & ~ever_sent[hit_postback]).sum()),
                "first": int(ts[mine].min()),
                "last": int(ts[mine].max()),
            }
    faults = []
    for j, f in enumerate(sc.faults):
        i = sc.tracker_index(f.tracker)
        t = sc.trackers[i]
        h = by_rule.get(j, {})
        windows = sc.windows[j]
        started, ended = sc.ts(f.started), sc.ts(f.ended)
        faults.append(
            {
                "id": f.id,
                "tracking_id": t.tracking_id,
                "description": f.description,
                "category": f.category,
                "pattern": f.pattern,
                "signature_contains": f.signature_contains,
                "response_codes": _codes(f),
                "started_at": _iso(started),
                "ended_at": _iso(ended),
                "segment": dict(f.segment) if f.segment else None,
                "parameter": dict(f.parameter) if f.parameter else None,
                "retry_behavior": f.retry_behavior,
                # more than the contract asks: what the generator actually produced
                "tracker_name": t.name,
                "signatures": list(f.signatures) or [f.signature_contains],
                "notifying_status": sorted(
                    {"sent" if r.code in SENT_CODES else "failed" for r in f.responses}
                ),
                "attempts": h.get("attempts", 0),
                "postbacks": h.get("postbacks", 0),
                "share_of_tracker_postbacks": round(
                    h.get("postbacks", 0) / max(int(postbacks_of[i]), 1), 4
                ),
                "postbacks_never_sent": h.get("never", 0),
                "first_seen": _iso(h.get("first")),
                "last_seen": _iso(h.get("last")),
                "windows": [[_iso(a), _iso(b)] for a, b in windows] if f.hit.bursts else None,
            }
        )
    return {
        "seed": seed,
        "attempts": int(conv.size),
        "start": _iso(sc.t0),
        "end": _iso(sc.t1),
        "trackers": trackers,
        "faults": faults,
        "requested_attempts": requested,
        "postbacks": int(postbacks.size),
        "application_id": APPLICATION_ID,
        "timezone": TIMEZONE,
        "retry_policy": {
            "interval_s": list(sc.retry.interval_s),
            "give_up_after_s": sc.retry.give_up_after_s,
            "max_attempts": sc.retry.max_attempts,
        },
        "sent_codes": sorted(SENT_CODES),
        "release": {"app_version_name": RELEASE_VERSION, "at": _iso(int(sc.release.timestamp()))},
    }
