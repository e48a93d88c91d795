"""The Cameras page in Chromium against a real `vigil run` S3016 and a real camera (GStreamer's
RTSP server with Digest credentials): a user tests a camera (wrong password, then the right
one: codec and size), adds it for event recording with a retention, sees it connect, edits it
without retyping the password, and removes it; each result is checked over recorder.cgi."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import LiveDevice
from tests.peers.browser import Session
from tests.peers.rtsp import GstCameras
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser
USER, PASSWORD = "gate", "GateCam55"


@pytest.fixture(scope="module")
def camera(clip: Path) -> Iterator[GstCameras]:
    cams = GstCameras(clip, 1, user=USER, password=PASSWORD).start()
    yield cams
    cams.stop()


def sources(server: LiveDevice) -> list[dict]:
    r = httpx.post(server.http + "/axis-cgi/recorder.cgi", auth=digest(),
                   json={"apiVersion": "1.0", "method": "listSources", "params": {}})
    return r.json()["data"]["sources"]


def test_a_user_adds_tests_edits_and_removes_a_camera(recorder: LiveDevice, camera: GstCameras,
                                                       browser: Browser) -> None:
    session = Session(browser)
    page = session.page
    try:
        log_in(page, recorder)
        open_page(page, "Cameras")
        expect(page.get_by_text("No cameras yet")).to_be_visible()
        page.get_by_role("button", name="Add camera").click()
        dialog = page.get_by_role("dialog", name="Add camera")
        dialog.get_by_label("Name", exact=True).fill("Gate")
        dialog.get_by_label("RTSP address").fill(camera.url(1))
        dialog.get_by_label("User name").fill(USER)
        dialog.get_by_label("Password", exact=True).fill("wrong")
        dialog.get_by_role("button", name="Test camera").click()
        expect(dialog.get_by_role("alert")).to_have_text(
            "Camera test failed: the camera refused the user name or password (error 1002)")
        dialog.get_by_label("Password", exact=True).fill(PASSWORD)
        dialog.get_by_role("button", name="Test camera").click()
        expect(dialog.get_by_role("status")).to_have_text("The camera works: H.264 640×360, no audio.")
        assert sources(recorder) == []  # testing stores nothing
        dialog.get_by_label("Recording").select_option("event")
        dialog.get_by_label("Retention (days)").fill("7")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()

        row = page.locator('#cameras-list tr[data-source="cam1"]')
        expect(row).to_contain_text("Gate")
        expect(row).to_contain_text("Event")
        expect(row).to_contain_text("7 days")
        expect(row.locator(".connection")).to_have_text("Connected")
        (stored,) = sources(recorder)
        assert (stored["name"], stored["username"], stored["password"], stored["continuous"],
                stored["retention_days"], stored["connected"]) == ("Gate", USER, "******", False, 7, True)

        page.get_by_role("button", name="Edit Gate").click()
        dialog = page.get_by_role("dialog", name="Edit Gate")
        expect(dialog.get_by_label("Password", exact=True)).to_have_value("******")
        dialog.get_by_label("Name", exact=True).fill("Back gate")
        dialog.get_by_role("button", name="Test camera").click()  # with the stored password
        expect(dialog.get_by_role("status")).to_have_text("The camera works: H.264 640×360, no audio.")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        expect(row).to_contain_text("Back gate")
        expect(row.locator(".connection")).to_have_text("Connected")  # the kept password still works
        assert sources(recorder)[0]["name"] == "Back gate"

        page.get_by_role("button", name="Remove Back gate").click()
        page.get_by_role("dialog", name="Remove camera").get_by_role("button", name="Remove").click()
        expect(row).to_have_count(0)
        assert sources(recorder) == []
    finally:
        session.close()
