"""Drill: 10,000 fuzzed entries mixed into real traffic → no crash, every bad entry is a dead
letter with its reason.

Real traffic (the simulator's history, through the checked append) flows while a second
producer writes hostile entries straight into the stream — the known poisons and the
hostile bodies that Hypothesis draws for tests/test_fuzz_stream.py (the same strategies,
:func:`tests.streams.hostile_entries`).  A real ``citygrid worker`` subprocess projects
everything.  Then: the worker is still running; every hostile entry is either applied or a
dead letter, and every one the domain's :func:`parse_entry` refuses is a dead letter with a
reason; every real event is applied; the tables equal a clean rebuild.
"""
from __future__ import annotations

import shutil
import threading
import time
from collections import Counter

from hypothesis import HealthCheck, Phase, given, seed, settings as hypothesis_settings
from sqlalchemy import select

from bench.drills import _kit
from bench.drills._servers import private_redis
from dashboard.domain.events import InvalidEvent, parse_entry, stream_time
from datasource.redis.stream import MARKER, stamped
from datasource.store import schema

TITLE = "10,000 fuzzed entries mixed into real traffic → no crash, every bad entry dead-lettered with its reason"
NEEDS = ("redis-server",)
FUZZED, REAL, SECONDS = 10_000, 20_000, 40.0
CASE = "DC20200101000001"   # the hostile entries' case: no day the real traffic reports on


def hostile(n: int, start_ms: int) -> list[dict]:
    """``n`` hostile entries' fields drawn by Hypothesis (seeded: the same drill each time)."""
    from tests.streams import hostile_entries
    out: list[dict] = []
    round_ = 0
    while len(out) < n:
        @seed(round_)
        @hypothesis_settings(max_examples=max(10, (n - len(out)) // 3), database=None, deadline=None,
                             phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(hostile_entries(start_ms, CASE))
        def collect(entries):
            out.extend(fields for _, fields in entries)
        collect()
        round_ += 1
    return out[:n]


def _raw(fields: dict) -> dict:
    """As a producer writes it: with the checked append's marker unless the poison drops it."""
    if MARKER in fields and fields[MARKER] is None:
        return {k: v for k, v in fields.items() if k != MARKER}
    return stamped(fields)


def run(say, scale: float = 1.0) -> None:
    fuzzed, real = int(_kit.scaled(FUZZED, scale, 300)), int(_kit.scaled(REAL, scale, 1000))
    seconds = _kit.scaled(SECONDS, scale, 6.0)
    folder = _kit.temp_folder("fuzz")
    try:
        with private_redis(appendonly=False) as server:
            settings = _kit.settings_for(folder, server.url)
            system = _kit.System(settings).start()
            started = time.monotonic()
            entries = hostile(fuzzed, int(time.time() * 1000) - 2 * 3_600_000)
            say(f"Hypothesis drew {len(entries):,} hostile entries in {time.monotonic() - started:.1f} s "
                f"({sum(1 for e in entries if e.get('actor') == 'fuzz'):,} hostile bodies, the rest known poisons)")
            made = _kit.history(system, real)
            worker = _kit.WorkerProcess(settings, "fuzzed", folder).start()
            traffic = _kit.Traffic(system, made, rate=real / seconds).start()
            ids: list[str] = []

            def fuzz() -> None:
                pace = seconds / len(entries)
                begun = time.monotonic()
                for n, fields in enumerate(entries):
                    delay = begun + n * pace - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    ids.append(system.redis.xadd(settings.stream, _raw(fields)).decode())
            fuzzer = threading.Thread(target=fuzz, name="drill-fuzz", daemon=True)
            fuzzer.start()
            say(f"mixing {len(entries):,} fuzzed entries into {real:,} real events over {seconds:.0f} s")
            fuzzer.join()
            traffic.done.wait()
            traffic.stop()
            if traffic.failures or traffic.refused:
                raise AssertionError(f"the real traffic failed: {traffic.errors[:2]}")
            waited = _kit.wait_caught_up(system, 60 + (real + fuzzed) / 300, [worker])
            say(f"check: the worker caught up {waited:.1f} s after the last entry and is still running — OK")
            _check_entries(say, system, set(ids), traffic.acknowledged)
            code = worker.stop()
            if code:
                raise AssertionError(f"the worker exited with {code}: {worker.tail()}")
            say("check: the worker stops cleanly on SIGTERM (exit 0) — OK")
            clean = f"sqlite:///{folder / 'clean.db'}"
            _kit.rebuild_in_process(system, clean)
            try:
                _kit.check_equals_rebuild(say, settings.effective_database_url, clean)
            finally:
                system.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check_entries(say, system, hostile_ids: set[str], real: int) -> None:
    with system.engine.connect() as c:
        dead = {r.stream_id: r.reason for r in c.execute(select(schema.dead_letters.c.stream_id,
                                                                 schema.dead_letters.c.reason))}
        applied = dict(c.execute(select(schema.case_events.c.stream_id, schema.case_events.c.actor)).all())
    bbox, refused, lost = system.locator.bbox, 0, []
    for batch in system.stream.read_all():
        for entry_id, fields in batch:
            entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            if entry_id not in hostile_ids:
                continue
            try:
                parse_entry(fields, bbox, stream_time(entry_id))
            except InvalidEvent:
                refused += 1
                if not dead.get(entry_id):
                    lost.append(entry_id)
            else:
                if entry_id not in applied and not dead.get(entry_id):
                    lost.append(entry_id)
    if lost:
        raise AssertionError(f"{len(lost)} hostile entries neither applied nor dead-lettered with a reason, "
                             f"e.g. {lost[:3]}")
    both = set(dead) & set(applied)
    if both:
        raise AssertionError(f"{len(both)} entries both applied and dead-lettered, e.g. {sorted(both)[:3]}")
    reasons = Counter(reason.split(":")[0][:60] for sid, reason in dead.items() if sid in hostile_ids)
    say(f"check: all {refused:,} hostile entries the domain refuses are dead letters with a reason; "
        f"{len(hostile_ids) - refused:,} valid ones were judged by the projection — OK")
    say("top reasons: " + "; ".join(f"{n}× {r}" for r, n in reasons.most_common(5)))
    real_applied = sum(1 for sid, actor in applied.items() if sid not in hostile_ids)
    real_dead = sum(1 for sid in dead if sid not in hostile_ids)
    if real_applied + real_dead != real or real_dead:
        raise AssertionError(f"real traffic: {real:,} appended, {real_applied:,} applied, {real_dead} dead letters")
    say(f"check: all {real:,} real events applied, none dead-lettered — OK")
