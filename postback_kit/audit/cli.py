"""``postback-kit lint-template``: the linter on the command line.

Exit status 1 when a finding is an error, 0 otherwise (2 for a usage or file error, from
``postback_kit.cli``). ``--format json`` prints exactly the list of
``{code, severity, start, end, message, suggestion}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .display import format_findings
from .macros import KINDS, PLATFORMS
from .template import STYLES, lint_template

__all__ = ["register_cli"]


def register_cli(sub: Any) -> None:
    """Add ``postback-kit lint-template`` to the command line."""
    p = sub.add_parser(
        "lint-template",
        help="check a postback template (exit 1 when a finding is an error)",
        description="Check a postback URL or body template. TEMPLATE is the text itself, "
        "'-' for standard input, or @FILE.",
    )
    p.add_argument("template", metavar="TEMPLATE")
    p.add_argument("--style", choices=STYLES, default="auto", help="macro catalogue and syntax")
    p.add_argument("--format", choices=("text", "json"), default="text", dest="output")
    p.add_argument(
        "--postback",
        choices=KINDS,
        help="the postback type the template is for",
    )
    p.add_argument("--platform", choices=PLATFORMS)
    p.add_argument("--extra-macros", action="append", metavar="TOML", help="your own macro file")
    p.set_defaults(handler=_cmd_lint_template)


def _cmd_lint_template(args: argparse.Namespace) -> int:
    template: str = args.template
    if template == "-":
        template = sys.stdin.read()
    elif template.startswith("@"):
        try:
            template = Path(template[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"{template[1:]}: cannot read the template file.",
                found=exc.strerror,
                hint="give the template itself, '-' for standard input, or @FILE.",
            ) from None
    findings = lint_template(
        template,
        style=args.style,
        postback=args.postback,
        platform=args.platform,
        extra_macros=args.extra_macros,
    )
    if args.output == "json":
        print(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        print(format_findings(template, findings))
    return 1 if any(f.severity == "error" for f in findings) else 0
