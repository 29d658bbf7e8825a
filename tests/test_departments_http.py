"""The evaluation's doors over HTTP, in-process: ``GET /api/v1/departments`` (auth, roles, bad
periods, the figures), the CSV and Excel exports (BOM, Chinese headers, Beijing time, the
workbook read back by openpyxl, formula-looking text kept as text) and the OpenAPI part."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from datasource.services import accounts
from tests.test_evaluation import NOW, PERIOD, fixed_cases, project

ROLES = ("supervisor", "leader", "admin", "operator", "department", "wall")
QUERY = f"from={PERIOD.first}&to={PERIOD.last}"
FORMULA = '=HYPERLINK("http://example.invalid","点我")'


@pytest.fixture
def tokens(system) -> dict[str, dict]:
    out = {}
    for role in ROLES:
        name = f"u-{role}"
        accounts.add_user(system.engine, name, role, "pw-" + role * 2, "sanitation" if role == "department" else None)
        out[role] = {"Authorization": f"Bearer {accounts.create_token(system.engine, name)}"}
    return out


@pytest.fixture
def seeded(system):
    events = fixed_cases(system.scenario)
    a5 = next(e for e in events if e.case_id == "DC20261112000005" and e.type.value == "reported")
    a5.body["description"] = FORMULA                                  # a formula typed as a description
    project(system, events)
    return system


def test_api_answers_every_department_with_the_services_figures(seeded, client, tokens):
    answer = client.get(f"/api/v1/departments?{QUERY}", headers=tokens["supervisor"])
    assert answer.status_code == 200, answer.json
    rows = answer.json
    assert isinstance(rows, list) and len(rows) == len(seeded.scenario.departments)
    by_code = {r["code"]: r for r in rows}
    s = by_code["sanitation"]
    for key in ("code", "name", "due", "handled", "handled_on_time", "on_time_rate", "closed", "closure_rate",
                "reworks", "rework_rate", "overdue_now", "score", "grade"):
        assert key in s, key
    assert (s["due"], s["handled"], s["handled_on_time"], s["closed"], s["reworks"]) == (7, 5, 5, 3, 1)
    assert s["closure_rate"] == round(3 / 7, 4) and s["rework_rate"] == round(1 / 7, 4) and s["on_time_rate"] == 1.0
    # "now" is the real clock here: A5, A6 (deadline 11-23) and roads' A10 are overdue by now.
    assert s["overdue_now"] == 2 and by_code["roads"]["overdue_now"] == 1
    assert by_code["roads"]["returns"] == 1 and by_code["water"]["grade"] is None
    assert answer.headers["X-Period"] == f"{PERIOD.first}/{PERIOD.last}"
    for role in ("leader", "admin"):
        assert client.get(f"/api/v1/departments?{QUERY}", headers=tokens[role]).status_code == 200
    one = client.get(f"/api/v1/departments/sanitation?{QUERY}", headers=tokens["leader"]).json
    assert one["summary"]["due"] == 7 and len(one["trend"]) == 5 and one["period"]["from"] == str(PERIOD.first)


def test_api_refuses_the_wrong_people_and_bad_periods(system, client, tokens):
    assert client.get("/api/v1/departments").status_code == 401
    assert client.get("/api/v1/departments", headers={"Authorization": "Bearer nope"}).status_code == 401
    for role in ("operator", "department", "wall"):
        assert client.get("/api/v1/departments", headers=tokens[role]).status_code == 403, role
    sup = tokens["supervisor"]
    for query, fragment in (("from=2026-13-01&to=2026-12-01", "from"), ("from=yesterday", "from"),
                            ("from=2026-11-02&to=2026-11-01", "after"), ("from=2025-01-01&to=2026-01-02", "366"),
                            ("to=2026-02-30", "to")):
        answer = client.get(f"/api/v1/departments?{query}", headers=sup)
        assert answer.status_code == 400, query
        assert fragment in answer.json["message"] and "\n" not in answer.json["message"], answer.json
    zh = client.get("/api/v1/departments?from=2026-11-02&to=2026-11-01&lang=zh", headers=sup).json["message"]
    assert "晚于" in zh
    assert client.get("/api/v1/departments?from=2025-01-01&to=2026-01-01", headers=sup).status_code == 200
    default = client.get("/api/v1/departments", headers=sup)
    first, last = (date.fromisoformat(d) for d in default.headers["X-Period"].split("/"))
    assert default.status_code == 200 and (last - first).days == 29                     # the last 30 days
    assert client.get("/api/v1/departments/nope", headers=sup).status_code == 404


def test_csv_export_opens_in_excel(seeded, client, tokens):
    answer = client.get(f"/reports/departments.csv?period=custom&{QUERY}", headers=tokens["supervisor"])
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in answer.headers["Content-Disposition"]
    body = answer.data
    assert body.startswith(b"\xef\xbb\xbf")                              # UTF-8 BOM
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert "名称" in rows[0] and "按期处置率(%)" in rows[0] and "综合得分" in rows[0]
    sanitation = next(r for r in rows if r["编码"] == "sanitation")
    assert sanitation["应处置"] == "7" and sanitation["结案率(%)"] == "42.9" and sanitation["类型"] == "专业部门"
    english = client.get(f"/reports/departments.csv?{QUERY}&lang=en", headers=tokens["leader"]).data.decode("utf-8-sig")
    assert english.splitlines()[0].startswith("Kind,Code,Name,Due")
    # Times in Beijing time, and typed text that looks like a formula stays text.
    opened = client.get(f"/reports/departments/sanitation/open.csv?{QUERY}", headers=tokens["supervisor"]).data
    table = list(csv.DictReader(io.StringIO(opened.decode("utf-8-sig"))))
    a5 = next(r for r in table if r["案件编号"] == "DC20261112000005")
    assert a5["派遣时间(北京时间)"] == "2026-11-12 09:00:00" and a5["时限"] == "超期"
    assert a5["问题描述"] == "'" + FORMULA
    events = client.get(f"/reports/departments/roads/events.csv?{QUERY}", headers=tokens["supervisor"]).data
    assert "不属于本部门" in events.decode("utf-8-sig")
    closed = client.get(f"/reports/departments/sanitation/trend.csv?{QUERY}", headers=tokens["supervisor"]).data
    assert [r["应处置"] for r in csv.DictReader(io.StringIO(closed.decode("utf-8-sig")))] == ["2", "1", "1", "1", "2"]


def test_xlsx_export_reads_back(seeded, client, tokens):
    from openpyxl import load_workbook
    answer = client.get(f"/reports/departments.xlsx?{QUERY}", headers=tokens["supervisor"])
    assert answer.status_code == 200 and "spreadsheetml" in answer.headers["Content-Type"]
    sheet = load_workbook(io.BytesIO(answer.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["类型", "编码", "名称", "应处置"]
    rows = {r[1]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["sanitation"]["应处置"] == 7 and rows["sanitation"]["按期处置率(%)"] == 100.0
    assert rows["water"]["综合得分"] is None
    for table in ("trend", "categories", "streets", "open", "overdue", "events"):
        got = client.get(f"/reports/departments/sanitation/{table}.xlsx?{QUERY}", headers=tokens["supervisor"])
        assert got.status_code == 200, table
        load_workbook(io.BytesIO(got.data))
    opened = load_workbook(io.BytesIO(client.get(f"/reports/departments/sanitation/open.xlsx?{QUERY}",
                                                 headers=tokens["admin"]).data)).active
    header = [c.value for c in opened[1]]
    a5 = next(r for r in opened.iter_rows(min_row=2) if r[0].value == "DC20261112000005")
    cell = a5[header.index("问题描述")]
    assert cell.value == FORMULA and cell.data_type == "s"                 # text, not a formula
    dispatched = a5[header.index("派遣时间(北京时间)")].value
    assert dispatched.isoformat() == "2026-11-12T09:00:00"                 # a real date, Beijing time


def test_exports_check_roles_and_input(seeded, client, tokens):
    assert client.get(f"/reports/departments.csv?{QUERY}").status_code == 401
    assert client.get(f"/reports/departments.csv?{QUERY}", headers=tokens["operator"]).status_code == 403
    assert client.get("/reports/departments.csv?period=month&month=2026-13", headers=tokens["admin"]).status_code == 400
    assert client.get(f"/reports/departments.pdf?{QUERY}", headers=tokens["admin"]).status_code == 404
    assert client.get(f"/reports/departments/nope/open.csv?{QUERY}", headers=tokens["admin"]).status_code == 404
    assert client.get(f"/reports/departments/sanitation/secrets.csv?{QUERY}", headers=tokens["admin"]).status_code == 404


def test_openapi_paths_are_a_valid_document():
    from openapi_spec_validator import validate

    from dashboard.web.api_reports import openapi_paths
    from dashboard.web.openapi import build_spec
    spec = build_spec()
    spec["paths"].update(openapi_paths())
    validate(spec)
    params = {p["name"] for p in spec["paths"]["/departments"]["get"]["parameters"]}
    assert params == {"from", "to"}
    schema = spec["paths"]["/departments"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"due", "handled_on_time", "on_time_rate", "score", "grade"} <= set(schema["items"]["properties"])


def test_period_figures_do_not_depend_on_the_door(seeded):
    from datasource.services.evaluation import DepartmentEvaluation
    evaluation = DepartmentEvaluation(seeded)
    api = {r["code"]: r for r in evaluation.api_rows(PERIOD, NOW)}
    table = {r["code"]: r for r in evaluation.table("departments", PERIOD, now=NOW)}
    assert api["sanitation"]["score"] == table["sanitation"]["score"]
    assert date.fromisoformat(str(PERIOD.first)) == PERIOD.first


def test_every_label_exists_in_both_languages():
    from dashboard.domain.evaluation import CODE_PREFIX, TABLES
    from dashboard.i18n import CATALOGUE
    keys = {f"eval.col.{c}" for spec in TABLES.values() for c, _ in spec} | {f"eval.table.{name}" for name in TABLES}
    keys |= {CODE_PREFIX["kind"] + k for k in ("professional", "street")}
    keys |= {CODE_PREFIX["light"] + k for k in ("green", "yellow", "red", "none")}
    keys |= {CODE_PREFIX["urgency"] + k for k in ("normal", "urgent")}
    keys |= {CODE_PREFIX["type"] + k for k in ("returned", "rework")}
    keys |= {CODE_PREFIX["stage"] + k for k in ("dispatched", "handled", "verified", "suspended")}
    missing = sorted(k for k in keys if k not in CATALOGUE or not all(CATALOGUE[k]))
    assert missing == []
