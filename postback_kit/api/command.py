"""The ``postback-kit fetch`` sub-command: its options (there is deliberately no ``--token``:
shells keep history; the token comes from ``--token-file`` or ``$APPMETRICA_TOKEN``) and the
handler that runs :func:`~postback_kit.api.fetch` and prints the result's summary.
"""

from __future__ import annotations

import argparse

from .arguments import DATE_DIMENSIONS, DEFAULT_BASE_URL
from .token import TOKEN_ENV


def _cmd_fetch(args: argparse.Namespace) -> int:
    from . import fetch  # the package defines fetch after importing this module

    result = fetch(
        args.application_id,
        args.since,
        args.until,
        dest=args.dest,
        fields=args.fields,
        filters=args.filters,
        date_dimension=args.date_dimension,
        token_file=args.token_file,
        base_url=args.base_url,
        poll_interval=args.poll_interval,
        max_wait=args.max_wait,
        chunk=args.chunk,
        refetch_recent_days=args.refetch_recent_days,
        progress=False if args.no_progress else None,
    )
    print(result.summary())
    return 0


def register_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``postback-kit fetch`` (there is deliberately no ``--token``: shells keep history)."""
    p = sub.add_parser(
        "fetch",
        help="download postback exports from the Logs API into a folder",
        description="Download postbacks from the AppMetrica Logs API, one verified file per day. "
        f"The token is read from --token-file or ${TOKEN_ENV}.",
    )
    p.add_argument("--application-id", required=True, help="numeric application ID")
    p.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--until", required=True, help="last day (included), YYYY-MM-DD")
    p.add_argument("--dest", required=True, help="folder for the export files")
    p.add_argument(
        "--fields",
        nargs="+",
        action="extend",
        default=None,
        help="field names, comma- or space-separated (default: every documented field)",
    )
    p.add_argument(
        "--filter",
        dest="filters",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="equality filter, repeatable (e.g. --filter response_code=400)",
    )
    p.add_argument("--date-dimension", choices=DATE_DIMENSIONS, default="default")
    p.add_argument("--token-file", default=None, help=f"file holding the token (else ${TOKEN_ENV})")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, help="API host (default: %(default)s)")
    p.add_argument(
        "--poll-interval",
        type=float,
        default=10.0,
        metavar="S",
        help="first wait after 202, seconds (default: %(default)s)",
    )
    p.add_argument(
        "--max-wait",
        type=float,
        default=3600.0,
        metavar="S",
        help="longest wait for one export, seconds (default: %(default)s)",
    )
    p.add_argument("--chunk", default="1d", help="size of one request: 1d, 7d, 6h (default 1d)")
    p.add_argument(
        "--refetch-recent-days",
        type=int,
        default=7,
        metavar="N",
        help="download chunks of the last N days again (default: %(default)s)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=_cmd_fetch)
