"""The one core object the CLI, the web app and the tests all build.

``System(settings)`` connects nothing on construction; ``start()`` is the separate
start-up step (embedded Redis, migrations, reference data) and fails with a one-line
:class:`StartupError`.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from functools import cached_property

from dashboard.domain.scenario import Scenario, ScenarioError
from dashboard.settings import Settings
from datasource.store.database import DatabaseUnavailable, make_engine, prepare
from datasource.store.holiday_source import calendar_country, country_holidays, load_scenario
from datasource.redis.partitions import is_partitioned, open_stream
from datasource.redis.server import RedisUnavailable, connect, is_cluster, resolve_url


log = logging.getLogger(__name__)


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
        return load_scenario(self.settings.scenario_dir)

    @cached_property
    def engine(self):
        return make_engine(self.settings.effective_database_url)

    @cached_property
    def read_engine(self):
        """What the read-only reports and the briefing read through: the read replica
        (``CITYGRID_READ_DATABASE_URL``) while it answers and keeps up, else the primary
        (:mod:`datasource.store.replica`).  Writes always use :attr:`engine`."""
        from datasource.store.replica import ReadRouter, replica_options
        url = self.settings.read_database_url
        return ReadRouter(self.engine, make_engine(url, **replica_options(url)) if url else None)

    @property
    def redis_url(self) -> str:
        if self._redis_url is None and self.cluster:
            raise RedisUnavailable("CITYGRID_REDIS_CLUSTER=true needs CITYGRID_REDIS_URL (a node of the cluster): "
                                   "the embedded Redis is no cluster")
        if self._redis_url is None:
            self._redis_url = resolve_url(self.settings)
        return self._redis_url

    @property
    def cluster(self) -> bool:
        """Whether Redis is a cluster (``CITYGRID_REDIS_CLUSTER`` or a ``redis+cluster://`` URL)."""
        return is_cluster(self.settings.redis_url, self.settings.redis_cluster)

    @cached_property
    def redis(self):
        return connect(self.redis_url, cluster=self.cluster)

    @cached_property
    def stream(self):
        """The case stream: one :class:`EventStream`, or its partitions behind the same interface."""
        return open_stream(self.redis, self.settings.stream, self.settings.stream_partitions, self.cluster)

    @cached_property
    def locator(self):
        from datasource.follower.locator import GridLocator
        return GridLocator(self.scenario)

    def projector(self, engine=None, stream=None):
        """A projector into ``engine`` (default the system's) of ``stream`` (a partition; default
        the single stream), keeping that stream's own position."""
        from datasource.follower.projector import Projector
        from datasource.store.fastwrite import position_name
        return Projector(engine or self.engine, self.scenario, self.locator,
                         position=position_name(stream or self.stream.partitions()[0]))

    def worker(self, **options):
        """The worker: of the single stream, or sharing a partitioned stream's partitions with
        the other workers of the group (:class:`PartitionedWorker`)."""
        from datasource.follower.worker import Worker
        if options.get("consumer") is None:   # --consumer beats CITYGRID_CONSUMER beats HOST-worker
            options["consumer"] = self.settings.consumer
        if not is_partitioned(self.stream):
            return Worker(self.stream, self.settings.group, self.projector(), **options)
        from datasource.follower.partitioned import PartitionedWorker
        return PartitionedWorker(self.stream, self.settings.group, lambda part: self.projector(stream=part),
                                 **options)

    def start(self, redis: bool = True, database: bool = True, today: date | None = None) -> "System":
        """Check the scenario and its calendar, reach Redis and prepare the database;
        StartupError otherwise.  ``today`` (default: the scenario's local date) is for tests.
        Idempotent: what has started once is not started again."""
        try:
            self.scenario
            self._check_calendar(today or datetime.now(self.scenario.calendar.tz).date())
            if database and "database" not in self._started:
                prepare(self.engine, self.scenario)
                if self.settings.components_autoload:   # issue 16: the inventory behind component cases
                    from datasource.services.components import load_inventory
                    load_inventory(self.engine, self.scenario)
                self._started.add("database")
            if redis and "redis" not in self._started:
                self.redis
                self._started.add("redis")
        except (ScenarioError, DatabaseUnavailable, RedisUnavailable) as exc:
            raise StartupError(str(exc)) from None
        return self

    def _check_calendar(self, today: date) -> None:
        """Refuse to run when this or next year's holidays are unknown: deadlines would count
        them as ordinary days without a word (issue 7)."""
        calendar = self.scenario.calendar
        missing = calendar.years_without_holidays(today)
        if missing:
            years = " and ".join(map(str, missing))
            raise StartupError(
                f"the working calendar has no holiday data for {years} (the holidays package has no State "
                f"Council notice for it): upgrade the holidays package, or add that year's days to "
                f"{self.scenario.root / 'calendar.json'} (extra_holidays, extra_workdays) and the year with a "
                f"reason to confirmed_years")
        if "calendar" in self._started:
            return
        self._started.add("calendar")
        official = country_holidays(*calendar_country(self.scenario.root)).years
        for year, reason in calendar.confirmed_years:
            # Vouched for by hand, with a reason: allowed, and logged once per start-up (INFO, not
            # WARNING: the CLI prints warnings, and a deliberate setting is not worth a line on
            # every command).
            if year in (today.year, today.year + 1) and year not in official:
                log.info("calendar: %s holidays confirmed by calendar.json, not by the holidays package: %s",
                            year, reason)

    def close(self) -> None:
        if "redis" in self.__dict__:
            self.redis.close()
        if "read_engine" in self.__dict__:
            self.read_engine.dispose()
        if "engine" in self.__dict__:
            self.engine.dispose()
