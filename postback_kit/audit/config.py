"""A partner's in-app event postback settings, read from TOML and validated.

The settings follow the AppsFlyer in-app event postback settings page (seed 004): a postback
window, the events sent and their mapping to the partner's names, the media sources whose
events are sent, the data shared, and conditions on the event value.

.. code-block:: toml

    name = "Ad Network X"
    template = "https://pb.network-x.example/conv?clickid=(clickid)&event=(partner_event_id)&revenue=(event_revenue)&json=(event_value)"
    window = 20                          # days after the install, or "lifetime"
    events = ["purchase", "level_up"]    # or "all" (send all events as they are)
    media_sources = "this_partner_only"  # or "all_media_sources"
    sharing = "values_and_revenue"       # "none" | "values_without_revenue" | "values_and_revenue"
    publisher_id = "39"                  # optional: the partner's publisher_id in the export

    [mapping]                            # advertiser event name -> partner event name
    purchase = "event5"

    [[conditions.level_up]]              # up to 5 per event; one match is enough (OR)
    property = "level"
    value = "5"

    [[window_history]]                   # optional: the window over time (it applies when the
    since = 2024-01-01                   # postback is sent); `window` then equals the last one
    window = 15
    [[window_history]]
    since = 2024-01-02
    window = 10

    [parameters]                         # optional: which URL parameter carries what, when the
    revenue = "monetary"                 # template does not say (revenue, currency,
                                         # event_value, partner_event)
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, NoReturn

from ..errors import ConfigError
from .template import STYLES

__all__ = [
    "MAX_CONDITIONS",
    "MEDIA_SOURCES",
    "SHARING_LEVELS",
    "Condition",
    "PartnerConfig",
    "WindowChange",
    "load_partner_config",
]

SHARING_LEVELS: tuple[str, ...] = ("none", "values_without_revenue", "values_and_revenue")
"""No data (default) / Values without revenue / Values and revenue."""
MEDIA_SOURCES: tuple[str, ...] = ("this_partner_only", "all_media_sources")
MAX_CONDITIONS = 5
PARAMETER_ROLES: tuple[str, ...] = ("revenue", "currency", "event_value", "partner_event")
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

_KEYS = {
    "name": "the partner's name",
    "template": "the postback URL template",
    "style": "auto | appmetrica | appsflyer",
    "publisher_id": "the partner's publisher_id in the export",
    "window": "days after the install, or 'lifetime'",
    "window_history": "[[window_history]] tables with since and window",
    "events": "'all' or a list of event names",
    "media_sources": " | ".join(MEDIA_SOURCES),
    "sharing": " | ".join(SHARING_LEVELS),
    "mapping": "[mapping] advertiser event = partner event",
    "conditions": "[[conditions.EVENT]] tables with property and value",
    "parameters": "[parameters] role = URL parameter name",
}


@dataclass(frozen=True)
class Condition:
    """``property == value`` on the event value (compared as text)."""

    property: str
    value: str


@dataclass(frozen=True)
class WindowChange:
    """From ``since`` on, the in-app event postback window is ``days`` (None: lifetime)."""

    since: datetime
    days: int | None

    @property
    def label(self) -> str:
        when = "always" if self.since == BEGINNING else f"since {self.since:%Y-%m-%d %H:%M}"
        return f"{'lifetime' if self.days is None else f'{self.days} days'} ({when})"


@dataclass
class PartnerConfig:
    """The in-app event postback settings of one partner (see the module docs for the TOML)."""

    name: str = ""
    template: str | None = None
    style: str = "auto"
    window: int | None = 180
    """Days after the install during which event postbacks are sent; None = lifetime.
    The default of new setups is 180 days (older ones: lifetime)."""
    window_history: tuple[WindowChange, ...] = ()
    events: str | tuple[str, ...] = "all"
    media_sources: str = "this_partner_only"
    sharing: str = "none"
    mapping: dict[str, str] = field(default_factory=dict)
    conditions: dict[str, tuple[Condition, ...]] = field(default_factory=dict)
    publisher_id: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    source: str = "<config>"

    def window_changes(self) -> list[WindowChange]:
        """The window over time: the history, or the current window since always."""
        if self.window_history:
            return sorted(self.window_history, key=lambda w: w.since)
        return [WindowChange(BEGINNING, self.window)]

    def selected_events(self) -> set[str] | None:
        """The advertiser event names sent to the partner; None when all events are sent."""
        if self.events == "all":
            return None
        return set(self.events) | set(self.mapping)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "template": self.template,
            "style": self.style,
            "window": "lifetime" if self.window is None else self.window,
            "window_history": [
                {"since": w.since.isoformat(), "window": w.days or "lifetime"}
                for w in self.window_history
            ],
            "events": self.events if self.events == "all" else list(self.events),
            "media_sources": self.media_sources,
            "sharing": self.sharing,
            "mapping": dict(self.mapping),
            "conditions": {
                e: [{"property": c.property, "value": c.value} for c in cs]
                for e, cs in self.conditions.items()
            },
            "publisher_id": self.publisher_id,
            "parameters": dict(self.parameters),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<config>") -> PartnerConfig:
        """Validate ``data`` (as read from TOML); errors name ``source``, the key and a fix."""
        v = _Validator(source)
        unknown = [k for k in data if k not in _KEYS]
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(_KEYS), n=1)
            v.fail(
                unknown[0],
                "is not a setting",
                hint=f"did you mean {close[0]}?" if close else f"settings: {', '.join(_KEYS)}",
            )
        cfg = cls(source=source)
        cfg.name = v.text(data, "name", "")
        cfg.template = v.text(data, "template", None)
        cfg.style = v.choice(data, "style", STYLES, "auto")
        if "publisher_id" in data:
            pid = data["publisher_id"]
            if not isinstance(pid, str | int) or isinstance(pid, bool):
                v.fail("publisher_id", "must be text or a number", pid)
            cfg.publisher_id = str(pid)
        history = tuple(v.history(data.get("window_history", [])))
        cfg.window_history = history
        if "window" in data:
            cfg.window = v.window("window", data["window"])
            if history and history[-1].days != cfg.window:
                v.fail(
                    "window",
                    f"is {data['window']!r} but the last window_history entry says "
                    f"{history[-1].days or 'lifetime'!r}",
                    hint="the last window_history entry is the current window: make them agree "
                    "or drop `window`.",
                )
        elif history:
            cfg.window = history[-1].days
        cfg.events = v.events(data.get("events", "all"))
        cfg.media_sources = v.choice(data, "media_sources", MEDIA_SOURCES, "this_partner_only")
        cfg.sharing = v.choice(data, "sharing", SHARING_LEVELS, "none")
        cfg.mapping = v.table(data, "mapping")
        cfg.parameters = v.table(data, "parameters", keys=PARAMETER_ROLES)
        cfg.conditions = v.conditions(data.get("conditions", {}))
        return cfg


def load_partner_config(path: str | Path) -> PartnerConfig:
    """Read and validate a partner configuration TOML file.

    Raises ``ConfigError`` naming the file, the key and a hint.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such partner configuration file.",
            hint="give the path of a TOML file (see postback_kit.audit.config for the keys).",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML.", found=str(exc), hint="fix the syntax at that line."
        ) from None
    return PartnerConfig.from_dict(data, source=str(path))


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(
        self, key: str, problem: str, found: Any = None, *, hint: str | None = None
    ) -> NoReturn:
        raise ConfigError(
            f"{self.source}: {key} {problem}.",
            found=None if found is None else repr(found),
            hint=hint or f"{key}: {_KEYS.get(key.split('.')[0].split('[')[0], '')}",
        )

    def text(self, data: Mapping[str, Any], key: str, default: Any) -> Any:
        if key not in data:
            return default
        if not isinstance(data[key], str):
            self.fail(key, "must be text", data[key])
        return data[key]

    def choice(
        self, data: Mapping[str, Any], key: str, allowed: Iterable[str], default: str
    ) -> str:
        value = data.get(key, default)
        allowed = tuple(allowed)
        if value not in allowed:
            close = difflib.get_close_matches(str(value), allowed, n=1)
            self.fail(
                key,
                f"must be one of {', '.join(allowed)}",
                value,
                hint=f"did you mean {close[0]!r}?" if close else None,
            )
        return str(value)

    def window(self, key: str, value: Any) -> int | None:
        if value == "lifetime":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(key, "must be a number of days (0 or more) or 'lifetime'", value)
        return int(value)

    def since(self, key: str, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                self.fail(
                    key, "is not a date", value, hint="write 2024-01-15 or 2024-01-15T10:00:00Z"
                )
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        self.fail(key, "is not a date", value, hint="write 2024-01-15 or 2024-01-15T10:00:00Z")

    def history(self, items: Any) -> list[WindowChange]:
        if not isinstance(items, list):
            self.fail("window_history", "must be a list of [[window_history]] tables", items)
        out: list[WindowChange] = []
        for i, item in enumerate(items):
            key = f"window_history[{i}]"
            if not isinstance(item, dict) or set(item) != {"since", "window"}:
                self.fail(key, "needs exactly `since` and `window`", item)
            out.append(
                WindowChange(
                    self.since(f"{key}.since", item["since"]),
                    self.window(f"{key}.window", item["window"]),
                )
            )
        for a, b in pairwise(out):
            if b.since <= a.since:
                self.fail("window_history", "must be in order of `since`", b.since.isoformat())
        return out

    def events(self, value: Any) -> str | tuple[str, ...]:
        if value == "all":
            return "all"
        if not isinstance(value, list) or not all(isinstance(e, str) and e for e in value):
            self.fail("events", "must be 'all' or a list of event names", value)
        return tuple(value)

    def table(
        self, data: Mapping[str, Any], key: str, *, keys: Iterable[str] | None = None
    ) -> dict[str, str]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, "must be a table", value)
        allowed = tuple(keys) if keys is not None else None
        for k, v in value.items():
            if allowed is not None and k not in allowed:
                self.fail(f"{key}.{k}", f"is not one of {', '.join(allowed)}", k)
            if not isinstance(v, str) or not v:
                self.fail(f"{key}.{k}", "must be non-empty text", v)
        return dict(value)

    def conditions(self, value: Any) -> dict[str, tuple[Condition, ...]]:
        if not isinstance(value, dict):
            self.fail("conditions", "must be a table of [[conditions.EVENT]] lists", value)
        out: dict[str, tuple[Condition, ...]] = {}
        for event, items in value.items():
            key = f"conditions.{event}"
            if not isinstance(items, list):
                self.fail(key, "must be a list of {property, value} tables", items)
            if len(items) > MAX_CONDITIONS:
                self.fail(
                    key,
                    f"has {len(items)} conditions; at most {MAX_CONDITIONS} are allowed per event",
                    hint="keep the five that matter: one match is enough to send (OR).",
                )
            conds = []
            for i, item in enumerate(items):
                if not isinstance(item, dict) or set(item) != {"property", "value"}:
                    self.fail(f"{key}[{i}]", "needs exactly `property` and `value`", item)
                prop, val = item["property"], item["value"]
                if not isinstance(prop, str) or not prop:
                    self.fail(f"{key}[{i}].property", "must be non-empty text", prop)
                if isinstance(val, list | dict):
                    self.fail(
                        f"{key}[{i}].value",
                        "must be a single value (conditions are `equal` only; arrays and "
                        "objects are not supported)",
                        val,
                    )
                text = ("true" if val else "false") if isinstance(val, bool) else str(val)
                conds.append(Condition(prop, text))
            out[event] = tuple(conds)
        return out
