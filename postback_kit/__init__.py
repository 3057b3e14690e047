"""postback-kit: postback forensics for AppMetrica exports.

>>> import postback_kit as pk
>>> frame = pk.load("data/samples/csv")          # doctest: +SKIP
"""

from .errors import (
    ApiError,
    ChartDataError,
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
    "ChartDataError",
    "ConfigError",
    "ExportReadError",
    "Field",
    "FileReport",
    "LoadReport",
    "LoadResult",
    "LoadWarning",
    "MissingColumnsError",
    "PostbackKitError",
    "__version__",
    "load",
    "require_columns",
]
