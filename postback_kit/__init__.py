"""postback-kit: postback forensics for AppMetrica exports.

>>> import postback_kit as pk
>>> frame = pk.load("data/samples/csv")          # doctest: +SKIP
"""

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
    "AuditResult",
    "ConfigError",
    "ExportReadError",
    "Field",
    "FileReport",
    "Finding",
    "LoadReport",
    "LoadResult",
    "LoadWarning",
    "MacroCatalogue",
    "MissingColumnsError",
    "PartnerConfig",
    "PostbackKitError",
    "RenderComparison",
    "Violation",
    "__version__",
    "audit_settings",
    "compare_rendered",
    "findings_html",
    "format_findings",
    "lint_template",
    "load",
    "load_catalogue",
    "load_partner_config",
    "render_template",
    "require_columns",
]
