"""Real-browser plumbing for the work pages, on top of the shared :mod:`tests.browser`
helpers and the session's ``chromium`` fixture (``tests/conftest_browser.py``): the app
served by waitress with a worker thread behind it, users per role, and tabs with verbs
(``login``, ``open``) whose problems are recorded — no fixed sleeps, only waits."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from datasource.services import accounts
from datasource.services.command_types import Actor
from tests.browser import LiveServer, PageWatch, slow_down

PASSWORD = "correct-horse-9"
USERS = (("op", "operator", None), ("sup", "supervision", None), ("sani", "department", "sanitation"),
         ("roads", "department", "roads"), ("adm", "admin", None))
WAIT_MS = 20_000


@dataclass
class LiveApp:
    """The whole app on a real HTTP port, with a worker thread projecting the stream."""

    system: object
    app: object
    server: LiveServer
    stop: threading.Event
    worker_thread: threading.Thread

    @property
    def base(self) -> str:
        return self.server.url

    @property
    def services(self):
        return self.app.server.extensions["citygrid.services"]

    def actor(self, name: str) -> Actor:
        user = accounts.find_user(self.system.engine, name)
        return Actor(user.name, user.role, user.department_code, "127.0.0.1")

    def close(self) -> None:
        self.stop.set()
        self.worker_thread.join(timeout=10)
        self.server.__exit__(None, None, None)


def start_live_app(system) -> LiveApp:
    from dashboard.web.factory import create_app, start
    for name, role, department in USERS:
        if accounts.find_user(system.engine, name) is None:
            accounts.add_user(system.engine, name, role, PASSWORD, department)
    app = start(create_app(system.settings, system))
    server = LiveServer(app.server).__enter__()
    stop = threading.Event()
    worker = system.worker(consumer="browser-test")

    def project():
        worker.ensure_group()
        while not stop.is_set():
            worker.step(block_ms=100)

    thread = threading.Thread(target=project, daemon=True, name="worker")
    thread.start()
    return LiveApp(system, app, server, stop, thread)


@pytest.fixture
def live_app(tmp_path, stream_key, redis_server_url):
    """The app on a free port over a fresh system (SQLite: the browser adds nothing DB-specific)."""
    from dashboard.settings import Settings
    from datasource.system import System
    from tests.helpers import FixedClock
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, database_url=f"sqlite:///{tmp_path / 'b.db'}",
                        stream=stream_key, secret_key="browser-test-secret", components_autoload=False)
    system = System(settings, clock=FixedClock()).start()   # the tests' fixed "now"
    live = start_live_app(system)
    yield live
    live.close()
    system.close()


class Tab:
    """One browser context + page for one person, with its problems recorded."""

    def __init__(self, browser, base: str, width: int = 1600, height: int = 900, enforce_csp: bool = False):
        # Playwright runs string predicates (wait_for_function("…")) through eval, which the
        # app's Content-Security-Policy forbids; tests/test_hardening_browser.py checks the CSP
        # itself with enforce_csp=True.
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                           timezone_id="Asia/Shanghai", bypass_csp=not enforce_csp)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.watch = PageWatch().attach(self.page)
        slow_down(self.page)
        self.base = base

    def login(self, name: str, next_path: str = "/") -> "Tab":
        page = self.page
        page.goto(f"{self.base}/login?next={next_path}")
        page.fill("#login-name", name)
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(f"{self.base}{next_path}*")
        return self

    def open(self, path: str) -> "Tab":
        self.page.goto(f"{self.base}{path}")
        return self

    def problems(self) -> list[str]:
        return self.watch.problems() + self.watch.dash_errors(self.page)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(chromium, live_app):
    """A factory of browser tabs on the live app; all closed afterwards."""
    opened: list[Tab] = []

    def make(**size) -> Tab:
        tab = Tab(chromium, live_app.base, **size)
        opened.append(tab)
        return tab
    yield make
    for tab in opened:
        tab.close()
