"""Sub-centres' figures: /api/v1/departments, /regions, /inspectors, /dispatchers and the
exports cover the caller's street only; the district sees all (issue 9)."""
from __future__ import annotations

import csv
import io

import pytest

from datasource.services import accounts
from tests.test_api import client  # noqa: F401  (every answer checked against the OpenAPI document)
from tests.test_regions_figures import publish_story

PERIOD = "from=2026-11-02&to=2026-11-03"


@pytest.fixture
def seeded(system):
    return system, publish_story(system)[1]


def bearer(system, name, scope=None):
    accounts.add_user(system.engine, name, "supervisor", "password-123", None, scope=scope,
                      streets=system.scenario.streets, communities=system.scenario.communities)
    return {"Authorization": f"Bearer {accounts.create_token(system.engine, name)}"}


def test_a_street_sees_its_own_figures_only(seeded, client):
    system, p = seeded
    a, b = p["g1"]["street"], p["g3"]["street"]
    district, street_a, street_b = bearer(system, "boss"), bearer(system, "boss-a", a), bearer(system, "boss-b", b)

    # regions: the street's own row; another street's communities or grids → 403
    everything = client.get(f"/api/v1/regions?{PERIOD}", headers=district).json["regions"]
    assert len(everything) == 17
    mine = client.get(f"/api/v1/regions?{PERIOD}", headers=street_a).json["regions"]
    assert [r["code"] for r in mine] == [a] and mine[0]["reports"] == 5
    communities = client.get(f"/api/v1/regions?{PERIOD}&level=community", headers=street_a).json["regions"]
    assert communities and all(r["parent"] == a for r in communities)
    grids = client.get(f"/api/v1/regions?{PERIOD}&level=grid", headers=street_b).json["regions"]
    assert grids and all(r["code"].startswith(b) for r in grids)
    refused = client.get(f"/api/v1/regions?{PERIOD}&level=community&parent={b}", headers=street_a)
    assert refused.status_code == 403 and "outside your area" in refused.json["message"]
    assert client.get(f"/api/v1/regions/cases?{PERIOD}&grid={p['g3']['grid']}", headers=street_a).status_code == 403
    assert client.get(f"/api/v1/regions/cases?{PERIOD}&grid={p['g3']['grid']}", headers=street_b).status_code == 200

    # people: a street's inspectors; dispatchers counted on its cases only
    ids = {r["id"] for r in client.get(f"/api/v1/inspectors?{PERIOD}", headers=street_b).json["inspectors"]}
    assert p["g3"]["inspector"] in ids and p["g1"]["inspector"] not in ids
    all_ids = {r["id"] for r in client.get(f"/api/v1/inspectors?{PERIOD}", headers=district).json["inspectors"]}
    assert ids < all_ids
    assert client.get(f"/api/v1/dispatchers?{PERIOD}", headers=street_b).json["dispatchers"] == []
    assert client.get(f"/api/v1/dispatchers?{PERIOD}", headers=district).json["dispatchers"]
    filings = sum(s["filings"] for s in client.get(f"/api/v1/shifts?{PERIOD}", headers=street_b).json["shifts"])
    all_filings = sum(s["filings"] for s in client.get(f"/api/v1/shifts?{PERIOD}", headers=district).json["shifts"])
    assert 0 < filings < all_filings

    # departments: every case dispatched in the story lies in street A
    def due(headers):
        return sum(r["due"] for r in client.get(f"/api/v1/departments?{PERIOD}", headers=headers).json)
    assert due(district) == due(street_a) > 0 and due(street_b) == 0
    one = client.get(f"/api/v1/departments/sanitation?{PERIOD}", headers=street_b).json
    assert one["summary"]["due"] == 0 and one["streets"] == []
    # and the export of the page is the same query
    text = client.get("/reports/departments.csv?from=2026-11-02&to=2026-11-03", headers=street_b).data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 1
    text_all = client.get("/reports/departments.csv?from=2026-11-02&to=2026-11-03", headers=district).data \
        .decode("utf-8-sig")
    assert text != text_all
