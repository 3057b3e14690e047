"""Macro catalogues (data files) and finding macros in a template, in every syntax seen in use.

A catalogue is a TOML file under ``postback_kit/data/``: ``macros_appmetrica.toml`` and
``macros_appsflyer.toml`` ship with the package, and users add their own file in the same
format (``load_catalogue("appmetrica", extra="my_macros.toml")``). Each macro says which export
field holds its value (for rendering), its role (click ID, revenue, ...), and when it can have
a value: on which postback types and platforms.

Syntaxes (``SYNTAXES``): ``{name}`` (AppMetrica, Adjust), ``(name)`` (AppsFlyer), ``${name}``,
``{{name}}``, ``#name#``, and the URL-encoded ``%7Bname%7D`` / ``%28name%29``. A platform
substitutes only its own syntax; anything else reaches the partner as literal text.

>>> cat = load_catalogue("appmetrica")
>>> cat.get("google_aid").column, cat.closest("county_code")
('google_aid', 'country_code')
>>> [(m.name, m.syntax) for m in find_macros("a={click_id}&b=(idfa)")]
[('click_id', 'curly'), ('idfa', 'paren')]
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError

__all__ = [
    "KINDS",
    "PLATFORMS",
    "ROLES",
    "SYNTAXES",
    "Macro",
    "MacroCatalogue",
    "MacroUse",
    "detect_platform",
    "find_macros",
    "load_catalogue",
]

Platform = Literal["appmetrica", "appsflyer"]
PostbackKind = Literal["click", "install", "event", "reengagement", "rejected"]

KINDS: tuple[str, ...] = ("click", "install", "event", "reengagement", "rejected")
"""Postback types a macro can be available on."""
PLATFORMS: tuple[str, ...] = ("ios", "android", "windows")
ROLES: tuple[str, ...] = (
    "click_id",
    "transaction_id",
    "event_name",
    "partner_event",
    "revenue",
    "currency",
    "event_value",
    "device_id",
)
FORMATS = ("unix", "rfc3339", "datetime")

_NAME = r"[A-Za-z_][\w.\-]*"
_PNAME = r"[A-Za-z_][\w\-]*"
# (syntax, regex); scanned in this order, a later match never overlaps an earlier one
SYNTAXES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("double_curly", re.compile(r"\{\{\s*(" + _NAME + r")\s*\}\}")),
    ("dollar", re.compile(r"\$\{(" + _NAME + r")\}")),
    ("encoded", re.compile(r"%7[Bb](" + _NAME + r")%7[Dd]|%28(" + _PNAME + r")%29")),
    ("curly", re.compile(r"\{(" + _NAME + r")\}")),
    ("paren", re.compile(r"\((" + _PNAME + r")\)")),
    ("hash", re.compile(r"#(" + _PNAME + r")#")),
)
_WRITE = {
    "curly": "{{{}}}",
    "paren": "({})",
    "dollar": "${{{}}}",
    "double_curly": "{{{{{}}}}}",
    "hash": "#{}#",
}
_ENTRY_KEYS = {
    "description",
    "column",
    "format",
    "role",
    "postbacks",
    "platforms",
    "documented",
    "use_instead",
    "aliases",
    "source",
    "send_all",
}
_CATALOGUE_KEYS = {"platform", "syntax", "click_id_pattern"}


@dataclass(frozen=True)
class Macro:
    """One macro of a catalogue."""

    name: str
    description: str = ""
    column: str | None = None
    """Export field holding the same value (used to render a template from an export)."""
    format: str | None = None
    role: str | None = None
    postbacks: tuple[str, ...] = KINDS
    """Postback types on which the macro can have a value."""
    platforms: tuple[str, ...] = PLATFORMS
    documented: bool = True
    use_instead: str | None = None
    aliases: tuple[str, ...] = ()
    source: str | None = None
    send_all: bool | None = None


@dataclass(frozen=True)
class MacroUse:
    """A macro written in a template: its name, syntax and ``[start, end)`` character span."""

    name: str
    syntax: str
    start: int
    end: int


@dataclass
class MacroCatalogue:
    """The macros of one platform: lookup by name or alias, closest name, native syntax."""

    platform: str
    syntax: str
    macros: dict[str, Macro]
    click_id_pattern: re.Pattern[str]
    files: tuple[str, ...] = ()
    _index: dict[str, Macro] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {}
        for macro in self.macros.values():
            for alias in macro.aliases:
                self._index[alias] = macro
        self._index.update(self.macros)

    def get(self, name: str) -> Macro | None:
        """The macro called ``name`` (or with that alias), None if unknown."""
        return self._index.get(name)

    def names(self) -> list[str]:
        """Every name and alias, sorted."""
        return sorted(self._index)

    def closest(self, name: str) -> str | None:
        """The known name a typo most likely meant (difflib), or None."""
        lower = {n.lower(): n for n in self._index}
        if name.lower() in lower:
            return lower[name.lower()]
        found = difflib.get_close_matches(name, list(self._index), n=1, cutoff=0.75)
        return found[0] if found else None

    def write(self, name: str) -> str:
        """``name`` in this platform's syntax: ``{name}`` or ``(name)``."""
        return _WRITE[self.syntax].format(name)

    def with_role(self, *roles: str) -> list[Macro]:
        return [m for m in self.macros.values() if m.role in roles]

    def by_column(self, column: str) -> Macro | None:
        """A documented macro holding the export field ``column``, if any."""
        found = [m for m in self.macros.values() if m.column == column]
        found.sort(key=lambda m: not m.documented)
        return found[0] if found else None


# --------------------------------------------------------------------------- loading


def _data_file(name: str) -> Path:
    return Path(str(resources.files("postback_kit") / "data" / name))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such macro file.", hint="give the path of a TOML macro catalogue."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML.", found=str(exc), hint="fix the syntax at that line."
        ) from None


def _strings(path: Path, key: str, value: Any, allowed: Sequence[str] | None) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ConfigError(
            f"{path}: {key} must be a list of strings.", found=repr(value), hint='e.g. ["ios"]'
        )
    bad = [v for v in items if allowed is not None and v not in allowed]
    if bad:
        raise ConfigError(
            f"{path}: {key} has unknown value(s) {', '.join(map(repr, bad))}.",
            hint=f"use one of {', '.join(allowed or ())}.",
        )
    return tuple(items)


def _macro(path: Path, name: str, entry: Any) -> Macro:
    where = f"macros.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: [{where}] must be a table.", found=repr(entry))
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        key = sorted(unknown)[0]
        close = difflib.get_close_matches(key, sorted(_ENTRY_KEYS), n=1)
        raise ConfigError(
            f"{path}: unknown key {where}.{key}.",
            hint=f"did you mean {close[0]}?"
            if close
            else f"keys: {', '.join(sorted(_ENTRY_KEYS))}",
        )
    kw: dict[str, Any] = {"name": name}
    for key in ("description", "column", "use_instead", "source"):
        if key in entry:
            if not isinstance(entry[key], str):
                raise ConfigError(
                    f"{path}: {where}.{key} must be a string.", found=repr(entry[key])
                )
            kw[key] = entry[key]
    for key in ("documented", "send_all"):
        if key in entry:
            if not isinstance(entry[key], bool):
                raise ConfigError(f"{path}: {where}.{key} must be true or false.")
            kw[key] = entry[key]
    if "format" in entry:
        kw["format"] = _strings(path, f"{where}.format", entry["format"], FORMATS)[0]
    if "role" in entry:
        kw["role"] = _strings(path, f"{where}.role", entry["role"], ROLES)[0]
    if "postbacks" in entry:
        kw["postbacks"] = _strings(path, f"{where}.postbacks", entry["postbacks"], KINDS)
    if "platforms" in entry:
        kw["platforms"] = _strings(path, f"{where}.platforms", entry["platforms"], PLATFORMS)
    if "aliases" in entry:
        kw["aliases"] = _strings(path, f"{where}.aliases", entry["aliases"], None)
    return Macro(**kw)


def _parse(path: Path) -> tuple[dict[str, Any], dict[str, Macro]]:
    data = _read_toml(path)
    unknown = set(data) - {"catalogue", "macros"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown table [{sorted(unknown)[0]}].",
            hint="a macro file has a [catalogue] table and [macros.NAME] tables.",
        )
    head = data.get("catalogue", {})
    bad = set(head) - _CATALOGUE_KEYS
    if bad:
        raise ConfigError(
            f"{path}: unknown key catalogue.{sorted(bad)[0]}.",
            hint=f"keys: {', '.join(sorted(_CATALOGUE_KEYS))}",
        )
    if "syntax" in head and head["syntax"] not in _WRITE:
        raise ConfigError(
            f"{path}: catalogue.syntax {head['syntax']!r} is not a known syntax.",
            hint=f"use one of {', '.join(_WRITE)}.",
        )
    macros = {name: _macro(path, name, entry) for name, entry in data.get("macros", {}).items()}
    return head, macros


@cache
def _builtin(platform: str) -> MacroCatalogue:
    path = _data_file(f"macros_{platform}.toml")
    head, macros = _parse(path)
    return MacroCatalogue(
        platform=head.get("platform", platform),
        syntax=head.get("syntax", "curly"),
        macros=macros,
        click_id_pattern=re.compile(head["click_id_pattern"]),
        files=(str(path),),
    )


def load_catalogue(
    platform: str = "appmetrica",
    *,
    extra: str | Path | Iterable[str | Path] | None = None,
) -> MacroCatalogue:
    """The built-in catalogue of ``platform`` extended by the TOML file(s) ``extra``.

    An entry of an extra file replaces the built-in entry of the same name.
    """
    if platform not in ("appmetrica", "appsflyer"):
        raise ConfigError(
            f"unknown macro platform {platform!r}.", hint="use 'appmetrica' or 'appsflyer'."
        )
    base = _builtin(platform)
    if extra is None:
        return base
    paths = [extra] if isinstance(extra, str | Path) else list(extra)
    macros = dict(base.macros)
    pattern = base.click_id_pattern
    files = list(base.files)
    for p in paths:
        head, more = _parse(Path(p))
        macros.update(more)
        if "click_id_pattern" in head:
            pattern = re.compile(head["click_id_pattern"])
        files.append(str(p))
    return MacroCatalogue(base.platform, base.syntax, macros, pattern, tuple(files))


# --------------------------------------------------------------------------- finding macros


def find_macros(text: str) -> list[MacroUse]:
    """Every macro-looking token of ``text``, in every syntax, in order of position."""
    taken: list[tuple[int, int]] = []
    uses: list[MacroUse] = []
    for syntax, pattern in SYNTAXES:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            name = next(g for g in m.groups() if g is not None)
            taken.append((m.start(), m.end()))
            uses.append(MacroUse(name, syntax, m.start(), m.end()))
    uses.sort(key=lambda u: u.start)
    return uses


def detect_platform(text: str, uses: list[MacroUse] | None = None) -> Platform:
    """``appsflyer`` when the template's macros are mostly ``(name)``, else ``appmetrica``.

    Native uses of known names count double; ties go to AppMetrica.
    """
    uses = find_macros(text) if uses is None else uses
    score = {"appmetrica": 0.0, "appsflyer": 0.0}
    for platform in score:
        cat = _builtin(platform)
        for u in uses:
            if u.syntax == cat.syntax:
                score[platform] += 2.0 if cat.get(u.name) else 1.0
            elif cat.get(u.name):
                score[platform] += 0.5
    # a (word) that is no AppsFlyer macro is more likely prose than a macro
    if not any(u.syntax == "paren" and _builtin("appsflyer").get(u.name) for u in uses):
        score["appsflyer"] = min(score["appsflyer"], score["appmetrica"])
    return "appsflyer" if score["appsflyer"] > score["appmetrica"] else "appmetrica"
