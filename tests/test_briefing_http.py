"""The briefing through its doors, in-process: the page's callback and its roles, the PDF
download (archived, fonts embedded, the narrative's numbers in its text), ``citygrid
briefing`` from cron (idempotent, exit codes, one line), escaping, and every string in
both languages."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard.i18n import CATALOGUE
from dashboard.settings import Settings
from dashboard.web.sessions import stamp
from datasource.services import accounts
from datasource.store import schema
from tests.briefing_data import Surge, Town

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-9"


@pytest.fixture(scope="module")
def desk(tmp_path_factory, redis_server_url):
    """The app over 40 days of generated history ending now, with a user per role."""
    import uuid

    from dashboard.web.factory import create_app, start
    from datasource.system import System
    folder = tmp_path_factory.mktemp("briefing-http")
    settings = Settings(data_dir=folder, redis_url=redis_server_url, database_url=f"sqlite:///{folder / 'b.db'}",
                        stream=f"test:{uuid.uuid4().hex[:10]}:events", secret_key="briefing-test")
    system = System(settings).start()
    now = datetime.now(timezone.utc)
    tz = system.scenario.calendar.tz
    today = now.astimezone(tz).date()
    town = Town(system.scenario, seed=5)
    grid = town.grids[700]["code"]
    town.history(today - timedelta(days=40), today, 60, now, surges=[Surge(today - timedelta(days=1), grid, "E0102", 7)])
    town.write(system.engine)
    for name, role in (("lead", "leader"), ("boss", "supervisor"), ("op", "operator"), ("adm", "admin")):
        accounts.add_user(system.engine, name, role, PASSWORD)
    # A street sub-centre's leader (the street of the planted surge).
    accounts.add_user(system.engine, "lead-st", "leader", PASSWORD, scope=grid[:9], streets=system.scenario.streets)
    app = start(create_app(settings, system))
    app.yesterday = today - timedelta(days=1)
    app.grid = grid
    yield app
    app.server.extensions["citygrid.services"].briefing.close()
    system.close()
    for key in system.redis.scan_iter(match=settings.stream + "*"):
        system.redis.delete(key)


def client_as(app, name: str | None):
    client = app.server.test_client()
    if name:
        user = accounts.find_user(app.server.extensions["citygrid"].engine, name)
        with client.session_transaction() as session:
            stamp(session, user)   # a checkable session (dashboard/web/sessions.py)
    return client


def page_request(day: str | None, lang: str = "zh") -> dict:
    outputs = [{"id": "briefing-content", "property": "children"}, {"id": "briefing-pdf", "property": "href"},
               {"id": "briefing-archive", "property": "children"}]
    return {"output": "..briefing-content.children...briefing-pdf.href...briefing-archive.children..",
            "outputs": outputs, "inputs": [{"id": "briefing-date", "property": "date", "value": day}],
            "state": [{"id": "briefing-asked", "property": "data", "value": "yesterday"},
                      {"id": "briefing-lang", "property": "data", "value": lang}],
            "changedPropIds": ["briefing-date.date"]}


def texts(node) -> str:
    return json.dumps(node, ensure_ascii=False)


# ---------------------------------------------------------------------------- the page
@pytest.mark.parametrize("who", ["lead", "boss", "adm"])
def test_leaders_read_the_briefing(desk, who):
    answer = client_as(desk, who).post("/_dash-update-component", json=page_request(desk.yesterday.isoformat()))
    assert answer.status_code == 200
    response = answer.json["response"]
    body = texts(response["briefing-content"]["children"])
    data = desk.server.extensions["citygrid.services"].briefing.service.build(desk.yesterday)
    assert f"共受理案件 {data['headlines']['new']['value']:,} 件" in body
    assert "briefing-cards" in body and "data:image/svg+xml;base64," in body   # the map
    assert "Benjamini" in body and "MAPE" in body                              # the stated test and accuracy
    assert response["briefing-pdf"]["href"] == f"/briefing/pdf?date={desk.yesterday.isoformat()}&lang=zh"


@pytest.mark.parametrize("who", [None, "op"])
def test_the_briefing_refuses_who_may_not_read_it(desk, who):
    answer = client_as(desk, who).post("/_dash-update-component", json=page_request(desk.yesterday.isoformat()))
    assert answer.status_code == 204 and answer.data == b""


def test_the_router_guards_the_page_and_english_works(desk):
    from dashboard.domain.permissions import PAGE_ROLES, may_open
    assert may_open("leader", PAGE_ROLES["/briefing"]) and not may_open("operator", PAGE_ROLES["/briefing"])
    answer = client_as(desk, "lead").post("/_dash-update-component", json=page_request(desk.yesterday.isoformat(), "en"))
    body = texts(answer.json["response"]["briefing-content"]["children"])
    assert "took in" in body and "共受理" not in body
    assert re.findall(r'"briefing\.[a-z_.0-9]+"', body) == []   # no raw i18n key reaches the page


def test_a_bad_date_and_a_date_without_data_are_said_plainly(desk):
    client = client_as(desk, "lead")
    bad = texts(client.post("/_dash-update-component", json=page_request("2026-13-40")).json["response"])
    assert "日期无效" in bad
    empty = texts(client.post("/_dash-update-component", json=page_request("2020-01-01")).json["response"])
    assert "没有任何案件数据" in empty


# ---------------------------------------------------------------------------- the PDF
def test_the_pdf_download_is_archived_and_reads_well(desk, artifacts):
    day = desk.yesterday.isoformat()
    assert client_as(desk, None).get(f"/briefing/pdf?date={day}").status_code == 401
    assert client_as(desk, "op").get(f"/briefing/pdf?date={day}").status_code == 403
    client = client_as(desk, "lead")
    answer = client.get(f"/briefing/pdf?date={day}&lang=zh")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf" and answer.data.startswith(b"%PDF")
    assert f"briefing-{day}-zh.pdf" in answer.headers["Content-Disposition"]
    briefings = desk.server.extensions["citygrid.services"].briefing
    entry = briefings.entry(desk.yesterday, "zh")
    assert entry and (Path(briefings.system.settings.data_dir) / entry["path"]).read_bytes() == answer.data
    again = client.get(f"/briefing/pdf?date={day}&lang=zh")   # from the archive: the same bytes
    assert again.data == answer.data
    path = artifacts / "briefing.pdf"
    path.write_bytes(answer.data)
    data = json.loads(entry["figures"])
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
        lines = fonts.strip().splitlines()[2:]
        assert any("Noto-Sans-CJK-SC" in line for line in lines)
        assert lines and all(line.split()[-5] == "yes" for line in lines)   # every font embedded
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
        flat = re.sub(r"\s+", "", text)
        assert f"共受理案件{data['headlines']['new']['value']:,}件" in flat   # the narrative, as text in the PDF
        assert "异常地点" in flat and "次日预测" in flat and "MAPE" in flat
        pages = subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(artifacts / "briefing-page")],
                               capture_output=True, check=True)
        assert pages.returncode == 0 and len(list(artifacts.glob("briefing-page-*.png"))) >= 3
    else:
        assert b"FontFile" in answer.data and b"NotoSansCJK" in answer.data.replace(b"-", b"")


def test_pdf_answers_for_bad_dates_and_days_without_data(desk):
    client = client_as(desk, "lead")
    assert client.get("/briefing/pdf?date=yesterday-ish").status_code == 400
    future = (desk.yesterday + timedelta(days=5)).isoformat()
    assert client.get(f"/briefing/pdf?date={future}").status_code == 400
    empty = client.get("/briefing/pdf?date=2020-01-01")
    assert empty.status_code == 404 and "no case data for 2020-01-01" in empty.get_data(as_text=True)


# ---------------------------------------------------------------------------- the CLI
def test_the_cli_is_safe_to_run_from_cron(desk, tmp_path):
    from tests.conftest import CliRunner
    system = desk.server.extensions["citygrid"]
    runner = CliRunner(system.settings)
    day = (desk.yesterday - timedelta(days=1)).isoformat()
    out = tmp_path / "briefing.pdf"
    first = runner.invoke("briefing", "--date", day, "--out", str(out))
    assert first.exit_code == 0, first.output
    assert first.output.count("\n") == 1 and "written" in first.output and out.read_bytes().startswith(b"%PDF")
    second = runner.invoke("briefing", "--date", day, "--out", str(tmp_path / "again.pdf"))
    assert second.exit_code == 0 and "already archived" in second.output
    assert (tmp_path / "again.pdf").read_bytes() == out.read_bytes()
    with system.engine.connect() as c:
        rows = c.execute(select(func.count()).select_from(schema.briefings).where(
            schema.briefings.c.day == datetime.fromisoformat(day).date())).scalar()
    assert rows == 1
    listed = desk.server.extensions["citygrid.services"].briefing.entries()
    assert any(e["day"].isoformat() == day for e in listed)
    nodata = runner.invoke("briefing", "--date", "2020-01-01")
    assert nodata.exit_code == 3 and "no case data for 2020-01-01" in nodata.output
    assert nodata.output.count("\n") == 1
    for bad in ("2026-02-30", "soon", (desk.yesterday + timedelta(days=9)).isoformat()):
        wrong = runner.invoke("briefing", "--date", bad)
        assert wrong.exit_code == 2 and "--date" in wrong.output


# ---------------------------------------------------------------------------- escaping, strings
def test_text_from_data_is_escaped_in_the_pdf_html_and_the_map(desk):
    from datasource.services.briefing_figures import base_map
    from datasource.services.briefing_pdf import render_html
    from datasource.services.briefing_view import view
    scenario = desk.server.extensions["citygrid"].scenario
    services = desk.server.extensions["citygrid.services"]
    v = view(services.briefing.service.build(desk.yesterday), scenario, "zh")
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    v["narrative"] = [evil + p for p in v["narrative"]]
    v["overdue"] = [[evil] + row[1:] for row in v["overdue"]] or [[evil, "", "", "", "", "", ""]]
    html = render_html(v, {}, "")
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    code = next(iter(scenario.streets))
    svg = base_map(scenario).draw(names={code: evil}, legend=[("#f00", evil)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_every_briefing_string_exists_in_both_languages():
    used = set()
    for path in [*ROOT.glob("datasource/services/briefing*.py"), ROOT / "layouts/briefing.py",
                 ROOT / "callbacks/briefing.py"]:
        source = path.read_text()
        used |= set(re.findall(r'"(briefing\.[a-z_.0-9]+)"', source))
    prefixes = {"briefing.h.": ("new", "filed", "dispatched", "closed", "closure_rate", "on_time_rate", "overdue",
                                "public_share"),
                "briefing.vs.": ("prev_day", "last_week"), "briefing.weekday.": tuple("0123456"),
                "briefing.outcome.": ("closed", "handled", "open", "open_overdue", "rejected", "suspended"),
                "briefing.method.": ("same_weekday", "recent_days"), "briefing.empty.": ("no_data", "future"),
                "briefing.group.": ("C01", "C02", "C03", "C04", "C05", "C06", "E01", "E02", "E03", "E04", "E05"),
                "briefing.level.": ("grid", "street"), "briefing.series.": ("day", "prev_day", "last_week"),
                "briefing.forecast.unavailable.": ("short_history", "day_not_over"),
                "briefing.dept.": ("name", "due", "closed", "closure", "on_time", "rework", "score", "grade"),
                "briefing.overdue.": ("case", "category", "street", "department", "stage", "by", "now"),
                "briefing.em.": ("time", "case", "category", "street", "department", "dispatch", "handle", "outcome")}
    used -= {p.rstrip(".") for p in prefixes}   # table prefixes, completed by their columns below
    used |= {p + s for p, suffixes in prefixes.items() for s in suffixes}
    missing = sorted(k for k in used if k not in CATALOGUE or not all(CATALOGUE[k]))
    assert len(used) > 100 and missing == []
    # Templates take the same fields in both languages.
    for key in (k for k in CATALOGUE if k.startswith("briefing.")):
        zh, en = CATALOGUE[key]
        assert set(re.findall(r"\{(\w+)", zh)) == set(re.findall(r"\{(\w+)", en)), key


# ---------------------------------------------------------------------------- a sub-centre
def test_a_street_leader_reads_its_streets_briefing_page_pdf_archive_and_cli(desk, tmp_path):
    """The page, the PDF and the archive of a street leader hold the street's briefing (the
    scope comes from the login, never from the URL); the district's archive is not listed."""
    from tests.conftest import CliRunner
    street, day = desk.grid[:9], desk.yesterday.isoformat()
    briefings = desk.server.extensions["citygrid.services"].briefing
    mine, district = briefings.service.build(desk.yesterday, scope=street), briefings.service.build(desk.yesterday)
    n = mine["headlines"]["new"]["value"]
    assert 0 < n < district["headlines"]["new"]["value"]
    client = client_as(desk, "lead-st")
    body = texts(client.post("/_dash-update-component", json=page_request(day)).json["response"])
    name = desk.server.extensions["citygrid"].scenario.streets[street]
    assert f"东城区{name}每日简报" in body and f"共受理案件 {n:,} 件" in body
    assert f"共受理案件 {district['headlines']['new']['value']:,} 件" not in body
    answer = client.get(f"/briefing/pdf?date={day}&lang=zh")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    assert f"briefing-{day}-zh-{street}.pdf" in answer.headers["Content-Disposition"]
    entry = briefings.entry(desk.yesterday, "zh", street)
    assert entry and entry["scope"] == street and json.loads(entry["figures"])["scope"] == street
    assert json.loads(entry["figures"])["headlines"]["new"]["value"] == n
    if shutil.which("pdftotext"):
        path = tmp_path / "street.pdf"
        path.write_bytes(answer.data)
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
        flat = re.sub(r"\s+", "", text)
        assert f"共受理案件{n:,}件" in flat and name in flat
    # The district's archive and the street's are apart; the street's page lists its own only.
    assert all(e["path"].endswith(f"-{street}.pdf") for e in briefings.entries(scope=street))
    assert not any(e["path"].endswith(f"-{street}.pdf") for e in briefings.entries())
    # From cron: --scope makes the street's PDF; a wrong scope is a bad option.
    runner = CliRunner(desk.server.extensions["citygrid"].settings)
    other = (desk.yesterday - timedelta(days=2)).isoformat()
    done = runner.invoke("briefing", "--date", other, "--scope", street)
    assert done.exit_code == 0 and f"{street}: written" in done.output, done.output
    assert briefings.entry(desk.yesterday - timedelta(days=2), "zh", street) is not None
    assert briefings.entry(desk.yesterday - timedelta(days=2), "zh") is None
    wrong = runner.invoke("briefing", "--date", other, "--scope", "999999999")
    assert wrong.exit_code == 2 and "--scope" in wrong.output
