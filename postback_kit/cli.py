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
    result = diagnose(
        frame, tracker=args.tracker, since=args.since, until=args.until, rules=args.rules
    )
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


def _cmd_cache(args: argparse.Namespace) -> int:
    from . import cache

    root = cache.cache_dir(args.dir or True)
    assert root is not None
    if args.older_than is not None and not args.clear:
        raise PostbackKitError(
            "--older-than only applies with --clear.",
            found=f"--older-than {args.older_than:g}",
            hint="add --clear, or drop --older-than to see the cache's size.",
        )
    if args.clear:
        older = None if args.older_than is None else args.older_than * 86400
        entries, freed = cache.clear(root, older_than=older)
        what = "" if older is None else f" not used for {args.older_than:g} day(s)"
        print(
            f"removed {entries} cache entr{'y' if entries == 1 else 'ies'}{what}, "
            f"{freed / 2**20:,.1f} MiB, from {root}"
        )
    print(cache.usage(root).summary())
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
    p.add_argument("--since", help="only attempts from this time (ISO 8601, UTC by default)")
    p.add_argument("--until", help="only attempts before this time (excluded)")
    p.add_argument(
        "--no-cache", action="store_true", help="do not use the cache (export nor diagnosis)"
    )
    p.set_defaults(handler=_cmd_diagnose)

    p = sub.add_parser("cache", help="what the cache folder holds; clear it")
    p.add_argument("--dir", help="the cache folder (default: $POSTBACK_KIT_CACHE_DIR or ~/.cache)")
    p.add_argument("--clear", action="store_true", help="remove cached exports and diagnoses")
    p.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="with --clear: only what was not used for this many days",
    )
    p.set_defaults(handler=_cmd_cache)

    for register in _REGISTRY:
        register(sub)
    return parser


# Sub-commands of later stages add themselves here (see each module's ``register_cli``).
_REGISTRY: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []


# --------------------------------------------------------------------------- sample


def _register_sample(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sample", help="write a generated export with planted faults")
    p.add_argument("--out", required=True, help="folder for csv/, json/ and ground_truth.json")
    p.add_argument("--attempts", type=int, default=24_000, help="export rows (default 24000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--format", choices=("csv", "json", "both"), default="both")
    p.add_argument("--gzip", action="store_true", help="gzip the export files")
    p.set_defaults(handler=_cmd_sample)


def _cmd_sample(args: argparse.Namespace) -> int:
    from .samples import write_sample

    sample = write_sample(args.out, args.attempts, args.seed, format=args.format, gzip=args.gzip)
    truth = sample.truth
    days = sample.days()
    print(
        f"{truth['attempts']:,} attempts of {truth['postbacks']:,} postbacks converted "
        f"{days[0]} to {days[-1]}, written to {args.out}"
    )
    for f in truth["faults"]:
        print(f"  {f['id']}: {f['category']}, {f['pattern']}, tracker {f['tracking_id']}")
    return 0


_REGISTRY.append(_register_sample)


def _cmd_explain(args: argparse.Namespace) -> int:
    import json

    from .knowledge import KnowledgeBase, explain

    body = sys.stdin.read() if args.body == "-" else args.body
    kb = KnowledgeBase.with_rules(args.rules) if args.rules else KnowledgeBase.default()
    result = explain(args.code, body, args.status, kb=kb)
    if args.format == "json":
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(result)
    return 0


def _add_explain(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "explain", help="classify one answer and print the probable cause and the next step"
    )
    p.add_argument("--code", type=int, default=None, help="response code (omit: no answer)")
    p.add_argument("--body", default=None, help="response body ('-' reads standard input)")
    p.add_argument("--status", default=None, help="notifying_status: sent or failed")
    p.add_argument("--rules", default=None, help="a TOML file of your own knowledge rules")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_cmd_explain)


_REGISTRY.append(_add_explain)


def _register_fetch(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .api import register_cli

    register_cli(sub)


def _register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .audit.cli import register_cli

    register_cli(sub)


_REGISTRY.append(_register_fetch)
_REGISTRY.append(_register_audit)


def _diagnosis_of(path: str, tracker: str | None = None) -> object:
    """A diagnosis JSON file as it is, or an export (file, folder, glob) diagnosed now."""
    from pathlib import Path

    if path.endswith(".json") and Path(path).is_file():
        import json

        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except ValueError:
            data = None
        if isinstance(data, dict) and "trackers" in data:
            return data
    from .diagnose import diagnose
    from .load import load

    return diagnose(load(path), tracker=tracker)


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare

    result = compare(_diagnosis_of(args.old, args.tracker), _diagnosis_of(args.new, args.tracker))
    if args.format == "json":
        import json

        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(result)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .compare import check

    current = [_diagnosis_of(p, args.tracker) for p in args.paths]
    if len(current) != 1:
        from .diagnose import diagnose
        from .load import load

        current = [diagnose(load(args.paths), tracker=args.tracker)]
    baseline = _diagnosis_of(args.baseline, args.tracker) if args.baseline else None
    result = check(
        current[0], fail_on=args.fail_on, baseline=baseline, min_undelivered=args.min_undelivered
    )
    print(result)
    return result.exit_code


def _register_rerun(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compare", help="issues new, still open or resolved between two exports")
    p.add_argument("old", help="older export (file, folder, glob) or diagnosis JSON")
    p.add_argument("new", help="newer export or diagnosis JSON")
    p.add_argument("--tracker", help="only this tracker")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_cmd_compare)

    p = sub.add_parser("check", help="exit 1 when issues exceed thresholds (for schedulers)")
    p.add_argument("paths", nargs="+", help="the fresh export (or its diagnosis JSON)")
    p.add_argument("--fail-on", choices=("new", "any"), default="any")
    p.add_argument("--baseline", help="previous export or diagnosis JSON (for --fail-on new)")
    p.add_argument(
        "--min-undelivered",
        type=int,
        default=1,
        help="ignore issues that lost fewer postbacks (default 1)",
    )
    p.add_argument("--tracker", help="only this tracker")
    p.set_defaults(handler=_cmd_check)


_REGISTRY.append(_register_rerun)


def _register_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .report import register_cli

    register_cli(sub)


_REGISTRY.append(_register_report)


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
