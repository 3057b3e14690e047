"""postback-kit: postback forensics for AppMetrica exports.

>>> import postback_kit as pk
>>> frame = pk.load("data/samples/csv")          # doctest: +SKIP
>>> attempts = pk.classify(frame)  # + outcome, failure, message, signature  # doctest: +SKIP
>>> print(pk.explain(400, '{"Message":"malformed clickId"}'))  # doctest: +SKIP
"""

from .api import FetchPolicy, FetchResult, fetch
from .audit import (
    AuditResult,
    Finding,
    MacroCatalogue,
    PartnerConfig,
    RenderComparison,
    Violation,
    audit_settings,
    compare_rendered,
    findings_html,
    format_findings,
    lint_template,
    load_catalogue,
    load_partner_config,
    render_template,
)
from .classify import OUTCOMES, classify
from .compare import CheckResult, Comparison, check, compare
from .deliveries import (
    DELIVERY_KEY,
    RetryStats,
    deliveries,
    retry_behavior,
    retry_stats,
    with_delivery_id,
)
from .diagnose import Diagnosis, Issue, TrackerDiagnosis, diagnose, triage
from .errors import (
    ApiError,
    ChartDataError,
    ConfigError,
    ExportReadError,
    LoadWarning,
    MissingColumnsError,
    PostbackKitError,
)
from .knowledge import Explanation, Hypothesis, KnowledgeBase, explain
from .load import FileReport, LoadReport, LoadResult, load
from .params import ParamRules, SuspectParameter, parameter_table, parse_query, suspect_parameters
from .redact import Redactor, redact
from .report import PartnerReport, Provenance, ReportIssue, partner_report, render_report
from .schema import FIELDS, PII_FIELDS, Field, require_columns
from .segments import SEGMENT_COLUMNS, Segment, find_segment, segment_table, segment_units
from .signatures import extract_message, signature_of
from .timeline import Pattern, bucket_counts, choose_bucket, classify_pattern

__version__ = "0.1.0"

__all__ = [
    "DELIVERY_KEY",
    "FIELDS",
    "OUTCOMES",
    "PII_FIELDS",
    "SEGMENT_COLUMNS",
    "ApiError",
    "AuditResult",
    "ChartDataError",
    "CheckResult",
    "Comparison",
    "ConfigError",
    "Diagnosis",
    "Explanation",
    "ExportReadError",
    "FetchPolicy",
    "FetchResult",
    "Field",
    "FileReport",
    "Finding",
    "Hypothesis",
    "Issue",
    "KnowledgeBase",
    "LoadReport",
    "LoadResult",
    "LoadWarning",
    "MacroCatalogue",
    "MissingColumnsError",
    "ParamRules",
    "PartnerConfig",
    "PartnerReport",
    "Pattern",
    "PostbackKitError",
    "Provenance",
    "Redactor",
    "RenderComparison",
    "ReportIssue",
    "RetryStats",
    "Segment",
    "SuspectParameter",
    "TrackerDiagnosis",
    "Violation",
    "__version__",
    "audit_settings",
    "bucket_counts",
    "check",
    "choose_bucket",
    "classify",
    "classify_pattern",
    "compare",
    "compare_rendered",
    "deliveries",
    "diagnose",
    "explain",
    "extract_message",
    "fetch",
    "find_segment",
    "findings_html",
    "format_findings",
    "lint_template",
    "load",
    "load_catalogue",
    "load_partner_config",
    "parameter_table",
    "parse_query",
    "partner_report",
    "redact",
    "render_report",
    "render_template",
    "require_columns",
    "retry_behavior",
    "retry_stats",
    "segment_table",
    "segment_units",
    "signature_of",
    "suspect_parameters",
    "triage",
    "with_delivery_id",
]

# Sub-modules with heavier imports (altair, ipywidgets) or that only some users need load on
# first use: `pk.samples.generate(...)`, `pk.charts.show(...)` work without importing them first.
_LAZY_MODULES = frozenset({"samples", "charts", "ui", "nbexport"})


def __getattr__(name: str) -> object:
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
