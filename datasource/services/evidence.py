"""Evidence photos (issue 11): check an upload, store it, attach it to a case, list and
serve a case's photos.

An upload is checked by its *content* (Pillow must read it as JPEG, PNG or WebP, whatever
its name says) and its size (``CITYGRID_EVIDENCE_MAX_BYTES``); it is stored under its
SHA-256 with a thumbnail (:mod:`datasource.store.evidence_store`), and an ``attached``
event carrying only the hashes and metadata is appended through the command service — the
same role, scope, stage and ownership checks and the same audit row as every other act.
Which phase a photo belongs to (report / handle / verify) follows from the case's stage and
the role (:func:`dashboard.domain.evidence.attach_phase`).
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from functools import cached_property

from PIL import Image, ImageOps, UnidentifiedImageError

from dashboard.domain.evidence import (CONTENT_TYPES, MAX_PHOTOS, EvidenceRefused, attach_phase, before_after,
                                       is_sha256, photos_of)
from dashboard.domain.lifecycle import EventType
from datasource.services.command_types import Actor, CommandRefused, CommandResult, Msg
from datasource.store.evidence_store import open_store

THUMB_PX = 320
#: more pixels than this is refused before decoding (a small file can decode to gigabytes)
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class CheckedPhoto:
    """An upload that passed the checks: its metadata (what the event carries) and bytes."""

    sha256: str
    type: str
    size: int
    width: int
    height: int
    name: str
    data: bytes
    thumb: bytes

    def meta(self) -> dict:
        out = {"sha256": self.sha256, "type": self.type, "size": self.size, "width": self.width,
               "height": self.height}
        if self.name:
            out["name"] = self.name
        return out


def check_photo(data: bytes, name: str, max_bytes: int) -> CheckedPhoto:
    """Check one upload by content and size and make its thumbnail; CommandRefused 413 (too
    big) or 400 (not a JPEG / PNG / WebP image) otherwise."""
    label = (name or "").strip()[:80]
    if len(data) > max_bytes:
        raise CommandRefused(413, Msg("evidence.too_big", name=label or "-", size=_mb(len(data)), limit=_mb(max_bytes)))
    if not data:
        raise CommandRefused(400, Msg("evidence.empty", name=label or "-"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = CONTENT_TYPES.get(probe.format or "")
                if kind is None:
                    raise CommandRefused(400, Msg("evidence.bad_type", name=label or "-", found=probe.format or "?"))
                if probe.width * probe.height > MAX_PIXELS:
                    raise CommandRefused(400, Msg("evidence.too_many_pixels", name=label or "-"))
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image = ImageOps.exif_transpose(image)   # a phone's portrait photo shown upright
                width, height = image.size
                image.thumbnail((THUMB_PX, THUMB_PX))
                if image.mode not in ("RGB", "L"):
                    image = image.convert("RGBA")
                    flat = Image.new("RGB", image.size, (255, 255, 255))
                    flat.paste(image, mask=image.getchannel("A"))
                    image = flat
                out = io.BytesIO()
                image.save(out, "JPEG", quality=80)
    except CommandRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise CommandRefused(400, Msg("evidence.bad_type", name=label or "-", found="?")) from None
    return CheckedPhoto(hashlib.sha256(data).hexdigest(), kind, len(data), width, height, label, data, out.getvalue())


def listed_photos(case_id: str, timeline: list[dict]) -> list[dict]:
    """A case's photos from its events (so a rebuild lists the same), each with the URLs of
    the photo and its thumbnail (served to those who may read the case)."""
    out = []
    for photo in photos_of(timeline):
        url = f"/evidence/{case_id}/{photo['sha256']}"
        out.append({**photo, "url": url, "thumb_url": url + "?thumb=1"})
    return out


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


class Evidence:
    """Photos of cases on one System, through its command service."""

    def __init__(self, system, commands, queries):
        self.system, self.commands, self.queries = system, commands, queries
        self.max_bytes = system.settings.evidence_max_bytes

    @cached_property
    def store(self):
        return open_store(self.system.settings)

    def attach(self, actor: Actor, case_id, files: list[tuple[str, bytes]], expect_version=None) -> dict:
        """Check, store and attach ``files`` ([(name, bytes)]) to a case: one ``attached`` event.

        The answer: the command's result and the photos' metadata."""
        commands = self.commands
        attached: dict = {}

        def work():
            commands._permit(actor, "attach")
            if not files:
                raise CommandRefused(400, Msg("evidence.none"))
            if len(files) > MAX_PHOTOS:
                raise CommandRefused(400, Msg("evidence.too_many", limit=MAX_PHOTOS))
            state = commands._load(case_id, actor)
            try:
                phase = attach_phase(state["stage"], actor.role)
            except EvidenceRefused as exc:
                status = 409 if exc.key == "stage" else 403
                raise CommandRefused(status, Msg(f"evidence.refused_{exc.key}", case=case_id,
                                                 stage=Msg(f"stage.{state['stage']}")), stage=state["stage"]) from None
            if actor.role == "department" and state.get("department") != actor.department_code:
                raise CommandRefused(403, Msg("cmd.not_own", case=case_id, department=state.get("department") or "-"),
                                     stage=state["stage"])
            checked = [check_photo(data, name, self.max_bytes) for name, data in files]
            for photo in checked:   # bytes first: an event never names a photo the store lacks
                self.store.put(photo.sha256, "photo", photo.data)
                self.store.put(photo.sha256, "thumb", photo.thumb)
            attached.update(phase=phase, photos=[p.meta() for p in checked])
            return commands._case_command(actor, "attach", case_id, EventType.ATTACHED, dict(attached), expect_version,
                                          commands.now())

        result: CommandResult = commands._run(actor, "attach", case_id, work)
        return {**result.as_dict(), **attached}

    def photos(self, case_id: str, timeline: list[dict] | None = None) -> list[dict]:
        """A case's photos (:func:`listed_photos`)."""
        return listed_photos(case_id, timeline if timeline is not None else self.queries.timeline(case_id))

    def compare(self, case_id: str) -> dict[str, list[dict]]:
        """Before (report), after (handling) and check (verification) photos of a case."""
        return before_after(self.photos(case_id))

    def read(self, case_id: str, sha256: str, thumb: bool = False) -> tuple[bytes, str] | None:
        """(bytes, content type) of one photo of one case; None unless the case lists it."""
        if not is_sha256(sha256):
            return None
        listed = next((p for p in self.photos(case_id) if p["sha256"] == sha256), None)
        if listed is None:
            return None
        data = self.store.get(sha256, "thumb" if thumb else "photo")
        if data is None:
            return None
        return data, "image/jpeg" if thumb else listed["type"]
