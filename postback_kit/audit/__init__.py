"""Configuration audit: lint a postback template, render it from an export, and check an
export against a partner's in-app event postback settings.

>>> import postback_kit as pk
>>> [f.code for f in pk.lint_template("https://pb.example.com/?click_id={click_id}&c={county_code}")]
['PK101']

Modules: ``macros`` (catalogues, data files ``data/macros_*.toml``), ``template`` (the linter
and its finding codes), ``display`` (carets and HTML), ``cli`` (``postback-kit lint-template``),
``render`` (fill a template from export rows, compare with what was sent), ``config`` (partner
configuration TOML), ``settings`` (the settings audit and its rule codes), ``urlcodec``
(vectorised URL encoding). The window chart is :func:`postback_kit.charts.window_chart`.
"""

from .config import (
    Condition,
    PartnerConfig,
    WindowChange,
    load_partner_config,
)
from .display import audit_html, findings_frame, findings_html, format_findings
from .macros import Macro, MacroCatalogue, find_macros, load_catalogue
from .render import RenderComparison, compare_rendered, render_template
from .settings import AUDIT_RULES, AuditResult, Violation, audit_settings
from .template import RULES, Finding, lint_template, parse_template

__all__ = [
    "AUDIT_RULES",
    "RULES",
    "AuditResult",
    "Condition",
    "Finding",
    "Macro",
    "MacroCatalogue",
    "PartnerConfig",
    "RenderComparison",
    "Violation",
    "WindowChange",
    "audit_html",
    "audit_settings",
    "compare_rendered",
    "find_macros",
    "findings_frame",
    "findings_html",
    "format_findings",
    "lint_template",
    "load_catalogue",
    "load_partner_config",
    "parse_template",
    "render_template",
]
