"""The speaker's Speaker test, Listen and record and Detectors pages in Chromium against a real
`vigil run --profile c1410` with its simulated speaker and microphone: a user calibrates and runs
the speaker test (the Status page shows the result), listens to the microphone (the page shows
the level of the tone fed to it; recording without storage is refused) and sets the audio detection level while the activity indicator
follows the sound."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page, param

pytestmark = pytest.mark.browser


def feed(server: LiveDevice, frequency: float, seconds: float, level: float) -> None:
    r = httpx.post(server.http + "/vigil/sim/audio", auth=digest(),
                   json={"tone": {"frequency": frequency, "seconds": seconds, "level": level}})
    assert r.status_code == 200, r.text


def test_a_user_tests_the_speaker_listens_and_sets_audio_detection(speaker: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, speaker)
    open_page(page, "Speaker test")
    expect(page.locator("#speaker-test-status")).to_have_text("Not calibrated")
    page.get_by_role("button", name="Calibrate").click()
    expect(page.locator("#speaker-test-status")).to_have_text("Calibrated, not tested yet", timeout=15_000)
    page.get_by_role("button", name="Run the test").click()
    expect(page.locator("#speaker-test-status")).to_have_text("Passed the test", timeout=15_000)
    open_page(page, "Status")
    expect(page.locator("#speaker-test-status")).to_have_text("Passed the test")
    expect(page.get_by_role("button", name="Locate device")).to_be_visible()

    open_page(page, "Listen and record")
    feed(speaker, 700, 6, -20.0)
    page.get_by_role("button", name="Listen").click()
    expect(page.locator("#listen-level")).to_have_text(
        re.compile(r"Level -(19|20|21) dBFS"), timeout=10_000)
    page.get_by_role("button", name="Stop listening").click()
    expect(page.locator("#listen-level")).to_have_text("Not listening")
    expect(page.locator("#record-state")).to_have_text("Not recording")
    page.get_by_role("button", name="Record", exact=True).click()  # no storage yet: refused, nothing changes
    expect(page.locator("main .message.error")).to_contain_text("No network share is bound")
    expect(page.locator("#record-state")).to_have_text("Not recording")
    expect(page.get_by_text("No recordings.")).to_be_visible()

    open_page(page, "Detectors")
    page.locator("#detection-level").fill("40")
    expect(page.locator("#detection-level-value")).to_have_text("40")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#detection-form [role=status]")).to_contain_text("Saved")
    assert param(speaker, "AudioSource.A0.AlarmLevel") == "40"
    feed(speaker, 700, 4, -27.0)  # level 70
    expect(page.locator("#detection-activity-text")).to_have_text("70 (above the sound level)", timeout=10_000)
