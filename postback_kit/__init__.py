"""postback-kit: postback forensics for AppMetrica exports.

>>> import postback_kit as pk
>>> frame = pk.load("data/samples/csv")          # doctest: +SKIP
"""

from .api import FetchPolicy, FetchResult, fetch
from .errors import (
    ApiError,
    ConfigError,
    ExportReadError,
    LoadWarning,
    MissingColumnsError,
    PostbackKitError,
)
from .load import FileReport, LoadReport, LoadResult, load
from .schema import FIELDS, PII_FIELDS, Field, require_columns

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "PII_FIELDS",
    "ApiError",
    "ConfigError",
    "ExportReadError",
    "FetchPolicy",
    "FetchResult",
    "Field",
    "FileReport",
    "LoadReport",
    "LoadResult",
    "LoadWarning",
    "MissingColumnsError",
    "PostbackKitError",
    "__version__",
    "fetch",
    "load",
    "require_columns",
]
