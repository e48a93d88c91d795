"""The Cameras page in Chromium against a real `vigil run` S3016 and a real camera (GStreamer's
RTSP server with Digest credentials): a user tests a camera (wrong password, then the right
one: codec and size), adds it for event recording with a retention, sees it connect, edits it
without retyping the password, reads an ONVIF device's streams and adds one in one click, and
removes the cameras; each result is checked over recorder.cgi."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import LiveDevice
from tests.onvif.conftest import ONVIF_MEDIA, create_onvif_accounts
from tests.peers.browser import Session
from tests.peers.rtsp import GstCameras, gst_cameras
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser
USER, PASSWORD = "gate", "GateCam55"


@pytest.fixture(scope="module")
def camera(clip: Path) -> Iterator[GstCameras]:
    yield from gst_cameras(clip, 1, user=USER, password=PASSWORD)


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
        dialog.get_by_label("Events address").fill("ftp://192.0.2.9")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog.get_by_role("alert")).to_contain_text("The events address is empty, http(s)://host[:port]")
        assert sources(recorder)[0]["name"] == "Gate"  # nothing stored
        dialog.get_by_label("Events address").fill("")
        dialog.get_by_role("button", name="Test camera").click()  # with the stored password
        expect(dialog.get_by_role("status")).to_have_text("The camera works: H.264 640×360, no audio.")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        expect(row).to_contain_text("Back gate")
        expect(row.locator(".connection")).to_have_text("Connected")  # the kept password still works
        assert sources(recorder)[0]["name"] == "Back gate"

        # ONVIF: the user reads a device's streams with its ONVIF account (here the recorder's own
        # relay of the gate camera) and adds one in one click.
        create_onvif_accounts(recorder)
        page.get_by_label("Device address").fill(f"127.0.0.1:{recorder.http_port}")
        page.get_by_label("ONVIF user name").fill(ONVIF_MEDIA[0])
        page.get_by_label("ONVIF password").fill("wrong")
        page.get_by_role("button", name="Show streams").click()
        expect(page.locator("section", has_text="ONVIF cameras").get_by_role("alert")).to_contain_text(
            "the camera refused the user name or password")
        page.get_by_label("ONVIF password").fill(ONVIF_MEDIA[1])
        page.get_by_role("button", name="Show streams").click()
        relay = f"rtsp://127.0.0.1:{recorder.rtsp_port}/axis-media/media.amp?camera=1"
        expect(page.locator('#onvif-streams tr[data-profile="profile_1"]')).to_contain_text(relay)
        page.get_by_role("button", name="Add Back gate").click()
        dialog = page.get_by_role("dialog", name="Add camera")
        expect(dialog.get_by_label("RTSP address")).to_have_value(relay)
        expect(dialog.get_by_label("User name")).to_have_value(ONVIF_MEDIA[0])
        dialog.get_by_label("Name", exact=True).fill("Gate relay")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_be_hidden()
        second = page.locator('#cameras-list tr[data-source="cam2"]')
        expect(second.locator(".connection")).to_have_text("Connected")
        page.get_by_role("button", name="Remove Gate relay").click()
        page.get_by_role("dialog", name="Remove camera").get_by_role("button", name="Remove").click()
        expect(second).to_have_count(0)

        page.get_by_role("button", name="Remove Back gate").click()
        page.get_by_role("dialog", name="Remove camera").get_by_role("button", name="Remove").click()
        expect(row).to_have_count(0)
        assert sources(recorder) == []
    finally:
        session.close()
