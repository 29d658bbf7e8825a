"""Evidence photos in headless Chromium (issue 11): the supervision centre photographs the
problem, the department photographs its work and must say what it did, and verification
shows before and after side by side.  Screenshots go to test-artifacts/."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from tests.browser import wait_until
from tests.browser_util import live_app, tabs  # noqa: F401 - fixtures
from tests.helpers import LAT, LON

pytestmark = pytest.mark.browser


def photo(colour, text: str) -> bytes:
    image = Image.new("RGB", (800, 600), colour)
    ImageDraw.Draw(image).text((40, 40), text, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def drop(page, host: str, name: str, data: bytes) -> None:
    page.wait_for_selector(f"#{host}-evidence-upload:not(.hidden)")
    page.set_input_files(f"#{host}-evidence-upload input[type=file]",
                         files=[{"name": name, "mimeType": "image/jpeg", "buffer": data}])


def test_verify_with_before_and_after_photos(live_app, tabs, artifacts):
    services, cases = live_app.services, live_app.services.cases
    commands = services.commands
    case_id = commands.report(live_app.actor("sup"), "E0102", LON, LAT, "路边垃圾堆积", "hotline12345").case_id
    # 1 the supervision centre adds the photo of the problem (before) on /intake
    sup = tabs().login("sup", f"/intake?case={case_id}")
    page = sup.page
    drop(page, "intake", "现场.jpg", photo((150, 60, 40), "before"))
    page.wait_for_selector("#intake-evidence-message .msg-ok")
    page.wait_for_selector("#intake-evidence-pairs .evidence-before img")
    # a file that is not a picture is explained, not stored
    page.set_input_files("#intake-evidence-upload input[type=file]",
                         files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"plain text"}])
    page.wait_for_selector("#intake-evidence-message .msg-error:has-text('JPEG')")
    commands.file(live_app.actor("sup"), case_id)
    commands.dispatch(live_app.actor("op"), case_id, "sanitation")
    wait_until(lambda: (cases.row(case_id) or {}).get("stage") == "dispatched", message="the dispatch to be projected")

    # 2 the department photographs its work; handling without a note is refused with the reason
    department = tabs().login("sani", f"/department?case={case_id}")
    dp = department.page
    drop(dp, "department", "清运后.jpg", photo((40, 140, 60), "after"))
    dp.wait_for_selector("#department-evidence-message .msg-ok")
    dp.wait_for_selector("#department-actions:not(.hidden)")
    dp.click("#department-handle")
    dp.wait_for_selector("#department-message .msg-error:has-text('处置说明')")
    dp.fill("#department-note", "已清运完毕")
    dp.click("#department-handle")
    dp.wait_for_selector("#department-message .msg-ok")
    wait_until(lambda: (cases.row(case_id) or {}).get("stage") == "handled", message="the handling to be projected")

    # 3 verification: before and after side by side, both loaded; then pass
    page.goto(f"{live_app.base}/intake?case={case_id}")
    page.wait_for_selector("#intake-pass:not(.hidden)")
    for column in ("before", "after"):
        page.wait_for_function("(i => Boolean(i && i.complete && i.naturalWidth > 0))"
                               f"(document.querySelector('#intake-evidence-pairs .evidence-{column} img'))")
    boxes = [page.locator(f"#intake-evidence-pairs .evidence-{c} img").bounding_box() for c in ("before", "after")]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[0]["x"] < boxes[1]["x"]   # side by side
    page.locator("#intake-evidence-box").screenshot(path=str(artifacts / "evidence-before-after.png"))
    page.screenshot(path=str(artifacts / "evidence-verify.png"))
    page.click("#intake-pass")
    page.wait_for_function("document.querySelector('#intake-panel-body [data-stage]')?.dataset.stage === 'verified'")
    wait_until(lambda: (cases.row(case_id) or {}).get("stage") == "verified", message="the verification to be projected")
    phases = [p["phase"] for p in services.evidence.photos(case_id)]
    assert phases == ["report", "handle"]
    assert [e["type"] for e in cases.timeline(case_id)] == ["reported", "attached", "filed", "dispatched", "attached",
                                                            "handled", "verified"]
    for tab in (sup, department):
        assert tab.problems() == []
