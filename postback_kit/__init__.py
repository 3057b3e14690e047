"""postback-kit: postback forensics for AppMetrica exports.

>>> import postback_kit as pk
>>> frame = pk.load("data/samples/csv")          # doctest: +SKIP
>>> attempts = pk.classify(frame)  # + outcome, failure, message, signature  # doctest: +SKIP
>>> print(pk.explain(400, '{"Message":"malformed clickId"}'))  # doctest: +SKIP
"""

from .classify import OUTCOMES, classify
from .errors import (
    ApiError,
    ConfigError,
    ExportReadError,
    LoadWarning,
    MissingColumnsError,
    PostbackKitError,
)
from .knowledge import Explanation, Hypothesis, KnowledgeBase, explain
from .load import FileReport, LoadReport, LoadResult, load
from .schema import FIELDS, PII_FIELDS, Field, require_columns
from .signatures import extract_message, signature_of

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "OUTCOMES",
    "PII_FIELDS",
    "ApiError",
    "ConfigError",
    "Explanation",
    "ExportReadError",
    "Field",
    "FileReport",
    "Hypothesis",
    "KnowledgeBase",
    "LoadReport",
    "LoadResult",
    "LoadWarning",
    "MissingColumnsError",
    "PostbackKitError",
    "__version__",
    "classify",
    "explain",
    "extract_message",
    "load",
    "require_columns",
    "signature_of",
]
