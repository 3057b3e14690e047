"""postback-kit: postback forensics for AppMetrica exports.

>>> import postback_kit as pk
>>> frame = pk.load("data/samples/csv")          # doctest: +SKIP
"""

from .deliveries import (
    DELIVERY_KEY,
    RetryStats,
    deliveries,
    retry_behavior,
    retry_stats,
    with_delivery_id,
)
from .errors import (
    ApiError,
    ConfigError,
    ExportReadError,
    LoadWarning,
    MissingColumnsError,
    PostbackKitError,
)
from .load import FileReport, LoadReport, LoadResult, load
from .params import ParamRules, SuspectParameter, parameter_table, parse_query, suspect_parameters
from .schema import FIELDS, PII_FIELDS, Field, require_columns
from .segments import SEGMENT_COLUMNS, Segment, find_segment, segment_table
from .timeline import Pattern, bucket_counts, choose_bucket, classify_pattern

__version__ = "0.1.0"

__all__ = [
    "DELIVERY_KEY",
    "FIELDS",
    "PII_FIELDS",
    "SEGMENT_COLUMNS",
    "ApiError",
    "ConfigError",
    "ExportReadError",
    "Field",
    "FileReport",
    "LoadReport",
    "LoadResult",
    "LoadWarning",
    "MissingColumnsError",
    "ParamRules",
    "Pattern",
    "PostbackKitError",
    "RetryStats",
    "Segment",
    "SuspectParameter",
    "__version__",
    "bucket_counts",
    "choose_bucket",
    "classify_pattern",
    "deliveries",
    "find_segment",
    "load",
    "parameter_table",
    "parse_query",
    "require_columns",
    "retry_behavior",
    "retry_stats",
    "segment_table",
    "suspect_parameters",
    "with_delivery_id",
]
