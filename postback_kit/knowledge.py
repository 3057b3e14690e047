"""What a partner's answer probably means, what to do next, and who acts.

The knowledge lives in TOML (``postback_kit/data/knowledge.toml``, documented at its top), not in
code: rules map outcome classes, response codes and message patterns to a :class:`Hypothesis`
(``text``, ``action`` and ``contact``: ``self`` = fix your tracker or postback settings,
``partner`` = go to the partner with evidence, ``platform_support`` = contact AppMetrica support).
A ``[fallback.<outcome>]`` entry answers when no rule matches, so every signature gets advice.
The same file holds the vocabulary that marks a 2xx body as a soft failure (``[soft_failure]``).

>>> kb = KnowledgeBase.default()
>>> kb.match("request_error", 400, "malformed clickId", "malformed clickId").id
'malformed_click_id'
>>> explain(400, '{"Message":"malformed clickId","Status":400}').hypothesis.contact
'self'

Your own rules go first (a rule with a built-in's id replaces it)::

    kb = KnowledgeBase.with_rules("my_rules.toml")
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, TypeVar, cast

import polars as pl

from .errors import ConfigError
from .schema import columns_of, require_columns
from .signatures import NO_ANSWER_CODE

__all__ = [
    "CONTACTS",
    "Explanation",
    "Hypothesis",
    "KnowledgeBase",
    "Rule",
    "explain",
]

Contact = Literal["self", "partner", "platform_support"]
CONTACTS: Final[tuple[str, ...]] = ("self", "partner", "platform_support")
"""Who acts on a hypothesis."""

_CONTACT_LABELS = {
    "self": "you (fix the tracker or postback settings)",
    "partner": "the partner (send them the evidence)",
    "platform_support": "AppMetrica support",
}

# Kept in step with classify.OUTCOMES (classify imports this module, so it cannot be imported
# from there; tests check that both agree).
_OUTCOMES: Final = (
    "success",
    "request_error",
    "partner_error",
    "network_error",
    "other_code",
    "soft_failure",
    "false_failure",
)
_FAILING: Final = tuple(o for o in _OUTCOMES if o not in ("success", "false_failure"))
_BODY_CHARS = 2000  # characters of a body that rule patterns read
_RULE_FIELDS = ("id", "categories", "codes", "pattern", "text", "action", "contact", "priority")
_FALLBACK_FIELDS = ("text", "action", "contact")
_TOP_LEVEL = ("rule", "fallback", "soft_failure")
_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")
_CODE_CLASS = re.compile(r"^([0-9])(x+)$", re.IGNORECASE)
_CODE_RANGE = re.compile(r"^(-?[0-9]+)\s*-\s*(-?[0-9]+)$")
_CODE_HINT = 'use integers (404), classes like "4xx" or "1xxx", or ranges like "520-527".'

RulesSource = str | os.PathLike[str]


# --------------------------------------------------------------------------- result objects


@dataclass(frozen=True)
class Hypothesis:
    """A probable cause: ``id`` of the rule (or ``fallback.<outcome>``), ``text``, ``action``
    and ``contact`` (``self``, ``partner`` or ``platform_support``)."""

    id: str
    text: str
    action: str
    contact: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Explanation:
    """What one attempt means: its outcome, message, signature and the matching hypothesis."""

    response_code: int | None
    outcome: str
    failure: bool
    message: str | None
    signature: str
    hypothesis: Hypothesis

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["hypothesis"] = self.hypothesis.to_dict()
        return out

    def __str__(self) -> str:
        code = NO_ANSWER_CODE if self.response_code is None else str(self.response_code)
        verdict = "not delivered" if self.failure else "delivered"
        h = self.hypothesis
        lines = [
            f"{code} → {self.outcome} ({verdict})",
            f"message:    {self.message if self.message is not None else '—'}",
            f"signature:  {self.signature}",
            f"hypothesis: {h.text} [{h.id}]",
            f"next step:  {h.action}",
            f"who acts:   {_CONTACT_LABELS.get(h.contact, h.contact)}",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class Rule:
    """One ``[[rule]]`` of a knowledge file, validated."""

    id: str
    text: str
    action: str
    contact: str
    categories: tuple[str, ...] = ()
    codes: tuple[tuple[int, int], ...] = ()
    pattern: re.Pattern[str] | None = None
    priority: int = 0
    source: str = "built-in"

    def applies(self, outcome: str, code: int | None, texts: Sequence[str]) -> bool:
        if outcome not in (self.categories or _FAILING):
            return False
        if self.codes and (code is None or not any(lo <= code <= hi for lo, hi in self.codes)):
            return False
        return self.pattern is None or any(self.pattern.search(t) for t in texts)

    @property
    def hypothesis(self) -> Hypothesis:
        return Hypothesis(self.id, self.text, self.action, self.contact)


# --------------------------------------------------------------------------- parsing


def _fail(source: str, where: str, what: str, *, found: object = None, hint: str) -> ConfigError:
    return ConfigError(
        f"{source}: {where}: {what}",
        found=None if found is None else repr(found),
        hint=hint,
    )


def _text_field(source: str, where: str, entry: Mapping[str, Any], name: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _fail(
            source,
            where,
            f"field '{name}' must be a non-empty string",
            found=value,
            hint=f'write {name} = "..." in this entry.',
        )
    return value.strip()


def _contact(source: str, where: str, entry: Mapping[str, Any]) -> str:
    value = entry.get("contact")
    if value not in CONTACTS:
        raise _fail(
            source,
            where,
            "field 'contact' must be one of " + ", ".join(CONTACTS),
            found=value,
            hint="self = fix your tracker or postback settings, partner = go to the partner "
            "with evidence, platform_support = contact AppMetrica support.",
        )
    return cast(str, value)


def _codes(source: str, where: str, value: object) -> tuple[tuple[int, int], ...]:
    items = value if isinstance(value, list) else [value]
    out: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            out.append((item, item))
            continue
        text = item.strip() if isinstance(item, str) else ""
        if text.lstrip("-").isdigit():
            out.append((int(text), int(text)))
        elif m := _CODE_CLASS.match(text):
            width = 10 ** len(m.group(2))
            out.append((int(m.group(1)) * width, int(m.group(1)) * width + width - 1))
        elif (m := _CODE_RANGE.match(text)) and int(m.group(1)) <= int(m.group(2)):
            out.append((int(m.group(1)), int(m.group(2))))
        else:
            raise _fail(
                source,
                where,
                "field 'codes' has an entry that is not a code",
                found=item,
                hint=_CODE_HINT,
            )
    if not out:
        raise _fail(source, where, "field 'codes' is empty", found=value, hint=_CODE_HINT)
    return tuple(out)


def _rule(source: str, index: int, entry: object) -> Rule:
    where = f"rule #{index + 1}"
    if not isinstance(entry, dict):
        raise _fail(
            source, where, "is not a table", found=entry, hint="write each rule as [[rule]]."
        )
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise _fail(
            source,
            where,
            "field 'id' must be a name of letters, digits, '_', '.' or '-'",
            found=rule_id,
            hint='give every rule a stable id, e.g. id = "my_partner_token".',
        )
    where = f"rule '{rule_id}'"
    unknown = sorted(set(entry) - set(_RULE_FIELDS))
    if unknown:
        raise _fail(
            source,
            where,
            f"unknown field(s) {', '.join(unknown)}",
            found=unknown,
            hint="a rule has the fields " + ", ".join(_RULE_FIELDS) + ".",
        )
    categories = entry.get("categories", [])
    if isinstance(categories, str):
        categories = [categories]
    bad = [c for c in categories if c not in _OUTCOMES] if isinstance(categories, list) else [1]
    if bad:
        raise _fail(
            source,
            where,
            "field 'categories' must list outcomes",
            found=entry.get("categories"),
            hint="outcomes are " + ", ".join(_OUTCOMES) + ".",
        )
    codes = _codes(source, where, entry["codes"]) if "codes" in entry else ()
    pattern = None
    if "pattern" in entry:
        raw = entry["pattern"]
        try:
            if not isinstance(raw, str) or not raw:
                raise re.error("not a non-empty string")
            pattern = re.compile(raw, re.IGNORECASE)
        except re.error as exc:
            raise _fail(
                source,
                where,
                f"field 'pattern' is not a valid regular expression ({exc})",
                found=raw,
                hint="use a Python regular expression in a literal TOML string: pattern = '...'.",
            ) from None
    priority = entry.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise _fail(
            source,
            where,
            "field 'priority' must be an integer",
            found=priority,
            hint="higher priorities are checked first; the default is 0.",
        )
    if not (categories or codes or pattern):
        raise _fail(
            source,
            where,
            "sets none of 'categories', 'codes', 'pattern' and would match everything",
            hint="add a pattern or codes, or use a [fallback.<outcome>] table for default advice.",
        )
    return Rule(
        id=rule_id,
        text=_text_field(source, where, entry, "text"),
        action=_text_field(source, where, entry, "action"),
        contact=_contact(source, where, entry),
        categories=tuple(categories),
        codes=codes,
        pattern=pattern,
        priority=priority,
        source=source,
    )


def _check_polars_regex(source: str, pattern: object) -> str:
    try:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("not a non-empty string")
        pl.select(pl.lit("").str.contains(pattern))
    except Exception as exc:
        raise _fail(
            source,
            "[soft_failure]",
            f"field 'patterns' has an entry that is not a valid regular expression ({exc})",
            found=pattern,
            hint="these patterns run in polars (Rust regex syntax: no look-around, "
            "no back-references).",
        ) from None
    return pattern


@dataclass
class _Parsed:
    rules: list[Rule] = field(default_factory=list)
    fallbacks: dict[str, Hypothesis] = field(default_factory=dict)
    soft_patterns: list[str] = field(default_factory=list)
    success_tokens: list[str] = field(default_factory=list)


def _parse(text: str, source: str) -> _Parsed:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{source}: not valid TOML ({exc})",
            hint="check the quoting: regular expressions are easiest in literal strings, '...'.",
        ) from None
    unknown = sorted(set(doc) - set(_TOP_LEVEL))
    if unknown:
        raise _fail(
            source,
            "top level",
            f"unknown table(s) {', '.join(unknown)}",
            found=unknown,
            hint="a knowledge file has [[rule]], [fallback.<outcome>] and [soft_failure].",
        )
    parsed = _Parsed()
    rules = doc.get("rule", [])
    if not isinstance(rules, list):
        raise _fail(source, "rule", "must be an array of tables", hint="write [[rule]].")
    seen: set[str] = set()
    for i, entry in enumerate(rules):
        rule = _rule(source, i, entry)
        if rule.id in seen:
            raise _fail(
                source,
                f"rule '{rule.id}'",
                "field 'id' is used twice",
                found=rule.id,
                hint="rule ids must be unique within a file.",
            )
        seen.add(rule.id)
        parsed.rules.append(rule)
    fallbacks = doc.get("fallback", {})
    for outcome, entry in fallbacks.items():
        where = f"[fallback.{outcome}]"
        if outcome not in _OUTCOMES:
            raise _fail(
                source,
                where,
                "is not an outcome",
                found=outcome,
                hint="outcomes are " + ", ".join(_OUTCOMES) + ".",
            )
        extra = sorted(set(entry) - set(_FALLBACK_FIELDS))
        if extra:
            raise _fail(
                source,
                where,
                f"unknown field(s) {', '.join(extra)}",
                found=extra,
                hint="a fallback has text, action and contact.",
            )
        parsed.fallbacks[outcome] = Hypothesis(
            f"fallback.{outcome}",
            _text_field(source, where, entry, "text"),
            _text_field(source, where, entry, "action"),
            _contact(source, where, entry),
        )
    soft = doc.get("soft_failure", {})
    extra = sorted(set(soft) - {"patterns", "success_tokens"})
    if extra:
        raise _fail(
            source,
            "[soft_failure]",
            f"unknown field(s) {', '.join(extra)}",
            found=extra,
            hint="[soft_failure] has patterns and success_tokens.",
        )
    for name in ("patterns", "success_tokens"):
        values = soft.get(name, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _fail(
                source,
                "[soft_failure]",
                f"field '{name}' must be a list of strings",
                found=values,
                hint=f"{name} = ['...', '...']",
            )
    parsed.soft_patterns = [_check_polars_regex(source, p) for p in soft.get("patterns", [])]
    parsed.success_tokens = list(soft.get("success_tokens", []))
    return parsed


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except OSError:  # e.g. a name too long to be a path
        return False


def _read(source: RulesSource) -> tuple[str, str]:
    """(text, name) of a rules file or of TOML text given directly."""
    if isinstance(source, str) and (
        "\n" in source or (any(c in source for c in "[=") and not _is_file(source))
    ):
        return source, "<rules text>"
    path = Path(source)
    try:
        return path.read_text("utf-8"), str(path)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such rules file",
            hint="pass the path of a TOML file, or the TOML text itself.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the rules file ({exc})") from None


# --------------------------------------------------------------------------- the knowledge base

KB_Frame = TypeVar("KB_Frame", pl.DataFrame, pl.LazyFrame)


class _ClassOrInstance:
    """``KnowledgeBase.with_rules(x)`` extends the default base; ``kb.with_rules(x)`` extends kb."""

    def __init__(self, func: Callable[[KnowledgeBase, RulesSource], KnowledgeBase]) -> None:
        self.func = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __get__(
        self, obj: KnowledgeBase | None, owner: type[KnowledgeBase]
    ) -> Callable[[RulesSource], KnowledgeBase]:
        func = self.func

        @functools.wraps(func)
        def bound(rules: RulesSource) -> KnowledgeBase:
            return func(obj if obj is not None else owner.default(), rules)

        return bound


class KnowledgeBase:
    """Rules, fallbacks and soft-failure vocabulary; :meth:`match` turns an attempt's outcome,
    code, signature and message into a :class:`Hypothesis`.

    Build one with :meth:`default` (the built-in file), :meth:`from_file` or
    :meth:`with_rules` (your rules first, then the built-in ones).
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        fallbacks: Mapping[str, Hypothesis],
        soft_patterns: Sequence[str],
        success_tokens: Sequence[str],
        *,
        sources: Sequence[str] = (),
    ) -> None:
        missing = [o for o in _OUTCOMES if o not in fallbacks]
        if missing:
            raise ConfigError(
                "a knowledge base needs a fallback for every outcome",
                found="missing: " + ", ".join(missing),
                hint="add [fallback.<outcome>] tables with text, action and contact.",
            )
        self.rules: tuple[Rule, ...] = tuple(rules)
        """Rules in the order they are tried."""
        self.fallbacks: Mapping[str, Hypothesis] = MappingProxyType(dict(fallbacks))
        """The hypothesis per outcome when no rule matches (read-only: the default base is
        shared)."""
        self.soft_patterns: tuple[str, ...] = tuple(soft_patterns)
        self.success_tokens: tuple[str, ...] = tuple(success_tokens)
        self.sources: tuple[str, ...] = tuple(sources)

    def __repr__(self) -> str:
        return (
            f"KnowledgeBase({len(self.rules)} rules, {len(self.soft_patterns)} soft-failure "
            f"patterns, sources={list(self.sources)})"
        )

    @functools.cached_property
    def fingerprint(self) -> str:
        """A digest of what decides the hypotheses and the soft failures (rules in order,
        fallbacks, vocabulary); two bases with the same fingerprint diagnose alike."""
        content = repr(
            (
                self.rules,
                sorted(self.fallbacks.items()),
                self.soft_patterns,
                self.success_tokens,
            )
        )
        return hashlib.sha256(content.encode()).hexdigest()

    # ---- construction

    @staticmethod
    @functools.cache
    def default() -> KnowledgeBase:
        """The built-in knowledge base (``postback_kit/data/knowledge.toml``)."""
        text = resources.files("postback_kit").joinpath("data/knowledge.toml").read_text("utf-8")
        parsed = _parse(text, "built-in knowledge.toml")
        return KnowledgeBase(
            _ordered(parsed.rules),
            parsed.fallbacks,
            parsed.soft_patterns,
            parsed.success_tokens,
            sources=("built-in",),
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KnowledgeBase:
        """A knowledge base made of one file's rules only.

        Fallbacks and soft-failure vocabulary the file does not define come from the built-in
        file.
        """
        text, name = _read(Path(path))
        parsed = _parse(text, name)
        builtin = cls.default()
        return KnowledgeBase(
            _ordered(parsed.rules),
            {**builtin.fallbacks, **parsed.fallbacks},
            parsed.soft_patterns or builtin.soft_patterns,
            parsed.success_tokens or builtin.success_tokens,
            sources=(name,),
        )

    @_ClassOrInstance
    def with_rules(self, rules: RulesSource) -> KnowledgeBase:
        """This base extended by a rules file (a path) or TOML text; the new rules go first.

        A new rule with the id of an existing one replaces it; new fallbacks replace old ones;
        soft-failure patterns and success tokens are added. On the class,
        ``KnowledgeBase.with_rules(x)`` extends :meth:`default`.
        """
        text, name = _read(rules)
        parsed = _parse(text, name)
        new_ids = {r.id for r in parsed.rules}
        kept = [r for r in self.rules if r.id not in new_ids]
        return KnowledgeBase(
            [*_ordered(parsed.rules), *kept],
            {**self.fallbacks, **parsed.fallbacks},
            [*self.soft_patterns, *parsed.soft_patterns],
            [*self.success_tokens, *parsed.success_tokens],
            sources=(name, *self.sources),
        )

    # ---- matching

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if any."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def match(
        self,
        outcome: str,
        code: int | None,
        signature: str | None,
        message: str | None,
        body: str | None = None,
    ) -> Hypothesis:
        """The hypothesis of the first rule that matches, else the outcome's fallback.

        A rule matches when its ``categories`` contain the outcome (default: every failing
        outcome), its ``codes`` contain the code, and its ``pattern`` is found in the message,
        the signature or the start of the body.
        """
        outcome = str(outcome)
        if outcome not in self.fallbacks:
            raise ConfigError(
                f"unknown outcome {outcome!r}",
                hint="outcomes are " + ", ".join(_OUTCOMES) + ".",
            )
        texts = [t for t in (message, signature, body[:_BODY_CHARS] if body else None) if t]
        for rule in self.rules:
            if rule.applies(outcome, code, texts):
                return rule.hypothesis
        return self.fallbacks[outcome]

    def annotate(self, frame: KB_Frame) -> KB_Frame:
        """Add ``hypothesis_id``, ``hypothesis``, ``action`` and ``contact`` to a classified frame.

        Matching runs once per distinct ``(outcome, response_code, signature)``, with one example
        message and body each; the frame must have ``outcome`` and ``signature`` (run
        ``classify`` first).
        """
        require_columns(frame, ["outcome", "signature"], needed_for="KnowledgeBase.annotate")
        lazy = frame.lazy()
        names = columns_of(lazy)
        added = ("hypothesis_id", "hypothesis", "action", "contact")
        lazy = lazy.drop([c for c in added if c in names])
        keys = [k for k in ("outcome", "response_code", "signature") if k in names]
        examples = [
            pl.col(c).drop_nulls().first().alias(c)
            for c in ("message", "response_body")
            if c in names
        ]
        combos = lazy.group_by(keys).agg(examples).collect()
        rows = []
        for row in combos.iter_rows(named=True):
            hypothesis = self.match(
                row["outcome"],
                row.get("response_code"),
                row["signature"],
                row.get("message"),
                row.get("response_body"),
            )
            rows.append(
                {
                    "hypothesis_id": hypothesis.id,
                    "hypothesis": hypothesis.text,
                    "action": hypothesis.action,
                    "contact": hypothesis.contact,
                }
            )
        schema = dict.fromkeys(added, pl.String)
        table = pl.concat(
            [combos.select(keys), pl.DataFrame(rows, schema=schema)], how="horizontal"
        )
        out = lazy.join(table.lazy(), on=keys, how="left", nulls_equal=True, maintain_order="left")
        return out.collect() if isinstance(frame, pl.DataFrame) else out

    # ---- soft failures

    @property
    def soft_failure_regex(self) -> str:
        """The soft-failure patterns joined into one case-insensitive regular expression."""
        return "(?i)" + "|".join(f"(?:{p})" for p in self.soft_patterns)

    def soft_failure_expr(self, body: pl.Expr) -> pl.Expr:
        """True where a body reads as a failure and is not a success token (never null)."""
        if not self.soft_patterns:
            return pl.lit(False)
        token = body.str.strip_chars().str.strip_chars('"').str.strip_chars().str.to_lowercase()
        is_success = token.is_in([t.strip().lower() for t in self.success_tokens])
        says_failed = body.str.contains(self.soft_failure_regex)
        return (says_failed & ~is_success).fill_null(False)


def _ordered(rules: Iterable[Rule]) -> list[Rule]:
    """Higher priority first; file order among equal priorities."""
    return sorted(rules, key=lambda r: -r.priority)


# --------------------------------------------------------------------------- explain


def explain(
    response_code: int | None,
    response_body: str | None,
    notifying_status: str | None = None,
    *,
    kb: KnowledgeBase | None = None,
) -> Explanation:
    """Classify one answer and say what it probably means (the same code path as ``classify``).

    ``response_code=None`` means there was no answer. ``notifying_status`` is the platform's
    verdict (``"sent"``/``"failed"``) when known.

    >>> print(explain(200, "success=false; err_msg=DUPLICATE_CLICK_ID").hypothesis.id)
    duplicate_conversion
    """
    from .classify import classify  # classify imports this module

    kb = kb or KnowledgeBase.default()
    frame = pl.DataFrame(
        {
            "response_code": [response_code],
            "response_body": [response_body],
            "notifying_status": [notifying_status],
        },
        schema={
            "response_code": pl.Int32,
            "response_body": pl.String,
            "notifying_status": pl.Categorical,
        },
    )
    row = classify(frame, kb).row(0, named=True)
    hypothesis = kb.match(
        row["outcome"], response_code, row["signature"], row["message"], response_body
    )
    return Explanation(
        response_code=response_code,
        outcome=str(row["outcome"]),
        failure=bool(row["failure"]),
        message=row["message"],
        signature=row["signature"],
        hypothesis=hypothesis,
    )
