"""The fetcher: each chunk of a fetch turned into verified export files, whatever the API does.

:meth:`_Fetcher.chunk` reuses the files a previous run left, or downloads the chunk, halving it
(days, then hours) when the API answers 400 "Try to use more parts." (and removing files that
a different split of the same chunk left). :meth:`_Fetcher._download` repeats one request until
it yields a file: polling on 202 (with growing waits, up to ``max_wait``), waiting on 429,
retrying 5xx, timeouts, dropped connections and corrupt bodies with exponential backoff and
jitter, and turning every other refusal into an :class:`~postback_kit.errors.ApiError` saying
what to fix. :meth:`_Fetcher._save` streams a 200 answer to a hidden temporary file, verifies
it (:mod:`.verify`) and only then renames it into place. :func:`_queue_slot` keeps at most
:data:`MAX_QUEUED_PER_APPLICATION` exports of one application in flight per process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from .job import EXPORT_PATH, _Job
from .progress import _Progress
from .result import FetchPolicy, _human_bytes
from .spans import _Span
from .token import TOKEN_ENV, _OAuth, log
from .verify import _BodyCheck, _BodyError

if TYPE_CHECKING:
    import requests

MAX_QUEUED_PER_APPLICATION = 3

_SPLIT_MARKER = "Try to use more parts"
_PROGRESS = re.compile(r"Progress is (\d+(?:\.\d+)?)\s*%")
_BLOCK = 1 << 16

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
