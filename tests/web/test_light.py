"""The Light page in Chromium against a real `vigil run --profile c1410`: a user creates a
profile (previewing it first), starts it and sees it highlighted in the status list with the
LED's state, exports it, and imports a file (delete and add); a bad file changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser
PATH = "/axis-cgi/siren_and_light.cgi"


def profiles(server: LiveDevice) -> list[dict]:
    body = {"apiVersion": "1.0", "method": "getProfiles"}
    return httpx.post(server.http + PATH, json=body, auth=digest()).json()["data"]["profiles"]


def light_now(server: LiveDevice) -> dict:
    return httpx.get(server.http + "/vigil/light", auth=digest()).json()


def test_a_user_creates_runs_exports_and_imports_profiles(speaker: LiveDevice, session: Session,
                                                          tmp_path: Path) -> None:
    page = session.page
    log_in(page, speaker)
    open_page(page, "Light")
    page.get_by_role("button", name="Create").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Alarm")
    dialog.locator("#light-pattern").select_option("Alternate")
    dialog.locator("#siren-pattern").select_option("Alarm: Horror")
    dialog.locator("#light-priority").select_option("6")
    dialog.get_by_role("button", name="Preview").click()
    expect(dialog.get_by_role("button", name="Stop preview")).to_be_visible()
    assert light_now(speaker)["led"] == "red/blue, alternate"
    dialog.get_by_role("button", name="Stop preview").click()
    expect(dialog.get_by_role("button", name="Preview")).to_be_visible()
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#light-profiles")).to_contain_text("Alarm")
    saved, = profiles(speaker)
    assert saved["light"]["colors"] == ["red", "blue"] and saved["siren"]["priority"] == 6

    page.get_by_role("button", name="Start Alarm").click()
    shown = page.locator("#light-status tr.shown")
    expect(shown).to_contain_text("Alarm")
    expect(page.locator("#light-now")).to_contain_text("red/blue, alternate")
    assert light_now(speaker)["siren"] == "Alarm: Horror"

    page.get_by_label("Select Alarm").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export", exact=True).click()
    assert json.loads(Path(download.value.path()).read_text()) == profiles(speaker)

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "Disco", "light": {"pattern": "Disco"}}]))
    page.get_by_role("button", name="Import").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#light-import-file").set_input_files(str(bad))
    dialog.locator("#light-import-mode").select_option("erase_and_add")
    dialog.get_by_role("button", name="Import").click()
    expect(dialog).to_contain_text("Requested light pattern is invalid")
    assert [p["name"] for p in profiles(speaker)] == ["Alarm"]
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"name": "Calm", "light": {"pattern": "Pulse", "colors": ["green"]}}]))
    dialog.locator("#light-import-file").set_input_files(str(good))
    dialog.get_by_role("button", name="Import").click()
    expect(page.locator("#light-profiles")).to_contain_text("Calm")
    expect(page.locator("#light-profiles")).not_to_contain_text("Alarm")
    assert [p["name"] for p in profiles(speaker)] == ["Calm"]
