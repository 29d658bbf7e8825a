"""No untranslated string on any page (issue 11, item 7): each role logs in, walks every
page its navigation offers in Chinese and in English in headless Chromium, and the visible
text (plus the titles and placeholders a user reads) must not show a known untranslated
pattern:

- on a Chinese page, English words — outside an allow-list of names that are the same in
  both languages (API, CSV, PDF, statistics methods) and people's log-in names;
- on an English page, Chinese — outside proper names (streets, communities, inspectors)
  and what people wrote (case descriptions);
- "None", "nan", "NaN", "undefined", "null"; catalogue keys shown raw (``admin.title``);
  staff codes (``dispatcher-03``) or inspector ids where a name belongs.

The district has a day of simulated history, so queues, tables, maps and the audit log
are full, and a case is opened in the panel of the work pages.
"""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from datasource.services import accounts
from datasource.store import schema
from tests.browser_util import PASSWORD, Tab, start_live_app
from tests.browser import wait_until

pytestmark = pytest.mark.browser

ROLE_USERS = (("wallu", "wall", None), ("op", "operator", None), ("sup", "supervision", None),
              ("sani", "department", "sanitation"), ("chief", "supervisor", None), ("boss", "leader", None),
              ("adm", "admin", None))
#: words that are the same in both languages (formats, standards, methods' names) or are data
LATIN_ALLOWED = {"API", "CSV", "PDF", "Excel", "xlsx", "GCJ", "WGS", "OpenAPI", "JSON", "GeoJSON", "English", "App",
                 "Benjamini", "Hochberg", "Getis", "Ord", "Queen", "EARS", "MAPE", "DOMAIN", "Leaflet", "OpenStreetMap",
                 "km", "Gi", "FDR", "Poisson", "AQI", "PNG", "JPEG", "WebP", "SVG", "ISO", "UTC", "Lua", "Redis", "CityGrid"}
COMMAND = re.compile(r"\bcitygrid(?: [a-z]+){1,3}\b")   # a command to type ("citygrid briefing") is code
FILE_NAME = re.compile(r"\b[\w\-]+\.(?:json|csv|xlsx|pdf|png|geojson)\b")
RAW_KEY = re.compile(r"\b[a-z][a-z_]*\.[a-z_]+(?:\.[a-z_]+)*\b")
PLACEHOLDERS = re.compile(r"\b(?:None|nan|NaN|undefined|null)\b")
STAFF_CODE = re.compile(r"\b(?:dispatcher|supervisor)-\d+\b")
INSPECTOR_ID = re.compile(r"\bINS-\d{12}-\d+\b")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
#: pages whose tables list people by id on purpose (a 编号 / Id column beside the name)
ID_PAGES = ("/inspectors",)


@pytest.fixture(scope="module")
def district(tmp_path_factory, redis_server_url, chromium):
    """A day of history projected into SQLite, the live app on it, a user per role."""
    import redis
    from dashboard.settings import Settings
    from datasource.simulation.backfill import backfill
    from datasource.system import System
    from tests.helpers import FixedClock
    tmp = tmp_path_factory.mktemp("i18n")
    key = f"test:{uuid.uuid4().hex[:10]}:events"
    settings = Settings(data_dir=tmp, redis_url=redis_server_url, database_url=f"sqlite:///{tmp}/i.db", stream=key,
                        secret_key="i18n-test-secret")
    clock = FixedClock()
    system = System(settings, clock=clock).start()
    backfill(system, 1, seed=3, now=clock.at)
    for name, role, department in ROLE_USERS:
        accounts.add_user(system.engine, name, role, PASSWORD, department)
    live = start_live_app(system)
    yield live
    live.close()
    system.close()
    connection = redis.Redis.from_url(redis_server_url)
    for k in connection.scan_iter(match=key + "*", count=1000):
        connection.delete(k)


def known_texts(live) -> str:
    """What may appear in Chinese on an English page: proper names and people's words."""
    scenario = live.system.scenario
    names = list(scenario.streets.values()) + [c.get("name", "") for c in _communities(scenario)]
    names += [i.get("name", "") for i in scenario.inspectors]
    with live.system.engine.connect() as c:
        names += [d or "" for d in c.execute(select(schema.cases.c.description)).scalars()]
        # notes and reasons people wrote (a handling note shown beside its photos) are their words too
        names += [b or "" for b in c.execute(select(schema.case_events.c.body)).scalars()]
    return "\n".join(names)


def _communities(scenario) -> list[dict]:
    return [f["properties"] for f in scenario.communities_geojson["features"]]


def visible_text(page) -> str:
    """The page's text, and the titles and placeholders a user reads on hover or in inputs."""
    return page.evaluate("""() => document.body.innerText + '\\n' + Array.from(document.querySelectorAll(
        '[title], [placeholder], [aria-label]')).filter(e => e.offsetParent !== null).map(e =>
        [e.getAttribute('title'), e.getAttribute('placeholder')].filter(Boolean).join('\\n')).join('\\n')""")


def untranslated(text: str, lang: str, path: str, allowed_cjk: str, user_names: set[str]) -> list[str]:
    """The known untranslated patterns in ``text`` of a ``lang`` page at ``path``."""
    found = [f"placeholder {m}" for m in PLACEHOLDERS.findall(text)]
    cleaned = COMMAND.sub(" ", FILE_NAME.sub(" ", text))
    found += [f"raw key {m}" for m in RAW_KEY.findall(cleaned)]
    if not path.startswith(ID_PAGES):
        found += [f"raw id {m}" for m in STAFF_CODE.findall(text) + INSPECTOR_ID.findall(text)]
    if lang == "en":
        found += [f"Chinese {run}" for run in set(CJK.findall(text)) if run != "中文" and run not in allowed_cjk]
    else:
        ids = re.sub(r"\b(?:DC\d+|INS-[\d-]+|P\d+|(?:dispatcher|supervisor)-\d+)\b", " ", cleaned)
        words = set(re.findall(r"[A-Za-z][A-Za-z]{2,}", ids))
        found += [f"English {w}" for w in words if w not in LATIN_ALLOWED and w not in user_names]
    return sorted(set(found))


def settle(tab: Tab) -> None:
    """Wait until the page's callbacks have drawn (no Dash request in flight, body non-empty)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    page = tab.page
    page.wait_for_load_state("load")
    wait_until(lambda: page.evaluate("() => document.querySelector('main.page') !== null && "
                                     "document.querySelector('main.page').children.length > 0"),
               timeout=30, message="the page to be drawn")
    try:
        page.wait_for_load_state("networkidle", timeout=10_000)
    except PlaywrightTimeout:
        pass   # a page that polls every second (the wall) may never be idle: its content is drawn
    wait_until(lambda: page.evaluate("() => !document.querySelector('[data-dash-is-loading=\"true\"]')"),
               timeout=30, message="the page's callbacks")


def test_no_untranslated_string_on_any_page_for_any_role(district, chromium, artifacts):
    from dashboard.domain.permissions import landing, nav_pages
    from layouts import pages
    live = district
    allowed_cjk = known_texts(live)
    user_names = {name for name, _, _ in ROLE_USERS}
    with live.system.engine.connect() as c:
        handled = c.execute(select(schema.cases.c.case_id).where(schema.cases.c.stage == "handled").limit(1)).scalar()
        filed = c.execute(select(schema.cases.c.case_id).where(schema.cases.c.stage == "filed").limit(1)).scalar()
    extra = {"supervision": [f"/intake?case={handled}"], "operator": [f"/dispatch?case={filed}"] if filed else [],
             "admin": [f"/intake?case={handled}", "/departments/sanitation"]}
    problems: dict[str, list[str]] = {}
    walked, seen = 0, set()
    for name, role, _ in ROLE_USERS:
        tab = Tab(chromium, live.base)
        try:
            tab.login(name, "/")
            # every page a role may open; a page another role already showed in the same
            # language is skipped unless it is the role's own (its queue, its landing) or home
            own = {"/", landing(role, set(pages()))}
            paths = [p for p in nav_pages(role, set(pages())) if "<" not in p] + extra.get(role, [])
            for path in paths:
                if path in seen and path not in own:
                    continue
                seen.add(path)
                for lang in ("zh", "en"):
                    tab.open(f"{path}{'&' if '?' in path else '?'}lang={lang}")
                    settle(tab)
                    found = untranslated(visible_text(tab.page), lang, path, allowed_cjk, user_names)
                    if found:
                        problems[f"{role} {path} {lang}"] = found
                        tab.page.screenshot(path=str(artifacts / f"i18n-{role}-{path.strip('/').split('?')[0] or 'home'}-{lang}.png"))
                    walked += 1
        finally:
            tab.close()
    assert walked >= 36 and seen >= {p for p in pages() if '<' not in p and p != '/login'}
    assert not problems, "\n".join(f"{where}: {found[:12]}" for where, found in problems.items())


def test_the_header_names_the_role_in_the_page_language(district, chromium):
    live = district
    tab = Tab(chromium, live.base)
    try:
        tab.login("sani", "/department")
        settle(tab)
        assert tab.page.inner_text("#nav-user") == "sani · 区城市管理委员会环卫中心"
        tab.open("/department?lang=en")
        settle(tab)
        assert tab.page.inner_text("#nav-user") == "sani · Sanitation centre"
        tab.login("boss", "/")
        tab.open("/?lang=en")
        settle(tab)
        assert tab.page.inner_text("#nav-user") == "boss · Leader"
        tab.open("/")
        settle(tab)
        assert tab.page.inner_text("#nav-user") == "boss · 领导"
    finally:
        tab.close()


def test_the_patterns_catch_what_they_should():
    """The checker itself: each known pattern is reported, and allowed text is not."""
    assert {"raw key admin.title", "placeholder None"} <= set(untranslated("状态 None，版本 admin.title", "zh", "/", "", set()))
    assert untranslated("Stage 派遣 at 东华门街道", "en", "/", "东华门街道", set()) == ["Chinese 派遣"]
    assert untranslated("上报人 dispatcher-03 · Draw a polygon", "zh", "/", "", set()) == \
        sorted({"raw id dispatcher-03", "English Draw", "English polygon"})
    assert untranslated("导出 CSV · 数据见 inspectors.json · 用户 adm", "zh", "/", "", {"adm"}) == []
