"""Evidence photos of a case (issue 11): who may attach photos in which stage, what an
``attached`` event carries, and the before / after pairs verification compares.

A photo is known on the stream only by its SHA-256 and a little metadata (type, size,
pixels) — never its bytes, which live in the evidence store
(:mod:`datasource.store.evidence_store`).  The phase of a photo is the stage it was taken
for: ``report`` (the problem as found: 处置前), ``handle`` (the department's result: 处置后)
and ``verify`` (the supervision centre's on-site check, 核查).  Pure: no I/O.
"""
from __future__ import annotations

import re

from dashboard.domain.lifecycle import Stage

PHASES = ("report", "handle", "verify")
#: stage a case is in → the phase a photo attached then belongs to
PHASE_OF_STAGE = {Stage.REPORTED: "report", Stage.FILED: "report", Stage.DISPATCHED: "handle",
                  Stage.HANDLED: "verify"}
#: phase → roles that take its photos (admin may always): the supervision centre photographs
#: the problem and checks the result on site; the department photographs its work.
PHASE_ROLES = {"report": ("supervision",), "handle": ("department",), "verify": ("supervision",)}
#: Pillow's format name → the content type served (checked from the bytes, never the file name)
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
#: photos one ``attached`` event may carry (a stream body is at most 16 KB)
MAX_PHOTOS = 12
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class EvidenceRefused(ValueError):
    """Photos that cannot be attached; ``key`` names the reason (an i18n key suffix)."""

    def __init__(self, key: str, detail: str = ""):
        self.key, self.detail = key, detail
        super().__init__(f"{key}: {detail}" if detail else key)


def is_sha256(text) -> bool:
    return isinstance(text, str) and bool(_SHA256.match(text))


def attach_phase(stage: str | Stage | None, role: str | None) -> str:
    """The phase photos attached by ``role`` to a case in ``stage`` belong to, or
    :class:`EvidenceRefused` (``stage``: no photos in this stage; ``role``: not this role's photos)."""
    phase = PHASE_OF_STAGE.get(Stage(stage)) if stage else None
    if phase is None:
        raise EvidenceRefused("stage", str(stage))
    if role != "admin" and role not in PHASE_ROLES[phase]:
        raise EvidenceRefused("role", phase)
    return phase


def check_photos(body: dict) -> list[dict]:
    """The photos of an ``attached`` event body, checked: a phase of :data:`PHASES` and 1 to
    :data:`MAX_PHOTOS` entries, each with a SHA-256, a served content type and a positive size."""
    photos = body.get("photos")
    if body.get("phase") not in PHASES:
        raise EvidenceRefused("phase", str(body.get("phase"))[:20])
    if not isinstance(photos, list) or not 0 < len(photos) <= MAX_PHOTOS:
        raise EvidenceRefused("count", str(MAX_PHOTOS))
    for photo in photos:
        if not isinstance(photo, dict) or not is_sha256(photo.get("sha256")):
            raise EvidenceRefused("hash")
        if photo.get("type") not in CONTENT_TYPES.values():
            raise EvidenceRefused("type", str(photo.get("type"))[:40])
        size = photo.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise EvidenceRefused("size")
    return photos


def photos_of(timeline: list[dict]) -> list[dict]:
    """Every photo of a case, in the order attached, from its events (``type``, ``at``,
    ``actor``, ``body`` per event): sha256, phase, type, size, width, height, at, actor.
    A photo attached twice in one phase is listed once."""
    out, seen = [], set()
    for item in timeline:
        body = item.get("body") or {}
        photos = body.get("photos")
        if item.get("type") != "attached" or not isinstance(photos, list):
            continue
        for photo in photos:
            if not isinstance(photo, dict) or not is_sha256(photo.get("sha256")):
                continue
            key = (photo["sha256"], body.get("phase"))
            if key in seen:
                continue
            seen.add(key)
            out.append({"sha256": photo["sha256"], "phase": body.get("phase"), "type": photo.get("type"),
                        "size": photo.get("size"), "width": photo.get("width"), "height": photo.get("height"),
                        "name": photo.get("name"), "at": item.get("at"), "actor": item.get("actor")})
    return out


def before_after(photos: list[dict]) -> dict[str, list[dict]]:
    """Photos by what verification compares: ``before`` (report), ``after`` (handling),
    ``check`` (taken at verification)."""
    return {"before": [p for p in photos if p["phase"] == "report"],
            "after": [p for p in photos if p["phase"] == "handle"],
            "check": [p for p in photos if p["phase"] == "verify"]}
