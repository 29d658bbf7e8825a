"""The report API in-process over HTTP (``/api/v1/regions``, ``/regions/cases``,
``/inspectors``, ``/dispatchers``, ``/shifts``) on both databases: roles, one-line 400s,
JSON equal to the services, CSV (BOM, Chinese headers, Beijing time) and Excel exports
built from the same rows, the OpenAPI path items, and landing after log-in."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from dashboard.domain.evaluation import Period
from datasource.services import accounts
from datasource.services.regions import RegionReport
from tests.test_regions_figures import publish_story

USERS = (("boss", "supervisor"), ("lead", "leader"), ("adm", "admin"), ("op", "operator"), ("sup", "supervision"))
PERIOD = "from=2026-11-02&to=2026-11-03"


@pytest.fixture
def seeded(system):
    return system, publish_story(system)[1]


@pytest.fixture
def tokens(system) -> dict[str, dict]:
    out = {}
    for name, role in USERS:
        accounts.add_user(system.engine, name, role, "password-123", None)
        out[role] = {"Authorization": f"Bearer {accounts.create_token(system.engine, name)}"}
    return out


def test_roles_and_one_line_errors(seeded, client, tokens):
    for path in ("/api/v1/regions", "/api/v1/inspectors", "/api/v1/dispatchers", "/api/v1/shifts"):
        assert client.get(path).status_code == 401
        for role in ("operator", "supervision"):
            assert client.get(path, headers=tokens[role]).status_code == 403
        for role in ("supervisor", "leader", "admin"):
            assert client.get(f"{path}?{PERIOD}", headers=tokens[role]).status_code == 200
    bad = {"from=2026-13-01": "from", "to=yesterday": "to", "from=2026-11-05&to=2026-11-01": "2026-11-05",
           "level=district": "district", "level=grid&parent=110101001": "110101001", "format=pdf": "pdf",
           "from=2020-01-01&to=2026-01-01": "731"}
    for query, needle in bad.items():
        answer = client.get(f"/api/v1/regions?{query}", headers=tokens["supervisor"])
        assert answer.status_code == 400, query
        assert answer.json["error"] == "bad_request" and needle in answer.json["message"]
        assert "\n" not in answer.json["message"]
    answer = client.get("/api/v1/regions/cases?grid=nope&lang=zh", headers=tokens["supervisor"])
    assert answer.status_code == 400 and "不存在" in answer.json["message"]


def test_json_answers_are_the_services_figures(seeded, client, tokens):
    system, places = seeded
    headers = tokens["supervisor"]
    body = client.get(f"/api/v1/regions?level=street&{PERIOD}", headers=headers).json
    assert body["period"] == {"from": "2026-11-02", "to": "2026-11-03", "days": 2, "timezone": "Asia/Shanghai"}
    street = next(r for r in body["regions"] if r["code"] == places["g1"]["street"])
    assert (street["cases"], street["closure_rate"], street["public_share"]) == (4, 0.75, 0.5)
    period = Period(date(2026, 11, 2), date(2026, 11, 3), tz=system.scenario.calendar.tz)
    expected = RegionReport(system).figures("grid", period, places["g1"]["community"])
    grids = client.get(f"/api/v1/regions?level=grid&parent={places['g1']['community']}&{PERIOD}", headers=headers).json
    assert [(r["code"], r["cases"]) for r in grids["regions"]] == [(r["code"], r["cases"]) for r in expected]
    cases = client.get(f"/api/v1/regions/cases?grid={places['g1']['grid']}&{PERIOD}", headers=headers).json
    assert [c["case_id"][-1] for c in cases["cases"]] == ["2", "4", "1"]
    inspectors = client.get(f"/api/v1/inspectors?{PERIOD}", headers=headers).json
    first = next(r for r in inspectors["inspectors"] if r["id"] == places["g1"]["inspector"])
    assert (first["missed_rate"], first["composite"], first["grade"]) == (0.5, 50.0, "D")
    assert inspectors["not_measured"] == ["on_time_check_rate"]
    dispatchers = client.get(f"/api/v1/dispatchers?{PERIOD}", headers=headers).json["dispatchers"]
    assert {r["actor"]: r["returned"] for r in dispatchers} == {"disp-a": 1, "disp-b": 0}
    shifts = client.get(f"/api/v1/shifts?{PERIOD}", headers=headers).json
    assert [s["shift"] for s in shifts["shifts"]] == ["day", "evening", "night"] and shifts["daily"]


def same(cell, text: str) -> bool:
    """An Excel cell and a CSV field hold the same value (numbers compared as numbers)."""
    if cell is None:
        return text == ""
    if isinstance(cell, (int, float)):
        return float(text) == float(cell)
    return str(cell) == text


def test_csv_and_xlsx_exports_share_the_rows(seeded, client, tokens):
    system, places = seeded
    headers = tokens["leader"]
    answer = client.get(f"/api/v1/regions?level=street&{PERIOD}&format=csv", headers=headers)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    raw = answer.get_data()
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:3] == ["名称", "编码", "网格数"] and "结案率 (%)" in table[0]
    row = next(r for r in table[1:] if r[1] == places["g1"]["street"])
    assert row[table[0].index("结案率 (%)")] == "75.0" and row[table[0].index("立案数")] == "4"
    assert "暴露垃圾" in row[-1]
    english = client.get(f"/api/v1/regions?level=street&{PERIOD}&format=csv&lang=en", headers=headers)
    assert english.get_data().decode("utf-8-sig").startswith("Name,Code,Grids")
    book = client.get(f"/api/v1/regions?level=street&{PERIOD}&format=xlsx", headers=headers)
    assert book.status_code == 200 and book.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(book.get_data())).active
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    assert cells[0] == table[0]
    assert [same(a, b) for a, b in zip(next(r for r in cells if r[1] == places["g1"]["street"]), row)] == [True] * len(row)
    # One grid's cases: times in Beijing time.
    grid = client.get(f"/api/v1/regions/cases?grid={places['g1']['grid']}&{PERIOD}&format=csv", headers=headers)
    rows = list(csv.DictReader(io.StringIO(grid.get_data().decode("utf-8-sig"))))
    assert rows[0]["上报时间"] == "2026-11-02 16:50:00" and rows[0]["来源"] == "12345 热线"
    for part in ("inspectors", "dispatchers", "shifts"):
        answer = client.get(f"/api/v1/{part}?{PERIOD}&format=xlsx", headers=headers)
        assert answer.status_code == 200 and load_workbook(io.BytesIO(answer.get_data())).active.max_row > 1
    shifts = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/shifts?{PERIOD}&format=csv", headers=headers)
                                             .get_data().decode("utf-8-sig"))))
    assert shifts[0]["班次"] == "白班 08:00–16:00" and shifts[0]["准确立案率 (%)"] == ""


def test_openapi_path_items_are_valid(client):
    from openapi_spec_validator import validate

    from dashboard.web.api_regions import OPENAPI_PATHS
    spec = client.get("/api/v1/openapi.json").json
    spec["paths"].update(OPENAPI_PATHS)      # what build_spec does once merged
    validate(spec)
    assert set(OPENAPI_PATHS) == {"/regions", "/regions/cases", "/inspectors", "/dispatchers", "/shifts"}
