"""What the drills share: settings for a private system, the real ``citygrid`` processes
(worker, rebuild) as subprocesses, paced traffic through the checked append, waiting for
the worker to catch up, and comparing two databases table by table."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import redis
from sqlalchemy import inspect as sa_inspect, select

from dashboard.settings import Settings
from datasource.redis import backlog
from datasource.redis.backlog import group_lag
from datasource.simulation.backfill import CASES_PER_DAY, History, append_history, generate_history
from datasource.store import schema
from datasource.store.database import make_engine
from datasource.system import System

from bench.drills._servers import wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
#: Events the generated history holds per day of cases (≈ 6 events per case).
EVENTS_PER_DAY = CASES_PER_DAY * 6


def scaled(full: float, scale: float, least: float) -> float:
    """``full`` × ``scale``, never below ``least``."""
    return max(least, full * scale)


def settings_for(folder: Path, redis_url: str, database_url: str | None = None) -> Settings:
    """Settings of a private system in ``folder`` (its own stream key, SQLite file unless given)."""
    return Settings(data_dir=folder, redis_url=redis_url, stream=f"drill:{uuid.uuid4().hex[:8]}:events",
                    database_url=database_url or f"sqlite:///{folder / 'citygrid.db'}", components_autoload=False)


def child_env(settings: Settings) -> dict[str, str]:
    """The environment of a ``citygrid`` subprocess that builds exactly ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGRID_")}
    for name, variable in Settings.env_names().items():
        value = getattr(settings, name)
        if value is not None and value != Settings.model_fields[name].default:
            env[variable] = str(value).lower() if isinstance(value, bool) else str(value)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"   # the drills read the workers' logs while they run
    return env


def citygrid(*args: str) -> list[str]:
    return [sys.executable, "-m", "dashboard.cli.commands", *args]


class WorkerProcess:
    """A real ``citygrid worker --consumer NAME`` subprocess (its output in a log file)."""

    def __init__(self, settings: Settings, consumer: str, log_folder: Path):
        self.settings, self.consumer = settings, consumer
        self.log_path = Path(log_folder) / f"{consumer}.log"
        self.process: subprocess.Popen | None = None
        self.starts, self._offset = 0, 0

    def start(self) -> "WorkerProcess":
        log = open(self.log_path, "a")
        self._offset = log.tell()   # where this start's lines begin
        self.process = subprocess.Popen(citygrid("worker", "--consumer", self.consumer), env=child_env(self.settings),
                                        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is (mid-transaction, before XACK …)."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def ready(self) -> bool:
        """Whether the latest start has come up (it says so once its signal handler is set)."""
        try:
            with open(self.log_path, errors="replace") as log:
                log.seek(self._offset)
                return f"worker {self.consumer} on " in log.read()
        except OSError:
            return False

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM once it is up (the worker finishes its batch and exits); its exit code."""
        if self.alive:
            wait_for(lambda: self.ready() or not self.alive, 60, f"worker {self.consumer} to come up")
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return None if self.process is None else self.process.returncode

    def tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""


def history(system: System, events: int, seed: int = 7) -> History:
    """Realistic history ending now with about ``events`` events (the backfill's generator),
    cut to exactly ``events`` in time order."""
    days = events / EVENTS_PER_DAY * 1.5 + 0.2
    made = generate_history(system.scenario, system.locator, days, seed=seed, now=datetime.now(timezone.utc))
    del made.events[events:]
    return made


class Traffic:
    """Appends a history through the checked path at ``rate`` events/s in a thread (chunks
    every 0.1 s), so workers, restarts and outages happen *during* the run.  A chunk that
    fails because Redis is down is tried again until ``stop`` (:attr:`failures`); a chunk the
    check refused (the command side lost its cases) is counted in :attr:`refused` and
    skipped.  :attr:`appended` counts events handled, :attr:`acknowledged` those Redis took."""

    def __init__(self, system: System, made: History, rate: float, chunk_seconds: float = 0.1, start: int = 0):
        self.system, self.history, self.rate, self.chunk_seconds = system, made, rate, chunk_seconds
        self.appended, self.acknowledged, self.failures, self.refused, self.errors = start, 0, 0, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drill-traffic", daemon=True)
        self.done = threading.Event()

    def start(self) -> "Traffic":
        self._thread.start()
        return self

    def _run(self) -> None:
        events, due = self.history.events, time.monotonic()
        try:
            while self.appended < len(events) and not self._stop.is_set():
                delay = due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                size = max(1, int(self.rate * self.chunk_seconds))   # ``rate`` may change while it runs
                chunk = events[self.appended:self.appended + size]
                due = max(due, time.monotonic() - 1.0) + len(chunk) / self.rate
                try:
                    append_history(self.system.stream, History(events=chunk, serials=self.history.serials,
                                                                model=self.history.model), seed=f"drill-{self.appended}")
                except (redis.RedisError, OSError) as exc:   # an outage: note it, try the chunk again
                    self.failures += 1
                    self.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
                    self._stop.wait(0.2)
                    continue
                except RuntimeError as exc:   # the check refused events (the command side lost them)
                    self.refused += 1
                    self.errors.append(str(exc)[:160])
                else:
                    self.acknowledged += len(chunk)
                self.appended += len(chunk)
        finally:
            self.done.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def beating(system: System) -> bool:
    """Whether a worker has sent its heartbeat (it is up and reading the stream)."""
    return backlog.last_beat(system.redis, system.settings.stream) is not None


def lag(system: System) -> int:
    value = group_lag(system.redis, system.settings.stream, system.settings.group)
    return 0 if value is None else value


def pending(system: System, consumer: str) -> int:
    """Entries delivered to ``consumer`` and not yet acknowledged."""
    for row in system.redis.xinfo_consumers(system.settings.stream, system.settings.group):
        name = row.get("name")
        if (name.decode() if isinstance(name, bytes) else name) == consumer:
            return int(row.get("pending") or 0)
    return 0


def wait_caught_up(system: System, timeout: float, workers=()) -> float:
    """Wait until the worker group has processed every entry; seconds waited."""
    started = time.monotonic()

    def caught_up() -> bool:
        for worker in workers:
            if not worker.alive:
                raise AssertionError(f"worker {worker.consumer} died: {worker.tail()}")
        return lag(system) == 0
    wait_for(caught_up, timeout, "the workers to catch up", interval=0.2)
    return time.monotonic() - started


def rebuild_in_process(system: System, target_url: str) -> dict:
    """What ``citygrid rebuild`` does, in this process (the worker-kill drill runs the command
    itself; the others save its start-up)."""
    from datasource.follower.rebuild import rebuild
    engine = make_engine(target_url)
    try:
        return rebuild(system, engine)
    finally:
        engine.dispose()


def rebuild_into(settings: Settings, target_url: str) -> str:
    """``citygrid rebuild --database-url TARGET`` as a real subprocess; its last output line."""
    done = subprocess.run(citygrid("rebuild", "--database-url", target_url), env=child_env(settings), cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    if done.returncode:
        raise AssertionError(f"citygrid rebuild failed: {done.stdout.strip().splitlines()[-1:]}")
    return done.stdout.strip().splitlines()[-1]


def _plain(value):
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
    return value


#: Tables the stream does not determine: people, their tokens and what they did (a drill's
#: own log-in and commands are there, and never in a rebuild).
NOT_FROM_THE_STREAM = frozenset({"users", "api_tokens", "audit_log", "briefings"})


def table_rows(engine) -> dict[str, list[tuple]]:
    """Every table the stream determines, its rows without surrogate ``id`` columns, sorted."""
    out = {}
    names = set(sa_inspect(engine).get_table_names())
    with engine.connect() as connection:
        for table in schema.metadata.sorted_tables:
            if table.name not in names or table.name in NOT_FROM_THE_STREAM:
                continue
            columns = [c for c in table.columns if c.name != "id"]
            rows = connection.execute(select(*columns))
            out[table.name] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
    return out


def check_equals_rebuild(say, live_url: str, clean_url: str) -> dict[str, int]:
    """The drills' last check: every table the stream determines equals a clean rebuild (rows per
    table); AssertionError naming the differences otherwise."""
    rows, differences = compare_databases(live_url, clean_url)
    if differences:
        raise AssertionError("tables differ from a clean rebuild: " + "; ".join(differences))
    say(f"check: all {len(rows)} tables the stream determines equal a clean rebuild — OK")
    return rows


def compare_databases(live_url: str, clean_url: str) -> tuple[dict[str, int], list[str]]:
    """(rows per table, differences) between two databases; no differences when equal."""
    engines = make_engine(live_url), make_engine(clean_url)
    try:
        live, clean = (table_rows(engine) for engine in engines)
    finally:
        for engine in engines:
            engine.dispose()
    differences = []
    for name in sorted(set(live) | set(clean)):
        a, b = live.get(name, []), clean.get(name, [])
        if a != b:
            only_a = [r for r in a if r not in set(b)][:2]
            only_b = [r for r in b if r not in set(a)][:2]
            differences.append(f"{name}: {len(a)} rows live, {len(b)} rebuilt; only live {only_a}, only rebuilt {only_b}")
    return {name: len(rows) for name, rows in live.items()}, differences


def event_counts(engine) -> tuple[int, int, int]:
    """(case_events rows, distinct event ids among them, dead letters)."""
    from sqlalchemy import func
    with engine.connect() as c:
        rows = c.execute(select(func.count()).select_from(schema.case_events)).scalar()
        distinct = c.execute(select(func.count(schema.case_events.c.event_id.distinct()))).scalar()
        dead = c.execute(select(func.count()).select_from(schema.dead_letters)).scalar()
    return int(rows), int(distinct), int(dead)


def temp_folder(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"citygrid-drill-{name}-"))
