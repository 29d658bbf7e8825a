"""The whole import: records → checked rows → case ids → events on the stream, with a summary.

Each imported row becomes the events a native case would have had, on the SAME stream and
through the SAME checked append (:data:`datasource.redis.stream.APPEND_LUA`, sent by
:class:`datasource.redis.scriptpipe.ScriptPipe` like the backfill's history):

==========  ===========  ==================================================================
at          type         body
==========  ===========  ==================================================================
opened      reported     category, lon/lat (GCJ-02), description, ``source: import``,
                         ``urgency: normal``, ``ref: <source>:<source id>``
opened      filed        —
opened      dispatched   department, ``deadline`` (the due time, or the mapping's default)
closed      handled      ``note`` (the export's note, else "imported")
closed      verified     —
closed      closed       —
==========  ===========  ==================================================================

A row's events go to Redis in one script call (batches end on row boundaries).  Event ids
are derived from the source and the source id, so the same row always gives the same ids.
Projection into the reporting database is the worker's job, as for every producer
(``citygrid import`` drains the stream at the end unless told not to).
"""
from __future__ import annotations

import csv
import hashlib
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from datasource.importer import keys
from datasource.importer.mapping import Mapping
from datasource.importer.reference import Reference, is_bundled
from datasource.importer.rows import REASONS, Checker, Skip, Valid
from datasource.importer.sources import ENCODING, ERRORS, open_source
from datasource.importer.times import iso_texts, micros
from datasource.redis.scriptpipe import ScriptPipe

#: a worker that read the stream this recently (ms) is taken to be running
ACTIVE_MS = 60_000
#: events per script call (a call of 10,000 holds Redis for ~0.1 s)
BATCH = 10_000
OPENING = ("reported", "filed", "dispatched")
CLOSING = ("handled", "verified", "closed")


class ImportRefused(ValueError):
    """The import cannot go on (one line); what was appended before stays, and running the
    same import again later appends only the rest."""


def running_workers(system, within_ms: int = ACTIVE_MS) -> list[str]:
    """Consumers of the worker's group that read the stream in the last ``within_ms``."""
    try:
        consumers = system.redis.xinfo_consumers(system.stream.key, system.settings.group)
    except Exception:  # noqa: BLE001 - no stream or no group yet: nobody is running
        return []
    return [_text(c.get("name")) for c in consumers if int(c.get("idle", within_ms)) < within_ms]


def drain(system, progress=None):
    """Project what the import appended, as the worker would, under a consumer of its own
    that is removed afterwards (so the import is not itself taken for a running worker).
    Returns the worker's stats."""
    consumer = f"{socket.gethostname()}-import"
    stats = system.worker(consumer=consumer).drain(progress=progress)
    try:
        pending = [c for c in system.redis.xinfo_consumers(system.stream.key, system.settings.group)
                   if _text(c.get("name")) == consumer]
        if pending and not int(pending[0].get("pending", 0)):
            system.redis.xgroup_delconsumer(system.stream.key, system.settings.group, consumer)
    except Exception:  # noqa: BLE001 - tidying only: a leftover consumer does no harm
        pass
    return stats


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class Summary:
    """What became of every record: read = imported + skipped (per reason)."""

    file: str
    format: str
    source: str
    read: int = 0
    imported: int = 0             # rows whose case was created (or, re-imported, completed)
    completed: int = 0            # of those: cases imported open before and closed now
    skipped: Counter = field(default_factory=Counter)
    events: int = 0
    departments_created: dict = field(default_factory=dict)
    categories_created: dict = field(default_factory=dict)
    skipped_file: str | None = None
    seconds: float = 0.0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict:
        return {"file": self.file, "format": self.format, "source": self.source, "read": self.read,
                "imported": self.imported, "completed": self.completed, "skipped": self.skipped_total,
                "skipped_by_reason": {r: self.skipped[r] for r in REASONS if self.skipped[r]},
                "events": self.events, "departments_created": self.departments_created,
                "categories_created": self.categories_created, "skipped_file": self.skipped_file,
                "seconds": self.seconds}


class Importer:
    """Imports files into ``system``'s stream (one object per import)."""

    def __init__(self, system, mapping: Mapping, now: datetime | None = None, progress=None):
        self.system, self.mapping = system, mapping
        self.stream, self.scenario = system.stream, system.scenario
        self.tz = self.scenario.calendar.tz
        self.now = now or system.now()
        self.progress = progress

    def run(self, path: Path, kind: str = "csv", skipped_path: Path | None = None) -> Summary:
        started = time.perf_counter()
        path = Path(path)
        if is_bundled(self.scenario.root):
            self._dry_run(path, kind)   # refuse before appending anything if codes would be created
        source = open_source(path, kind)
        summary = Summary(str(path), kind, self.mapping.source)
        skipped_path = Path(skipped_path) if skipped_path else path.with_name(path.name + ".skipped.csv")
        try:
            self.mapping.check_header(source.header)
            reference = Reference(self.scenario)
            checker = Checker(self.mapping, source.header, self.scenario, self.system.locator, reference, self.now)
            try:
                out = open(skipped_path, "w", encoding="utf-8", errors=ERRORS, newline="")
            except OSError as exc:
                raise ImportRefused(f"cannot write the skipped rows to {skipped_path} ({exc.strerror or exc}): "
                                    f"give --skipped PATH") from None
            with out:
                skipped = csv.writer(out)
                skipped.writerow(["line", "reason", "detail", *source.header])
                pipe = _Appender(self.stream)
                for chunk in source:
                    summary.read += len(chunk)
                    valid, skips = checker.check(chunk)
                    if reference.created:
                        self._record_codes(reference, summary)
                    skips += self._append(valid, pipe, summary)
                    for skip in pipe.refusals():
                        summary.imported -= 1
                        skips.append(skip)
                    for skip in skips:
                        summary.skipped[skip.reason] += 1
                        skipped.writerow([skip.line, skip.reason, skip.detail, *skip.record])
                    if self.progress:
                        self.progress(source.position())
                for skip in pipe.finish():
                    summary.skipped[skip.reason] += 1
                    summary.imported -= 1
                    skipped.writerow([skip.line, skip.reason, skip.detail, *skip.record])
        finally:
            source.close()
        summary.events -= pipe.refused_events
        summary.skipped_file = str(skipped_path)
        summary.seconds = round(time.perf_counter() - started, 2)
        return summary

    def _dry_run(self, path: Path, kind: str) -> None:
        source = open_source(path, kind)
        try:
            self.mapping.check_header(source.header)
            reference = Reference(self.scenario)
            checker = Checker(self.mapping, source.header, self.scenario, self.system.locator, reference, self.now)
            for chunk in source:
                checker.check(chunk)
                if reference.created:
                    reference.check_writable()
        finally:
            source.close()

    def _record_codes(self, reference: Reference, summary: Summary) -> None:
        """Write the departments and categories created so far into the scenario and the
        reference tables, before any event names them."""
        fresh_d = {c: n for c, n in reference.new_departments.items() if c not in summary.departments_created}
        fresh_c = {c: n for c, n in reference.new_categories.items() if c not in summary.categories_created}
        if not fresh_d and not fresh_c:
            return
        reference.check_writable()
        running = running_workers(self.system)
        if running:
            raise ImportRefused(
                f"the data names {len(fresh_d)} department(s) and {len(fresh_c)} category(ies) new to the scenario, "
                f"and a worker ({', '.join(running[:3])}) is running with the scenario it loaded before them: it "
                f"would dead-letter their cases. Stop the worker, run the import again (it goes on where it "
                f"stopped), then start the worker")
        reference.write_scenario()
        reference.insert_rows(self.system.engine)
        summary.departments_created.update(fresh_d)
        summary.categories_created.update(fresh_c)

    def _append(self, valid: Valid, pipe: "_Appender", summary: Summary) -> list[Skip]:
        """Case ids for the valid rows, then their events through the checked append."""
        if not len(valid):
            return []
        m, stream = self.mapping, self.stream
        cases = keys.known(stream, m.source, valid.ids)
        new = [i for i, c in enumerate(cases) if c is None]
        days = valid.opened.dt.tz_convert(self.tz).dt.date.tolist()
        fresh = keys.allocate(stream, m.source, [valid.ids[i] for i in new], [days[i] for i in new])
        for i, case in zip(new, fresh):
            cases[i] = case
        was_new = set(new)
        old = [i for i in range(len(cases)) if i not in was_new]
        stage = dict(zip(old, keys.stages(stream, [cases[i] for i in old])))
        opened_at, opened_us = iso_texts(valid.opened, self.tz), micros(valid.opened)
        closed_ok = valid.closed.notna()
        closed_at = [None] * len(valid)
        closed_us = [0] * len(valid)
        if closed_ok.any():
            index = closed_ok[closed_ok].index
            for i, text, us in zip(index, iso_texts(valid.closed[closed_ok], self.tz),
                                   micros(valid.closed[closed_ok])):
                closed_at[i], closed_us[i] = text, us
        due_ok = valid.due.notna()
        due_at = [None] * len(valid)
        if due_ok.any():
            for i, text in zip(due_ok[due_ok].index, iso_texts(valid.due[due_ok], self.tz)):
                due_at[i] = text
        skips, actor, ref_prefix = [], m.source, m.source + ":"
        dumps, blake2b, row = orjson.dumps, hashlib.blake2b, pipe.row
        for i, case in enumerate(cases):
            now_stage = stage.get(i)
            closing = closed_at[i] is not None
            if now_stage is None:
                kinds = OPENING + CLOSING if closing else OPENING
            elif now_stage == "dispatched" and closing:
                kinds = CLOSING
                summary.completed += 1
            else:
                skips.append(Skip(valid.lines[i], "already_imported", f"case {case} (stage {now_stage})",
                                  valid.records[i]))
                continue
            stem = blake2b(f"{m.source}\x1f{valid.ids[i]}".encode("utf-8", ERRORS), digest_size=15).hexdigest()
            events = []
            if kinds is not CLOSING:
                reported = {"category": valid.category[i], "lon": valid.lon[i], "lat": valid.lat[i],
                            "description": valid.description[i], "source": "import", "urgency": "normal",
                            "ref": ref_prefix + valid.ids[i]}
                if valid.address[i]:
                    reported["address"] = valid.address[i]
                dispatched = {"department": valid.department[i]}
                if due_at[i]:
                    dispatched["deadline"] = due_at[i]
                at, us = opened_at[i], opened_us[i]
                events += ((stem + ".reported", "reported", at, dumps(reported), us),
                           (stem + ".filed", "filed", at, b"{}", us),
                           (stem + ".dispatched", "dispatched", at, dumps(dispatched), us))
            if closing:
                at, us = closed_at[i], closed_us[i]
                events += ((stem + ".handled", "handled", at, dumps({"note": valid.note[i] or "imported"}), us),
                           (stem + ".verified", "verified", at, b"{}", us),
                           (stem + ".closed", "closed", at, b"{}", us))
            row(case, actor, events, (valid.lines[i], valid.records[i]))
            summary.imported += 1
            summary.events += len(events)
        return skips


class _Appender:
    """Events of whole rows, sent BATCH at a time through :class:`ScriptPipe`; refusals
    come back one batch later and are turned into skipped rows."""

    def __init__(self, stream):
        self.stream, self.pipe = stream, ScriptPipe(stream)
        self.items, self.keys, self.args, self.rows = [], [], [], {}
        self.flying: dict = {}
        self._refused: list[Skip] = []
        self.refused_events = 0

    def row(self, case: str, actor: str, events: list[tuple], where: tuple) -> None:
        """One row's events (event id, type, at, body, µs), sent in the same script call."""
        key = self.stream.case_key(case)
        items, args = self.items, self.args
        for event_id, kind, at, body, us in events:
            items.append((None, case, kind))
            args += (event_id, case, kind, at, actor, body, us, b"", b"0")
        self.keys += [key] * len(events)
        self.rows[case] = where
        if len(items) >= BATCH:
            self._send()

    def _send(self) -> None:
        refused = self.pipe.send(self.items, self.keys, self.args)
        self._judge(refused, self.flying)
        self.flying, self.rows = self.rows, {}
        self.items, self.keys, self.args = [], [], []

    def _judge(self, refused: list, rows: dict) -> None:
        seen = set()
        self.refused_events += len(refused)
        for case, kind, conflict in refused:
            if case in seen:
                continue
            seen.add(case)
            line, record = rows.get(case, (0, []))
            self._refused.append(Skip(line, "refused", f"{kind} of {case}: {conflict.reason} "
                                      f"(stage {conflict.stage})", record))

    def refusals(self) -> list[Skip]:
        out, self._refused = self._refused, []
        return out

    def finish(self) -> list[Skip]:
        if self.items:
            self._send()
        self._judge(self.pipe.flush(), self.flying)
        return self.refusals()
