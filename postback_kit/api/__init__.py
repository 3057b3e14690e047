"""Fetch postback exports from the AppMetrica Logs API, robustly, into files ``load`` reads.

>>> result = fetch(1111, "2024-05-01", "2024-05-07", dest="exports")   # doctest: +SKIP
>>> frame = load(result)            # or load("exports"): the same files  # doctest: +SKIP

How a fetch behaves
-------------------
- The range is cut into calendar-day requests (``chunk="1d"``; ``"2d"``, ``"6h"``… also work) of
  ``GET {base_url}/logs/v1/export/postbacks.csv`` with ``Accept-Encoding: gzip`` and
  ``Authorization: OAuth <token>``. Days are the application's days, as the API counts them.
- **202** (being prepared): the identical request is repeated after ``poll_interval`` seconds,
  then 1.5 times longer each time up to two minutes, reading ``Progress is N%`` for the progress
  bar. Only the first request carries ``Cache-Control: no-cache`` (later ones would restart the
  preparation). One export may wait ``max_wait`` seconds in total (default one hour) before the
  fetch gives up; the API keeps preparing it, so running the same fetch later resumes.
- **429** (too many exports queued for the application): wait (``Retry-After`` or a minute) and
  repeat. Within one process no more than three exports of one application are in flight.
- **400 "Try to use more parts."**: the range is halved (days, then hours, down to one hour)
  and each half is fetched; a later run remembers the split from the files it left.
- **5xx, timeouts, dropped connections, truncated or corrupt bodies**: up to ``retries`` new
  attempts per request with exponential backoff and jitter.
- **400/401/403/404 otherwise**: an :class:`~postback_kit.errors.ApiError` that quotes the API's
  message and says what to fix (field, date, token, access to the application, address).

Files
-----
Each answer is streamed to a hidden temporary file in ``dest``, verified (complete gzip, UTF-8,
a header line with the requested fields, a complete last record) and only then renamed to
``postbacks_<application>_<first day>_<last day>[_<hash>].csv[.gz]`` (sub-day pieces:
``2024-05-01T00_2024-05-01T11``). ``<hash>`` digests the fields, filters and date dimension when
they differ from the defaults; it never includes the token. A re-run reuses the files it finds,
except for chunks within ``refetch_recent_days`` of today (default 7), which the API still
updates. Nothing partial is ever left where ``load`` would read it.

The token comes from ``token=``, ``token_file=`` (``--token-file``) or ``$APPMETRICA_TOKEN``, and
never appears in a file name, a file, a log record, an exception or a repr.

Modules
-------
This package holds the public entry points :func:`fetch` and :func:`fetch_and_load`; the rest:

- ``token``: reading the token, the wrapper that hides it, the redaction filter on the logger;
- ``arguments``: :func:`parse_filters` and the checks of fields, days, chunk size, address;
- ``spans``: the range cut into chunks, a chunk halved;
- ``result``: :class:`FetchPolicy` and :class:`FetchResult`;
- ``job``: what one fetch asks for, as request URLs and export file names;
- ``fetcher``: reuse, splitting, polling, queueing, retries and saving of each chunk;
- ``verify``: the check that a body is a complete export;
- ``progress``: the progress bar;
- ``command``: the ``postback-kit fetch`` sub-command (:func:`register_cli`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .arguments import (
    DATE_DIMENSIONS,
    DEFAULT_BASE_URL,
    DEFAULT_FIELDS,
    _base_url,
    _check_field,
    _chunk_size,
    _day,
    _fields,
    parse_filters,
)
from .command import register_cli
from .fetcher import _Fetcher
from .job import _Job
from .progress import _interactive, _Progress
from .result import FetchPolicy, FetchResult
from .spans import _chunks
from .token import _REDACT, _hide, _read_token, log

if TYPE_CHECKING:
    import requests

    from ..load import LoadResult

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_FIELDS",
    "FetchPolicy",
    "FetchResult",
    "fetch",
    "fetch_and_load",
    "parse_filters",
    "register_cli",
]


def fetch(
    application_id: int | str,
    since: date | datetime | str,
    until: date | datetime | str,
    *,
    dest: str | os.PathLike[str],
    fields: Sequence[str] | str | None = None,
    filters: Mapping[str, object] | Sequence[str] | str | None = None,
    date_dimension: str = "default",
    token: str | None = None,
    token_file: str | os.PathLike[str] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    session: requests.Session | None = None,
    poll_interval: float = 10.0,
    max_wait: float = 3600.0,
    chunk: str | int | timedelta = "1d",
    refetch_recent_days: int = 7,
    progress: bool | None = None,
    policy: FetchPolicy | None = None,
) -> FetchResult:
    """Download the postbacks of ``application_id`` from ``since`` to ``until`` (days included)
    into ``dest``, one verified file per chunk, and return the files for ``load``.

    >>> result = fetch(1111, "2024-05-01", "2024-05-07", dest="exports",
    ...                filters={"tracking_id": "12345"})          # doctest: +SKIP
    >>> frame = load(result)                                      # doctest: +SKIP

    Parameters
    ----------
    fields
        Field names (a list or ``"a,b,c"``); default :data:`DEFAULT_FIELDS`, every documented
        field. Unknown names are refused before any request, with the closest known name.
    filters
        Equality filters: ``{"response_code": 400}`` or ``["tracking_id=123"]``.
    date_dimension
        ``"default"`` (when the event happened on the device) or ``"receive"`` (when the server
        received it).
    token, token_file
        The OAuth token, or a file holding it; otherwise ``$APPMETRICA_TOKEN``.
    base_url, session
        The API host (default the public one) and a ``requests.Session`` to use.
    poll_interval, max_wait
        First wait after a 202 (then 1.5× longer each time, up to 2 minutes), and the longest
        one export may take waiting for the API (default 3600 s), in seconds.
    chunk, refetch_recent_days
        Size of one request (``"1d"``, ``"7d"``, ``"6h"``); chunks ending within that many days
        of today are downloaded again even if a file exists (the API still updates them).
    progress
        Show a progress bar (default: in Jupyter and in a terminal).
    policy
        Timeouts, retries and clocks: :class:`FetchPolicy`.

    Raises :class:`~postback_kit.errors.ConfigError` for bad arguments (before any request) and
    :class:`~postback_kit.errors.ApiError` when the API refuses or keeps failing; chunks completed
    until then stay in ``dest`` and the next run reuses them.
    """
    # the text leaves this frame's locals at once (a verbose traceback prints them)
    hidden = _hide(token)
    del token
    app = str(application_id).strip()
    if not app.isdigit():
        raise ConfigError(
            f"application_id={application_id!r} is not a number.",
            hint="the application ID is the number in the AppMetrica address bar.",
        )
    field_names = _fields(fields)
    filter_items = parse_filters(filters)
    for name in filter_items:
        if name == "application_id":
            raise ConfigError(
                "application_id cannot be a filter.", hint="pass it as application_id=."
            )
        _check_field(name, "filter field")
    if date_dimension not in DATE_DIMENSIONS:
        close = difflib.get_close_matches(str(date_dimension), DATE_DIMENSIONS, n=1)
        raise ConfigError(
            f"date_dimension={date_dimension!r} is not known.",
            found=f"did you mean {close[0]!r}?" if close else None,
            hint="use 'default' (event time on the device) or 'receive' (time the server got it).",
        )
    first, last = _day(since, "since"), _day(until, "until")
    if first > last:
        raise ConfigError(
            f"since={first} is after until={last}.", hint="until is the last day to include."
        )
    size = _chunk_size(chunk)
    if refetch_recent_days < 0:
        raise ConfigError(f"refetch_recent_days={refetch_recent_days} is negative.")
    if poll_interval <= 0 or max_wait < 0:
        raise ConfigError("poll_interval must be positive and max_wait not negative.")
    url = _base_url(base_url)
    folder = Path(dest).expanduser()
    secret = _read_token(hidden, token_file, folder)
    folder.mkdir(parents=True, exist_ok=True)
    policy = policy or FetchPolicy()
    job = _Job(app, field_names, tuple(filter_items.items()), date_dimension, url, folder, secret)

    chunks = _chunks(first, last, size)
    cutoff = policy.today() - timedelta(days=refetch_recent_days)
    show = progress if progress is not None else _interactive()
    bar = _Progress(show, len(chunks), f"postbacks {app}")
    own_session = session is None
    if session is None:
        import requests

        session = requests.Session()
    fetcher = _Fetcher(job, session, policy, poll_interval, max_wait, bar)
    _REDACT.secrets.append(secret.reveal())
    files: list[Path] = []
    try:
        log.info("fetching application %s, %s … %s, %d chunk(s)", app, first, last, len(chunks))
        for span in chunks:
            files += fetcher.chunk(span, reuse=span.last_day < cutoff)
            bar.advance()
    finally:
        bar.close()
        _REDACT.secrets.remove(secret.reveal())
        if own_session:
            session.close()
    return FetchResult(
        application_id=app,
        since=first,
        until=last,
        dest=folder,
        files=files,
        fetched=fetcher.fetched,
        reused=fetcher.reused,
        requests=fetcher.requests,
        bytes_downloaded=fetcher.bytes,
    )


def fetch_and_load(
    application_id: int | str,
    since: date | datetime | str,
    until: date | datetime | str,
    *,
    dest: str | os.PathLike[str],
    token: str | None = None,
    token_file: str | os.PathLike[str] | None = None,
    fields: Sequence[str] | str | None = None,
    filters: Mapping[str, object] | Sequence[str] | str | None = None,
    timezone: str | None = None,
    progress: bool | None = True,
    **options: Any,
) -> tuple[FetchResult, LoadResult]:
    """Fetch, then ``load(..., report=True)`` exactly the fetched files.

    What the notebook's fetch form and its papermill parameters call. ``token`` may be the
    (empty) value of a password field: empty falls back to ``token_file`` and
    ``$APPMETRICA_TOKEN``. ``filters`` may be the text of a text area, one ``field=value`` per
    line. Other keyword arguments go to :func:`fetch`.

    >>> fetched, (frame, report) = fetch_and_load(1111, "2024-05-01", "2024-05-07",
    ...                                           dest="exports")  # doctest: +SKIP
    """
    from ..load import load

    hidden: Any = _hide(token or None)  # fetch takes the wrapped token too (internal)
    del token
    result = fetch(
        application_id,
        since,
        until,
        dest=dest,
        token=hidden,
        token_file=token_file or None,
        fields=fields or None,
        filters=filters or None,
        progress=progress,
        **options,
    )
    return result, load(result, report=True, timezone=timezone)
