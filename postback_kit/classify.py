"""The outcome class of every attempt, from its response code, body and the platform's verdict.

``classify`` adds four columns (the contract of ``docs/architecture.md``):

============  ==================  ==========================================================
column        type                meaning
============  ==================  ==========================================================
``outcome``   ``OUTCOME_DTYPE``   one of :data:`OUTCOMES` (rules below)
``failure``   ``Boolean``         the conversion was not delivered: every outcome but
                                  ``success`` and ``false_failure``
``message``   ``String``          the human message of the body (null if none)
``signature`` ``String``          its masked template; ``(no answer)`` / ``(empty body)``
============  ==================  ==========================================================

Rules, in this order:

- no code (null, or ``0`` as some exports write it) → ``network_error``;
- 4xx → ``request_error``; 5xx → ``partner_error``;
- 2xx whose body matches the knowledge base's soft-failure vocabulary (``success=false``,
  ``"status":"error"``, ``INVALID_*``, ``not found``, …) and is not a success token
  → ``soft_failure``;
- 2xx the platform counted as failed (``notifying_status`` ``failed``), and 2xx other than 200
  whose verdict is unknown (no ``notifying_status``: the platform counts only 200 as success)
  → ``false_failure``;
- other 2xx → ``success``;
- anything else (1xx, 3xx, 1xxx, 6xxx, 9xx, negative) → ``other_code``.

>>> frame = pl.DataFrame({"response_code": [200, 404, None],
...                       "response_body": ['{"success":false}', "not here", None]})
>>> classify(frame)["outcome"].to_list()
['soft_failure', 'request_error', 'network_error']
"""

from __future__ import annotations

from typing import Final, TypeVar

import polars as pl

from .errors import ConfigError
from .knowledge import _OUTCOMES, KnowledgeBase
from .schema import columns_of, require_columns
from .signatures import BODY, INTERMEDIATE, body_stages, finish_signature, per_distinct_body

__all__ = ["ADDED_COLUMNS", "FAILING_OUTCOMES", "OUTCOMES", "OUTCOME_DTYPE", "classify"]

OUTCOMES: Final[tuple[str, ...]] = _OUTCOMES
"""The outcome classes, in the order of ``OUTCOME_DTYPE``."""

OUTCOME_DTYPE: Final = pl.Enum(OUTCOMES)
"""Polars type of the ``outcome`` column."""

FAILING_OUTCOMES: Final[tuple[str, ...]] = tuple(
    o for o in OUTCOMES if o not in ("success", "false_failure")
)
"""Outcomes whose conversion was not delivered (``failure`` is true)."""

ADDED_COLUMNS: Final = ("outcome", "failure", "message", "signature")
"""Columns ``classify`` adds (and replaces when the frame already has them)."""

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

_SOFT = "__pk_soft"


def classify(frame: Frame, kb: KnowledgeBase | None = None) -> Frame:
    """Add ``outcome``, ``failure``, ``message`` and ``signature`` to every attempt.

    Needs ``response_code``; ``response_body`` and ``notifying_status`` are used when present.
    Messages, signatures and the soft-failure test are computed once per distinct body.
    ``kb`` supplies the soft-failure vocabulary (default: :meth:`KnowledgeBase.default`).
    Returns the same kind of frame it was given, with the four columns at the end.
    """
    require_columns(frame, ["response_code"], needed_for="classify")
    kb = kb or KnowledgeBase.default()
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    if not (schema["response_code"].is_integer() or schema["response_code"] == pl.Null):
        raise ConfigError(
            "classify needs response_code as integers",
            found=f"response_code of type {schema['response_code']}",
            hint="read the export with postback_kit.load, which types every column.",
        )
    names = columns_of(lazy)
    lazy = lazy.drop([c for c in ADDED_COLUMNS if c in names])
    kept: list[str] = [c for c in names if c not in ADDED_COLUMNS]  # select drops helpers
    if "response_body" not in names:
        lazy = lazy.with_columns(pl.lit(None, pl.String).alias("response_body"))

    stages = [*body_stages(), {_SOFT: kb.soft_failure_expr(pl.col(BODY))}]
    lazy = per_distinct_body(lazy, "response_body", stages, drop=INTERMEDIATE)

    raw_code = pl.col("response_code").cast(pl.Int64)
    code = pl.when(raw_code == 0).then(None).otherwise(raw_code)
    if "notifying_status" in names:
        status = pl.col("notifying_status").cast(pl.String).str.strip_chars().str.to_lowercase()
    else:
        status = pl.lit(None, pl.String)
    said_failed = (status == "failed").fill_null(False)
    verdict_unknown = status.is_null()
    is_2xx = code.is_between(200, 299)
    outcome = (
        pl.when(code.is_null())
        .then(pl.lit("network_error"))
        .when(code.is_between(400, 499))
        .then(pl.lit("request_error"))
        .when(code.is_between(500, 599))
        .then(pl.lit("partner_error"))
        .when(is_2xx & pl.col(_SOFT))
        .then(pl.lit("soft_failure"))
        .when(is_2xx & (said_failed | ((code != 200) & verdict_unknown)))
        .then(pl.lit("false_failure"))
        .when(is_2xx)
        .then(pl.lit("success"))
        .otherwise(pl.lit("other_code"))
        .cast(OUTCOME_DTYPE)
    )
    lazy = (
        lazy.with_columns(outcome.alias("outcome"), finish_signature(code))
        .with_columns(pl.col("outcome").is_in(FAILING_OUTCOMES).alias("failure"))
        .select([*kept, *ADDED_COLUMNS])
    )
    return lazy.collect() if isinstance(frame, pl.DataFrame) else lazy
