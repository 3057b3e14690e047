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
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from ..errors import ApiError, ConfigError
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
from .progress import _interactive, _Progress
from .result import FetchPolicy, FetchResult, _human_bytes
from .spans import _chunks, _Span
from .token import _REDACT, TOKEN_ENV, _OAuth, _read_token, _Secret, log
from .verify import _BodyCheck, _BodyError

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

EXPORT_PATH = "/logs/v1/export/postbacks.csv"
MAX_QUEUED_PER_APPLICATION = 3

_SPLIT_MARKER = "Try to use more parts"
_PROGRESS = re.compile(r"Progress is (\d+(?:\.\d+)?)\s*%")
_BLOCK = 1 << 16

# --------------------------------------------------------------------------- the fetcher


_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


@contextlib.contextmanager
def _queue_slot(application_id: str) -> Iterator[None]:
    """At most MAX_QUEUED_PER_APPLICATION exports of one application in flight per process."""
    with _SLOTS_LOCK:
        slot = _SLOTS.setdefault(
            application_id, threading.BoundedSemaphore(MAX_QUEUED_PER_APPLICATION)
        )
    with slot:
        yield


class _NeedsSplit(Exception):
    """400 "Try to use more parts.": the range holds too much data for one request."""


@dataclass(frozen=True)
class _Job:
    application_id: str
    fields: tuple[str, ...]
    filters: tuple[tuple[str, str], ...]
    date_dimension: str
    base_url: str
    dest: Path
    token: _Secret = field(repr=False)

    @property
    def key(self) -> str:
        """``_<hash>`` of what changes the content, when it differs from the defaults."""
        if self.fields == DEFAULT_FIELDS and not self.filters and self.date_dimension == "default":
            return ""
        spec = json.dumps(
            {"fields": self.fields, "filters": self.filters, "date_dimension": self.date_dimension}
        )
        return "_" + hashlib.blake2b(spec.encode(), digest_size=5).hexdigest()

    def name(self, span: _Span) -> str:
        return f"postbacks_{self.application_id}_{span.tag()}{self.key}"

    def url(self, span: _Span) -> str:
        params = [
            ("application_id", self.application_id),
            ("date_since", f"{span.start:%Y-%m-%d %H:%M:%S}"),
            ("date_until", f"{span.end - timedelta(seconds=1):%Y-%m-%d %H:%M:%S}"),
            ("fields", ",".join(self.fields)),
            ("date_dimension", self.date_dimension),
            *self.filters,
        ]
        return f"{self.base_url}{EXPORT_PATH}?{urlencode(params, quote_via=quote, safe=',')}"


class _Fetcher:
    def __init__(
        self,
        job: _Job,
        session: requests.Session,
        policy: FetchPolicy,
        poll_interval: float,
        max_wait: float,
        progress: _Progress,
    ) -> None:
        import requests
        import urllib3

        self.job = job
        self.session = session
        self.policy = policy
        self.poll_interval = poll_interval
        self.max_wait = max_wait
        self.progress = progress
        self.auth = _OAuth(job.token)
        self.network_errors: tuple[type[BaseException], ...] = (
            requests.RequestException,
            urllib3.exceptions.HTTPError,
            ConnectionError,
            TimeoutError,
        )
        self.requests = 0
        self.bytes = 0
        self.fetched: list[Path] = []
        self.reused: list[Path] = []

    # ---- chunks and pieces

    def chunk(self, span: _Span, reuse: bool) -> list[Path]:
        dest = self.job.dest
        existing = {p.name for p in dest.iterdir() if p.name.startswith("postbacks_")}
        files = self._piece(span, reuse, existing)
        keep = {p.name for p in files}
        for name in self._tree(span):  # files a different split of this chunk left behind
            for ext in (".csv", ".csv.gz"):
                if name + ext in existing and name + ext not in keep:
                    log.info("removing %s, superseded by this fetch", name + ext)
                    (dest / (name + ext)).unlink(missing_ok=True)
        return files

    def _piece(self, span: _Span, reuse: bool, existing: set[str]) -> list[Path]:
        name = self.job.name(span)
        if reuse:
            for ext in (".csv.gz", ".csv"):
                if name + ext in existing:
                    log.info("reusing %s", name + ext)
                    path = self.job.dest / (name + ext)
                    self.reused.append(path)
                    return [path]
        halves = span.halves()
        if halves and self._split_before(halves, existing):
            log.info("%s: split in two as on the previous run", span.label())
        else:
            try:
                path = self._download(span)
                self.fetched.append(path)
                return [path]
            except _NeedsSplit as exc:
                if not halves:
                    raise ApiError(
                        f"The Logs API says one hour ({span.label()}) of application "
                        f"{self.job.application_id} is too much data for one request.",
                        status=400,
                        found=str(exc),
                        hint="request fewer fields, or add filters (e.g. tracking_id=...).",
                    ) from None
                log.info("%s: too much data for one request, splitting in two", span.label())
        return [p for half in halves for p in self._piece(half, reuse, existing)]

    def _split_before(self, halves: tuple[_Span, _Span], existing: set[str]) -> bool:
        for half in halves:
            name = self.job.name(half)
            if name + ".csv" in existing or name + ".csv.gz" in existing:
                return True
            deeper = half.halves()
            if deeper and self._split_before(deeper, existing):
                return True
        return False

    def _tree(self, span: _Span) -> Iterator[str]:
        yield self.job.name(span)
        for half in span.halves() or ():
            yield from self._tree(half)

    # ---- one request, repeated until it yields a file

    def _download(self, span: _Span) -> Path:
        p = self.policy
        url = self.job.url(span)
        started = p.clock()
        delay = self.poll_interval
        failures = 0
        first = True
        self.progress.status(f"{span.label()}: requesting")
        with _queue_slot(self.job.application_id):
            while True:
                headers = {"Accept-Encoding": "gzip", "User-Agent": _user_agent()}
                if first:
                    headers["Cache-Control"] = "no-cache"
                    first = False
                kind, info = self._attempt(span, url, headers)
                if kind == "done":
                    return Path(info)
                if kind == "split":
                    raise _NeedsSplit(info)
                if kind == "wait":
                    m = _PROGRESS.search(info)
                    state = f"preparing {m.group(1)}%" if m else "preparing"
                    log.debug("%s: %s, next check in %.3g s", span.label(), state, delay)
                    self.progress.status(f"{span.label()}: {state}, next check in {delay:.0f} s")
                    self._wait(delay, started, span, f"the API still answered 202 ({state})")
                    delay = min(delay * p.poll_growth, max(p.poll_max, self.poll_interval))
                elif kind == "queue":
                    wait = _retry_after(info) or p.queue_wait
                    wait *= 1 + 0.1 * p.jitter()
                    log.info(
                        "%s: too many exports queued (429), waiting %.3g s", span.label(), wait
                    )
                    self.progress.status(f"{span.label()}: API queue full, waiting {wait:.0f} s")
                    self._wait(wait, started, span, "the API still answered 429 (queue full)")
                else:
                    failures += 1
                    if failures > p.retries:
                        raise ApiError(
                            f"The export of {span.label()} for application "
                            f"{self.job.application_id} failed {failures} times in a row.",
                            found=info,
                            hint="the API or the network is unwell: run the same fetch again "
                            "later; chunks already complete are kept and reused.",
                        )
                    backoff = min(p.backoff_max, p.backoff * 2 ** (failures - 1))
                    backoff *= 0.5 + 0.5 * p.jitter()
                    log.warning(
                        "%s: %s; retry %d of %d in %.3g s",
                        span.label(),
                        info,
                        failures,
                        p.retries,
                        backoff,
                    )
                    self.progress.status(f"{span.label()}: retrying in {backoff:.0f} s")
                    p.sleep(backoff)

    def _wait(self, seconds: float, started: float, span: _Span, state: str) -> None:
        remaining = self.max_wait - (self.policy.clock() - started)
        if remaining <= 0:
            raise ApiError(
                f"The export of {span.label()} for application {self.job.application_id} was not "
                f"ready after {self.max_wait:g} s of waiting.",
                found=state,
                hint="the API keeps preparing it: run the same fetch again later (complete "
                "chunks are kept and reused), or allow a longer max_wait / --max-wait.",
            )
        self.policy.sleep(min(seconds, remaining))

    def _attempt(self, span: _Span, url: str, headers: dict[str, str]) -> tuple[str, str]:
        """One HTTP request: ("done", path) | ("wait"|"queue"|"split"|"retry", detail);
        raises ApiError for answers a retry cannot fix."""
        p = self.policy
        self.requests += 1
        try:
            resp = self.session.get(
                url,
                headers=headers,
                auth=self.auth,
                timeout=(p.connect_timeout, p.read_timeout),
                stream=True,
            )
        except self.network_errors as exc:
            return "retry", f"no answer ({self._describe(exc)})"
        with resp:
            status = resp.status_code
            if status == 200:
                try:
                    return "done", str(self._save(resp, span))
                except _BodyError as exc:
                    return "retry", self.job.token.redact(str(exc))
            try:
                text = resp.raw.read(_BLOCK, decode_content=True).decode("utf-8", "replace")
            except self.network_errors as exc:
                return "retry", f"HTTP {status}, then the connection broke ({self._describe(exc)})"
            if status == 202:
                return "wait", text
            if status == 429:
                return "queue", resp.headers.get("Retry-After", "")
            if status == 400 and _SPLIT_MARKER in text:
                return "split", self._api_message(text)
            if status >= 500 or status == 408:
                return "retry", f"HTTP {status}: {self._api_message(text) or '(empty answer)'}"
            raise self._refusal(status, text, span)

    def _save(self, resp: Any, span: _Span) -> Path:
        """Stream the body to a hidden temporary file, verify it, rename it into place."""
        dest, name = self.job.dest, self.job.name(span)
        encoding = resp.headers.get("Content-Encoding", "").strip().lower()
        keep_raw = encoding in ("", "identity", "gzip", "x-gzip")  # gzip is stored as it came
        check = _BodyCheck(self.job.fields)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest)
        received = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                try:
                    for block in resp.raw.stream(_BLOCK, decode_content=not keep_raw):
                        check.feed(block)
                        fh.write(block)
                        received += len(block)
                        self.bytes += len(block)
                        self.progress.status(
                            f"{span.label()}: {_human_bytes(received)}", refresh=False
                        )
                except self.network_errors as exc:
                    raise _BodyError(
                        f"the connection broke after {_human_bytes(received)} "
                        f"({self._describe(exc)})"
                    ) from None
                fh.flush()
                os.fsync(fh.fileno())
            check.finish()
            final = dest / (name + (".csv.gz" if check.gzip else ".csv"))
            os.replace(tmp, final)
            (dest / (name + (".csv" if check.gzip else ".csv.gz"))).unlink(missing_ok=True)
            log.info("%s: saved %s (%s)", span.label(), final.name, _human_bytes(received))
            return final
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    # ---- messages

    def _describe(self, exc: BaseException) -> str:
        """The root cause, without the request's URL (requests wraps it in MaxRetryError)."""
        reason: object = exc
        inner = exc.args[0] if exc.args else None
        if getattr(inner, "reason", None) is not None:
            reason = inner.reason  # type: ignore[union-attr]
        text = f"{type(reason).__name__}: {reason}"
        return self.job.token.redact(text)[:300]

    def _api_message(self, text: str) -> str:
        message = text.strip()
        try:
            doc = json.loads(message)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            parts = [str(doc["message"])] if doc.get("message") else []
            for err in doc.get("errors") or []:
                if isinstance(err, dict) and err.get("message") and err["message"] not in parts:
                    parts.append(str(err["message"]))
            message = "; ".join(parts) or message
        message = re.sub(r"\s+", " ", message)
        message = self.job.token.redact(message)
        return message if len(message) <= 500 else message[:500] + "…"

    def _refusal(self, status: int, text: str, span: _Span) -> ApiError:
        job = self.job
        api = self._api_message(text)
        found = f"HTTP {status} for {span.label()}: {api or '(empty answer)'}"
        low = api.lower()
        names = [n for n in (*job.fields, *(k for k, _ in job.filters)) if n in api]
        if status == 401:
            what = "The Logs API did not accept the token (401 Unauthorized)."
            hint = (
                "the OAuth token is wrong or expired: get a new one for an account with access "
                f"to AppMetrica and pass it with token=, --token-file PATH or ${TOKEN_ENV}."
            )
        elif status == 403:
            what = f"The token has no access to application {job.application_id} (403 Forbidden)."
            hint = (
                "check the application ID (the number in the AppMetrica address bar) and that "
                "the token's account owns this application or was granted access to it."
            )
        elif status == 404:
            what = "The Logs API address was not found (404 Not Found)."
            hint = f"check base_url ({job.base_url}); the export is at {EXPORT_PATH}."
        elif status == 400 and (names or "field" in low):
            what = "The Logs API rejected a field name (400 Bad Request)."
            hint = (
                f"remove or correct the field {', '.join(names) or 'the message names'} in "
                "fields= / --fields or in the filters."
            )
        elif status == 400 and "date" in low:
            what = "The Logs API rejected the dates (400 Bad Request)."
            hint = "give since/until as YYYY-MM-DD, since not after until, and not in the future."
        elif status == 400 and "application" in low:
            what = f"The Logs API rejected application_id={job.application_id} (400 Bad Request)."
            hint = "check the application ID: the number in the AppMetrica address bar."
        else:
            what = f"The Logs API refused the request (HTTP {status})."
            hint = (
                "check the field names, the filters (field=value), the dates (YYYY-MM-DD), "
                "date_dimension (default or receive) and the application ID."
            )
        return ApiError(what, status=status, found=found, hint=hint)


def _user_agent() -> str:
    from .. import __version__

    return f"postback-kit/{__version__}"


def _retry_after(value: str) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


# --------------------------------------------------------------------------- public


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
    secret = _read_token(token, token_file, folder)
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

    result = fetch(
        application_id,
        since,
        until,
        dest=dest,
        token=token or None,
        token_file=token_file or None,
        fields=fields or None,
        filters=filters or None,
        progress=progress,
        **options,
    )
    return result, load(result, report=True, timezone=timezone)


# --------------------------------------------------------------------------- command line


def _cmd_fetch(args: argparse.Namespace) -> int:
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
