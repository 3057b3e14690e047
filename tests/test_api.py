"""The Logs API client against a real HTTP server on 127.0.0.1 that imitates the API.

The server is a small threaded socket server (not a mock): it parses real requests from
``requests`` and can answer 202/429/400/5xx, stall, drop the connection mid-body or send a cut
gzip stream. Waits use an injected clock and sleep, so no test actually waits for minutes.
"""

from __future__ import annotations

import csv
import gzip
import http
import io
import logging
import socketserver
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import postback_kit as pk
from postback_kit.api import DEFAULT_FIELDS, fetch_and_load
from postback_kit.api.verify import _BodyCheck, _BodyError
from postback_kit.cli import main
from postback_kit.errors import ApiError, ConfigError

TOKEN = "y0_AgAAAAA-S3cr3tT0ken-9f8e7d6c5b4a"
TODAY = date(2024, 3, 20)
FMT = "%Y-%m-%d %H:%M:%S"


# --------------------------------------------------------------------------- the fake API


class Request(NamedTuple):
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]

    @property
    def span(self) -> tuple[str, str]:
        return self.query["date_since"], self.query["date_until"]


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    cut: int | None = None  # send only this many bytes of the body, then close the connection
    length: bool = True  # announce Content-Length (False: the body ends when the socket closes)
    stall: float = 0.0  # seconds of silence before answering


class FakeLogsApi:
    """Serves ``app(request) -> Reply`` on 127.0.0.1 and records every request."""

    def __init__(self, app: Callable[[Request], Reply]) -> None:
        self.app = app
        self.requests: list[Request] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer._handle(self)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            block_on_close = False
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def spans(self) -> list[tuple[str, str]]:
        return [r.span for r in self.requests]

    def _handle(self, h: socketserver.StreamRequestHandler) -> None:
        line = h.rfile.readline(65537).decode("latin-1")
        if not line.strip():
            return
        _method, target, _version = line.split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = h.rfile.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        parts = urlsplit(target)
        req = Request(
            parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)), parts.query, headers
        )
        with self._lock:
            self.requests.append(req)
        try:
            reply = self.app(req)
        except Exception:  # a failing assertion inside the app: answer 599 and remember it
            self.errors.append(traceback.format_exc())
            reply = Reply(599, "test server error")
        if reply.stall:
            time.sleep(reply.stall)
        body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
        if reply.gzip:
            body = gzip.compress(body)
        phrase = http.HTTPStatus(reply.status).phrase if reply.status < 599 else "Test"
        head = [f"HTTP/1.1 {reply.status} {phrase}", "Connection: close"]
        head.append("Content-Type: text/csv; charset=utf-8")
        if reply.gzip:
            head.append("Content-Encoding: gzip")
        if reply.length:
            head.append(f"Content-Length: {len(body)}")
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        payload += body if reply.cut is None else body[: reply.cut]
        try:
            h.wfile.write(payload)
            h.wfile.flush()
        except OSError:
            pass  # the client gave up first (a timeout test)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Request], Reply]], FakeLogsApi]]:
    servers: list[FakeLogsApi] = []

    def start(app: Callable[[Request], Reply]) -> FakeLogsApi:
        server = FakeLogsApi(app)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
        assert not server.errors, server.errors[0]


# --------------------------------------------------------------------------- export bodies


def hours(req: Request) -> list[datetime]:
    since, until = (datetime.strptime(v, FMT) for v in req.span)
    out, t = [], since
    while t <= until:
        out.append(t)
        t += timedelta(hours=1)
    return out


def row_of(t: datetime) -> dict[str, str]:
    return {
        "application_id": "1111",
        "tracking_id": "12345678901234567890",
        "tracker_name": "Аdvertising iOS campaign",
        "attempt_datetime": t.strftime(FMT),
        "attempt_timestamp": str(int(t.replace(tzinfo=UTC).timestamp())),
        "response_code": "400",
        "response_body": f'{{"error": "malformed clickId", "hour": {t.hour}}}',
        "postback_url": f"https://p.example/?click_id=c{t:%d%H}&x=1",
        "notifying_status": "failed",
    }


def export_csv(
    req: Request,
    *,
    bom: bool = False,
    crlf: bool = False,
    rows: list[dict[str, str]] | None = None,
) -> bytes:
    names = req.query["fields"].split(",")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(names)
    for row in rows if rows is not None else [row_of(t) for t in hours(req)]:
        writer.writerow([row.get(n, "") for n in names])
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


def ok(req: Request, **kw: Any) -> Reply:
    return Reply(200, export_csv(req), gzip=True, **kw)


def day_of(req: Request) -> str:
    return req.query["date_since"][:10]


# --------------------------------------------------------------------------- helpers


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def policy(ft: FakeTime, **kw: Any) -> pk.FetchPolicy:
    return pk.FetchPolicy(
        sleep=ft.sleep, clock=ft.clock, jitter=lambda: 0.5, today=lambda: TODAY, **kw
    )


def run(
    server: FakeLogsApi,
    dest: Path,
    since: str = "2024-03-01",
    until: str | None = None,
    ft: FakeTime | None = None,
    retry: dict[str, Any] | None = None,
    **kw: Any,
) -> pk.FetchResult:
    kw.setdefault("token", TOKEN)
    kw.setdefault("poll_interval", 0.01)
    kw.setdefault("progress", False)
    return pk.fetch(
        1111,
        since,
        until or since,
        dest=dest,
        base_url=server.url,
        policy=policy(ft or FakeTime(), **(retry or {})),
        **kw,
    )


def everything_in(folder: Path) -> list[str]:
    """Every entry below ``folder``, hidden temporary files included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def loaded(source: Any) -> pl.DataFrame:
    return pk.load(source, cache=False).collect()


def expected_hours(first: str, days: int = 1) -> list[datetime]:
    start = datetime.fromisoformat(first)
    return [start + timedelta(hours=h) for h in range(24 * days)]


def assert_rows_are_hours(df: pl.DataFrame, first: str, days: int = 1) -> None:
    want = expected_hours(first, days)
    expected = pl.DataFrame(
        {
            "tracking_id": ["12345678901234567890"] * len(want),
            "attempt_timestamp": [t.replace(tzinfo=UTC) for t in want],
            "response_code": [400] * len(want),
            "response_body": [row_of(t)["response_body"] for t in want],
        },
        schema={
            "tracking_id": pl.String,
            "attempt_timestamp": pl.Datetime("us", "UTC"),
            "response_code": pl.Int32,
            "response_body": pl.String,
        },
    )
    got = df.select(expected.columns).sort("attempt_timestamp")
    assert_frame_equal(got, expected)


# --------------------------------------------------------------------------- 202 / 429 / split


def test_polls_202_with_the_identical_request_until_the_file_is_ready(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([10, 40, 80])

    def app(req: Request) -> Reply:
        pct = next(answers, None)
        return Reply(202, f"Progress is {pct}%") if pct is not None else ok(req)

    server = serve(app)
    ft = FakeTime()
    result = run(server, tmp_path / "x", ft=ft, progress=True)

    reqs = server.requests
    assert len(reqs) == 4
    assert {r.raw_query for r in reqs} == {reqs[0].raw_query}
    assert reqs[0].headers.get("cache-control") == "no-cache"
    assert all("cache-control" not in r.headers for r in reqs[1:])
    assert all(r.headers["authorization"] == f"OAuth {TOKEN}" for r in reqs)
    assert all("gzip" in r.headers["accept-encoding"] for r in reqs)
    q = reqs[0].query
    assert reqs[0].path == "/logs/v1/export/postbacks.csv"
    assert q["application_id"] == "1111"
    assert (q["date_since"], q["date_until"]) == ("2024-03-01 00:00:00", "2024-03-01 23:59:59")
    assert q["fields"] == ",".join(DEFAULT_FIELDS)
    assert q["date_dimension"] == "default"
    assert ft.sleeps == pytest.approx([0.01, 0.015, 0.0225])  # growing waits

    assert result.files == (tmp_path / "x" / "postbacks_1111_2024-03-01_2024-03-01.csv.gz",)
    assert result.fetched == result.files and result.reused == ()
    assert result.requests == 4
    assert_rows_are_hours(loaded(result), "2024-03-01")
    assert "preparing 80%" in capsys.readouterr().err  # the progress bar shows the API's progress


@pytest.mark.parametrize(("retry_after", "expected"), [("7", 7.0), (None, 3.0)])
def test_429_waits_then_repeats(
    serve: Any, tmp_path: Path, retry_after: str | None, expected: float
) -> None:
    calls = iter([1])

    def app(req: Request) -> Reply:
        if next(calls, None):
            headers = {"Retry-After": retry_after} if retry_after else {}
            return Reply(429, "Too many requests: 3 exports are queued", headers=headers)
        return ok(req)

    server = serve(app)
    ft = FakeTime()
    result = run(server, tmp_path / "x", ft=ft, retry={"queue_wait": 3.0})
    assert len(server.requests) == 2
    assert ft.sleeps == [pytest.approx(expected * 1.05)]  # jitter 0.5 → +5 %
    assert_rows_are_hours(loaded(result), "2024-03-01")


def test_too_much_data_splits_the_range_down_to_what_the_api_accepts(
    serve: Any, tmp_path: Path
) -> None:
    def app(req: Request) -> Reply:
        if len(hours(req)) > 6:
            return Reply(400, '{"message": "Query is too big. Try to use more parts."}')
        return ok(req)

    server = serve(app)
    dest = tmp_path / "x"
    result = run(server, dest)
    day = "2024-03-01"
    assert server.spans() == [
        (f"{day} 00:00:00", f"{day} 23:59:59"),
        (f"{day} 00:00:00", f"{day} 11:59:59"),
        (f"{day} 00:00:00", f"{day} 05:59:59"),
        (f"{day} 06:00:00", f"{day} 11:59:59"),
        (f"{day} 12:00:00", f"{day} 23:59:59"),
        (f"{day} 12:00:00", f"{day} 17:59:59"),
        (f"{day} 18:00:00", f"{day} 23:59:59"),
    ]
    assert [p.name for p in result] == [
        f"postbacks_1111_{day}T00_{day}T05.csv.gz",
        f"postbacks_1111_{day}T06_{day}T11.csv.gz",
        f"postbacks_1111_{day}T12_{day}T17.csv.gz",
        f"postbacks_1111_{day}T18_{day}T23.csv.gz",
    ]
    assert_rows_are_hours(loaded(result), day)
    assert_rows_are_hours(loaded(dest), day)  # the folder holds exactly the same rows

    again = run(server, dest)  # the split is remembered: nothing is asked again
    assert len(server.requests) == 7
    assert again.files == result.files and again.reused == result.files


def test_multi_day_chunks_are_halved_by_days_first(serve: Any, tmp_path: Path) -> None:
    def app(req: Request) -> Reply:
        if len(hours(req)) > 48:
            return Reply(400, "Try to use more parts.")
        return ok(req)

    server = serve(app)
    result = run(server, tmp_path / "x", "2024-03-01", "2024-03-04", chunk="4d")
    assert server.spans() == [
        ("2024-03-01 00:00:00", "2024-03-04 23:59:59"),
        ("2024-03-01 00:00:00", "2024-03-02 23:59:59"),
        ("2024-03-03 00:00:00", "2024-03-04 23:59:59"),
    ]
    assert [p.name for p in result] == [
        "postbacks_1111_2024-03-01_2024-03-02.csv.gz",
        "postbacks_1111_2024-03-03_2024-03-04.csv.gz",
    ]
    assert_rows_are_hours(loaded(result), "2024-03-01", days=4)


def test_one_hour_that_is_still_too_big_is_a_clear_error(serve: Any, tmp_path: Path) -> None:
    server = serve(lambda req: Reply(400, "Try to use more parts."))
    with pytest.raises(ApiError, match="one hour") as err:
        run(server, tmp_path / "x", chunk="1h")
    assert "filters" in str(err.value)
    assert len(server.requests) == 1
    assert everything_in(tmp_path / "x") == []


# --------------------------------------------------------------------------- transient failures


def test_5xx_is_retried_with_exponential_backoff(serve: Any, tmp_path: Path) -> None:
    answers = iter([Reply(500, "oops"), Reply(503, "<html>busy</html>")])
    server = serve(lambda req: next(answers, None) or ok(req))
    ft = FakeTime()
    result = run(server, tmp_path / "x", ft=ft, retry={"backoff": 1.0})
    assert len(server.requests) == 3
    assert ft.sleeps == pytest.approx([0.75, 1.5])  # 1 s then 2 s, times the jitter factor 0.75
    assert_rows_are_hours(loaded(result), "2024-03-01")


def cut_in_quotes(req: Request) -> Reply:
    body = export_csv(req)
    return Reply(200, body, cut=body.index(b"malformed"), length=False)


def cut_mid_record(req: Request) -> Reply:
    body = export_csv(req)
    return Reply(200, body, cut=body.rindex(b",failed") + 1, length=False)


def cut_mid_utf8(req: Request) -> Reply:
    body = export_csv(req, rows=[{"tracking_id": "1", "tracker_name": "Аdvertising"}])
    return Reply(200, body, cut=body.index("Аd".encode()) + 1, length=False)


def cut_gzip(req: Request, *, length: bool) -> Reply:
    body = gzip.compress(export_csv(req))
    headers = {"Content-Encoding": "gzip"}
    return Reply(200, body, headers=headers, cut=len(body) // 2, length=length)


BROKEN: dict[str, Callable[[Request], Reply]] = {
    # Content-Length announced, then the connection closes half-way
    "dropped mid-body": lambda req: cut_gzip(req, length=True),
    # no Content-Length: the body "ends" when the socket closes, only the gzip stream can tell
    "truncated gzip": lambda req: cut_gzip(req, length=False),
    "cut inside quotes": cut_in_quotes,
    "cut mid-record": cut_mid_record,
    "cut mid-character": cut_mid_utf8,
    "empty body": lambda req: Reply(200, b""),
    "not the export": lambda req: Reply(200, "<html><body>Maintenance</body></html>\n"),
    "500": lambda req: Reply(500, '{"message": "Internal error"}'),
    "stalled": lambda req: Reply(200, b"", stall=1.5),  # longer than the read timeout
}


@pytest.mark.parametrize("how", list(BROKEN))
def test_a_broken_answer_is_retried_and_the_file_is_complete(
    serve: Any, tmp_path: Path, how: str
) -> None:
    first = iter([True])
    server = serve(lambda req: BROKEN[how](req) if next(first, False) else ok(req))
    dest = tmp_path / "x"
    result = run(server, dest, retry={"read_timeout": 0.3})
    assert len(server.requests) == 2
    assert everything_in(dest) == ["postbacks_1111_2024-03-01_2024-03-01.csv.gz"]
    assert_rows_are_hours(loaded(result), "2024-03-01")


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("dropped mid-body", "connection broke"),
        ("truncated gzip", "gzip data stops"),
        ("cut inside quotes", "inside a quoted value"),
        ("cut mid-record", "last record has"),
        ("cut mid-character", "UTF-8"),
        ("not the export", "lacks the requested field"),
        ("500", "HTTP 500: Internal error"),
        ("stalled", "Timeout"),
    ],
)
def test_persistent_failures_end_in_an_error_and_leave_nothing_partial(
    serve: Any, tmp_path: Path, how: str, says: str
) -> None:
    server = serve(BROKEN[how])
    dest = tmp_path / "x"
    with pytest.raises(ApiError) as err:
        run(server, dest, retry={"retries": 2, "read_timeout": 0.3})
    assert len(server.requests) == 3
    assert says in str(err.value)
    assert "run the same fetch again" in str(err.value)
    assert everything_in(dest) == []


def test_an_export_that_never_gets_ready_stops_after_max_wait(serve: Any, tmp_path: Path) -> None:
    server = serve(lambda req: Reply(202, "Progress is 3%"))
    ft = FakeTime()
    with pytest.raises(ApiError, match="not ready after 10 s") as err:
        run(server, tmp_path / "x", ft=ft, poll_interval=1.0, max_wait=10)
    assert "Progress is 3%" not in str(err.value) and "preparing 3%" in str(err.value)
    assert sum(ft.sleeps) == pytest.approx(10)  # the last check happens at the limit, not later
    assert len(server.requests) == len(ft.sleeps) + 1
    assert everything_in(tmp_path / "x") == []


# --------------------------------------------------------------------------- final errors


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (
            401,
            '{"errors":[{"error_type":"invalid_token","message":"Invalid oauth_token '
            + TOKEN
            + '"}],"code":401,"message":"Invalid oauth_token '
            + TOKEN
            + '"}',
            ["did not accept the token", "401", "--token-file", "Invalid oauth_token ***"],
        ),
        (
            403,
            '{"message": "Access denied"}',
            ["no access to application 1111", "403", "Access denied", "address bar"],
        ),
        (
            400,
            '{"message": "Wrong parameter: fields, unknown field attribution_touch_type"}',
            ["rejected a field", "attribution_touch_type"],
        ),
        (
            400,
            "Incorrect date_since format, expected yyyy-mm-dd hh:mm:ss",
            ["rejected the dates", "YYYY-MM-DD", "Incorrect date_since format"],
        ),
        (404, "not found", ["check base_url"]),
    ],
)
def test_refusals_say_what_to_fix_and_never_show_the_token(
    serve: Any, tmp_path: Path, status: int, body: str, says: list[str]
) -> None:
    server = serve(lambda req: Reply(status, body))
    fields = [*DEFAULT_FIELDS, "attribution_touch_type"]
    with pytest.raises(ApiError) as err:
        run(server, tmp_path / "x", fields=fields)
    text = str(err.value)
    for part in says:
        assert part in text
    assert err.value.status == status
    assert TOKEN not in text
    assert TOKEN not in "".join(traceback.format_exception(err.value))
    assert TOKEN not in repr(err.value)
    assert len(server.requests) == 1  # a refusal is final: no retry
    assert everything_in(tmp_path / "x") == []


def test_arguments_are_checked_before_any_request(serve: Any, tmp_path: Path) -> None:
    server = serve(ok)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"fields": ["tracking_id", "respose_code"]}, "did you mean 'response_code'"),
        ({"fields": "tracking_id,click_idd"}, "did you mean 'click_id'"),
        ({"filters": {"trackingid": 5}}, "did you mean 'tracking_id'"),
        ({"filters": ["response_code"]}, "field=value"),
        ({"filters": {"application_id": 5}}, "cannot be a filter"),
        ({"since": "01.03.2024"}, "YYYY-MM-DD"),
        ({"since": "2024-03-05", "until": "2024-03-01"}, "after until"),
        ({"date_dimension": "recieve"}, "did you mean 'receive'"),
        ({"chunk": "2x"}, "not a duration"),
        ({"chunk": "30m"}, "not a duration"),
        ({"base_url": "http://api.example.com"}, "unencrypted"),
        ({"token": "two words"}, "not a valid OAuth token"),
    ]
    for kw, says in cases:
        kw = {"base_url": server.url, "token": TOKEN, "since": "2024-03-01", **kw}
        kw.setdefault("until", kw["since"])
        with pytest.raises(ConfigError, match=says):
            pk.fetch(1111, dest=tmp_path / "x", policy=policy(FakeTime()), **kw)
    with pytest.raises(ConfigError, match="not a number"):
        pk.fetch("app-1", "2024-03-01", "2024-03-01", dest=tmp_path / "x", token=TOKEN)
    assert server.requests == []


# --------------------------------------------------------------------------- CSV quirks


@pytest.mark.parametrize("gz", [True, False])
def test_bom_crlf_and_quoted_newlines_load_exactly(serve: Any, tmp_path: Path, gz: bool) -> None:
    bodies = [
        '{"Message":"malformed clickId","Status":400}',
        "<html>\r\n<title>502 Bad Gateway</title>\r\n</html>",
        'success=false; err_msg="bad, very bad"',
        "",
    ]
    rows = [
        {"tracking_id": f"1234567890123456789{i}", "response_code": code, "response_body": b}
        for i, (code, b) in enumerate(zip(["400", "502", "200", ""], bodies, strict=True))
    ]

    def app(req: Request) -> Reply:
        return Reply(200, export_csv(req, bom=True, crlf=True, rows=rows), gzip=gz)

    server = serve(app)
    result = run(server, tmp_path / "x", fields=["tracking_id", "response_code", "response_body"])
    assert result.files[0].name.endswith(".csv.gz" if gz else ".csv")
    expected = pl.DataFrame(
        {
            "tracking_id": [r["tracking_id"] for r in rows],
            "response_code": [400, 502, 200, None],
            "response_body": [*bodies[:3], None],
        },
        schema={"tracking_id": pl.String, "response_code": pl.Int32, "response_body": pl.String},
    )
    assert_frame_equal(loaded(result).select(expected.columns), expected)


# --------------------------------------------------------------------------- resumption


def test_an_interrupted_fetch_resumes_without_asking_for_finished_chunks(
    serve: Any, tmp_path: Path
) -> None:
    dest = tmp_path / "x"
    broken = serve(
        lambda req: Reply(403, "Access denied") if day_of(req) == "2024-03-03" else ok(req)
    )
    with pytest.raises(ApiError, match="403"):
        run(broken, dest, "2024-03-01", "2024-03-04")
    assert everything_in(dest) == [
        "postbacks_1111_2024-03-01_2024-03-01.csv.gz",
        "postbacks_1111_2024-03-02_2024-03-02.csv.gz",
    ]

    server = serve(ok)
    result = run(server, dest, "2024-03-01", "2024-03-04")
    assert [day_of(r) for r in server.requests] == ["2024-03-03", "2024-03-04"]
    assert [p.name[15:25] for p in result.reused] == ["2024-03-01", "2024-03-02"]
    assert [p.name[15:25] for p in result.fetched] == ["2024-03-03", "2024-03-04"]
    assert_rows_are_hours(loaded(result), "2024-03-01", days=4)


def test_recent_days_are_fetched_again_older_ones_reused(serve: Any, tmp_path: Path) -> None:
    dest = tmp_path / "x"
    first = serve(ok)
    run(first, dest, "2024-03-10", "2024-03-12", refetch_recent_days=9)  # TODAY is 2024-03-20
    assert len(first.requests) == 3

    server = serve(ok)
    result = run(server, dest, "2024-03-10", "2024-03-12", refetch_recent_days=9)
    assert [day_of(r) for r in server.requests] == ["2024-03-11", "2024-03-12"]
    assert all(r.headers.get("cache-control") == "no-cache" for r in server.requests)
    assert [p.name[15:25] for p in result.reused] == ["2024-03-10"]
    assert len(result) == 3
    assert_rows_are_hours(loaded(dest), "2024-03-10", days=3)


def test_a_split_day_resumes_at_the_missing_piece(serve: Any, tmp_path: Path) -> None:
    dest = tmp_path / "x"

    def too_big(req: Request) -> Reply:
        if len(hours(req)) > 12:
            return Reply(400, "Try to use more parts.")
        if req.query["date_since"].endswith("12:00:00"):
            return Reply(403, "Access denied")
        return ok(req)

    with pytest.raises(ApiError):
        run(serve(too_big), dest)
    assert everything_in(dest) == ["postbacks_1111_2024-03-01T00_2024-03-01T11.csv.gz"]

    server = serve(lambda req: too_big(req) if len(hours(req)) > 12 else ok(req))
    result = run(server, dest)
    assert server.spans() == [("2024-03-01 12:00:00", "2024-03-01 23:59:59")]
    assert len(result) == 2 and len(result.reused) == 1

    # Once the day is recent again, it is fetched again in the same pieces, without first
    # asking for the whole day the API refused.
    again = serve(ok)
    run(again, dest, refetch_recent_days=30)
    assert again.spans() == [
        ("2024-03-01 00:00:00", "2024-03-01 11:59:59"),
        ("2024-03-01 12:00:00", "2024-03-01 23:59:59"),
    ]
    assert_rows_are_hours(loaded(dest), "2024-03-01")


def test_superseded_pieces_are_removed_when_the_day_comes_whole(serve: Any, tmp_path: Path) -> None:
    dest = tmp_path / "x"
    run(
        serve(
            lambda req: Reply(400, "Try to use more parts.") if len(hours(req)) > 12 else ok(req)
        ),
        dest,
    )
    assert len(everything_in(dest)) == 2
    # A stale whole-day file beside one piece (as an older run could leave): the refetch writes
    # the pieces, and the whole-day file, which would double the rows in load(dest), goes.
    (dest / "postbacks_1111_2024-03-01T12_2024-03-01T23.csv.gz").rename(
        dest / "postbacks_1111_2024-03-01_2024-03-01.csv.gz"
    )
    server = serve(ok)
    result = run(server, dest, refetch_recent_days=30)
    assert server.spans() == [
        ("2024-03-01 00:00:00", "2024-03-01 11:59:59"),
        ("2024-03-01 12:00:00", "2024-03-01 23:59:59"),
    ]
    assert everything_in(dest) == sorted(p.name for p in result)


# --------------------------------------------------------------------------- names and tokens


def test_filters_and_fields_change_the_file_name_never_with_the_token(
    serve: Any, tmp_path: Path
) -> None:
    server = serve(ok)
    dest = tmp_path / "x"
    a = run(server, dest, filters={"response_code": 400}, fields=["tracking_id", "response_code"])
    b = run(server, dest, filters=["response_code=500"], fields=["tracking_id", "response_code"])
    c = run(server, dest, date_dimension="receive")
    assert server.requests[0].query["response_code"] == "400"
    assert server.requests[1].query["response_code"] == "500"
    assert server.requests[0].query["fields"] == "tracking_id,response_code"
    assert server.requests[2].query["date_dimension"] == "receive"
    names = [r.files[0].name for r in (a, b, c)]
    assert len(set(names)) == 3
    assert all(n.startswith("postbacks_1111_2024-03-01_2024-03-01_") for n in names)
    assert all(TOKEN not in n for n in names)


def test_the_token_lands_nowhere(
    serve: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("POSTBACK_KIT_CACHE_DIR", str(cache))
    answers = iter([Reply(202, "Progress is 50%"), Reply(500, "busy"), Reply(429, "queued")])

    def app(req: Request) -> Reply:
        if len(hours(req)) > 12:
            return Reply(400, "Try to use more parts.")
        return next(answers, None) or ok(req)

    server = serve(app)
    dest = tmp_path / "x"
    caplog.set_level(logging.DEBUG)
    result = run(server, dest, "2024-03-01", "2024-03-02", progress=True)
    frame, report = pk.load(result, report=True)  # fills the Parquet cache
    assert frame.collect().height == 48
    with pytest.raises(ApiError):
        run(serve(lambda req: Reply(401, f"bad token {TOKEN}")), dest, "2024-03-03")

    assert all(r.headers["authorization"] == f"OAuth {TOKEN}" for r in server.requests)
    needle = TOKEN.encode()
    files = [p for folder in (dest, cache) for p in folder.rglob("*")]
    assert len([p for p in files if p.is_file()]) >= 5
    for p in files:
        assert TOKEN not in str(p)
        if p.is_file():
            assert needle not in p.read_bytes(), p
            if p.suffix == ".gz":
                assert needle not in gzip.decompress(p.read_bytes())
    out, err = capfd.readouterr()
    assert "preparing 50%" in err  # the bar really was drawn
    assert any("retry" in r.getMessage() for r in caplog.records)  # and logs were written
    for text in (out, err, caplog.text, repr(result), str(result), str(result.to_dict())):
        assert TOKEN not in text
    assert TOKEN not in repr(report) + report.summary()


def test_the_token_is_no_local_of_the_frames_an_error_shows(serve: Any, tmp_path: Path) -> None:
    """IPython's verbose tracebacks print every frame's locals: the package's frames hold the
    token wrapped, from the first line of ``fetch`` and ``fetch_and_load`` on."""
    import traceback

    server = serve(lambda req: Reply(403, "Access denied"))
    pasted = f"{TOKEN} {TOKEN}"  # two words: refused before any request
    calls = [
        lambda: run(server, tmp_path / "a"),
        lambda: run(server, tmp_path / "c", token=pasted),
        lambda: fetch_and_load(
            1111,
            "2024-03-01",
            "2024-03-01",
            dest=tmp_path / "b",
            token=TOKEN,
            base_url=server.url,
            poll_interval=0.01,
            progress=False,
        ),
    ]
    for call in calls:
        with pytest.raises((ApiError, ConfigError)) as err:
            call()
        frames = [
            frame
            for frame, _ in traceback.walk_tb(err.value.__traceback__)
            if "postback_kit" in frame.f_code.co_filename
        ]
        assert {f.f_code.co_name for f in frames} >= {"fetch"}
        for frame in frames:
            assert TOKEN not in repr(frame.f_locals), frame.f_code.co_name


def test_a_logged_traceback_or_stack_is_cleaned_too(caplog: pytest.LogCaptureFixture) -> None:
    from postback_kit.api.token import _REDACT, log

    caplog.set_level(logging.DEBUG)
    _REDACT.secrets.append(TOKEN)  # as during a fetch
    try:
        try:
            raise ValueError(f"refused OAuth {TOKEN}")
        except ValueError:
            log.exception("request failed", stack_info=True)
    finally:
        _REDACT.secrets.remove(TOKEN)
    assert "ValueError: refused OAuth ***" in caplog.text
    assert "Stack (most recent call last)" in caplog.text
    assert TOKEN not in caplog.text


def test_token_from_environment_or_file_and_a_clear_error_without(
    serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(ok)
    dest = tmp_path / "x"
    monkeypatch.delenv("APPMETRICA_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="APPMETRICA_TOKEN") as err:
        run(server, dest, token=None)
    assert "--token-file" in str(err.value)

    monkeypatch.setenv("APPMETRICA_TOKEN", "env-token-1")
    run(server, dest, token=None, refetch_recent_days=10_000)
    secret = tmp_path / "secret"
    secret.write_text("OAuth file-token-2\n")
    run(server, dest, token="", token_file=secret, refetch_recent_days=10_000)
    seen = [r.headers["authorization"] for r in server.requests]
    assert seen == ["OAuth env-token-1", "OAuth file-token-2"]

    inside = dest / "token.txt"
    inside.write_text("t")
    with pytest.raises(ConfigError, match="inside the export folder"):
        run(server, dest, token=None, token_file=inside)
    bad = tmp_path / "bad"
    bad.write_text("abc def\n")
    with pytest.raises(ConfigError, match="not a valid OAuth token") as err:
        run(server, dest, token=None, token_file=bad)
    assert "abc def" not in str(err.value)


def test_load_reads_the_result_and_the_folder_alike(serve: Any, tmp_path: Path) -> None:
    dest = tmp_path / "x"
    result = run(serve(ok), dest, "2024-03-01", "2024-03-02")
    assert list(result) == sorted(dest.iterdir()) and len(result) == 2 and result[0] in result
    assert_frame_equal(loaded(result), loaded(dest))
    assert result.to_dict()["files"] == [str(p) for p in result.files]
    assert "2 file(s)" in result.summary()


def test_concurrent_fetches_keep_at_most_three_exports_of_an_application_in_flight(
    serve: Any, tmp_path: Path
) -> None:
    lock = threading.Lock()
    polls: dict[str, int] = {}
    in_flight: set[str] = set()
    most = [0]

    def app(req: Request) -> Reply:
        with lock:
            polls[req.raw_query] = polls.get(req.raw_query, 0) + 1
            if polls[req.raw_query] <= 3:
                in_flight.add(req.raw_query)
                most[0] = max(most[0], len(in_flight))
                return Reply(202, "Progress is 1%")
            in_flight.discard(req.raw_query)
        return ok(req)

    server = serve(app)
    errors: list[BaseException] = []

    def one(day: int) -> None:
        try:
            pk.fetch(
                1111,
                f"2024-03-{day:02d}",
                f"2024-03-{day:02d}",
                dest=tmp_path / f"d{day}",
                token=TOKEN,
                base_url=server.url,
                poll_interval=0.02,
                progress=False,
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(d,)) for d in range(1, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(server.requests) == 7 * 4
    assert 1 <= most[0] <= 3


# --------------------------------------------------------------------------- command line


def test_cli_fetch(serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = iter([True])
    server = serve(lambda req: Reply(202, "Progress is 5%") if next(first, False) else ok(req))
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    dest = tmp_path / "exports"
    argv = [
        "fetch",
        "--application-id", "1111",
        "--since", "2024-03-01",
        "--until", "2024-03-02",
        "--fields", "tracking_id,response_code", "attempt_timestamp", "response_body",
        "--filter", "response_code=400",
        "--date-dimension", "receive",
        "--dest", str(dest),
        "--token-file", str(secret),
        "--base-url", server.url,
        "--poll-interval", "0.001",
        "--max-wait", "30",
    ]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "2 file(s)" in out and "postbacks_1111_2024-03-01_2024-03-01_" in out
    assert TOKEN not in out + err
    q = server.requests[0].query
    assert q["fields"] == "tracking_id,response_code,attempt_timestamp,response_body"
    assert q["response_code"] == "400" and q["date_dimension"] == "receive"
    assert len(server.requests) == 3  # one 202, then the two days
    assert_rows_are_hours(loaded(dest), "2024-03-01", days=2)


def test_cli_fetch_errors_exit_2_without_the_token(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(lambda req: Reply(401, f"Invalid token {TOKEN}"))
    monkeypatch.setenv("APPMETRICA_TOKEN", TOKEN)
    base = ["fetch", "--application-id", "1111", "--since", "2024-03-01", "--until", "2024-03-01"]
    argv = [*base, "--dest", str(tmp_path / "x"), "--base-url", server.url]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "did not accept the token" in err and "Invalid token ***" in err
    assert TOKEN not in err
    assert main([*argv, "--fields", "respons_code"]) == 2
    assert "did you mean 'response_code'" in capsys.readouterr().err
    assert len(server.requests) == 1


# --------------------------------------------------------------------------- the body check


cell = st.text(alphabet=st.sampled_from('ab,"\n\r é€'), max_size=6)
table = st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=6)


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["tracking_id", "response_code", "response_body"])
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def check(data: bytes, blocks: int = 7) -> None:
    body = _BodyCheck(["tracking_id", "response_code", "response_body"])
    for i in range(0, len(data), blocks):
        body.feed(data[i : i + blocks])
    body.finish()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(rows=table, cut=st.floats(0, 1), block=st.integers(1, 50))
def test_body_check_accepts_complete_exports_and_rejects_cut_gzip(
    rows: list[list[str]], cut: float, block: int
) -> None:
    data = csv_bytes(rows)
    check(data, block)
    check(gzip.compress(data), block)
    packed = gzip.compress(data)
    at = int(cut * (len(packed) - 1))
    with pytest.raises(_BodyError):
        check(packed[:at], block)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(rows=table, cut=st.floats(0, 1))
def test_body_check_rejects_text_cut_inside_quotes_or_characters(
    rows: list[list[str]], cut: float
) -> None:
    data = csv_bytes(rows)
    at = int(cut * len(data))
    prefix = data[:at]
    inside_quotes = prefix.count(b'"') % 2 == 1
    try:
        prefix.decode("utf-8")
        mid_char = False
    except UnicodeDecodeError:
        mid_char = True
    header_only = b"\n" not in prefix
    if inside_quotes or mid_char or (header_only and at < len(data.split(b"\n")[0])):
        with pytest.raises(_BodyError):
            check(prefix)
    elif prefix.endswith(b"\n"):
        check(prefix)  # a cut exactly at a record boundary is a complete, shorter export


def test_fetch_and_load_takes_what_a_form_gives(
    serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook form's call: an empty password field falls back to the environment, the
    filters come from a text area, dates from date pickers."""
    server = serve(ok)
    monkeypatch.setenv("APPMETRICA_TOKEN", TOKEN)
    fetched, (frame, report) = fetch_and_load(
        "1111",
        date(2024, 3, 1),
        date(2024, 3, 1),
        dest=tmp_path / "x",
        token="",
        filters="response_code=400\n\ntracking_id=12345678901234567890\n",
        base_url=server.url,
        poll_interval=0.01,
        progress=False,
    )
    q = server.requests[0].query
    assert (q["response_code"], q["tracking_id"]) == ("400", "12345678901234567890")
    assert server.requests[0].headers["authorization"] == f"OAuth {TOKEN}"
    assert report.rows_loaded == 24 and [f.path for f in report.files] == [str(p) for p in fetched]
    assert_rows_are_hours(frame.collect(), "2024-03-01")
