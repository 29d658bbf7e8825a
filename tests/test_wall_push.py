"""The wall's push (``/wall/stream``, issue 13) in-process over HTTP, on real Redis and SQLite.

Server-sent events read from the Flask test client's streamed response: the first event is
the whole state, a reconnect with ``Last-Event-ID`` gets only what it missed, an id of another
process (epoch) gets the whole state again, and a street user's stream carries its street only
— markers, grids, ticker, counts — whatever ``?scope=`` it asks for.  A client that accepts gzip
(every browser's EventSource) gets one gzip member whose every chunk decompresses to whole events
at once (issue 15: the city wall's traffic), ended cleanly with the stream.
"""
from __future__ import annotations

import json
import zlib
from datetime import timedelta

import pytest

from dashboard.settings import Settings
from datasource.services import accounts, tokens
from tests.helpers import TEST_NOW, FixedClock, event, loop_events, publish

STREET, OTHER = "110101001", "110101011"


@pytest.fixture
def push_app(tmp_path, stream_key, redis_server_url):
    from dashboard.web.factory import create_app, start
    from datasource.system import System
    settings = Settings(data_dir=tmp_path, redis_url=redis_server_url, stream=stream_key, tick_ms=400,
                        database_url=f"sqlite:///{tmp_path / 'push.db'}")
    system = System(settings, clock=FixedClock()).start()
    locator = system.locator
    places = {}
    for street in (STREET, OTHER):   # four grids of each street
        k = [i for i, s in enumerate(locator.streets) if s == street][:4]
        places[street] = [(round(p.x, 6), round(p.y, 6)) for p in (locator.polygons[i].representative_point() for i in k)]
    begin = TEST_NOW - timedelta(hours=1)
    events = []
    for n in range(16):
        street = STREET if n % 2 else OTHER
        lon, lat = places[street][n % 4]
        events += loop_events(f"DC20261101{n + 1:06d}", begin, stages=1 + n % 5, lon=lon, lat=lat)
    publish(system.stream, events)
    system.worker().drain()
    accounts.add_user(system.engine, "wall1", "wall")
    # a street sub-centre's supervisor (wall users are the district's: accounts refuses them a scope)
    accounts.add_user(system.engine, "east", "supervisor", scope=STREET, streets=system.scenario.streets)
    accounts.add_user(system.engine, "crew", "department", department="sanitation")
    app = start(create_app(settings, system))
    app.system, app.places = system, places
    app.tokens = {name: accounts.create_token(system.engine, name) for name in ("wall1", "east", "crew")}
    yield app
    app.server.extensions["citygrid.wall_hub"].stop()
    system.close()


GZIP = {"Accept-Encoding": "gzip, deflate, br, zstd"}   # what Chromium's EventSource sends


def events_of(response, n: int, until=None) -> list[tuple[str, dict]]:
    """The first ``n`` data events of a streamed response as (id, payload) — or up to the first
    whose payload satisfies ``until`` — then closes it.  A gzip stream is decompressed chunk by
    chunk, and each chunk must hold whole events: an event never waits for the next one."""
    out, buffer = [], ""
    unzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if response.headers.get("Content-Encoding") == "gzip" else None
    try:
        for chunk in response.response:
            if unzip is not None:
                chunk = unzip.decompress(chunk)
                assert not chunk or chunk.endswith(b"\n\n"), "an event held back in the compressor"
            buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                if "data" in fields:
                    out.append((fields.get("id"), json.loads(fields["data"])))
            if len(out) >= n or (until and out and until(out[-1][1])):
                return out
    finally:
        response.close()
    return out


def stream(client, token=None, bearer=None, gzip=False, **query):
    if token:
        assert client.get(f"/wall?token={token}").status_code == 200
    headers = {"Last-Event-ID": query.pop("last")} if "last" in query else {}
    headers.update(GZIP if gzip else {})
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    return client.get("/wall/stream", query_string=query, headers=headers, buffered=False)


def test_first_event_is_the_whole_state_then_a_resume_gets_only_what_was_missed(push_app):
    client = push_app.server.test_client()
    answer = stream(client, push_app.tokens["wall1"])
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    [(first_id, full)] = events_of(answer, 1)
    assert full["full"] == 1 and len(full["m"]) == 16 and len(full["g"]["o"]) > 3000
    assert full["h"][1:4] == [1, 1, 0] and first_id.endswith(f":{full['v']}")

    # A new report while the viewer is away; it comes back with its last id: a delta.
    lon, lat = push_app.places[STREET][0]
    publish(push_app.system.stream, [event("DC20261101000900", "reported", TEST_NOW, category="E0102", lon=lon,
                                           lat=lat, description="新的", source="inspector")])
    push_app.system.worker().drain()
    got = events_of(stream(client, last=first_id), 8, until=lambda p: "m" in p)
    delta = got[-1][1]
    assert all("full" not in p for _, p in got) and delta["v"] > full["v"]
    assert [m[0] for m in delta["m"]["u"]] == ["DC20261101000900"] and delta["k"][0][2] == "DC20261101000900"

    # An id of another process (the server restarted): the whole state again.
    [(_, again)] = events_of(stream(client, last="deadbeef:" + first_id.split(":")[1]), 1)
    assert again["full"] == 1 and len(again["m"]) == 17


@pytest.mark.parametrize("gzip", [False, True])
def test_nothing_new_sends_only_heartbeats(push_app, gzip):
    client = push_app.server.test_client()
    first, beat = events_of(stream(client, push_app.tokens["wall1"], gzip=gzip), 2)
    assert first[1]["full"] == 1
    assert set(beat[1]) == {"v", "t", "h"} and beat[1]["v"] >= first[1]["v"]


def test_a_street_user_gets_its_street_only(push_app):
    system = push_app.system
    client = push_app.server.test_client()
    east = push_app.tokens["east"]
    [(_, full)] = events_of(stream(client, bearer=east), 1)
    locator = system.locator
    inside = {i for i, s in enumerate(locator.streets) if s == STREET}
    codes = [f["properties"]["code"] for f in system.scenario.grids_geojson["features"]]
    grids_inside = {i for i, code in enumerate(codes) if code.startswith(STREET)}
    assert inside and {m[9] for m in full["m"]} <= grids_inside and len(full["m"]) == 8
    assert all(n == 0 for i, n in enumerate(full["g"]["o"]) if i not in grids_inside)
    assert sum(full["g"]["o"]) == 8 and full["k"] and {row[7] for row in full["k"]} <= grids_inside
    street_index = list(system.scenario.streets).index(STREET)
    assert {row[5] for row in full["k"]} == {street_index}
    # Stage strip: the street's open cases only (16 cases, half here, stages 1–5 of the loop).
    assert sum(row[0] for row in full["s"][:5]) + full["x"][3] == 8
    # Asking for another street is refused; asking for its own (or nothing) is the same.
    assert stream(client, bearer=east, scope=OTHER).status_code == 403
    [(_, own)] = events_of(stream(client, bearer=east, scope=STREET), 1)
    assert len(own["m"]) == 8
    # A district wall may look at one street (a playlist view), cut on the server too.
    other = push_app.server.test_client()
    [(_, view)] = events_of(stream(other, push_app.tokens["wall1"], scope=OTHER), 1)
    assert len(view["m"]) == 8 and not {m[0] for m in view["m"]} & {m[0] for m in full["m"]}


def without_header(payload: dict) -> dict:
    """A payload but its header (version, time, health: they move with every computation)."""
    return {k: v for k, v in payload.items() if k not in ("v", "t", "h")}


def test_a_gzip_accepting_client_gets_the_same_events_compressed_each_readable_at_once(push_app):
    wall1 = push_app.tokens["wall1"]
    plain_client, gzip_client = push_app.server.test_client(), push_app.server.test_client()
    plain, packed = stream(plain_client, wall1), stream(gzip_client, wall1, gzip=True)
    assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and packed.mimetype == "text/event-stream"
    [(first_id, full)] = events_of(plain, 1)
    [(_, full_gzip)] = events_of(packed, 1)          # events_of: each chunk decompresses to whole events
    assert full_gzip["full"] == 1 and without_header(full_gzip) == without_header(full)

    # A new report: both resume from the same id and get the same delta.
    lon, lat = push_app.places[STREET][0]
    publish(push_app.system.stream, [event("DC20261101000901", "reported", TEST_NOW, category="E0102", lon=lon,
                                           lat=lat, description="压缩", source="inspector")])
    push_app.system.worker().drain()
    has_marker = lambda p: "m" in p  # noqa: E731
    delta = events_of(stream(plain_client, last=first_id), 8, until=has_marker)[-1][1]
    delta_gzip = events_of(stream(gzip_client, last=first_id, gzip=True), 8, until=has_marker)[-1][1]
    assert [m[0] for m in delta_gzip["m"]["u"]] == ["DC20261101000901"]
    assert without_header(delta_gzip) == without_header(delta)


@pytest.mark.parametrize("ending", ["lifetime", "token revoked"])
def test_a_gzip_stream_ends_as_a_whole_member(push_app, monkeypatch, ending):
    """However the stream ends — its lifetime over, or its session ended (an ``ended`` event) —
    the gzip member is finished, so the browser reads the last event and no decoding error."""
    from dashboard.web import wall_push
    monkeypatch.setattr(wall_push, "LIFETIME", 1.5 if ending == "lifetime" else 60.0)
    monkeypatch.setattr(wall_push, "TOKEN_CHECK", 0.2)
    client = push_app.server.test_client()
    answer = stream(client, push_app.tokens["wall1"], gzip=True)
    unzip, text = zlib.decompressobj(16 + zlib.MAX_WBITS), ""
    for chunk in answer.response:
        text += unzip.decompress(chunk).decode()
        if ending == "token revoked" and text.count("data:") == 1:   # the whole state is in: revoke
            engine = push_app.system.engine
            tokens.revoke(engine, tokens.list_tokens(engine, "wall1")[0]["id"])
    answer.close()
    assert unzip.eof and not unzip.unused_data and text.endswith("\n\n")
    last = text.rstrip("\n").rsplit("\n\n", 1)[-1]
    if ending == "token revoked":
        assert last.startswith("event: ended\n") and '"reason": "token_revoked"' in last
    else:
        assert last.startswith("id: ") and "event: ended" not in text
    assert push_app.server.extensions["citygrid.wall_hub"].streams == 0


@pytest.mark.parametrize("who, scope, status", [(None, None, 401), ("crew", None, 403), ("wall1", "nonsense", 400),
                                                 ("wall1", "110101999", 400)])
def test_stream_refuses_with_one_line(push_app, who, scope, status):
    client = push_app.server.test_client()
    login = {"bearer": push_app.tokens[who]} if who == "crew" else {"token": push_app.tokens[who]} if who else {}
    answer = stream(client, **login, **({"scope": scope} if scope else {}))
    assert answer.status_code == status and answer.data.count(b"\n") == 1
    assert push_app.server.extensions["citygrid.wall_hub"].streams == 0


def test_a_stream_opened_after_its_token_was_revoked_tells_the_page_where_to_go(push_app):
    """The wall's token revoked before its stream opened (or while it reconnected): the stream
    must still say so as an ``ended`` event — an EventSource reads no body of an error status,
    and a wall without Dash requests would otherwise retry a 401 for ever."""
    client = push_app.server.test_client()
    assert client.get(f"/wall?token={push_app.tokens['wall1']}").status_code == 200
    tokens.revoke(push_app.system.engine, tokens.list_tokens(push_app.system.engine, "wall1")[0]["id"])
    answer = client.get("/wall/stream", buffered=False, headers=GZIP)   # a browser accepts gzip: told all the same
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    event_line, data_line = answer.get_data(as_text=True).strip().splitlines()
    assert event_line == "event: ended"
    body = json.loads(data_line.removeprefix("data: "))
    assert body["reason"] == "token_revoked" and body["location"] == "/session-ended?reason=token_revoked"
    # told once: the next request of that browser is an anonymous one
    assert client.get("/wall/stream").status_code == 401


def test_one_computation_per_version_whatever_the_number_of_streams(push_app):
    live = push_app.server.extensions["citygrid.services"].live
    clients = [push_app.server.test_client() for _ in range(6)]
    answers = [stream(c, push_app.tokens["wall1"]) for c in clients]
    before = live.computations
    got = [events_of(a, 2) for a in answers]     # each: the whole state, then a heartbeat
    hub = push_app.server.extensions["citygrid.wall_hub"]
    versions = max(g[-1][1]["v"] for g in got) - min(g[0][1]["v"] for g in got) + 1
    assert live.computations - before <= versions + 2   # not six per version
    assert hub.streams == 0                             # every closed stream counted out


def test_playlist_views_durations_and_scope():
    from layouts.wall import playlist
    streets = {STREET: "东华门街道", OTHER: "前门街道"}
    text = f"district:60,street-{STREET}:20,departments:5,street-110101999:30,bogus:9,street-{OTHER}:x,district:99999"
    assert playlist(text, streets) == [["district", 60], [f"street-{STREET}", 20], ["departments", 10],
                                       ["district", 3600]]
    # A street sub-centre's playlist keeps its own street only (the server would refuse others).
    assert playlist(f"district:30,street-{STREET}:20,street-{OTHER}:20", streets, STREET) == [
        ["district", 30], [f"street-{STREET}", 20]]
    assert playlist(None, streets) == [] and playlist("", streets) == []
