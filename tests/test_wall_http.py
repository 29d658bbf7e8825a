"""The wall over HTTP, in-process: cached geometry, the tick callback, its roles, i18n."""
from __future__ import annotations

import gzip
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from dashboard.i18n import CATALOGUE
from dashboard.settings import Settings
from datasource.services import accounts
from tests.helpers import TEST_NOW, FixedClock, loop_events, publish

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def wall_app(tmp_path, stream_key, redis_server_url):
    from dashboard.web.factory import create_app, start
    from datasource.system import System
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, stream=stream_key,
                        database_url=f"sqlite:///{tmp_path / 'http.db'}")
    system = System(settings, clock=FixedClock()).start()   # the tests' fixed "now"
    begin = TEST_NOW - timedelta(hours=1)
    publish(system.stream, [e for i in range(12) for e in loop_events(f"DC20261101{i + 1:06d}", begin, stages=1 + i % 6)])
    system.worker().drain()
    accounts.add_user(system.engine, "wall1", "wall")
    accounts.add_user(system.engine, "crew", "department", department="sanitation")
    app = start(create_app(settings, system))
    app.tokens = {name: accounts.create_token(system.engine, name) for name in ("wall1", "crew")}
    yield app
    system.close()


def tick_request(cursor=None) -> dict:
    return {"output": "wall-payload.data", "outputs": {"id": "wall-payload", "property": "data"},
            "inputs": [{"id": "wall-tick", "property": "n_intervals", "value": 1}],
            "state": [{"id": "wall-cursor", "property": "data", "value": cursor}],
            "changedPropIds": ["wall-tick.n_intervals"]}


def test_static_layers_are_compressed_cached_and_revalidated(wall_app):
    client = wall_app.server.test_client()
    answer = client.get("/geo/grids.geojson", headers={"Accept-Encoding": "gzip, br"})
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert answer.mimetype == "application/geo+json"
    assert "max-age=86400" in answer.headers["Cache-Control"] and answer.headers["ETag"]
    grids = json.loads(gzip.decompress(answer.data))
    features = grids["features"]
    assert len(features) == len(wall_app.server.extensions["citygrid"].scenario.grids_geojson["features"])
    assert [f["properties"]["i"] for f in features[:3]] == [0, 1, 2]
    assert len(answer.data) < 300_000  # ~3,800 unit grids, once
    again = client.get("/geo/grids.geojson", headers={"Accept-Encoding": "gzip",
                                                      "If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    plain = client.get("/geo/streets.geojson")
    assert "Content-Encoding" not in plain.headers and len(json.loads(plain.data)["features"]) == 17
    assert client.get("/geo/secrets.geojson").status_code == 404
    total = sum(len(client.get(f"/geo/{n}.geojson", headers={"Accept-Encoding": "gzip"}).data)
                for n in ("district", "streets", "labels", "roads", "green", "grids"))
    assert total < 400_000


def test_tick_sends_the_state_once_then_only_what_changed(wall_app):
    client = wall_app.server.test_client()
    assert client.get(f"/wall?token={wall_app.tokens['wall1']}").status_code == 200
    first = client.post("/_dash-update-component", json=tick_request(), headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers.get("Content-Encoding") == "gzip"
    payload = json.loads(gzip.decompress(first.data))["response"]["wall-payload"]["data"]
    assert payload["full"] == 1 and len(payload["g"]["o"]) > 3000 and payload["h"][1:4] == [1, 1, 0]
    again = client.post("/_dash-update-component", json=tick_request(payload["v"]))
    assert again.status_code == 200 and len(again.data) < 300  # nothing new: a header only
    header = json.loads(again.data)["response"]["wall-payload"]["data"]
    assert set(header) == {"v", "t", "h"} and header["v"] >= payload["v"] and header["h"][1:4] == [1, 1, 0]


@pytest.mark.parametrize("who", [None, "crew"])
def test_tick_refuses_who_may_not_see_the_wall(wall_app, who):
    client = wall_app.server.test_client()
    if who:
        client.get(f"/wall?token={wall_app.tokens[who]}")
    answer = client.post("/_dash-update-component", json=tick_request())
    assert answer.status_code == 204 and answer.data == b""


def test_every_wall_string_exists_in_both_languages(wall_app):
    used = set(re.findall(r'"(wall\.[a-z_.]+)"', (ROOT / "layouts" / "wall.py").read_text()))
    used |= {"wall." + key for key in re.findall(r'text\["([a-z_.]+)"\]', (ROOT / "assets" / "wall.js").read_text())}
    missing = sorted(k for k in used if k not in CATALOGUE or not all(CATALOGUE[k]))
    assert used and missing == []
    # The layout in each language shows no raw key (t() returns the key when it is missing).
    from layouts import wall
    with wall_app.server.test_request_context("/wall"):
        for lang in ("zh", "en"):
            text = json.dumps(wall.layout(lang, {}, wall_app.server.extensions["citygrid.services"]).to_plotly_json(),
                              default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o),
                              ensure_ascii=False)
            assert re.findall(r'"(?:wall|stage|light|event)\.[a-z_.]+"', text) == []
