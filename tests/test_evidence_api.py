"""Evidence photos over HTTP (issue 11): multipart upload checked by content and size, stored
content-addressed, listed in the case, served only to readers of the case; the handling note.

Runs on SQLite and PostgreSQL with real Redis, through the checking client of ``test_api``
(every answer must be as the OpenAPI document says).  Every documented status of
``attachPhotos`` is driven here (the generic driver of test_api cannot prepare photos)."""
from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from datasource.services.command_types import Actor
from datasource.services.commands import CommandService
from tests.helpers import LAT, LON
from tests.test_api import UNKNOWN_CASE, client, filed_case, report, tokens  # noqa: F401 - fixtures and helpers

LIMIT = 300_000
ADMIN = Actor("setup", "admin")


@pytest.fixture
def settings(settings):
    """A small photo limit, so that "too big" needs no 10 MB in the test."""
    return settings.with_(evidence_max_bytes=LIMIT)


def picture(kind: str = "JPEG", size=(640, 480), colour=(200, 60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def upload(client, case_id, headers, *files, **form):
    data = {"photo": [(io.BytesIO(body), name) for name, body in files], **form}
    return client.post(f"/api/v1/cases/{case_id}/photos", data=data, headers=headers, content_type="multipart/form-data")


def test_photos_are_checked_stored_listed_and_served(system, client, tokens):
    stream = system.stream
    case_id = report(client, tokens)
    before = picture("PNG", colour=(20, 120, 20))
    # 201: a PNG before photo by the supervision centre; the event carries the hash only
    answer = upload(client, case_id, tokens["supervision"], ("现场.png", before))
    assert answer.status_code == 201, answer.json
    sha = hashlib.sha256(before).hexdigest()
    assert answer.json["phase"] == "report" and answer.json["photos"][0]["sha256"] == sha
    entry = stream.client.xrange(stream.key)[-1][1]
    assert entry[b"type"] == b"attached" and sha.encode() in entry[b"body"] and len(entry[b"body"]) < 400
    stored = system.settings.data_dir / "evidence" / sha[:2] / sha
    assert stored.read_bytes() == before
    # refused uploads append nothing: a text file named .jpg (type by content), too big, none
    length = stream.length()
    bad = upload(client, case_id, tokens["supervision"], ("photo.jpg", b"GIF89a not really a picture"))
    assert bad.status_code == 400 and "JPEG, PNG or WebP" in bad.json["message"]
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert upload(client, case_id, tokens["supervision"], ("x.jpg", gif.getvalue())).status_code == 400
    big = upload(client, case_id, tokens["supervision"], ("big.jpg", b"\xff\xd8" + bytes(LIMIT)))
    assert big.status_code == 413 and "over the limit" in big.json["message"]
    assert upload(client, case_id, tokens["supervision"]).status_code == 400           # no photo
    assert upload(client, case_id, tokens["supervision"], ("a.png", before), extra="1").status_code == 400
    assert stream.length() == length
    # listed in GET /cases/{id} once the worker has the event, with URLs that serve it
    system.worker().drain()
    case = client.get(f"/api/v1/cases/{case_id}", headers=tokens["operator"]).json
    assert [(p["sha256"], p["phase"], p["type"]) for p in case["photos"]] == [(sha, "report", "image/png")]
    served = client.get(case["photos"][0]["url"], headers=tokens["operator"])
    assert served.status_code == 200 and served.data == before and served.mimetype == "image/png"
    thumb = client.get(case["photos"][0]["thumb_url"], headers=tokens["operator"])
    assert Image.open(io.BytesIO(thumb.data)).format == "JPEG" and max(Image.open(io.BytesIO(thumb.data)).size) <= 320
    # served only to readers of that case, and only photos the case lists
    assert client.get(case["photos"][0]["url"]).status_code == 401
    assert client.get(case["photos"][0]["url"], headers=tokens["wall"]).status_code == 403
    assert client.get(f"/evidence/{UNKNOWN_CASE}/{sha}", headers=tokens["operator"]).status_code == 404
    other = report(client, tokens)
    assert client.get(f"/evidence/{other}/{sha}", headers=tokens["operator"]).status_code == 404
    assert client.get(f"/evidence/{case_id}/secret_key", headers=tokens["operator"]).status_code == 404   # a hash, or nothing


def test_every_documented_answer_of_attach_photos(system, client, tokens):
    service = CommandService(system)
    jpeg = picture()
    case_id = report(client, tokens)
    rejected = service.report(ADMIN, "E0102", LON, LAT, "x").case_id
    service.reject(ADMIN, rejected, "无效")
    supervision = tokens["supervision"]
    statuses = {
        "201": upload(client, case_id, supervision, ("a.jpg", jpeg), version="1"),
        "400": upload(client, case_id, supervision, ("a.txt", b"hello")),
        "401": upload(client, case_id, {}, ("a.jpg", jpeg)),
        "403": upload(client, case_id, tokens["operator"], ("a.jpg", jpeg)),
        "404": upload(client, UNKNOWN_CASE, supervision, ("a.jpg", jpeg)),
        "409": upload(client, rejected, supervision, ("a.jpg", jpeg)),
        "413": upload(client, case_id, supervision, ("a.jpg", bytes(LIMIT + 1))),
        "415": client.post(f"/api/v1/cases/{case_id}/photos", json={"photo": "x"}, headers=supervision),
    }
    assert {status: str(answer.status_code) for status, answer in statuses.items()} == {s: s for s in statuses}
    documented = client.spec["paths"]["/cases/{case_id}/photos"]["post"]["responses"]
    assert set(documented) == set(statuses)
    # the version is checked like every command's: the case is now at version 2
    assert upload(client, case_id, supervision, ("a.jpg", jpeg), version="1").status_code == 409


def test_phases_follow_the_stage_and_the_role_and_handling_needs_a_note(system, client, tokens):
    service = CommandService(system)
    case_id = filed_case(client, tokens)
    service.dispatch(ADMIN, case_id, "sanitation")
    after = picture(colour=(240, 240, 240))
    # dispatched: the department's own photos (handling); the supervision centre's are not wanted now
    assert upload(client, case_id, tokens["supervision"], ("a.jpg", after)).status_code == 403
    answer = upload(client, case_id, tokens["department"], ("after.jpg", after))
    assert answer.status_code == 201 and answer.json["phase"] == "handle"
    # handling without a note: 400 with the reason, nothing appended
    length = system.stream.length()
    refused = client.post(f"/api/v1/cases/{case_id}/handle", json={}, headers=tokens["department"])
    assert refused.status_code == 400 and "handling note" in refused.json["message"]
    blank = client.post(f"/api/v1/cases/{case_id}/handle", json={"note": "  "}, headers=tokens["department"])
    assert blank.status_code == 400 and system.stream.length() == length
    zh = client.post(f"/api/v1/cases/{case_id}/handle?lang=zh", json={}, headers=tokens["department"])
    assert "处置说明" in zh.json["message"]
    assert client.post(f"/api/v1/cases/{case_id}/handle", json={"note": "已清运"},
                       headers=tokens["department"]).status_code == 200
    # handled: the verification's photos are the supervision centre's
    assert upload(client, case_id, tokens["department"], ("b.jpg", after)).status_code == 403
    check = picture("WEBP", colour=(250, 250, 250))
    assert upload(client, case_id, tokens["supervision"], ("check.webp", check)).status_code == 201
    system.worker().drain()
    listed = client.get(f"/api/v1/cases/{case_id}/photos", headers=tokens["supervision"]).json
    assert [p["phase"] for p in listed["photos"]] == ["handle", "verify"]
    assert listed["after"][0]["sha256"] == hashlib.sha256(after).hexdigest() and listed["before"] == []
    assert listed["check"][0]["type"] == "image/webp"
