"""``citygrid import FILE --format open311``: GeoReport v2 request lists in JSON and XML (the
specification's field names, its ISO 8601 times with offsets, its open/closed status) become
cases like any other; XML with entity tricks is refused in one line."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import select

from datasource.store import schema
from tests.import_helpers import city_settings, citygrid, import_json

ZONE = "America/Los_Angeles"
REQUESTS = [
    {"service_request_id": "638344", "status": "closed", "status_notes": "Duplicate request.",
     "service_name": "Sidewalk and Curb Issues", "service_code": "006", "description": "Cracked sidewalk",
     "agency_responsible": "Public Works", "service_notice": "", "requested_datetime": "2010-04-14T06:37:38-08:00",
     "updated_datetime": "2010-04-15T09:00:00-08:00", "expected_datetime": "2010-04-15T06:37:38-08:00",
     "address": "8TH AVE and JUDAH ST", "address_id": "545483", "zipcode": 94122, "lat": 37.762221815,
     "long": -122.4651145, "media_url": "http://example.org/media/638344.jpg"},
    {"service_request_id": "638349", "status": "open", "status_notes": None, "service_name": "Graffiti",
     "service_code": "002", "description": "", "agency_responsible": "Public Works",
     "requested_datetime": "2010-04-19T06:37:38-08:00", "updated_datetime": "2010-04-19T06:37:38-08:00",
     "expected_datetime": None, "address": "Market St and 7th St", "lat": 37.780, "long": -122.412},
    {"service_request_id": "638350", "status": "open", "service_name": "Graffiti", "agency_responsible": "Public Works",
     "requested_datetime": "last tuesday", "lat": 37.780, "long": -122.412},
]


def xml_of(requests) -> str:
    def item(request):
        return "".join(f"<{k}>{'' if v is None else v}</{k}>" for k, v in request.items())
    return ('<?xml version="1.0" encoding="utf-8"?>\n<service_requests>'
            + "".join(f"<request>{item(r)}</request>" for r in requests) + "</service_requests>")


@pytest.fixture
def city(tmp_path, stream_key, redis_server_url):
    points = pd.DataFrame({"lon": [-122.5, -122.4], "lat": [37.7, 37.8]})
    return city_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", stream_key, redis_server_url, points, ZONE)


def test_open311_json_and_xml_request_lists_import_like_csv(city, tmp_path):
    from datasource.system import System
    (tmp_path / "requests.json").write_text(json.dumps(REQUESTS), encoding="utf-8")
    summary = import_json(city, str(tmp_path / "requests.json"), "--format", "open311")
    assert (summary["read"], summary["imported"], summary["skipped_by_reason"]) == (3, 2, {"bad_date": 1})
    assert summary["source"] == "open311" and summary["drained"]["dead"] == 0
    # The same requests as XML under other ids: the same outcome.
    renamed = [{**r, "service_request_id": "x" + r["service_request_id"]} for r in REQUESTS]
    (tmp_path / "requests.xml").write_text(xml_of(renamed), encoding="utf-8")
    summary = import_json(city, str(tmp_path / "requests.xml"), "--format", "open311")
    assert (summary["read"], summary["imported"], summary["skipped_by_reason"]) == (3, 2, {"bad_date": 1})
    # Re-importing the JSON list adds nothing.
    again = import_json(city, str(tmp_path / "requests.json"), "--format", "open311")
    assert (again["imported"], again["skipped_by_reason"]) == (0, {"bad_date": 1, "already_imported": 2})
    system = System(city).start()
    try:
        with system.engine.connect() as c:
            rows = c.execute(select(schema.cases).order_by(schema.cases.c.reported_at, schema.cases.c.case_id)).all()
            refs = [json.loads(r.body)["ref"] for r in c.execute(
                select(schema.case_events.c.body).where(schema.case_events.c.type == "reported")
                .order_by(schema.case_events.c.case_id))]
    finally:
        system.close()
    assert sorted(refs) == ["open311:638344", "open311:638349", "open311:x638344", "open311:x638349"]
    closed = [r for r in rows if r.stage == "closed"]
    assert len(closed) == 2 and {r.stage for r in rows} == {"closed", "dispatched"}
    for r in closed:   # requested 06:37:38 −08:00, expected a day later, closed after it: late
        assert str(r.reported_at).startswith("2010-04-14 14:37:38")
        assert str(r.handle_deadline_at).startswith("2010-04-15 14:37:38")
        assert str(r.closed_at).startswith("2010-04-15 17:00:00") and r.handled_on_time is False
        assert r.description == "Cracked sidewalk · 8TH AVE and JUDAH ST"


def test_hostile_or_foreign_open311_files_are_refused_in_one_line(city, tmp_path):
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            '<service_requests><request><service_request_id>&lol2;</service_request_id></request></service_requests>')
    for name, text, words in (("bomb.xml", bomb, "not acceptable XML"),
                              ("other.xml", "<services><service/></services>", "root <service_requests>"),
                              ("broken.json", "[{", "not valid JSON"),
                              ("object.json", '{"a": 1}', "list of request objects")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = citygrid(city, "import", str(tmp_path / name), "--format", "open311")
        assert result.exit_code == 1 and words in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1
