"""The Multicast controller page in Chromium against a real `vigil run --profile c1410`: a user
turns the controller on, sets its audio codec, adds a source with a codec of its own (a unicast address is refused in the dialog and nothing is
stored), sees it play while ffmpeg sends to its group, edits its priority, and deletes it; each
result is checked again over the API."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice, free_port
from tests.multicast.conftest import new_group
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser

API = "/config/rest/audio-multicast-ctrl/v1beta"


def overview(server: LiveDevice) -> dict:
    return httpx.get(server.http + API, auth=digest()).json()["data"]


def test_a_user_adds_sees_playing_edits_and_deletes_a_source(speaker: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, speaker)
    open_page(page, "Multicast controller")
    page.get_by_label("Use multicast controller").check()
    expect(page.get_by_role("status")).to_contain_text("The multicast controller is on")
    page.locator("#multicast-codec").select_option("opus")
    expect(page.get_by_role("status")).to_contain_text("Sources without their own codec play Opus")
    assert overview(speaker)["codec"] == "opus"
    group, port = new_group(), free_port()
    page.get_by_role("button", name="+ Source").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Label").fill("Paging")
    dialog.get_by_label("Source").fill("10.0.0.7")
    dialog.get_by_label("Port").fill(str(port))
    dialog.get_by_label("Priority").select_option("7")
    dialog.get_by_label("Audio codec").select_option("pcmu")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_contain_text("is not a multicast address")
    assert overview(speaker)["sources"] == []
    dialog.get_by_label("Source").fill(group)
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_be_hidden()
    row = page.locator("#multicast-sources tr[data-source=Paging]")
    expect(row).to_contain_text(f"{group}:{port}")
    expect(row).to_contain_text("G.711 µ-law")
    assert overview(speaker)["sources"][0]["codec"] == "pcmu"
    expect(row.locator(".status")).to_have_text("Idle")
    sender = subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i",
                               "sine=frequency=1000:sample_rate=8000:duration=3", "-ac", "1", "-c:a", "pcm_mulaw",
                               "-f", "rtp", f"rtp://{group}:{port}?localaddr=127.0.0.1&ttl=1&pkt_size=172"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        expect(page.locator("#multicast-playing")).to_have_text("Playing: Paging", timeout=5000)
        expect(row.locator(".status")).to_have_text("Playing")
    finally:
        sender.wait(15)
    expect(page.locator("#multicast-playing")).to_have_text("Nothing plays.", timeout=5000)
    row.get_by_role("button", name="Edit Paging").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Priority").select_option("9")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    assert overview(speaker)["sources"][0]["priority"] == 9
    row.get_by_role("button", name="Delete Paging").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Paging is deleted")
    assert overview(speaker)["sources"] == []
