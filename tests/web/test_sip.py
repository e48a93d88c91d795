"""The SIP page in Chromium against a real `vigil run --profile c1410`: an administrator enables
SIP on a free port, sees the peer-to-peer account with its status, adds a registered account
(its password never comes back), places a test call to a baresip peer, sees it connected and
hangs up."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice, free_port
from tests.peers.baresip import start_baresip
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser


def accounts(server: LiveDevice) -> list[dict]:
    body = {"apiVersion": "1.0", "method": "getSipAccounts"}
    return httpx.post(server.http + "/axis-cgi/sip/sip.cgi", json=body, auth=digest()).json()["data"]["accounts"]


def test_an_administrator_sets_up_sip_and_places_a_test_call(speaker: LiveDevice, session: Session,
                                                             tmp_path: Path) -> None:
    page = session.page
    log_in(page, speaker)
    open_page(page, "SIP")
    page.get_by_label("Enable SIP").check()
    port = free_port()
    page.locator("#sip-sipPort").fill(str(port))
    page.locator("#sip-rtpPortStart").fill(str((port + 2) & ~1 if port < 64000 else 20000))
    page.get_by_label("Audio codec priority").fill("opus, pcmu")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="SIP settings saved.")).to_be_visible()
    expect(page.locator('#sip-accounts tr[data-account="p2p"] .status')).to_have_text("peer-to-peer")
    settings = httpx.post(speaker.http + "/axis-cgi/sip/sip.cgi", auth=digest(),
                          json={"apiVersion": "1.0", "method": "getSipConfiguration"}).json()["data"]
    assert settings["codecPriority"] == ["opus", "pcmu"]

    page.get_by_role("button", name="Add account").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("ID", exact=True).fill("pbx")
    dialog.get_by_label("User ID").fill("door")
    dialog.get_by_label("Password").fill("s3cret")
    dialog.get_by_label("Registrar").fill(f"127.0.0.1:{free_port()}")
    dialog.get_by_label("Media encryption").select_option("srtp-mandatory")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator('#sip-accounts tr[data-account="pbx"]')).to_contain_text("door")
    pbx = next(a for a in accounts(speaker) if a["id"] == "pbx")
    assert pbx["passwordSet"] is True and "password" not in pbx and pbx["mediaEncryption"] == "srtp-mandatory"

    peer = start_baresip(tmp_path / "baresip")
    try:
        page.locator("#sip-call-uri").fill(peer.uri)
        page.locator("#sip-call-account").select_option("p2p")
        page.get_by_role("button", name="Call", exact=True).click()
        expect(page.locator("#sip-call-state")).to_contain_text("active", timeout=8000)
        page.get_by_role("button", name="Hang up").click()
        expect(page.locator("#sip-call-state")).to_contain_text("ended: hung up")
    finally:
        peer.stop()
