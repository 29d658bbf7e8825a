"""The evaluation against an independent computation over a generated month.

The simulator's month of history (its stories: returns, reworks, extensions, suspensions,
rejections) is projected by the real projector into SQLite and PostgreSQL.  The oracle then
reads the *event log* only (``case_events`` as a DataFrame) and works every figure out on its
own: it replays each case's events (stage, department, handling deadline from the
time-limit table or the dispatcher's deadline or an extension), finds the first dispatch,
attributes returns, computes handling times with the calendar's own
``working_minutes_between`` and aggregates with pandas.  The service (SQL + vectorised
working hours) must agree for several periods.
"""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone

import pandas as pd
import pytest
from sqlalchemy import select

from dashboard.domain.evaluation import Period
from dashboard.domain.indicators import department_score
from datasource.services.evaluation import DepartmentEvaluation
from datasource.simulation.backfill import ORDER, generate_history
from datasource.store import schema
from tests.helpers import stream_entries

NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
TARGET = {"reported": "reported", "filed": "filed", "rejected": "rejected", "dispatched": "dispatched",
          "returned": "filed", "handled": "handled", "verified": "verified", "rework": "dispatched",
          "closed": "closed", "suspended": "suspended", "reopened": "dispatched"}   # reopened: after a visit (issue 11)


def project_history(system, days: int = 30, per_day: float = 90) -> None:
    history = generate_history(system.scenario, system.locator, days, seed=7, now=NOW, per_day=per_day)
    iso = history.model.iso
    entries = stream_entries(({"event_id": f"gen-{n}", "case_id": case, "type": kind, "at": iso(key // ORDER),
                               "actor": actor, "body": json.dumps(body, ensure_ascii=False)},
                              datetime.fromtimestamp(key // ORDER, timezone.utc))
                             for n, (key, case, kind, actor, body) in enumerate(history.events, 1))
    projector = system.projector()
    for i in range(0, len(entries), 2000):
        result = projector.apply(entries[i:i + 2000])
        assert not result.dead, result.dead[:3]


def replay(events: pd.DataFrame, scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per case: first dispatch, current department and stage, handling deadline, latest
    handling and whether on time, reworks, extensions; and every return with the department
    that made it.  From the events alone."""
    limits = scenario.limits
    cases, returns = [], []
    for case_id, group in events.groupby("case_id", sort=False):
        c = {"case_id": case_id, "stage": None, "from": None, "dept": None, "first": None, "deadline": None,
             "handled": None, "on_time": None, "reworks": 0, "extensions": 0, "category": None, "urgency": None,
             "street": None}
        for e in group.itertuples():
            body = json.loads(e.body)
            if e.type == "reported":
                c.update(category=body["category"], urgency=body.get("urgency", "normal"))
            if e.type == "dispatched":
                c["dept"] = body["department"]
                c["first"] = c["first"] or e.at
                c["deadline"] = (datetime.fromisoformat(body["deadline"]) if body.get("deadline")
                                 else limits.deadline("dispatched", c["category"], c["urgency"], e.at)[1])
            elif e.type in ("rework", "reopened"):   # an unsatisfied return visit reopens as rework
                c["reworks"] += 1
                c["deadline"] = limits.deadline("dispatched", c["category"], c["urgency"], e.at)[1]
            elif e.type == "returned":
                returns.append({"case_id": case_id, "dept": c["dept"]})
            elif e.type == "extended":
                c["extensions"] += 1
                if c["stage"] == "dispatched":
                    c["deadline"] = datetime.fromisoformat(body["until"])
            elif e.type == "handled":
                c["handled"] = e.at
                c["on_time"] = c["deadline"] is None or e.at <= c["deadline"]
            elif e.type == "resumed" and c["from"] == "dispatched":
                c["deadline"] = limits.deadline("dispatched", c["category"], c["urgency"], e.at)[1]
            if e.type == "suspended":
                c["from"] = c["stage"]
            c["stage"] = c["from"] if e.type == "resumed" else TARGET.get(e.type, c["stage"])
        cases.append(c)
    return pd.DataFrame(cases), pd.DataFrame(returns, columns=["case_id", "dept"])


def oracle(cases: pd.DataFrame, returns: pd.DataFrame, period: Period, calendar, now: datetime) -> pd.DataFrame:
    tz = calendar.tz
    lo = datetime.combine(period.first, time(0), tz)
    hi = datetime.combine(period.last + timedelta(days=1), time(0), tz)
    mine = cases[cases["first"].notna()].copy()
    mine = mine[(mine["first"] >= lo) & (mine["first"] < hi)]
    handled = mine["stage"].isin(["handled", "verified", "closed"])
    waiting = mine["stage"] == "dispatched"
    mine["is_handled"] = handled
    mine["is_on_time"] = handled & (mine["on_time"] == True)  # noqa: E712 - None is not on time
    mine["is_closed"] = mine["stage"] == "closed"
    mine["is_overdue"] = waiting & mine["deadline"].map(lambda d: d is not None and d < now)
    mine["is_waiting"] = waiting
    mine["hours"] = [calendar.working_minutes_between(a, b) / 60 if h else None
                     for a, b, h in zip(mine["first"], mine["handled"], handled)]
    g = mine.groupby("dept")
    out = pd.DataFrame({"due": g.size(), "handled": g["is_handled"].sum(), "handled_on_time": g["is_on_time"].sum(),
                        "closed": g["is_closed"].sum(), "reworks": g["reworks"].sum(),
                        "extensions": g["extensions"].sum(), "overdue_now": g["is_overdue"].sum(),
                        "backlog": g["is_waiting"].sum(),
                        "median": g["hours"].median(), "p90": g["hours"].quantile(0.9)})
    in_period = returns[returns["case_id"].isin(set(mine["case_id"]))]
    out["returns"] = in_period.groupby("dept").size()
    return out.fillna({"returns": 0})


@pytest.fixture
def month(system):
    project_history(system)
    with system.engine.connect() as c:
        events = pd.read_sql(select(schema.case_events.c.id, schema.case_events.c.case_id, schema.case_events.c.type,
                                    schema.case_events.c.at, schema.case_events.c.body)
                             .order_by(schema.case_events.c.id), c)
    events["at"] = pd.to_datetime(events["at"], utc=True).dt.to_pydatetime()
    events["at"] = events["at"].astype(object)
    return replay(events, system.scenario)


def test_figures_equal_an_independent_pandas_computation(system, month):
    cases, returns = month
    assert len(cases) > 2000 and len(returns) > 10 and cases["reworks"].sum() > 50
    evaluation = DepartmentEvaluation(system)
    calendar = system.scenario.calendar
    today = NOW.astimezone(calendar.tz).date()
    periods = [Period(today - timedelta(days=29), today), Period(today - timedelta(days=13), today - timedelta(days=7)),
               Period(today - timedelta(days=2), today - timedelta(days=2)), Period(today, today)]
    checked = 0
    for period in periods:
        expected = oracle(cases, returns, period, calendar, NOW)
        rows = {r["code"]: r for r in evaluation.overview(period, NOW)["departments"]}
        assert sum(r["due"] for r in rows.values()) == int(expected["due"].sum()), period
        for dept, e in expected.iterrows():
            r = rows[dept]
            for key in ("due", "handled", "handled_on_time", "closed", "reworks", "extensions", "overdue_now",
                        "backlog", "returns"):
                assert r[key] == int(e[key]), (period, dept, key, r[key], e[key])
            if pd.isna(e["median"]):
                assert r["handling_median_h"] is None
            else:
                assert r["handling_median_h"] == pytest.approx(e["median"], abs=0.006), (period, dept)
                assert r["handling_p90_h"] == pytest.approx(e["p90"], abs=0.006), (period, dept)
            score = department_score(int(e["due"]), int(e["closed"]), int(e["handled"]), int(e["handled_on_time"]),
                                     int(e["reworks"]))
            assert (r["score"], r["grade"]) == (score.composite, score.grade)
            checked += 1
        # The department pages' breakdowns add up to the same figures.
        dept = expected["due"].idxmax()
        report = evaluation.department(dept, period, NOW)
        assert sum(t["due"] for t in report["trend"]) == sum(c["due"] for c in report["categories"]) \
            == sum(s["due"] for s in report["streets"]) == int(expected.loc[dept, "due"])
        assert report["summary"]["returns"] == int(expected.loc[dept, "returns"])
    assert checked > 20
