"""The Audio page in Chromium against a real `vigil run --profile c1410`: a user sets the
speaker's gain, mutes the microphone, picks the stream's encoding and echo cancellation, and
turns the input off (encoding is then not selectable); each result is checked over the APIs."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser


def settings(server: LiveDevice) -> dict:
    body = {"apiVersion": "1.0", "method": "getDevicesSettings"}
    return httpx.post(server.http + "/axis-cgi/audiodevicecontrol.cgi", json=body, auth=digest()).json()["data"]


def param(server: LiveDevice, name: str) -> str:
    text = httpx.get(server.http + "/axis-cgi/param.cgi", params={"action": "list", "group": name},
                     auth=digest()).text
    return text.strip().split("=", 1)[1]


def channel(port: dict) -> dict:
    return port["connectionTypes"][0]["signalingTypes"][0]["channels"][0]


def test_a_user_changes_the_audio_device_settings(speaker: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, speaker)
    open_page(page, "Audio")
    page.locator("#audio-output-gain").fill("-12")
    expect(page.locator("#audio-output-gain-value")).to_have_text("-12 dB")
    page.get_by_label("Mute input").check()
    page.get_by_label("Encoding").select_option("aac")
    page.get_by_label("Echo cancellation").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#audio-form [role=status]")).to_contain_text("Saved")
    device = settings(speaker)["devices"][0]
    assert channel(device["outputs"][0]) == {"id": 0, "gain": -12, "mute": False}
    assert channel(device["inputs"][0])["mute"] is True
    assert param(speaker, "AudioSource.A0.AudioEncoding") == "aac"
    assert param(speaker, "AudioSource.A0.EchoCancellation") == "yes"

    page.get_by_label("Input", exact=True).uncheck()
    expect(page.get_by_label("Encoding")).to_be_disabled()
    expect(page.locator("#audio-encoding-hint")).to_contain_text("turn on Input")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#audio-form [role=status]")).to_contain_text("Saved")
    assert settings(speaker)["devices"][0]["inputs"][0]["enabled"] is False
    page.reload()
    expect(page.get_by_label("Encoding")).to_be_disabled()
    expect(page.locator("#audio-output-gain-value")).to_have_text("-12 dB")
