"""An Open311 client's view over real HTTP (waitress, a worker thread behind it), then a
Hypothesis search for a form body that makes POST requests answer 5xx (there is none)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import requests as http
from werkzeug.datastructures import MultiDict
from hypothesis import HealthCheck, event, given, settings as hypothesis_settings, strategies as st

from datasource.services import accounts
from tests.browser_util import live_app  # noqa: F401 - the fixture
from tests.helpers import wait_until
from tests.open311_client import check_error, spark, validate

INSIDE = {"lat": "39.9163", "long": "116.4050"}


class Answer:
    """A ``requests`` response with the two names :func:`check_error` reads."""

    def __init__(self, response):
        self.status_code, self.headers, self.content = response.status_code, response.headers, response.content


def test_an_open311_client_reports_finds_and_sees_its_request_closed(live_app):  # noqa: F811
    base = live_app.base + "/open311/v2"
    key = accounts.create_token(live_app.system.engine, "sup")
    services = http.get(f"{base}/services.json", timeout=10).json()
    validate(services, "services.json")
    assert spark(http.get(f"{base}/services.xml", timeout=10).content) == services
    definition = http.get(f"{base}/services/E0401.json", params={"locale": "en"}, timeout=10).json()
    validate(definition, "service-definition.json")

    # report, as the specification's example does: form-encoded, XML back
    posted = http.post(f"{base}/requests.xml", data={"api_key": key, "jurisdiction_id": "", "service_code": "E0401",
                                                    "description": "路面塌陷，约一米见方", "email": "a@example.org",
                                                    "attribute[urgency]": "urgent", **INSIDE}, timeout=10)
    assert posted.status_code == 200 and posted.headers["Content-Type"] == "text/xml; charset=utf-8"
    [created] = spark(posted.content)
    case_id = created["service_request_id"]

    def request(**params):
        answer = http.get(f"{base}/requests/{case_id}.json", params=params, timeout=10)
        assert answer.status_code == 200, answer.content
        validate(answer.json(), "requests.json")
        return answer.json()[0]

    first = request()
    assert first["status"] == "open" and first["service_code"] == "E0401"
    wait_until(lambda: case_id in [r["service_request_id"] for r in http.get(
        f"{base}/requests.json", params={"service_code": "E0401,E0102", "status": "open"}, timeout=10).json()],
        message="the request in the filtered list")
    by_ids = http.get(f"{base}/requests.xml", params={"service_request_id": case_id}, timeout=10)
    assert [r["service_request_id"] for r in spark(by_ids.content)] == [case_id]
    assert "email" not in json.dumps(live_app.system.stream.client.xrange(live_app.system.settings.stream)[-1][1]
                                     [b"body"].decode())        # personal fields are not kept

    # the centre drives the case round the loop through its own command path
    commands, clock = live_app.services.commands, live_app.system.clock
    commands.file(live_app.actor("sup"), case_id)
    commands.dispatch(live_app.actor("op"), case_id, "roads", note="立即围挡")
    clock.advance(minutes=50)
    commands.handle(live_app.actor("roads"), case_id, note="已回填修复")
    clock.advance(minutes=20)
    commands.verify(live_app.actor("sup"), case_id, "pass")
    commands.close(live_app.actor("sup"), case_id)
    closed = wait_until(lambda: (lambda r: r if r["status"] == "closed" else None)(request(locale="en")),
                        message="the request closed")
    assert closed["agency_responsible"] == "Municipal roads" and closed["status_notes"] == "Closed: solved and verified"
    assert datetime.fromisoformat(closed["updated_datetime"]) - datetime.fromisoformat(closed["requested_datetime"]) \
        == timedelta(minutes=70)                                   # the time it was closed
    assert first["updated_datetime"] == first["requested_datetime"]
    assert case_id in [r["service_request_id"] for r in http.get(
        f"{base}/requests.json", params={"status": "closed"}, timeout=10).json()]

    # the errors a client meets, each in the specification's form
    check_error(Answer(http.post(f"{base}/requests.xml", data={"api_key": "wrong", "service_code": "E0401", **INSIDE},
                                 timeout=10)), 403, "xml")
    check_error(Answer(http.post(f"{base}/requests.json", data={"api_key": key, "service_code": "E9999", **INSIDE},
                                 timeout=10)), 404, "json")
    check_error(Answer(http.get(f"{base}/requests.xml", params={"start_date": "30/11/2026"}, timeout=10)), 400, "xml")
    check_error(Answer(http.get(f"{base}/services/E9999.json", timeout=10)), 404, "json")


# ---------------------------------------------------------------------------- no form makes a 5xx
@pytest.fixture
def fuzz_app(tmp_path, stream_key, redis_server_url, clock):
    from dashboard.settings import Settings
    from dashboard.web.factory import create_app, start
    from datasource.system import System
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, database_url=f"sqlite:///{tmp_path / 'f.db'}",
                        stream=stream_key, components_autoload=False, open311_rate_limit="100000/minute",
                        token_rate_limit="100000/minute")
    system = System(settings, clock=clock).start()
    accounts.add_user(system.engine, "fms", "supervision", "pw-open311-9")
    app = start(create_app(settings, system))
    yield app.server.test_client(), accounts.create_token(system.engine, "fms")
    system.close()


NAMES = st.sampled_from(["api_key", "service_code", "lat", "long", "address_string", "address_id", "description",
                         "media_url", "jurisdiction_id", "email", "phone", "attribute[urgency]",
                         "attribute[component]", "attribute[urgency][]", "attribute[nope]", "attribute[", "attribute",
                         "attribute[a][b]", "locale"]) | st.text(max_size=12)
VALUES = st.sampled_from(["", "E0102", "C0118", "E0401", "39.9163", "116.4050", "31.23", "121.47", "-91", "1e5",
                          "NaN", "inf", "1" * 400, "0x10", " 39.9 ", "urgent", "normal", "1101010118000042",
                          "东华门街道", "http://example.org/a.jpg", "javascript:alert(1)", "a\x00b", "\x7f\x9f",
                          "dongcheng", "x" * 5000]) | st.text(max_size=40)


def _field(valid: list[str]):
    """A field: absent (None), a valid value (most often), or anything."""
    return st.none() | st.sampled_from(valid) | st.sampled_from(valid) | st.sampled_from(valid) | VALUES


FORMS = st.fixed_dictionaries({"service_code": _field(["E0102", "C0118", "E0401"]),
                               "lat": _field(["39.9163", "39.95", "31.23"]),
                               "long": _field(["116.4050", "116.30", "121.47"]),
                               "description": st.none() | st.text(max_size=300) | VALUES,
                               "attribute[urgency]": st.none() | _field(["urgent", "normal"]),
                               "address_string": st.none() | _field(["东华门街道 南池子", "1234 5th street"])})


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])
@given(fields=FORMS, pairs=st.lists(st.tuples(NAMES, VALUES), max_size=2),
       with_key=st.sampled_from([True, True, True, False]), raw=st.binary(max_size=200),
       use_raw=st.sampled_from([False] * 5 + [True]), fmt=st.sampled_from(["xml", "json"]))
def test_no_form_body_makes_a_5xx(fuzz_app, fields, pairs, with_key, raw, use_raw, fmt):
    client, key = fuzz_app
    url = f"/open311/v2/requests.{fmt}"
    if use_raw:   # bytes as they come: broken percent-encoding, invalid UTF-8
        answer = client.post(url, data=raw, content_type="application/x-www-form-urlencoded")
    else:
        form = ([("api_key", key)] if with_key else []) + [(k, v) for k, v in fields.items() if v is not None] + pairs
        answer = client.post(url, data=MultiDict(form))
    event(f"status {answer.status_code}")
    assert answer.status_code < 500, answer.get_data()[:300]
    if answer.status_code >= 400:
        check_error(answer, answer.status_code, fmt)
    else:
        body = answer.get_json() if fmt == "json" else spark(answer.get_data())
        assert body[0]["service_request_id"].startswith("DC")


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])
@given(description=st.text(max_size=2100), address=st.text(max_size=600),
       lat=st.floats(-90, 90), lon=st.floats(-180, 180), code=st.sampled_from(["E0102", "C0118", "E0401"]))
def test_any_text_and_any_point_on_the_globe_is_a_request_or_a_clear_400(fuzz_app, description, address, lat, lon,
                                                                          code):
    client, key = fuzz_app
    answer = client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": code, "lat": f"{lat:.6f}", "long": f"{lon:.6f}", "description": description,
        "address_string": address})
    event(f"status {answer.status_code}")
    assert answer.status_code in (200, 400), answer.get_data()[:300]
    if answer.status_code == 400:   # only what the edge rules refuse: NUL, too long
        check_error(answer, 400, "json")
        assert "\x00" in description + address or len(description) > 2000 or len(address) > 500 \
            or len(description.strip()) > 2000
    else:
        [created] = answer.get_json()
        assert client.application.extensions["citygrid"].stream.case_state(created["service_request_id"])["grid"]
