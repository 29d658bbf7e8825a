"""True queues (issue 11, item 2): the totals equal the database (no cap at 100), pages, sorts
and filters (street, category, urgency, source, overdue), in SQL; on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from datasource.services.queues import QueueFilter, QueueService, clamp_page
from datasource.store import schema
from tests.helpers import LAT, LON, TEST_NOW, event, publish

OTHER_LON, OTHER_LAT = 116.397188, 39.932354         # a grid of street 110101002 (LON, LAT: 110101001)
FILED, SUSPENDED, DISPATCHED = 130, 28, 12


def seed(system) -> None:
    """130 filed (a third urgent, every fifth in street 2, some from the 12345 hotline, most of
    them overdue), 28 suspended, 12 dispatched to sanitation."""
    start = TEST_NOW - timedelta(days=6)
    events = []
    for i in range(FILED + SUSPENDED + DISPATCHED):
        case_id = f"DC{start:%Y%m%d}{700001 + i:06d}"
        # every seventh filed a few minutes ago (within its time limit), the others days ago
        at = TEST_NOW - timedelta(minutes=20 + i) if i % 7 == 0 else start + timedelta(minutes=30 * i)
        lon, lat = (OTHER_LON, OTHER_LAT) if i % 5 == 0 else (LON, LAT)
        events.append(event(case_id, "reported", at, category="E0102" if i % 2 else "C0118", lon=lon, lat=lat,
                            description=f"case {i}", source="hotline12345" if i % 4 == 0 else "inspector",
                            urgency="urgent" if i % 3 == 0 else "normal"))
        events.append(event(case_id, "filed", at + timedelta(minutes=5)))
        if i >= FILED + SUSPENDED:
            events.append(event(case_id, "dispatched", at + timedelta(minutes=10), department="sanitation"))
        elif i >= FILED:
            events.append(event(case_id, "suspended", at + timedelta(minutes=10), reason="等待施工"))
    publish(system.stream, events)
    system.worker().drain()


@pytest.fixture
def queues(system):
    seed(system)
    return QueueService(system)


def in_db(system, *conditions) -> int:
    table = schema.cases
    with system.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table).where(*conditions)).scalar()


def test_totals_equal_the_database_beyond_any_cap(system, queues):
    table = schema.cases
    assert queues.counts(("filed", "suspended", "dispatched")) == {
        "filed": FILED, "suspended": SUSPENDED, "dispatched": DISPATCHED}
    answer = queues.page(("filed",), per_page=20)
    assert answer["total"] == FILED == in_db(system, table.c.stage == "filed")
    assert (answer["pages"], len(answer["rows"])) == (7, 20)
    assert queues.page(("suspended",))["total"] == SUSPENDED == in_db(system, table.c.stage == "suspended")
    assert queues.page(("dispatched",), department="sanitation")["total"] == DISPATCHED
    assert queues.page(("dispatched",), department="roads")["total"] == 0


def test_every_case_once_across_the_pages(queues):
    seen = []
    for page in range(1, 8):
        seen += [r["case_id"] for r in queues.page(("filed",), page=page, per_page=20)["rows"]]
    assert len(seen) == len(set(seen)) == FILED
    assert queues.page(("filed",), page=99, per_page=20)["page"] == 7          # clamped to the last page
    assert clamp_page("x", 3) == 1 and clamp_page(-4, 3) == 1 and clamp_page(2, 0) == 1


def test_filters(system, queues):
    table = schema.cases
    filed = table.c.stage == "filed"
    cases = [
        (QueueFilter(street="110101002"), [table.c.street_code == "110101002"]),
        (QueueFilter(category="E0102"), [table.c.category_code == "E0102"]),
        (QueueFilter(urgency="urgent"), [table.c.urgency == "urgent"]),
        (QueueFilter(source="hotline12345"), [table.c.source == "hotline12345"]),
        (QueueFilter(overdue=True), [table.c.deadline_at < system.now()]),
        (QueueFilter(street="110101001", urgency="urgent", category="C0118"),
         [table.c.street_code == "110101001", table.c.urgency == "urgent", table.c.category_code == "C0118"]),
    ]
    for filters, conditions in cases:
        expected = in_db(system, filed, *conditions)
        answer = queues.page(("filed",), filters=filters, per_page=200)
        assert answer["total"] == expected == len(answer["rows"]), filters
        assert len(queues.points(("filed",), filters=filters)) == expected
    assert 0 < in_db(system, filed, table.c.deadline_at < system.now()) < FILED   # the overdue filter means something
    assert QueueFilter.of({"street": "", "urgency": "bogus", "overdue": ["1"]}) == QueueFilter(overdue=True)
    assert QueueFilter.of({"overdue": []}) == QueueFilter() and QueueFilter.of(None) == QueueFilter()


def test_sorts(queues):
    urgent = queues.page(("filed",), per_page=200)["rows"]
    assert [r["urgency"] for r in urgent] == sorted((r["urgency"] for r in urgent), key=lambda u: u != "urgent")
    newest = queues.page(("filed",), sort="newest", per_page=200)["rows"]
    normal = [r for r in newest if r["urgency"] == "normal"]
    assert [r["stage_entered_at"] for r in normal] == sorted((r["stage_entered_at"] for r in normal), reverse=True)
    waiting = queues.page(("filed",), sort="waiting", per_page=200)["rows"]
    assert [r["waiting_min"] for r in waiting] == sorted((r["waiting_min"] for r in waiting), reverse=True)
    deadline = queues.page(("filed",), sort="deadline", per_page=200)["rows"]
    assert [r["deadline_at"] for r in deadline] == sorted(r["deadline_at"] for r in deadline)
    assert queues.page(("filed",), sort="nonsense")["sort"] == "urgent"


def test_scope_and_the_command_side_overlay(system, queues):
    assert queues.page(("filed",), scope="110101002")["total"] == FILED // 5
    first = queues.page(("filed",), sort="waiting", per_page=5)["rows"][0]["case_id"]
    system.stream.client.hset(system.stream.case_key(first), "stage", "dispatched")   # acted on a moment ago
    assert first not in [r["case_id"] for r in queues.page(("filed",), sort="waiting", per_page=5)["rows"]]
