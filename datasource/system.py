"""The one core object the CLI, the web app and the tests all build.

``System(settings)`` connects nothing on construction; ``start()`` is the separate
start-up step (embedded Redis, migrations, reference data) and fails with a one-line
:class:`StartupError`.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property

from dashboard.domain.scenario import Scenario, ScenarioError
from dashboard.settings import Settings
from datasource.store.database import DatabaseUnavailable, make_engine, prepare
from datasource.redis.server import RedisUnavailable, connect, resolve_url
from datasource.redis.stream import EventStream


class StartupError(Exception):
    """Start-up failed for a reason the user can fix (the message says how)."""


class System:
    def __init__(self, settings: Settings, clock=None):
        self.settings = settings
        self.clock = clock  # business time: a callable giving an aware datetime; None: the real clock
        self._redis_url: str | None = settings.redis_url
        self._started: set[str] = set()

    def now(self) -> datetime:
        """Now, for business outcomes (an aware UTC datetime): command times, deadlines, lights,
        the wall's "today" and overdue, the simulators' present.  The real time unless a
        ``clock`` was given (tests fix it).  Timings and freshness always read the real clock."""
        return self.clock().astimezone(timezone.utc) if self.clock else datetime.now(timezone.utc)

    def time(self) -> float:
        """:meth:`now` in epoch seconds."""
        return self.now().timestamp()

    @cached_property
    def scenario(self) -> Scenario:
        return Scenario(self.settings.scenario_dir)

    @cached_property
    def engine(self):
        return make_engine(self.settings.effective_database_url)

    @property
    def redis_url(self) -> str:
        if self._redis_url is None:
            self._redis_url = resolve_url(self.settings)
        return self._redis_url

    @cached_property
    def redis(self):
        return connect(self.redis_url)

    @cached_property
    def stream(self) -> EventStream:
        return EventStream(self.redis, self.settings.stream)

    @cached_property
    def locator(self):
        from datasource.follower.locator import GridLocator
        return GridLocator(self.scenario)

    def projector(self, engine=None):
        from datasource.follower.projector import Projector
        return Projector(engine or self.engine, self.scenario, self.locator)

    def worker(self, **options):
        from datasource.follower.worker import Worker
        return Worker(self.stream, self.settings.group, self.projector(), **options)

    def start(self, redis: bool = True, database: bool = True) -> "System":
        """Check the scenario, reach Redis and prepare the database; StartupError otherwise.
        Idempotent: what has started once is not started again."""
        try:
            self.scenario
            if database and "database" not in self._started:
                prepare(self.engine, self.scenario)
                self._started.add("database")
            if redis and "redis" not in self._started:
                self.redis
                self._started.add("redis")
        except (ScenarioError, DatabaseUnavailable, RedisUnavailable) as exc:
            raise StartupError(str(exc)) from None
        return self

    def close(self) -> None:
        if "redis" in self.__dict__:
            self.redis.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
