"""The Storage page and the Status page's storage card in Debian's Chromium (Playwright),
against a real `vigil run` S3016: the RAID state and the drives' LEDs follow a failing drive,
a tool runs with progress, write protection and bad input give clear answers."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import LiveDevice
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in

pytestmark = pytest.mark.browser


def storage(server: LiveDevice, method: str, **params) -> dict:
    r = httpx.post(server.http + "/axis-cgi/storage.cgi", auth=digest(),
                   json={"apiVersion": "1.0", "method": method, "params": params})
    return r.json()


def test_storage_page_follows_the_drives_and_runs_tools(recorder: LiveDevice, browser: Browser) -> None:
    session = Session(browser)
    page = session.page
    try:
        log_in(page, recorder)
        expect(page.locator("#storage-card")).to_contain_text("RAID 5 Online")
        page.locator("#nav").get_by_role("link", name="Storage").click()
        expect(page.get_by_role("heading", name="Storage", level=1)).to_be_visible()
        volume = page.locator("#volume-RAID_DISK")
        expect(volume.locator("#raid-status")).to_contain_text("Online")
        expect(page.locator("#hard-drives tbody tr")).to_have_count(4)
        expect(page.locator('#hard-drives tr[data-bay="1"]')).to_contain_text("Green")

        httpx.post(recorder.http + "/vigil/sim/disks", json={"action": "fail", "slot": 1}, auth=digest())
        expect(volume.locator("#raid-status")).to_contain_text("Degraded")
        expect(page.locator('#hard-drives tr[data-bay="2"]')).to_contain_text("Red")
        expect(page.locator('#hard-drives tr[data-bay="1"]')).to_contain_text("Amber")

        volume.get_by_label("Tool", exact=True).select_option("check")
        volume.get_by_role("button", name="Use tool").click()
        expect(volume.locator(".message")).to_contain_text("no errors found")

        # Three working drives cannot hold RAID 6: a clear answer, nothing erased.
        volume.get_by_label("Tool", exact=True).select_option("raid")
        volume.get_by_label("RAID level").select_option("6")
        volume.get_by_role("button", name="Use tool").click()
        page.get_by_role("dialog").get_by_role("button", name="Yes").click()
        expect(volume.get_by_role("alert")).to_contain_text("RAID 6 needs at least 4 drives")

        volume.get_by_label("Write protect").check()
        expect(volume).to_contain_text("write-protected")
        volume.get_by_label("Tool", exact=True).select_option("format")
        volume.get_by_role("button", name="Use tool").click()
        page.get_by_role("dialog").get_by_role("button", name="Format").click()
        expect(volume.get_by_role("alert")).to_contain_text("turn off write protection")
        status = storage(recorder, "getStatus")["data"]["volumes"][0]
        assert status["writeProtected"] is True and status["raid"]["state"] == "degraded"

        page.locator("#network-shares").get_by_role("button", name="Add network storage").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Address").fill("127.0.0.1:1")
        dialog.get_by_label("Network share").fill("footage")
        dialog.get_by_role("button", name="Add").click()
        expect(dialog.get_by_role("alert")).to_contain_text("Cannot connect to 127.0.0.1 port 1")
        dialog.get_by_role("button", name="Cancel").click()
        assert storage(recorder, "listNetworkShares")["data"]["shares"] == []
    finally:
        session.close()


def test_storage_page_encrypts_changes_the_password_and_mounts_with_it(recorder: LiveDevice,
                                                                       browser: Browser) -> None:
    session = Session(browser)
    page = session.page
    try:
        log_in(page, recorder)
        page.locator("#nav").get_by_role("link", name="Storage").click()
        volume = page.locator("#volume-RAID_DISK")
        tools = volume.get_by_label("Tool", exact=True)
        tools.select_option("encrypt")
        volume.get_by_label("Password", exact=True).fill("disk-secret-1")
        volume.get_by_label("Repeat password").fill("disk-secret-2")
        volume.get_by_role("button", name="Use tool").click()
        expect(volume.get_by_role("alert")).to_contain_text("do not match")
        assert storage(recorder, "getStatus")["data"]["volumes"][0]["encrypted"] is False

        volume.get_by_label("Repeat password").fill("disk-secret-1")
        volume.get_by_role("button", name="Use tool").click()
        page.get_by_role("dialog").get_by_role("button", name="Yes").click()
        expect(volume.locator(".message")).to_contain_text("RAID_DISK encrypted")
        expect(volume).to_contain_text("EncryptedYes")

        tools.select_option("changepassword")
        volume.get_by_label("Current password").fill("wrong-password")
        volume.get_by_label("New password").fill("disk-secret-3")
        volume.get_by_label("Repeat password").fill("disk-secret-3")
        volume.get_by_role("button", name="Use tool").click()
        expect(volume.get_by_role("alert")).to_contain_text("Wrong password for RAID_DISK")
        volume.get_by_label("Current password").fill("disk-secret-1")
        volume.get_by_role("button", name="Use tool").click()
        expect(volume.locator(".message")).to_contain_text("password of RAID_DISK is changed")

        volume.get_by_role("button", name="Unmount").click()
        expect(volume.get_by_label("Encryption password")).to_be_visible()
        volume.get_by_label("Encryption password").fill("disk-secret-1")
        volume.get_by_role("button", name="Mount").click()
        expect(volume.get_by_role("alert")).to_contain_text("Wrong password")
        volume.get_by_label("Encryption password").fill("disk-secret-3")
        volume.get_by_role("button", name="Mount").click()
        expect(volume.get_by_role("button", name="Unmount")).to_be_visible()
        view = storage(recorder, "getStatus")["data"]["volumes"][0]
        assert (view["encrypted"], view["mounted"]) == (True, True)
    finally:
        session.close()
