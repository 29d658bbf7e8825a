"""Read queries about cases for the pages and the API: queues, one case with its timeline,
stage counts, and the names of codes.  (The dispatch recommendation lives in
:mod:`datasource.services.recommendation`, map geometry in :mod:`datasource.services.maps`,
health in :mod:`datasource.services.health`.)

Answers are plain data (dicts and lists with aware datetimes).  The reporting database
may lag the stream by a moment, so queue rows are overlaid with the command side's stage
and version (one pipelined Redis round trip): a case dispatched a second ago leaves the
dispatch queue at once, not when the worker gets to it.
"""
from __future__ import annotations

import json
import math
import time
from datetime import datetime
from functools import cached_property

from sqlalchemy import case as sql_case, func, select

from dashboard.domain.lifecycle import Stage
from dashboard.domain.limits import traffic_light
from dashboard.domain.scope import covers, may_read_case
from datasource.services.evidence import listed_photos
from datasource.services.scoping import scoped
from datasource.store import schema

LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, "none": 3}
IN_PROGRESS = ("dispatched", "handled")
POINTS_TTL = 2.0  # seconds the in-progress map points are shared between consoles


def with_lights(rows: list[dict], now: datetime) -> list[dict]:
    """Each queue row gains its traffic light and the minutes it has waited in its stage."""
    for row in rows:
        row["light"] = traffic_light(now, row["warn_at"], row["deadline_at"])
        row["waiting_min"] = max(0, int((now - row["stage_entered_at"]).total_seconds() // 60))
    return rows


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def jsonable(data):
    """``data`` with datetimes as ISO 8601 strings (for JSON answers and dcc.Store); a number
    that is not finite (stored before the edge checks refused them) becomes null, so the
    answer stays valid JSON."""
    if isinstance(data, dict):
        return {k: jsonable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [jsonable(v) for v in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return _iso(data)


class CaseQueries:
    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario
        self.tz = self.scenario.calendar.tz
        self._stats: tuple[float, dict] | None = None
        self._points: dict[tuple, tuple[float, list]] = {}

    @property
    def engine(self):
        return self.system.engine

    # ------------------------------------------------------------------ names
    @cached_property
    def community_names(self) -> dict[str, str]:
        return {f["properties"]["code"]: f["properties"].get("name", f["properties"]["code"])
                for f in self.scenario.communities_geojson["features"]}

    @cached_property
    def people(self):
        """Names of the actors and reporters (:class:`datasource.services.people.People`)."""
        from datasource.services.people import People
        return People(self.scenario)

    def category_name(self, code: str | None, lang: str = "zh") -> str:
        category = self.scenario.categories.get(code or "")
        if category is None:
            return code or "-"
        return category.name_en if lang == "en" else category.name_zh

    def department_name(self, code: str | None, lang: str = "zh") -> str:
        department = self.scenario.departments.get(code or "")
        if department is None:
            return code or "-"
        return department.name_en if lang == "en" else department.name_zh

    def street_name(self, code: str | None) -> str:
        return self.scenario.streets.get(code or "", code or "-")

    def community_name(self, code: str | None) -> str:
        return self.community_names.get(code or "", code or "-")

    # ------------------------------------------------------------------ one case
    def row(self, case_id: str) -> dict | None:
        """The case's row in the reporting database (None before the worker has seen it)."""
        with self.engine.connect() as c:
            found = c.execute(select(schema.cases).where(schema.cases.c.case_id == case_id)).mappings().first()
        return dict(found) if found else None

    def timeline(self, case_id: str) -> list[dict]:
        table = schema.case_events
        with self.engine.connect() as c:
            rows = c.execute(select(table.c.type, table.c.at, table.c.actor, table.c.body, table.c.stream_id)
                             .where(table.c.case_id == case_id).order_by(table.c.at, table.c.id)).mappings().all()
        out = []
        for r in rows:
            try:
                body = json.loads(r["body"], parse_constant=lambda _: None)   # NaN → null: valid JSON out
            except ValueError:
                body = {}
            out.append({"type": r["type"], "at": r["at"], "actor": r["actor"], "body": body,
                        "stream_id": r["stream_id"]})
        return out

    def command_state(self, case_id: str) -> dict:
        return self.system.stream.case_state(case_id)

    def case(self, case_id: str, lang: str = "zh") -> dict | None:
        """One case: its reporting row, timeline, names, and the command side's stage/version."""
        row = self.row(case_id)
        command = self.command_state(case_id)
        if row is None and not command:
            return None
        now = self.system.now()
        out = dict(row or {"case_id": case_id, "stage": command.get("stage")})
        out["projected"] = row is not None
        out["timeline"] = self.timeline(case_id) if row is not None else []
        out["photos"] = listed_photos(case_id, out["timeline"])   # evidence (issue 11)
        for event in out["timeline"]:   # names, not codes (issue 11: raw inspector ids)
            event["actor_name"] = self.people.name(event.get("actor"), lang)
        out["command"] = {"stage": command.get("stage"), "version": int(command.get("version") or 0),
                          "last_actor": command.get("actor"), "last_at": command.get("at"),
                          "last_type": command.get("type")}
        if row is not None:
            out["light"] = traffic_light(now, row["warn_at"], row["deadline_at"]) if Stage(row["stage"]).is_open \
                else "none"
            out["names"] = {"category": self.category_name(row["category_code"], lang),
                            "department": self.department_name(row["department_code"], lang)
                            if row["department_code"] else None,
                            "street": self.street_name(row["street_code"]),
                            "community": self.community_name(row["community_code"]),
                            "reporter": self.people.name(row.get("reporter"), lang)}
        return out

    # ------------------------------------------------------------------ queues
    def in_scope(self, case_id: str, scope: str | None) -> bool:
        """Whether a case lies in a sub-centre's ``scope`` (always for the district).

        From the reporting row, else from the command side's grid/street (a case reported a
        moment ago); an unknown case is "in scope" so that callers answer 404, not 403."""
        if not scope:
            return True
        row = self.row(case_id)
        if row is not None:
            return covers(scope, row["street_code"], row["community_code"])
        state = self.command_state(case_id)
        if not state:
            return True
        grid = state.get("grid")
        return covers(scope, state.get("street") or (grid[:9] if grid else None), grid[:12] if grid else None)

    def may_read(self, case_id: str, role: str | None, department: str | None = None,
                 scope: str | None = None) -> bool:
        """Whether a user (role, department, scope) may read a case, by
        :func:`dashboard.domain.scope.may_read_case` on the reporting row, else on the command
        side (a case reported a moment ago).  An unknown case is readable, so that callers
        answer 404 (it does not exist for anyone), not 403."""
        if role != "department" and not scope:
            return True
        row = self.row(case_id)
        if row is not None:
            place = (row["department_code"], row["street_code"], row["community_code"])
        else:
            state = self.command_state(case_id)
            if not state:
                return True
            grid = state.get("grid")
            place = (state.get("department"), state.get("street") or (grid[:9] if grid else None),
                     grid[:12] if grid else None)
        if role == "department" and row is not None:
            # the command side knows a dispatch before the worker has written it
            place = (self.command_state(case_id).get("department") or place[0], *place[1:])
        return may_read_case(role, department, scope, *place)

    def queue(self, stages=("filed",), department: str | None = None, limit: int = 500,
              overlay: bool = True, scope: str | None = None) -> list[dict]:
        """Open cases in ``stages`` (optionally of one department; of a sub-centre's ``scope``),
        most pressing first."""
        table = schema.cases
        columns = [table.c[name] for name in (
            "case_id", "stage", "category_code", "urgency", "department_code", "grid_code", "community_code",
            "street_code", "lon", "lat", "description", "reporter", "source", "reported_at", "stage_entered_at",
            "warn_at", "deadline_at", "version", "rework_count", "return_count", "suspended_from")]
        statement = select(*columns).where(table.c.stage.in_(list(stages)))
        if department:
            statement = statement.where(table.c.department_code == department)
        statement = scoped(statement, table, scope)
        # most urgent first, then the earliest deadline / longest waiting
        statement = statement.order_by(sql_case((table.c.urgency == "urgent", 0), else_=1),
                                       table.c.deadline_at.is_(None), table.c.deadline_at,
                                       table.c.stage_entered_at).limit(limit)
        with self.engine.connect() as c:
            rows = with_lights([dict(r) for r in c.execute(statement).mappings()], self.system.now())
        if overlay and rows:
            rows = self.overlay(rows, stages)
        rows.sort(key=lambda r: (r["urgency"] != "urgent", LIGHT_ORDER.get(r["light"], 3), -r["waiting_min"]))
        return rows

    def map_points(self, stages=IN_PROGRESS, limit: int = 1500, scope: str | None = None) -> list[dict]:
        """Open cases in ``stages`` as light map points (id, position, category, street, light).

        Many consoles poll this every few seconds, so the answer is shared for
        :data:`POINTS_TTL` seconds; positions and lights change slowly."""
        key = (tuple(stages), limit, scope)
        cached = self._points.get(key)
        if cached and time.monotonic() - cached[0] < POINTS_TTL:
            return cached[1]
        table = schema.cases
        statement = (select(table.c.case_id, table.c.stage, table.c.category_code, table.c.street_code, table.c.lon,
                            table.c.lat, table.c.warn_at, table.c.deadline_at)
                     .where(table.c.stage.in_(list(stages))).order_by(table.c.deadline_at).limit(limit))
        statement = scoped(statement, table, scope)
        now = self.system.now()
        with self.engine.connect() as c:
            rows = [dict(r) for r in c.execute(statement).mappings()]
        for row in rows:
            row["light"] = traffic_light(now, row.pop("warn_at"), row.pop("deadline_at"))
        self._points[key] = (time.monotonic(), rows)
        return rows

    def overlay(self, rows: list[dict], stages) -> list[dict]:
        """Replace stage/version by the command side's (newer) ones; drop rows that left ``stages``."""
        stream = self.system.stream
        pipe = stream.client.pipeline(transaction=False)
        for row in rows:
            pipe.hmget(stream.case_key(row["case_id"]), "stage", "version")
        kept = []
        for row, (stage, version) in zip(rows, pipe.execute()):
            if stage is not None:
                stage = stage.decode() if isinstance(stage, bytes) else stage
                row["stage"], row["version"] = stage, int(version or row["version"])
            if row["stage"] in stages:
                kept.append(row)
        return kept

    def stage_counts(self, scope: str | None = None) -> dict[str, int]:
        """Open and closed cases per stage (from the worker's live counts; a community
        sub-centre's counted from the cases)."""
        table = schema.live_counts
        with self.engine.connect() as c:
            if scope and len(scope) == 12:
                cases = schema.cases
                counts = dict(c.execute(select(cases.c.stage, func.count()).where(cases.c.community_code == scope)
                                        .group_by(cases.c.stage)).all())
            else:
                key = (table.c.scope == "street") & (table.c.key == scope) if scope else table.c.scope == "all"
                counts = dict(c.execute(select(table.c.stage, table.c.n).where(key)).all())
        return {stage.value: int(counts.get(stage.value, 0)) for stage in Stage}
