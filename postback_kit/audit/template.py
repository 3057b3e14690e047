"""Lint a postback template (a URL, a query string or a JSON body) before anything is sent.

>>> [f.code for f in lint_template("https://pb.example.com/c?click_id={click_id}&cc={county_code}")]
['PK101']

Every finding has a stable code, a severity, a ``[start, end)`` span of character offsets into
the template as given (leading spaces and line breaks included), a message and a suggestion.
``error``: the postback will not say what it should; ``warning``: likely wrong or fragile;
``info``: worth knowing.

====== ======================= ========= ==========================================================
code   rule                    severity  meaning
====== ======================= ========= ==========================================================
PK101  unknown-macro           error,    a macro the catalogue does not know: an error when it is
                               warning   close to a known name (``county_code`` → ``country_code``)
PK102  undocumented-macro      info      a name partners use, with a documented equivalent
PK103  macro-without-value     warning   the macro cannot have a value on this postback type
                                         (install macro in a click postback) or platform
PK104  foreign-macro-syntax    error     ``${x}``, ``{{x}}``, ``#x#``, ``(x)`` on AppMetrica,
                                         ``{x}`` on AppsFlyer: not substituted, sent as text
PK105  encoded-macro           error     ``%7Bx%7D``: the platform does not see the macro
PK106  malformed-macro         error     ``{click_id`` without its closing brace, or the reverse
PK201  no-click-id             warning   no click or transaction ID parameter
PK202  duplicate-parameter     warning   the same parameter name twice
PK203  empty-parameter-name    error,    ``=value`` without a name (error); ``&&`` (info)
                               info
PK204  unencoded-character     error,    a raw space (error), an invisible character (error), or
                               warning   ``" < > \\ ^ ` | { }`` (warning) in the URL
PK205  raw-hash                error,    ``#`` starts the fragment: nothing after it is sent
                               warning
PK206  raw-ampersand           warning   a parameter without ``=``: a raw ``&`` inside a value?
PK207  unencoded-nested-url    error,    a URL as a value, not encoded (error when it has its
                               warning   own ``?``: its parameters become the postback's)
PK208  unencoded-json          warning   a JSON value, not encoded
PK209  plain-http              warning   ``http://``: sent unencrypted
PK210  line-break              error     a line break inside the URL
PK211  missing-question-mark   error     parameters in the path: no ``?`` before them
PK212  second-question-mark    warning   a second ``?`` inside a value
PK213  surrounding-whitespace  info      spaces or line breaks around the template
PK301  html-entity-eaten       error     ``¤cy=``, ``¶m1=``: an HTML copy-paste turned ``&curren``,
                                         ``&para`` … into a character (list in
                                         ``data/html_entities.toml``)
====== ======================= ========= ==========================================================
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from .macros import (
    KINDS,
    PLATFORMS,
    MacroCatalogue,
    MacroUse,
    PostbackKind,
    _builtin,
    _data_file,
    detect_platform,
    find_macros,
    load_catalogue,
)

__all__ = [
    "RULES",
    "STYLES",
    "Finding",
    "Parameter",
    "TemplateParts",
    "lint_template",
    "parse_template",
    "resolve_catalogue",
]

Severity = Literal["error", "warning", "info"]
Style = Literal["auto", "appmetrica", "appsflyer"]
STYLES: tuple[str, ...] = ("auto", "appmetrica", "appsflyer")

RULES: dict[str, str] = {
    "PK101": "unknown-macro",
    "PK102": "undocumented-macro",
    "PK103": "macro-without-value",
    "PK104": "foreign-macro-syntax",
    "PK105": "encoded-macro",
    "PK106": "malformed-macro",
    "PK201": "no-click-id",
    "PK202": "duplicate-parameter",
    "PK203": "empty-parameter-name",
    "PK204": "unencoded-character",
    "PK205": "raw-hash",
    "PK206": "raw-ampersand",
    "PK207": "unencoded-nested-url",
    "PK208": "unencoded-json",
    "PK209": "plain-http",
    "PK210": "line-break",
    "PK211": "missing-question-mark",
    "PK212": "second-question-mark",
    "PK213": "surrounding-whitespace",
    "PK301": "html-entity-eaten",
}
"""Finding code → rule name. Codes are stable: new rules get new codes."""

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_UNSAFE = {'"', "<", ">", "\\", "^", "`", "|", "{", "}"}
_INVISIBLE = re.compile("[\u00a0\u00ad\u200b\u200c\u200d\u2028\u2029\u2060\ufeff]")
_JSON_START = re.compile(r'^\s*(\{\s*"|\[)|":')
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_PLATFORM_PARAMS = {"os", "os_name", "platform", "device_os", "os_type"}
_PLATFORM_VALUES = {"ios": "ios", "iphone": "ios", "ipad": "ios", "android": "android"}
_NAMES = {"appmetrica": "AppMetrica", "appsflyer": "AppsFlyer"}
_KIND_WORDS = {"reengagement": "re-engagement", "rejected": "rejected event"}


def _display(platform: str) -> str:
    return _NAMES.get(platform, platform)


@dataclass(frozen=True)
class Finding:
    """One problem of a template, located by character offsets ``[start, end)``."""

    code: str
    severity: Severity
    start: int
    end: int
    message: str
    suggestion: str = ""

    @property
    def rule(self) -> str:
        """The rule name of the code (``PK101`` → ``unknown-macro``)."""
        return RULES[self.code]

    def to_dict(self) -> dict[str, Any]:
        """Exactly ``{code, severity, start, end, message, suggestion}``."""
        return {
            "code": self.code,
            "severity": self.severity,
            "start": self.start,
            "end": self.end,
            "message": self.message,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class Parameter:
    """One ``name=value`` of the query (or one key of a JSON body), with its spans."""

    name: str
    value: str
    start: int
    end: int
    name_end: int
    has_eq: bool

    @property
    def value_start(self) -> int:
        return self.name_end + 1 if self.has_eq else self.end


@dataclass
class TemplateParts:
    """A template taken apart: kind, scheme, query span, parameters and macros."""

    text: str
    kind: Literal["url", "query", "json", "text"]
    masked: str
    """``text`` with every macro replaced by ``x``: structure characters inside macros vanish."""
    core: tuple[int, int]
    """The template without surrounding whitespace."""
    uses: list[MacroUse]
    scheme: str | None = None
    query: tuple[int, int] | None = None
    parameters: list[Parameter] = field(default_factory=list)
    misplaced_query: int | None = None
    """Offset of the first ``&``/``=`` of a query that has no ``?`` (PK211)."""


def parse_template(text: str, uses: list[MacroUse] | None = None) -> TemplateParts:
    """Split ``text`` into its parts; never raises."""
    uses = find_macros(text) if uses is None else uses
    chars = list(text)
    for u in uses:
        chars[u.start : u.end] = "x" * (u.end - u.start)
    masked = "".join(chars)
    stripped = text.strip()
    a = len(text) - len(text.lstrip()) if stripped else 0
    b = a + len(stripped)
    core = masked[a:b]
    parts = TemplateParts(text, "text", masked, (a, b), uses)
    scheme = _SCHEME.match(core)
    if core[:1] in ("{", "["):
        parts.kind = "json"
        for m in re.finditer(r'"((?:[^"\\]|\\.)*)"\s*:', core):
            s, e = a + m.start(1), a + m.end(1)
            parts.parameters.append(Parameter(text[s:e], "", s, e, e, False))
        return parts
    if scheme or "?" in core:
        parts.kind = "url"
        parts.scheme = scheme.group(0)[:-3] if scheme else None
        q = core.find("?")
        if q >= 0:
            parts.query = (a + q + 1, b)
        elif scheme:
            rest = core[scheme.end() :]
            hit = re.search(r"[&=]", rest)
            if hit:
                at = a + scheme.end() + hit.start()
                parts.misplaced_query = at
                start = at + 1 if masked[at] == "&" else masked.rfind("/", a, at) + 1
                parts.query = (max(start, a + scheme.end()), b)
    elif "=" in core:
        parts.kind = "query"
        parts.query = (a + 1 if core.startswith("?") else a, b)
    if parts.query:
        qs, qe = parts.query
        s = qs
        for piece in masked[qs:qe].split("&"):
            e = s + len(piece)
            eq = masked.find("=", s, e)
            if eq >= 0:
                parts.parameters.append(Parameter(text[s:eq], text[eq + 1 : e], s, e, eq, True))
            else:
                parts.parameters.append(Parameter(text[s:e], "", s, e, e, False))
            s = e + 1
    return parts


def resolve_catalogue(
    template: str,
    style: str = "auto",
    macros: MacroCatalogue | None = None,
    extra_macros: str | Path | Iterable[str | Path] | None = None,
) -> tuple[MacroCatalogue, list[MacroUse]]:
    """The catalogue ``style`` names (detected when ``auto``) and the template's macros."""
    if style not in STYLES:
        raise ConfigError(
            f"unknown template style {style!r}.", hint=f"use one of {', '.join(STYLES)}."
        )
    uses = find_macros(template)
    if macros is not None:
        return macros, uses
    platform = detect_platform(template, uses) if style == "auto" else style
    return load_catalogue(platform, extra=extra_macros), uses


@cache
def _entities() -> dict[str, str]:
    with open(_data_file("html_entities.toml"), "rb") as fh:
        table = tomllib.load(fh)["entities"]
    out: dict[str, str] = {}
    for name, char in table.items():
        out.setdefault(char, name)
    return out


def lint_template(
    template: str,
    *,
    style: str = "auto",
    postback: PostbackKind | None = None,
    platform: str | None = None,
    macros: MacroCatalogue | None = None,
    extra_macros: str | Path | Iterable[str | Path] | None = None,
) -> list[Finding]:
    """Check a postback template; the findings are sorted by position.

    ``style``: ``auto`` (detected from the macro syntax), ``appmetrica`` (``{name}``) or
    ``appsflyer`` (``(name)``). ``postback``: the postback type the template is for (``click``,
    ``install``, ``event``, ``reengagement``, ``rejected``), to flag macros that cannot have a
    value on it. ``platform``: ``ios``/``android``/``windows`` when the template serves one
    platform (also read from a literal ``os=android`` parameter). ``macros`` replaces the
    catalogue; ``extra_macros`` adds TOML files to it.

    >>> lint_template("http://pb.example.com/?click_id={click_id}")[0].code
    'PK209'
    """
    if postback is not None and postback not in KINDS:
        raise ConfigError(
            f"unknown postback type {postback!r}.", hint=f"use one of {', '.join(KINDS)}."
        )
    if platform is not None and platform not in PLATFORMS:
        raise ConfigError(
            f"unknown platform {platform!r}.", hint=f"use one of {', '.join(PLATFORMS)}."
        )
    catalogue, uses = resolve_catalogue(template, style, macros, extra_macros)
    return _Linter(template, catalogue, uses, postback, platform).run()


# --------------------------------------------------------------------------- the checks


class _Linter:
    def __init__(
        self,
        text: str,
        catalogue: MacroCatalogue,
        uses: list[MacroUse],
        postback: str | None,
        platform: str | None,
    ) -> None:
        self.text = text
        self.cat = catalogue
        self.other = _builtin("appsflyer" if catalogue.platform == "appmetrica" else "appmetrica")
        # (word) that no catalogue knows is prose, not a macro
        self.uses = [
            u
            for u in uses
            if not (
                u.syntax in ("paren", "encoded")
                and catalogue.syntax != "paren"
                and not (self.other.get(u.name) or catalogue.get(u.name))
            )
        ]
        self.parts = parse_template(text, uses)
        self.postback = postback
        self.platform = platform or self._stated_platform()
        self.findings: list[Finding] = []
        self.malformed: set[int] = set()
        """Offsets of the braces of malformed macros (reported once, by PK106)."""

    def add(
        self, code: str, severity: Severity, start: int, end: int, msg: str, fix: str = ""
    ) -> None:
        self.findings.append(Finding(code, severity, start, end, msg, fix))

    def run(self) -> list[Finding]:
        self.check_macros()
        self.check_malformed_macros()
        if self.parts.kind in ("url", "query"):
            self.check_layout()
            self.check_parameters()
        elif self.parts.kind == "json":
            self.check_duplicates()
        if self.parts.kind != "text" or self.uses:
            self.check_click_id()
        self.check_entities()
        self.findings.sort(key=lambda f: (f.start, f.end, f.code))
        return self.findings

    # ---------------------------------------------------------------- macros

    def _stated_platform(self) -> str | None:
        for p in parse_template(self.text).parameters:
            value = p.value.strip().lower()
            if p.name.strip().lower() in _PLATFORM_PARAMS and value in _PLATFORM_VALUES:
                return _PLATFORM_VALUES[value]
        return None

    def _native_for(self, name: str) -> str | None:
        """The catalogue's own name for a macro written with another platform's name."""
        if self.cat.get(name):
            return name
        theirs = self.other.get(name)
        if theirs and theirs.column:
            mine = self.cat.by_column(theirs.column)
            if mine:
                return mine.name
        return None

    def check_macros(self) -> None:
        native = self.cat.syntax
        for u in self.uses:
            written = self.text[u.start : u.end]
            if u.syntax == native:
                self.check_native(u, written)
                continue
            target = self._native_for(u.name)
            fix = f"write {self.cat.write(target or u.name)}"
            who = _display(self.cat.platform)
            if u.syntax == "encoded":
                self.add(
                    "PK105",
                    "error",
                    u.start,
                    u.end,
                    f"{written} is an URL-encoded macro: {who} looks for "
                    f"{self.cat.write(u.name)} and sends {written} to the partner as it is.",
                    fix,
                )
                continue
            effect = {
                "dollar": f"{who} substitutes the {{{u.name}}} inside it and leaves the $",
                "double_curly": f"{who} substitutes the inner braces and leaves the outer ones",
                "hash": f"{who} sends it as it is, and # starts the URL fragment",
            }.get(u.syntax, f"{who} sends it as it is")
            if u.syntax in ("dollar", "double_curly") and native != "curly":
                effect = f"{who} sends it as it is"
            self.add(
                "PK104",
                "error",
                u.start,
                u.end,
                f"{written} is not {who}'s macro syntax ({self.cat.write('name')}): {effect}.",
                fix,
            )

    def check_native(self, u: MacroUse, written: str) -> None:
        macro = self.cat.get(u.name)
        if macro is None:
            close = self.cat.closest(u.name)
            translated = self._native_for(u.name)
            if close:
                self.add(
                    "PK101",
                    "error",
                    u.start,
                    u.end,
                    f"unknown macro {written}: did you mean {self.cat.write(close)}?",
                    f"write {self.cat.write(close)}",
                )
            elif translated:
                self.add(
                    "PK101",
                    "error",
                    u.start,
                    u.end,
                    f"unknown macro {written}: {u.name} is {_display(self.other.platform)}'s name; "
                    f"{_display(self.cat.platform)} calls it {self.cat.write(translated)}.",
                    f"write {self.cat.write(translated)}",
                )
            else:
                where = (
                    f"it has a value only if the tracking URL carries a parameter called {u.name}"
                    if self.cat.platform == "appmetrica"
                    else "check the name with the partner's integration"
                )
                self.add(
                    "PK101",
                    "warning",
                    u.start,
                    u.end,
                    f"{written} is not in the {_display(self.cat.platform)} macro catalogue: "
                    f"{where}.",
                    "add it to your own macro file (extra_macros=) if it is right",
                )
            return
        if macro.use_instead:
            self.add(
                "PK102",
                "info",
                u.start,
                u.end,
                f"{written} is not in {_display(self.cat.platform)}'s documented macros; the "
                f"documented one with this value is {self.cat.write(macro.use_instead)}.",
                f"write {self.cat.write(macro.use_instead)}",
            )
        reasons, fixes = [], []
        if self.postback and self.postback not in macro.postbacks:
            kinds = ", ".join(_KIND_WORDS.get(k, k) for k in macro.postbacks)
            reasons.append(
                f"it has no value on {_KIND_WORDS.get(self.postback, self.postback)} postbacks "
                f"(only on {kinds} postbacks)"
            )
            fixes.append("move it to a postback of a type that has this value")
        if self.platform and self.platform not in macro.platforms:
            reasons.append(
                f"it is {'/'.join(macro.platforms)}-only and this template is for {self.platform}"
            )
            fixes.append(f"use the {self.platform} equivalent, or a template per platform")
        if reasons:
            self.add(
                "PK103",
                "warning",
                u.start,
                u.end,
                f"{written} will be empty: {'; '.join(reasons)}.",
                "remove it, or " + " / ".join(fixes),
            )

    def check_malformed_macros(self) -> None:
        if self.parts.kind not in ("url", "query"):
            return
        a, b = self.parts.core
        m = self.parts.masked
        if self.cat.syntax == "curly":
            opened = r"\{([A-Za-z_][\w.\-]*)(?![\w.\-}])"
            closed = r"(?<![\w.\-{$])([A-Za-z_][\w.\-]*)\}"
        else:
            opened = r"\(([A-Za-z_][\w\-]*)(?![\w\-)])"
            closed = r"(?<![\w\-(])([A-Za-z_][\w\-]*)\)"
        for pattern, what in ((opened, "is not closed"), (closed, "is not opened")):
            for hit in re.finditer(pattern, m[a:b]):
                s, e = a + hit.start(), a + hit.end()
                name = hit.group(1)
                self.malformed.update((s, e - 1))
                self.add(
                    "PK106",
                    "error",
                    s,
                    e,
                    f"the macro {self.text[s:e]} {what}: it is sent as text.",
                    f"write {self.cat.write(name)}",
                )

    # ---------------------------------------------------------------- layout

    def check_layout(self) -> None:
        p, text = self.parts, self.text
        a, b = p.core
        if a > 0:
            self.add("PK213", "info", 0, a, "whitespace before the template.", "remove it")
        if b < len(text) and text[b:].strip() == "":
            self.add("PK213", "info", b, len(text), "whitespace after the template.", "remove it")
        for m in re.finditer(r"\r\n|\r|\n", text[a:b]):
            self.add(
                "PK210",
                "error",
                a + m.start(),
                a + m.end(),
                "a line break inside the URL: the request is cut or rejected here.",
                "join the lines (a copy-paste from a document or an e-mail often wraps URLs)",
            )
        for m in _INVISIBLE.finditer(text, a, b):
            self.add(
                "PK204",
                "error",
                m.start(),
                m.end(),
                f"an invisible character (U+{ord(m.group()):04X}) inside the URL.",
                "delete it and retype the character around it",
            )
        if p.scheme and p.scheme.lower() == "http":
            self.add(
                "PK209",
                "warning",
                a,
                a + 4,
                "plain http: the postback, its IDs and revenue travel unencrypted.",
                "use https:// if the partner supports it",
            )
        if p.misplaced_query is not None:
            at = p.misplaced_query
            self.add(
                "PK211",
                "error",
                at,
                at + 1,
                f"{text[at]!r} before any '?': the parameters are part of the path and the "
                "partner's server does not read them as parameters.",
                "put '?' between the path and the first parameter",
            )
        hash_at = p.masked.find("#", a, b)
        if hash_at >= 0:
            lost = "=" in p.masked[hash_at:b]
            self.add(
                "PK205",
                "error" if lost else "warning",
                hash_at,
                hash_at + 1,
                "a raw '#' starts the URL fragment: everything after it is not sent to the "
                "partner" + (", parameters included." if lost else "."),
                "encode it as %23 if it is part of a value",
            )

    # ---------------------------------------------------------------- parameters

    def check_parameters(self) -> None:
        params = self.parts.parameters
        last = len(params) - 1
        for i, prm in enumerate(params):
            if prm.has_eq and prm.name.strip() == "":
                self.add(
                    "PK203",
                    "error",
                    prm.start,
                    prm.end,
                    f"a parameter without a name: {self.text[prm.start : prm.end]!r}.",
                    "give it the name the partner expects",
                )
            elif not prm.has_eq and prm.start == prm.end:
                if 0 < i < last:
                    self.add(
                        "PK203",
                        "info",
                        prm.start - 1,
                        prm.end + 1,
                        "an empty parameter ('&&').",
                        "remove one '&'",
                    )
            elif not prm.has_eq and i > 0 and params[i - 1].has_eq and not self._is_macro(prm):
                before = params[i - 1]
                self.add(
                    "PK206",
                    "warning",
                    prm.start - 1,
                    prm.end,
                    f"{prm.name!r} has no '=': if it is part of the value of "
                    f"{before.name!r}, that raw '&' splits the value.",
                    "encode '&' inside a value as %26",
                )
            self.check_value(prm)
        self.check_duplicates()

    def _is_macro(self, prm: Parameter) -> bool:
        return any(u.start == prm.start and u.end == prm.end for u in self.uses)

    def check_value(self, prm: Parameter) -> None:
        m = self.parts.masked
        vs, ve = prm.value_start, prm.end
        value = m[vs:ve]
        json_like = bool(_JSON_START.search(value))
        nested = value.find("://")
        if nested >= 0:
            own_query = "?" in value[nested:]
            self.add(
                "PK207",
                "error" if own_query else "warning",
                vs,
                ve,
                f"the value of {prm.name!r} is a URL that is not encoded"
                + (
                    ": its own '?'/'&' make its parameters look like the postback's and the "
                    "partner receives it cut."
                    if own_query
                    else "."
                ),
                "percent-encode the nested URL (: %3A, / %2F, ? %3F, & %26, = %3D)",
            )
        elif "?" in value:
            at = vs + value.index("?")
            self.add(
                "PK212",
                "warning",
                at,
                at + 1,
                f"a second '?' inside the value of {prm.name!r}.",
                "write '&' if a new parameter starts here, or encode it as %3F",
            )
        if json_like:
            self.add(
                "PK208",
                "warning",
                vs,
                ve,
                f"the value of {prm.name!r} is JSON that is not URL-encoded.",
                'percent-encode it ({ %7B, " %22, : %3A, } %7D), or use a macro that encodes',
            )
        for s, e, part in ((prm.start, prm.name_end, "name"), (vs, ve, "value")):
            span = m[s:e]
            if "\t" in span or " " in span:
                at = s + min(i for i in (span.find(" "), span.find("\t")) if i >= 0)
                self.add(
                    "PK204",
                    "error",
                    at,
                    at + 1,
                    f"a raw space inside the {part} of {prm.name.strip()!r}.",
                    "encode it as %20",
                )
            bad = [i for i, c in enumerate(span) if c in _UNSAFE and s + i not in self.malformed]
            if bad and not (part == "value" and json_like):
                c = span[bad[0]]
                self.add(
                    "PK204",
                    "warning",
                    s + bad[0],
                    s + bad[0] + 1,
                    f"a raw {c!r} inside the {part} of {prm.name.strip()!r}"
                    + (f" ({len(bad)} such characters)." if len(bad) > 1 else "."),
                    f"encode it as %{ord(c):02X}",
                )

    def check_duplicates(self) -> None:
        seen: dict[str, Parameter] = {}
        for prm in self.parts.parameters:
            if not prm.name.strip():
                continue
            first = seen.get(prm.name)
            if first is None:
                seen[prm.name] = prm
                continue
            self.add(
                "PK202",
                "warning",
                prm.start,
                prm.name_end,
                f"the parameter {prm.name!r} appears again (first at offset {first.start}): "
                "partners read the first, the last or both.",
                "keep one of them",
            )

    def check_click_id(self) -> None:
        pattern = self.cat.click_id_pattern
        if any(pattern.match(p.name.strip()) for p in self.parts.parameters):
            return
        for u in self.uses:
            if u.syntax != self.cat.syntax:
                continue
            macro = self.cat.get(u.name)
            if (macro and macro.role in ("click_id", "transaction_id")) or pattern.match(u.name):
                return
        end = self.parts.core[1]
        ids = ", ".join(self.cat.write(m.name) for m in self.cat.with_role("click_id"))
        ids += "".join(f", {self.cat.write(m.name)}" for m in self.cat.with_role("transaction_id"))
        self.add(
            "PK201",
            "warning",
            end,
            end,
            "no click or transaction ID parameter: the partner cannot match the postback to "
            "its click, and deduplication is impossible.",
            f"add e.g. click_id={self.cat.write('click_id')} (ID macros: {ids})",
        )

    # ---------------------------------------------------------------- corruption

    def check_entities(self) -> None:
        table = _entities()
        text, m = self.text, self.parts.masked
        for i, c in enumerate(text):
            name = table.get(c)
            if name is None or m[i] != c:
                continue
            rest = re.match(r"[\w\-.\[\]]*=", text[i + 1 :])
            if not rest:
                continue
            back = re.search(r"[&?=\s][^&?=\s]*$", m[:i])
            if not back or back.group(0)[0] != "=":
                continue
            end = i + 1 + rest.end()
            guess = f"&{name}{text[i + 1 : end]}"
            self.add(
                "PK301",
                "error",
                i,
                end - 1,
                f"{text[i:end]!r} looks like {guess!r} after an HTML copy-paste turned "
                f"'&{name}' into {c!r}: the template is corrupted.",
                f"replace {text[i : end - 1]!r} with {guess[:-1]!r} and check the rest of the "
                "template for the same damage",
            )
