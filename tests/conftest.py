"""Shared fixtures: real Redis, real SQLite and PostgreSQL, the bundled scenario.

Services are real.  Outside CI a missing service skips its tests with a visible reason;
in CI (``CI`` set) a missing service fails them.
"""
from __future__ import annotations
pytest_plugins = ["tests.conftest_browser"]

import os
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from dashboard.domain.scenario import Scenario
from dashboard.settings import Settings

REDIS_URL = os.environ.get("CITYGRID_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("CITYGRID_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _absent(what: str, why: str):
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI but unreachable: {why}")
    pytest.skip(f"{what} unreachable ({why}); these tests run in CI")


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    """The bundled scenario, built the way System builds it (the holidays package's calendar)."""
    from datasource.store.holiday_source import load_scenario
    return load_scenario()


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not there"
        _absent("Redis at " + REDIS_URL, str(exc))
    return REDIS_URL


@pytest.fixture
def stream_key(redis_server_url):
    """A fresh stream key per test; its keys are deleted afterwards."""
    key = f"test:{uuid.uuid4().hex[:10]}:events"
    yield key
    client = redis.Redis.from_url(redis_server_url)
    for k in client.scan_iter(match=key + "*", count=1000):
        client.delete(k)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    from sqlalchemy import create_engine
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        _absent("PostgreSQL at " + PG_URL, str(exc).splitlines()[0])
    return PG_URL


def _admin_engine(url: str):
    from sqlalchemy import create_engine
    return create_engine(url, isolation_level="AUTOCOMMIT")


def create_pg_database(url: str) -> str:
    """A new, empty database on the test server (tests never share one); its URL."""
    name = f"citygrid_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine(url)
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(server_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = _admin_engine(server_url)
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def pg_database_url(pg_server_url):
    url = create_pg_database(pg_server_url)
    yield url
    drop_pg_database(pg_server_url, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each test using this runs twice: on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'citygrid.db'}"
    return request.getfixturevalue("pg_database_url")


@pytest.fixture
def settings(tmp_path, database_url, stream_key, redis_server_url) -> Settings:
    # components_autoload=False: 168,339 inventory rows per test database would cost seconds
    # each; the component tests load what they need (tests/test_components*.py).
    return Settings(data_dir=tmp_path, redis_url=redis_server_url, database_url=database_url, stream=stream_key,
                    components_autoload=False)


@pytest.fixture
def clock():
    """The tests' fixed "now" (``CITYGRID_TEST_NOW`` or a Wednesday 10:00 Beijing time);
    ``clock()`` reads it, ``clock.advance(minutes=5)`` moves it.  See ``make test-clocks``."""
    from tests.helpers import TEST_NOW, FixedClock
    return FixedClock(TEST_NOW)


@pytest.fixture
def system(settings, clock):
    from datasource.system import System
    system = System(settings, clock=clock).start()
    yield system
    system.close()


@pytest.fixture
def app(system):
    """The real web app, built by the same factory as ``citygrid serve`` and started."""
    from dashboard.web.factory import create_app, start
    return start(create_app(system.settings, system))


@pytest.fixture
def client(app):
    """Flask's test client of :func:`app` (the pages' callbacks, the API, log-in)."""
    return app.server.test_client()


class CliRunner:
    """Runs ``citygrid`` in-process with one test's settings (Flask's ``runner`` habit)."""

    def __init__(self, settings: Settings):
        from click.testing import CliRunner as ClickRunner
        self.settings, self._runner = settings, ClickRunner()

    def invoke(self, *args: str):
        from dashboard.cli.commands import cli
        env = {"CITYGRID_DATA_DIR": str(self.settings.data_dir), "CITYGRID_REDIS_URL": self.settings.redis_url or "",
               "CITYGRID_DATABASE_URL": self.settings.database_url or "", "CITYGRID_STREAM": self.settings.stream,
               "CITYGRID_COMPONENTS_AUTOLOAD": str(self.settings.components_autoload).lower()}
        return self._runner.invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def runner(settings) -> CliRunner:
    return CliRunner(settings)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
