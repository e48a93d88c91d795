"""The Live view page in a real browser (Debian's Chromium through Playwright) against a real
recorder (`vigil run --test-cameras 1`, S3016): a tile per camera whose <video> really plays the
camera's stream (its time advances, it has a picture size), as a viewer; leaving the page ends the
stream on the device."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ROLE_USERS, wait_until
from tests.peers.browser import Session
from tests.recording.live import Recorded
from tests.web.conftest import log_in

pytestmark = pytest.mark.browser

TILE_STATE = """() => { const v = document.querySelector('#live-grid video[data-camera="1"]');
  return v && {time: v.currentTime, width: v.videoWidth, height: v.videoHeight, error: v.error ? v.error.code : null,
               ready: v.readyState, buffered: v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0}; }"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    session = Session(browser)
    yield session.page
    session.close()


def live_viewers(recorded: Recorded) -> int:
    with recorded.client("viewer") as c:
        reply = c.post("/axis-cgi/recorder.cgi", content=json.dumps({"apiVersion": "1.0", "method": "getStatus"}))
    return reply.json()["data"]["liveViewers"]


def test_a_viewer_watches_each_camera_live(recorded: Recorded, page: Page) -> None:
    log_in(page, recorded.server, *ROLE_USERS["viewer"])
    page.locator("#nav").get_by_role("link", name="Live view").click()
    expect(page.get_by_role("heading", name="Live view", level=1)).to_be_visible()
    tile = page.locator('figure.live-tile[data-source="testcam1"]')
    expect(tile).to_contain_text("Test camera 1")
    expect(tile.get_by_label("Live video of Test camera 1 (testcam1)")).to_be_visible()
    deadline = time.monotonic() + 20
    first = None
    while True:
        state = page.evaluate(TILE_STATE)
        assert state is not None and state["error"] is None, state
        if state["ready"] >= 2 and state["time"] > 0:
            first = first or state
            if state["time"] > first["time"] + 1.0:
                break
        assert time.monotonic() < deadline, f"the live video did not play: {state}"
        time.sleep(0.1)
    assert (state["width"], state["height"]) == (1280, 720)
    assert state["buffered"] - state["time"] < 2.0  # it plays at the live edge, not a second behind
    assert live_viewers(recorded) == 1
    # Leaving the page ends its stream on the device.
    page.locator("#nav").get_by_role("link", name="Status").click()
    wait_until(lambda: live_viewers(recorded) == 0, 10, "the live stream outlived its page")
