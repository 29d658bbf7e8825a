"""Unknown pages answer a real 404 (issue 11, item 9): status 404, not Dash's 200 with
页面不存在, in the asked language and with a link home; every real page, Dash's own routes
and the API's JSON 404 are untouched."""
from __future__ import annotations

import uuid

import pytest
import redis


@pytest.fixture(scope="module")
def client(tmp_path_factory, redis_server_url):
    """One app for the module, on SQLite: what is a page does not depend on the database."""
    from dashboard.settings import Settings
    from dashboard.web.factory import create_app, start
    from datasource.system import System
    from tests.helpers import FixedClock
    tmp = tmp_path_factory.mktemp("notfound")
    key = f"test:{uuid.uuid4().hex[:10]}:events"
    settings = Settings(data_dir=tmp, redis_url=redis_server_url, database_url=f"sqlite:///{tmp}/x.db", stream=key)
    system = System(settings, clock=FixedClock()).start()
    yield start(create_app(settings, system)).server.test_client()
    system.close()
    connection = redis.Redis.from_url(redis_server_url)
    for k in connection.scan_iter(match=key + "*", count=1000):
        connection.delete(k)


@pytest.mark.parametrize("path", ["/nope", "/admin/nothing/here", "/wall/extra", "/departments/a/b"])
def test_an_unknown_page_is_a_404_with_a_link_home(client, path):
    answer = client.get(path)
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    html = answer.get_data(as_text=True)
    assert "页面不存在" in html and 'href="/?lang=zh"' in html and "返回首页" in html
    english = client.get(f"{path}?lang=en")
    assert english.status_code == 404
    assert "Page not found" in english.get_data(as_text=True) and 'href="/?lang=en"' in english.get_data(as_text=True)


def test_a_path_is_shown_as_text_never_as_html(client):
    answer = client.get("/<script>alert(1)</script>")
    assert answer.status_code == 404
    assert "<script>alert" not in answer.get_data(as_text=True) and "&lt;script&gt;" in answer.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/login", "/wall", "/dispatch", "/admin", "/departments", "/departments/sanitation",
                                  "/briefing", "/intake/", "/_dash-layout", "/_dash-dependencies", "/assets/base.css"])
def test_real_pages_and_dash_routes_still_answer(client, path):
    assert client.get(path).status_code == 200


def test_the_api_keeps_its_json_404(client):
    answer = client.get("/api/v1/nothing")
    assert answer.status_code == 404 and answer.is_json
