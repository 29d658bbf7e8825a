"""Helpers for real-browser tests (headless Chromium through Playwright) — reusable by any page.

- :func:`launch` starts the system's Chromium (never a downloaded browser);
- :class:`PageWatch` records console errors, uncaught page errors, failed requests and any
  request that leaves the machine (the product must work without internet);
- :class:`LiveServer` serves a real app with waitress in a thread on a free port;
- :class:`RedisProcess` runs a ``redis-server`` that the test owns, to kill and restart it;
- :func:`wait_until` polls a condition with a generous bound instead of sleeping blindly;
- :func:`map_settled` waits until the Leaflet maps of a page have stopped moving;
- :func:`slow_down` makes a page's CPU N times slower when ``CITYGRID_TEST_CPU_THROTTLE=N`` is set:
  a race that a loaded 2-core CI machine hits now and then shows on a fast machine at once
  (``CITYGRID_TEST_CPU_THROTTLE=6 pytest tests/test_wall_browser.py``).

The fixtures built on these live in ``tests/conftest_browser.py``.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from urllib.parse import urlparse

from tests.helpers import wait_until  # noqa: F401 - re-exported for the browser tests

CHROMIUM = os.environ.get("CITYGRID_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slow_down(page) -> None:
    """Throttle ``page``'s CPU by ``CITYGRID_TEST_CPU_THROTTLE`` (Chromium's DevTools emulation; unset: no-op)."""
    text = os.environ.get("CITYGRID_TEST_CPU_THROTTLE") or "1"
    try:
        rate = float(text)
    except ValueError:
        raise ValueError(f"CITYGRID_TEST_CPU_THROTTLE={text!r} must be a number (a slow-down factor, like 6)") from None
    if rate > 1:
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": rate})


def launch(playwright, **options):
    """The installed Chromium, headless."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **options)


@dataclass
class PageWatch:
    """Everything a page did wrong: console errors, page errors, failed and external requests."""

    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)
    external_requests: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)
    server_errors: list = field(default_factory=list)

    def attach(self, page) -> "PageWatch":
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("requestfailed", lambda r: self.failed_requests.append(f"{r.url} {r.failure}"))
        page.on("request", self._request)
        page.on("dialog", self._dialog)
        page.on("response", lambda r: self.server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        return self

    def _request(self, request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("http://", "https://")) and host not in LOCAL_HOSTS:
            self.external_requests.append(request.url)

    def _dialog(self, dialog) -> None:
        # An alert() would mean injected script ran; record it and get it out of the way.
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def problems(self, ignore=()) -> list[str]:
        """Every recorded problem, minus those containing one of ``ignore``."""
        found = ([f"console: {e}" for e in self.console_errors] + [f"page: {e}" for e in self.page_errors]
                 + [f"external: {u}" for u in self.external_requests] + [f"dialog: {d}" for d in self.dialogs]
                 + [f"server: {e}" for e in self.server_errors])
        return [p for p in found if not any(i in p for i in ignore)]

    def dash_errors(self, page) -> list[str]:
        """Callback errors Dash shows in the page (dev-tools error list, front-end error boxes)."""
        return page.evaluate("""() => Array.from(document.querySelectorAll(
            '.dash-fe-error__title, .dash-fe-error, .dash-error-card, .dash-debug-menu__error-count'))
            .map(e => e.textContent.trim()).filter(Boolean)""")


def map_settled(page, selector: str = "body", quiet_ms: int = 300, timeout_ms: int = 30_000) -> None:
    """Wait until every Leaflet map inside ``selector`` has stopped moving: no zoom animation,
    its panes' transforms unchanged for ``quiet_ms`` — a condition, not a fixed pause, before a
    screenshot, a measurement or a click at a measured point (a map still flying moves it)."""
    page.wait_for_function("""([sel, quiet]) => {
        const panes = [...document.querySelectorAll(sel + ' .leaflet-map-pane')];
        if (!panes.length || document.querySelector(sel + ' .leaflet-zoom-anim')) return false;
        const state = sel + '|' + panes.map(p => p.style.transform).join('|');
        const now = performance.now();
        if (window.__mapState !== state) { window.__mapState = state; window.__mapSince = now; return false; }
        return now - window.__mapSince >= quiet;
    }""", arg=[selector, quiet_ms], polling=50, timeout=timeout_ms)


class LiveServer:
    """A WSGI app served by waitress in a background thread (``with LiveServer(app) as url``)."""

    def __init__(self, wsgi_app, threads: int = 16):
        from waitress.server import create_server
        self.port = free_port()
        self.server = create_server(wsgi_app, host="127.0.0.1", port=self.port, threads=threads, ident="citygrid-test")
        self.thread = threading.Thread(target=self.server.run, name=f"waitress-{self.port}", daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        wait_until(self._answers, timeout=30, message=f"the server on {self.url}")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def __exit__(self, *exc) -> None:
        self.server.close()
        self.thread.join(timeout=10)


class RedisProcess:
    """A redis-server owned by one test: no persistence, so a restart starts empty — or, with
    ``aof_dir``, its append-only file there (every write synced), so a restart keeps its data."""

    def __init__(self, port: int | None = None, aof_dir=None):
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.persist = ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(aof_dir)] if aof_dir \
            else ["--appendonly", "no"]
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisProcess":
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *self.persist,
             "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, timeout=20, message=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        import redis
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """Stop it hard (SIGKILL), as a crash would, and wait until the port is closed."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def __enter__(self) -> "RedisProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()
