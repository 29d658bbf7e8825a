"""The evidence store and the photo checks, without a server (issue 11)."""
from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from dashboard.domain.evidence import EvidenceRefused, attach_phase, before_after, check_photos, photos_of
from datasource.services.command_types import CommandRefused
from datasource.services.evidence import check_photo
from datasource.store.evidence_store import LocalEvidenceStore, key_of


def encoded(kind: str, mode: str = "RGB", size=(50, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, kind, **save)
    return out.getvalue()


def test_content_addressed_store(tmp_path):
    store = LocalEvidenceStore(tmp_path)
    data = b"\xff\xd8 some photo"
    sha = hashlib.sha256(data).hexdigest()
    store.put(sha, "photo", data)
    store.put(sha, "photo", data)   # the same photo again: stored once, unchanged
    assert store.get(sha, "photo") == data and store.has(sha, "photo") and not store.has(sha, "thumb")
    assert sorted(p.name for p in tmp_path.rglob("*")) == [sha[:2], sha]   # no temporary file left behind
    assert store.get("0" * 64, "photo") is None
    for bad in ("../../etc/passwd", "A" * 64, sha[:63]):
        with pytest.raises(ValueError):
            key_of(bad, "photo")
    with pytest.raises(ValueError):
        key_of(sha, "../x")


def test_photos_are_checked_by_content_not_by_name():
    png = check_photo(encoded("PNG", "RGBA", (400, 600)), "a.jpg", 10**6)   # named .jpg, is a PNG
    assert (png.type, png.width, png.height) == ("image/png", 400, 600)
    thumb = Image.open(io.BytesIO(png.thumb))
    assert thumb.format == "JPEG" and thumb.size == (213, 320)
    assert check_photo(encoded("WEBP"), "x", 10**6).type == "image/webp"
    assert check_photo(encoded("JPEG"), "x", 10**6).sha256 == hashlib.sha256(encoded("JPEG")).hexdigest()
    refusals = {
        "gif": (encoded("GIF"), 10**6, 400), "bmp": (encoded("BMP"), 10**6, 400), "text": (b"hello", 10**6, 400),
        "empty": (b"", 10**6, 400), "truncated": (encoded("PNG")[:40], 10**6, 400),
        "big": (encoded("PNG"), 10, 413),
    }
    for name, (data, limit, status) in refusals.items():
        with pytest.raises(CommandRefused) as refused:
            check_photo(data, name, limit)
        assert refused.value.status == status, name


def test_phases_and_listing():
    assert attach_phase("reported", "supervision") == "report" and attach_phase("dispatched", "department") == "handle"
    assert attach_phase("handled", "admin") == "verify"
    for stage, role in (("closed", "supervision"), ("dispatched", "supervision"), ("handled", "department"),
                        ("reported", "operator")):
        with pytest.raises(EvidenceRefused):
            attach_phase(stage, role)
    photo = {"sha256": "ab" * 32, "type": "image/jpeg", "size": 10}
    with pytest.raises(EvidenceRefused):
        check_photos({"phase": "report", "photos": [{**photo, "sha256": "x"}]})
    timeline = [{"type": "attached", "at": 1, "actor": "a", "body": {"phase": "report", "photos": [photo]}},
                {"type": "attached", "at": 2, "actor": "b", "body": {"phase": "report", "photos": [photo]}},
                {"type": "attached", "at": 3, "actor": "c", "body": {"phase": "handle", "photos": [photo]}},
                {"type": "handled", "at": 4, "actor": "c", "body": {"photos": "not a list"}}]
    listed = photos_of(timeline)
    assert [(p["phase"], p["actor"]) for p in listed] == [("report", "a"), ("handle", "c")]
    assert [len(v) for v in before_after(listed).values()] == [1, 1, 0]
