"""The audit log for the administrator (issue 11, item 8): pages and filters served by the
database (both databases), a date range in Beijing time, every value and message in the
page's language, and the CSV download with a BOM, Beijing times and Chinese (or English)
headers — through the real app over HTTP."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from dashboard.i18n import CATALOGUE, t
from datasource.services import accounts, audit, audit_view
from datasource.services.command_types import Msg

BEIJING_MIDNIGHT = datetime(2026, 11, 17, 16, 0, tzinfo=timezone.utc)   # 2026-11-18 00:00 in Beijing


def seed(engine, n: int = 120) -> None:
    """``n`` rows an hour apart from Beijing midnight of 11-18, in three outcomes."""
    for i in range(n):
        outcome = ("ok", "refused", "conflict")[i % 3]
        message = {"ok": "dispatched department=sanitation deadline=2026-11-19T10:00:00+08:00",
                   "refused": "role operator may not verify",
                   "conflict": f"case DC20261118{i:06d} already dispatched by op at 10:32:05"}[outcome]
        audit.record(engine, user="op" if i % 2 else "sup", role="operator" if i % 2 else "supervision",
                     action=("dispatch", "verify", "dispatch")[i % 3], outcome=outcome, case_id=f"DC20261118{i:06d}",
                     remote_addr="10.0.0.1", before="filed", after="dispatched" if outcome == "ok" else "filed",
                     message=message, at=BEIJING_MIDNIGHT + timedelta(hours=i))


@pytest.fixture
def tz(system):
    return system.scenario.calendar.tz


def test_pages_are_served_by_the_database_newest_first(system, tz):
    seed(system.engine)
    first = audit_view.page(system.engine, "zh", tz, number=1, size=50)
    last = audit_view.page(system.engine, "zh", tz, number=3, size=50)
    assert (first["total"], first["pages"], len(first["rows"]), len(last["rows"])) == (120, 3, 50, 20)
    assert first["rows"][0]["case_id"] == "DC20261118000119" and last["rows"][-1]["case_id"] == "DC20261118000000"
    assert audit_view.page(system.engine, "zh", tz, number=99, size=50)["page"] == 3      # clamped
    refused = audit_view.page(system.engine, "zh", tz, outcome="refused", user="op")
    assert refused["total"] == 20 and {r["outcome"] for r in refused["rows"]} == {"被拒绝"}
    empty = audit_view.page(system.engine, "zh", tz, case_id="DC20990101000001")
    assert (empty["total"], empty["pages"], empty["rows"]) == (0, 1, [])


def test_a_date_range_is_whole_beijing_days(system, tz):
    seed(system.engine)
    day = audit_view.day_bounds(date(2026, 11, 18), date(2026, 11, 18), tz)
    assert audit.count(system.engine, **day) == 24                       # 00:00 … 23:00 Beijing
    two = audit_view.day_bounds(date(2026, 11, 19), date(2026, 11, 20), tz)
    assert audit.count(system.engine, **two) == 48
    since = audit_view.day_bounds(date(2026, 11, 22), None, tz)
    assert audit.count(system.engine, **since) == 120 - 4 * 24


def test_values_and_messages_are_in_the_page_language(system, tz):
    seed(system.engine, 3)
    rows = audit.query(system.engine)
    zh = {r["outcome_code"]: r for r in (audit_view.describe(row, "zh", tz, system.scenario.departments) for row in rows)}
    assert zh["ok"]["action"] == "派遣" and zh["ok"]["role"] == "监督中心受理员" and zh["ok"]["outcome"] == "成功"
    assert zh["ok"]["change"] == "立案 → 派遣" and zh["ok"]["at"] == "2026-11-18 00:00:00"
    assert zh["ok"]["message"] == "已派遣，处置部门 区城市管理委员会环卫中心，时限 2026-11-19 10:00:00"
    assert zh["refused"]["message"] == "角色 派遣员 无权执行「核查」" and zh["refused"]["role"] == "派遣员"
    assert zh["conflict"]["message"] == "案件 DC20261118000002 已被 op 于 10:32:05 派遣"
    en = audit_view.describe(rows[0], "en", tz, system.scenario.departments)
    assert en["outcome"] == "conflict (someone else was first)" and en["role"] == "Supervision centre"
    free = audit_view.describe({**rows[0], "message": "请尽快处理 <b>"}, "zh", tz)
    assert free["message"] == "请尽快处理 <b>"                              # a person's text stays as written


def test_every_recorded_refusal_reads_back_in_chinese():
    """Each command message, rendered in English as the log keeps it, translates back to the
    Chinese the same message would have said (values that are plain stay as they are)."""
    checked = 0
    for key in (k for k in CATALOGUE if k.startswith("cmd.")):
        names = re.findall(r"\{(\w+)\}", CATALOGUE[key][1])
        values = {name: f"v{i}x" for i, name in enumerate(names)}
        english = Msg(key, **values).render("en")
        assert audit_view.translate_message(english, "zh") == Msg(key, **values).render("zh"), key
        checked += 1
    assert checked > 25


def test_the_report_csv_has_a_bom_beijing_times_and_chinese_headers(system, tz):
    seed(system.engine, 2)
    text = audit_view.report_csv(audit.query(system.engine), "zh", tz, system.scenario.departments)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0][:4] == ["序号", "时间（北京时间）", "用户", "角色"]
    assert table[-1][1] == "2026-11-18 00:00:00" and table[-1][9] == "成功"
    english = list(csv.reader(io.StringIO(audit_view.report_csv(audit.query(system.engine), "en", tz)[1:])))
    assert english[0][:2] == ["No.", "Time (Beijing)"] and english[-1][9] == "done"


def test_the_admin_download_over_http(client, system):
    seed(system.engine, 30)
    accounts.add_user(system.engine, "adm", "admin", "password-123")
    accounts.add_user(system.engine, "op2", "operator", "password-123")
    admin = {"Authorization": f"Bearer {accounts.create_token(system.engine, 'adm')}"}
    answer = client.get("/admin/audit.csv?from=2026-11-18&to=2026-11-18&outcome=ok", headers=admin)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    raw = answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")                                 # the UTF-8 BOM Excel needs
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(table) == 8 and {r["结果"] for r in table} == {"成功"}
    assert all(r["时间（北京时间）"].startswith("2026-11-18 ") for r in table)
    english = list(csv.DictReader(io.StringIO(client.get("/admin/audit.csv?lang=en&user=op", headers=admin)
                                             .get_data().decode("utf-8-sig"))))
    assert len(english) == 15 and english[0]["Role"] == "Dispatcher"
    for bad in ("from=2026-02-30", "from=2026-11-20&to=2026-11-18", "outcome=maybe"):
        refused = client.get(f"/admin/audit.csv?{bad}", headers=admin)
        assert refused.status_code == 400 and refused.is_json and "\n" not in refused.json["message"], bad
    operator = {"Authorization": f"Bearer {accounts.create_token(system.engine, 'op2')}"}
    assert client.get("/admin/audit.csv", headers=operator).status_code == 403
    assert client.get("/admin/audit.csv").status_code == 401
    machine = client.get("/api/v1/audit?format=csv", headers=admin).get_data(as_text=True)
    assert machine.splitlines()[0].startswith("id,at,user_name")           # the API's CSV keeps its codes


def test_the_bad_dates_message_exists_in_both_languages():
    assert t("admin.bad_dates", "zh") != "admin.bad_dates" and t("admin.bad_dates", "en").startswith("Bad dates")
