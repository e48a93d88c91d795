"""The Audio clips page in Chromium on a real `vigil run --profile c1410`, and the manual's recipe
"Play audio when a camera detects motion" with a second real process, a W401: a user adds a clip
(a file that is no audio is refused and nothing is stored), plays it (the speaker's sink hears it),
creates its link with a volume and a repeat count, and the link pasted into the W401's HTTP
recipient plays the clip when the W401's digital input activates; then the user deletes it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import ADMIN, LiveDevice, wait_until
from tests.peers.browser import Session
from tests.peers.servers import PORT_TOPIC, add_action_xml, add_recipient_xml, add_rule_xml, item_filter
from tests.playback.conftest import TONE_DBFS, TONE_SECONDS, make_tone
from tests.web.conftest import digest, log_in, open_page
from tests.web.test_accessories import soap

pytestmark = pytest.mark.browser


@pytest.fixture
def pair(speaker: LiveDevice, w401: LiveDevice) -> tuple[LiveDevice, LiveDevice]:
    """A C1410 and a W401, each a `vigil run` with the test administrator."""
    return speaker, w401


def sink(speaker: LiveDevice) -> dict:
    return httpx.get(speaker.http + "/vigil/sim/audio", auth=digest()).json()["sink"]


def clear_sink(speaker: LiveDevice) -> None:
    httpx.post(speaker.http + "/vigil/sim/audio", json={"clearSink": True}, auth=digest())


def heard(speaker: LiveDevice, seconds: float) -> dict:
    wait_until(lambda: sink(speaker)["audibleSeconds"] >= seconds - 0.05, 10, f"{seconds} s at the speaker's sink")
    time.sleep(0.2)  # a longer sound than expected would still be arriving: let it show
    return sink(speaker)


def test_a_user_adds_plays_links_and_deletes_a_clip(pair: tuple[LiveDevice, LiveDevice], session: Session,
                                                    tmp_path: Path) -> None:
    speaker, w401 = pair
    page = session.page
    log_in(page, speaker)
    open_page(page, "Audio clips")
    expect(page.locator("#clip-empty")).to_be_visible()

    (tmp_path / "notes.wav").write_text("these are notes, not audio\n" * 40)
    page.locator("#clip-file").set_input_files(tmp_path / "notes.wav")
    page.get_by_role("button", name="Add clip").click()
    expect(page.get_by_role("alert")).to_contain_text("not audio")
    assert not list((speaker.data / "mediaclips").glob("*"))

    make_tone(tmp_path / "chime.mp3")
    page.locator("#clip-file").set_input_files(tmp_path / "chime.mp3")
    page.get_by_label("Name", exact=True).fill("Chime")
    page.get_by_role("button", name="Add clip").click()
    expect(page.locator("#clip-rows tr")).to_have_count(1)
    expect(page.locator("#clip-rows")).to_contain_text("Chime")

    clear_sink(speaker)
    page.get_by_role("button", name="Play Chime").click()
    played = heard(speaker, TONE_SECONDS)
    assert abs(played["audibleSeconds"] - TONE_SECONDS) < 0.06 and abs(played["frequencyHz"] - 1000) < 20

    page.get_by_role("button", name="Create link for Chime").click()
    page.locator("#clip-link-volume").fill("50")
    page.locator("#clip-link-repeat").fill("1")
    link = page.locator("#clip-link").input_value()
    assert link == f"{speaker.http}/axis-cgi/playclip.cgi?clip=0&volume=50&repeat=1"
    page.get_by_role("button", name="Close").click()

    # W401: an HTTP recipient with the link and the speaker's credentials; a rule on input 1
    reply = soap(w401, add_recipient_xml("com.axis.recipient.http", {
        "upload_url": link, "login": ADMIN[0], "password": ADMIN[1], "proxy_host": "", "proxy_port": "",
        "proxy_login": "", "proxy_password": "", "qos": "0"}, "Speaker"))
    recipient = reply.split("ConfigurationID>")[1].split("<")[0]
    reply = soap(w401, add_action_xml("com.axis.action.fixed.notification.http", {
        "recipient_id": recipient, "message": "Input {source.port}", "parameters": "", "method": "",
        "http_headers": "", "body": ""}, "Play clip"))
    action = int(reply.split("ConfigurationID>")[1].split("<")[0])
    r = httpx.post(w401.http + "/axis-cgi/param.cgi", data={"action": "update", "IOPort.I0.Direction": "input",
                                                          "IOPort.I0.Input.Trig": "closed"}, auth=digest())
    assert r.text.startswith("OK"), r.text
    soap(w401, add_rule_xml("Play clip", action, start=(PORT_TOPIC, item_filter(port="1", state="1"))))
    clear_sink(speaker)
    r = httpx.post(w401.http + "/vigil/sim/io", json={"port": 0, "circuit": "closed"}, auth=digest())
    assert r.status_code == 200, r.text
    played = heard(speaker, 2 * TONE_SECONDS)
    assert abs(played["audibleSeconds"] - 2 * TONE_SECONDS) < 0.06, played  # played, and repeated once
    assert abs(played["levelDbfs"] - (TONE_DBFS - 6.02)) < 1.0, played  # at 50 %

    page.get_by_role("button", name="Delete Chime").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#clip-empty")).to_be_visible()
    assert not list((speaker.data / "mediaclips").glob("*"))
