"""A real JupyterLab in Debian's headless Chromium, driven by Playwright.

Fixtures (every test here is marked ``browser`` automatically):

- ``browser``: one Chromium per session (``/usr/bin/chromium``; ``make browser`` installs it).
- ``offline_page``: a fresh page that may load ``file://`` only; every other request is aborted
  and recorded. ``offline_page.page.goto(path.as_uri())`` then ``offline_page.assert_clean()``.
- ``lab_server``: one JupyterLab per session on a free port with a random token, serving a
  temporary copy of ``notebooks/`` and ``data/`` (JupyterLab autosaves into what it opens), news
  and update checks off, its own settings/workspace folders.
- ``lab``: a :class:`Lab` page on that server, kernels shut down after the test::

      def test_something(lab):
          lab.open("00_smoke.ipynb")          # waits for the kernel to be idle (status bar)
          lab.run_all()                       # Run All, wait until every cell ran, no errors
          charts = lab.charts(2)              # chart frames drawn; list of ChartInfo
          lab.select("Tracker", "t2")         # an ipywidgets Dropdown, by its label
          lab.screenshot("smoke")             # artifacts/screenshots/<test>-smoke.png
          lab.watch.assert_clean()            # no page errors, no console errors

Chart frames are found with :func:`chart_frames` / :func:`wait_for_charts`, which work on any
page (JupyterLab or an exported HTML file).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.notebook_helpers import seed_chart_cache

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("POSTBACK_KIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The same overrides as `make lab` (no news, no update checks).
LAB_OVERRIDES = ROOT / "scripts" / "lab-overrides.json"
# Data marks drawn by vega (axes, legends and titles have other roles).
_MARKS_JS = "document.querySelectorAll('svg g.role-mark > *').length"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            # A page that never answers must fail the test, not hang the suite.
            item.add_marker(pytest.mark.timeout(300))


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make browser` (installs Debian's chromium) "
            "or set POSTBACK_KIT_CHROMIUM. Never `playwright install`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageWatch:
    """A page and everything that went wrong on it: JS errors, console errors, failed requests."""

    page: Any
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self) -> PageWatch:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        self.page.on("dialog", on_dialog)
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        self.page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        self.page.on(
            "requestfailed",
            lambda req: self.failed_requests.append(f"{req.url} ({req.failure})"),
        )
        return self

    def assert_clean(self, *, ignore_console: tuple[str, ...] = ()) -> None:
        """No JavaScript error, no console error (unless matched by ``ignore_console``), no
        failed or blocked request, no alert/confirm dialog."""
        console = [
            m for m in self.console_errors if not any(re.search(p, m) for p in ignore_console)
        ]
        problems = {
            "page errors": self.page_errors,
            "console errors": console,
            "failed requests": self.failed_requests,
            "blocked requests": self.blocked_requests,
            "dialogs": self.dialogs,
        }
        assert not any(problems.values()), json.dumps(problems, indent=2)


@pytest.fixture
def offline_page(browser: Any) -> Iterator[PageWatch]:
    """A page that can load file:// URLs and nothing else (every other request is recorded)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watch = PageWatch(context.new_page()).attach()

    def route(r: Any) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            watch.blocked_requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    # Anything that executes in a chart frame and reports to the page ends up here.
    context.add_init_script(
        "window.__pbkMessages = [];"
        "window.addEventListener('message', e => window.__pbkMessages.push(e.data));"
    )
    yield watch
    context.close()


# --------------------------------------------------------------------------- charts on a page


@dataclass
class ChartInfo:
    """What a drawn chart frame shows: its title, its Vega-Lite spec and its data marks."""

    frame: Any
    title: str
    spec: dict[str, Any]
    marks: int
    svg: str

    def hover_mark(self, index: int = 0) -> str:
        """Hover a data mark; return the tooltip's text ('' when there is none)."""
        marks = self.frame.locator("svg g.role-mark > *")
        tip = self.frame.locator("#vg-tooltip-element.visible")
        # The mark asked for first; a loaded machine or a mark without a tooltip (a rule, a
        # label, a zero-height bar) gets the next marks, so the check is about tooltips at all.
        candidates = [index, *[i for i in range(min(marks.count(), 40)) if i != index]]
        for i in candidates:
            marks.nth(i).hover(force=True)
            try:
                tip.wait_for(timeout=5_000 if i == index else 1_500)
            except Exception:
                continue
            return str(tip.inner_text())
        tip.wait_for(timeout=5_000)
        return str(tip.inner_text())


def chart_frames(page: Any) -> list[Any]:
    """The Playwright frames of the postback_kit charts currently on ``page``."""
    frames = []
    for handle in page.locator("iframe.pbk-chart-frame").element_handles():
        frame = handle.content_frame()
        if frame is not None:
            frames.append(frame)
    return frames


def wait_for_charts(page: Any, count: int, *, timeout: float = 60.0) -> list[ChartInfo]:
    """Wait until at least ``count`` chart frames are drawn (data marks in an SVG or a canvas).

    Fails with what was found when a chart reports an error or the time runs out.
    """
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        seen = []
        infos = []
        for frame in chart_frames(page):
            try:
                state = frame.evaluate("document.body && document.body.dataset.pbkState")
                if state == "error":
                    text = frame.evaluate("document.body.innerText")
                    raise AssertionError(f"a chart failed to draw: {text}")
                marks = int(frame.evaluate(_MARKS_JS)) if state == "rendered" else 0
                canvas = frame.evaluate("!!document.querySelector('#pbk-vis canvas')")
            except AssertionError:
                raise
            except Exception as exc:  # a frame replaced while we looked at it
                seen.append(f"gone: {exc.__class__.__name__}")
                continue
            seen.append(f"{state}, {marks} marks")
            if state == "rendered" and (marks > 0 or canvas):
                infos.append(
                    ChartInfo(
                        frame=frame,
                        title=str(frame.evaluate("document.title")),
                        spec=json.loads(frame.locator("#pbk-spec").text_content() or "{}"),
                        marks=marks,
                        svg=str(
                            frame.evaluate(
                                "(document.querySelector('#pbk-vis svg') || {}).outerHTML || ''"
                            )
                        ),
                    )
                )
        if len(infos) >= count:
            return infos
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} drawn charts, found: {seen}")
        time.sleep(0.2)


def screenshot(page: Any, request: pytest.FixtureRequest, name: str) -> Path:
    """Save a full-page screenshot as a test artifact under artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    path = SCREENSHOTS / f"{test}-{name}.png"
    # Chromium paints sandboxed (out-of-process) frames only inside the viewport: grow the
    # viewport to the whole page for the shot, then put it back.
    viewport = page.viewport_size
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    if viewport and height > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": min(height, 16_000)})
    # Two animation frames so that the page has painted at its new size (bounded: a hidden
    # page gets no animation frames).
    page.evaluate(
        "new Promise(r => { requestAnimationFrame(() => requestAnimationFrame(r));"
        " setTimeout(r, 1000); })"
    )
    page.screenshot(path=str(path), full_page=True)
    if viewport:
        page.set_viewport_size(viewport)
    return path


# --------------------------------------------------------------------------- JupyterLab


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    log: Path

    def api(self, method: str, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def notebook_with(self, notebook: str, **parameters: Any) -> str:
        """A copy of ``notebook`` with ``parameters`` injected (as papermill does); its name.

        Open it with ``lab.open(name)``: the notebook then runs on those values in JupyterLab.
        """
        import papermill

        source = self.root / "notebooks" / notebook
        tag = secrets.token_hex(3)
        target = source.with_name(f"{source.stem}-{tag}{source.suffix}")
        papermill.execute_notebook(
            str(source), str(target), parameters=parameters, prepare_only=True, progress_bar=False
        )
        return str(target.relative_to(self.root / "notebooks"))

    def shutdown_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory, chart_cache: Path) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("lab")
    seed_chart_cache(chart_cache, base / "cache")
    root = base / "root"
    root.mkdir()
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".*"))
    if (ROOT / "data").is_dir():
        shutil.copytree(ROOT / "data", root / "data")
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    shutil.copy(LAB_OVERRIDES, config / "labconfig" / "default_setting_overrides.json")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "POSTBACK_KIT_CACHE_DIR": str(base / "cache"),
    }
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root / 'notebooks'}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = base / "lab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
        )  # same process group as pytest: a killed test run takes the server with it
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                server.api("GET", "/api/status")
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in 60 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.25)
        yield server
    finally:
        with contextlib.suppress(OSError, urllib.error.URLError):
            server.shutdown_kernels()
        proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down on the way out
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class Lab:
    """One JupyterLab browser page and the helpers to drive a notebook in it."""

    def __init__(self, server: LabServer, watch: PageWatch, request: pytest.FixtureRequest):
        self.server = server
        self.watch = watch
        self.page = watch.page
        self._request = request

    def open(self, notebook: str, *, timeout: float = 90.0) -> None:
        """Open ``notebook`` (a path under notebooks/) and wait until its kernel is idle."""
        self.page.goto(f"{self.server.url}/lab/tree/{notebook}?reset&token={self.server.token}")
        self.page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=timeout * 1000)
        self.wait_kernel_idle(timeout=timeout)

    def wait_kernel_idle(self, *, timeout: float = 90.0) -> None:
        """Wait for the *status bar* to say the kernel is idle (the toolbar says so too early)."""
        self.page.wait_for_function(
            """() => Array.from(document.querySelectorAll('#jp-main-statusbar *')).some(
                 el => el.children.length === 0 && /\\|\\s*Idle\\s*$/.test(el.textContent))""",
            timeout=timeout * 1000,
        )

    def run_all(self, *, timeout: float = 120.0) -> None:
        """Run All Cells, wait for every code cell to have run, fail on an error output."""
        # Not awaited: the command's promise waits for any dialog it opens.
        self.page.evaluate(
            "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )
        self.wait_until_done(timeout=timeout)
        errors = self.output_errors()
        assert not errors, "cells raised:\n" + "\n".join(errors)

    def wait_until_done(self, *, timeout: float = 120.0) -> None:
        """Wait until every code cell has an execution count and the kernel is idle again."""
        self.page.wait_for_function(
            """() => {
                const nb = window.jupyterapp.shell.currentWidget;
                if (!nb || !nb.content || !nb.sessionContext.session) return false;
                const cells = nb.content.widgets.filter(c => c.model.type === 'code');
                const ran = cells.every(c => c.model.executionCount !== null);
                const busy = Array.from(document.querySelectorAll('.jp-InputPrompt'))
                  .some(p => p.textContent.includes('*'));
                return ran && !busy && nb.sessionContext.session.kernel.status === 'idle';
            }""",
            timeout=timeout * 1000,
        )
        self.wait_kernel_idle(timeout=timeout)

    def output_errors(self) -> list[str]:
        """Tracebacks shown in the notebook's outputs."""
        return [
            str(t)
            for t in self.page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
            ).all_inner_texts()
        ]

    def select(self, label: str, option: str) -> None:
        """Choose ``option`` (by its label) in the ipywidgets Dropdown labelled ``label``."""
        dropdown = self.page.locator(".widget-dropdown").filter(
            has=self.page.locator("label", has_text=label)
        )
        dropdown.locator("select").select_option(label=option)

    def charts(self, count: int, *, timeout: float = 60.0) -> list[ChartInfo]:
        """Wait for ``count`` drawn chart frames in the notebook and return them in page order."""
        return wait_for_charts(self.page, count, timeout=timeout)

    def screenshot(self, name: str, *, show: Any = None) -> Path:
        """A screenshot under artifacts/screenshots/ (kept as a test artifact), after scrolling
        ``show`` (a locator, e.g. the last output) into view."""
        if show is not None:
            show.scroll_into_view_if_needed()
        return screenshot(self.page, self._request, name)


@pytest.fixture
def lab(browser: Any, lab_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Lab]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    watch = PageWatch(context.new_page()).attach()
    try:
        yield Lab(lab_server, watch, request)
    finally:
        context.close()
        lab_server.shutdown_kernels()
