"""The dispatch recommendation: which department a filed case should go to, with the
alternatives and each one's open load and on-time rate, and the default deadline.

The routing table's department comes first, then the case's street office, then the
professional departments by on-time rate and load.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import and_, case as sql_case, func, select

from datasource.store import schema

STATS_TTL = 10.0  # seconds department statistics are reused (they change slowly)


class Recommender:
    """Department statistics (cached for :data:`STATS_TTL` s) and the recommendation rule."""

    def __init__(self, system):
        self.system = system
        self.scenario = system.scenario
        self.tz = self.scenario.calendar.tz
        self._stats: tuple[float, dict] | None = None

    @property
    def engine(self):
        return self.system.engine

    def department_stats(self, days: int = 30) -> dict[str, dict]:
        """Per department: open dispatched cases (load) and the on-time rate over ``days`` days."""
        if self._stats and time.monotonic() - self._stats[0] < STATS_TTL:
            return self._stats[1]
        since = self.system.now() - timedelta(days=days)
        counts, cases = schema.live_counts, schema.cases
        with self.engine.connect() as c:
            load = dict(c.execute(select(counts.c.key, counts.c.n).where(
                and_(counts.c.scope == "dept", counts.c.stage == "dispatched"))).all())
            rates = c.execute(select(cases.c.department_code, func.count(),
                                     func.sum(sql_case((cases.c.handled_on_time.is_(True), 1), else_=0)))
                              .where(cases.c.handled_at >= since, cases.c.handled_on_time.is_not(None))
                              .group_by(cases.c.department_code)).all()
        stats = {code: {"load": int(load.get(code, 0)), "handled": 0, "on_time_rate": None}
                 for code in self.scenario.departments}
        for code, handled, on_time in rates:
            if code in stats and handled:
                stats[code].update(handled=int(handled), on_time_rate=float(on_time or 0) / handled)
        self._stats = (time.monotonic(), stats)
        return stats

    def recommend(self, row: dict, now: datetime | None = None) -> dict:
        """Recommended department and deadline for dispatching ``row``, with the alternatives.

        The routing table's department comes first (the owner department of the nearest
        matching component is approximated by the routing owner), then the case's street
        office, then the professional departments by on-time rate and load."""
        now = now or self.system.now().astimezone(self.tz)
        default = self.scenario.department_for(row["category_code"], row.get("street_code"))
        street = f"street-{row.get('street_code')}"
        stats = self.department_stats()
        order = [default]
        if street in self.scenario.departments and street != default:
            order.append(street)
        others = [d.code for d in self.scenario.departments.values() if d.kind == "professional" and d.code not in order]
        others.sort(key=lambda code: (-(stats[code]["on_time_rate"] or 0), stats[code]["load"]))
        order += others
        _, deadline = self.scenario.limits.deadline("dispatched", row["category_code"], row.get("urgency", "normal"), now)
        candidates = [{"code": code, "name_zh": self.scenario.departments[code].name_zh,
                       "name_en": self.scenario.departments[code].name_en, **stats[code],
                       "recommended": code == default, "why": "routing" if code == default else
                       ("street" if code == street else "")} for code in order]
        return {"department": default, "deadline": deadline, "candidates": candidates}
