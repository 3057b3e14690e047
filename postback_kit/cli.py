"""The ``postback-kit`` command line.

Each stage registers one sub-command here; the work itself lives in the package's modules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .errors import PostbackKitError

Handler = Callable[[argparse.Namespace], int]


def _cmd_load(args: argparse.Namespace) -> int:
    from .load import load

    _frame, report = load(args.paths, report=True, timezone=args.timezone, cache=not args.no_cache)
    print(report.summary())
    return 0


def _cmd_diagnose(args: argparse.Namespace) -> int:
    from .diagnose import diagnose
    from .load import load

    frame = load(args.paths, timezone=args.timezone, cache=not args.no_cache)
    result = diagnose(frame, tracker=args.tracker, rules=args.rules)
    if args.format == "json":
        text = result.to_json()
        if args.output:
            result.to_json(args.output)
        else:
            print(text)
    else:
        text = str(result)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            print(text, end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="postback-kit",
        description="Postback forensics for AppMetrica exports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("load", help="read an export and print the load report")
    p.add_argument("paths", nargs="+", help="files, folders or globs")
    p.add_argument("--timezone", default=None, help="time zone of the *_datetime fields")
    p.add_argument("--no-cache", action="store_true", help="do not use the Parquet cache")
    p.set_defaults(handler=_cmd_load)

    p = sub.add_parser("diagnose", help="find, explain and rank the issues of every tracker")
    p.add_argument("paths", nargs="+", help="export files, folders or globs")
    p.add_argument("--tracker", help="only this tracker (tracking_id or name)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--rules", help="a TOML file of your own knowledge-base rules")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    p.add_argument("--timezone", default=None, help="time zone of the *_datetime fields")
    p.add_argument("--no-cache", action="store_true", help="do not use the Parquet cache")
    p.set_defaults(handler=_cmd_diagnose)

    for register in _REGISTRY:
        register(sub)
    return parser


# Sub-commands of later stages add themselves here (see each module's ``register_cli``).
_REGISTRY: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except PostbackKitError as exc:
        print(f"postback-kit: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
