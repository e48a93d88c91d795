"""The Time and location page and the Status page's time sync status in Chromium, against a real
`vigil run` and chrony: a user sets an NTP server and sees the clock sync, sets a custom date and
time with "Get from system", and saves the device location. Each result is checked again over
the API."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from lxml import etree
from playwright.sync_api import expect

from tests.conftest import LiveDevice, create_admin_live
from tests.peers.browser import Session
from tests.peers.chrony import Chrony, installed, ntp_time
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chrony(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrony]:
    if not installed():
        pytest.skip("chrony is not installed (make debs installs it)")
    server = Chrony(tmp_path_factory.mktemp("chrony")).start()
    yield server
    server.stop()


def time_api(server: LiveDevice, method: str, params: dict | None = None) -> dict:
    body = {"apiVersion": "1.1", "method": method, **({"params": params} if params else {})}
    r = httpx.post(server.http + "/axis-cgi/time.cgi", json=body, auth=digest())
    assert "error" not in r.json(), r.text
    return r.json()["data"]


def device_time(server: LiveDevice) -> float:
    return datetime.fromisoformat(time_api(server, "getDateTimeInfo")["dateTime"].replace("Z", "+00:00")).timestamp()


def test_a_user_sets_an_ntp_server_and_sees_the_clock_sync(live: LiveDevice, session: Session, chrony: Chrony) -> None:
    create_admin_live(live)
    time_api(live, "setDateTime", {"dateTime": "2031-01-01T00:00:00Z"})  # far from chrony's time
    page = session.page
    log_in(page, live)
    expect(page.locator("#time-sync-state")).to_contain_text("Not synchronized")  # no server set yet
    open_page(page, "Time and location")
    page.get_by_label("Synchronization").select_option(label="Automatic date and time (manual NTP servers)")
    page.get_by_label("NTP server 1", exact=True).fill(chrony.server)
    page.get_by_label("Min NTP poll time").select_option("4")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator("#time-card").get_by_role("status").last).to_contain_text("saved")
    expect(page.locator("#time-sync-status")).to_contain_text(f"Synchronized with {chrony.server}")
    assert abs(device_time(live) - ntp_time(chrony.ntp_port)) < 2  # stepped back from 2031
    r = httpx.post(live.http + "/axis-cgi/ntp.cgi", auth=digest(),
                   json={"apiVersion": "1.0", "method": "getNTPInfo"})
    client = r.json()["data"]["client"]
    assert client["staticServers"] == [chrony.server] and client["serversSource"] == "static"
    assert client["minpoll"] == 4 and client["synced"] is True
    # The Status page tells the same.
    open_page(page, "Status")
    expect(page.locator("#time-sync-state")).to_contain_text("Synchronized")
    card = page.locator("section", has_text="Time sync status")
    expect(card).to_contain_text(chrony.server)
    expect(card).to_contain_text(re.compile(r"Offset\s*[+-]\d+\.\d{3} ms"))
    expect(card).to_contain_text(re.compile(r"Next sync\s*in \d+"))
    card.get_by_role("link", name="NTP settings").click()
    expect(page.get_by_role("heading", name="Time and location", level=1)).to_be_visible()
    # A server that does not answer is shown as the problem it is.
    page.get_by_label("NTP server 1", exact=True).fill("127.0.0.1:9")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator("#time-sync-status")).to_contain_text("refused (no NTP server listens there)")


def test_custom_date_and_time_from_the_computer(live: LiveDevice, browser, tmp_path: Path) -> None:
    create_admin_live(live)
    time_api(live, "setDateTime", {"dateTime": "2040-06-01T00:00:00Z"})
    session = Session(browser, timezone_id="Asia/Tokyo")
    try:
        page = session.page
        log_in(page, live)
        open_page(page, "Time and location")
        page.get_by_label("Synchronization").select_option("custom")
        expect(page.get_by_label("NTP server 1", exact=True)).to_be_hidden()
        page.get_by_role("button", name="Get from system").click()
        expect(page.get_by_label("Time zone", exact=True)).to_have_value("Asia/Tokyo")
        page.get_by_role("button", name="Save").first.click()
        expect(page.locator("#time-card").get_by_role("status").last).to_contain_text("saved")
    finally:
        session.close()
    data = time_api(live, "getDateTimeInfo")
    assert data["timeZone"] == "Asia/Tokyo" and data["localDateTime"].endswith("+09:00")
    assert abs(device_time(live) - time.time()) < 5  # the computer's time, not 2040
    r = httpx.post(live.http + "/axis-cgi/ntp.cgi", auth=digest(), json={"apiVersion": "1.0", "method": "getNTPInfo"})
    assert r.json()["data"]["client"]["enabled"] is False


def test_the_device_location(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    open_page(page, "Time and location")
    form = page.locator("#location-form")
    form.get_by_label("Latitude").fill("55.605")
    form.get_by_label("Longitude").fill("013.0038")
    form.get_by_label("Heading").fill("270")
    form.get_by_label("Label").fill("Gate 3")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("status")).to_contain_text("saved")
    # Another form converts what is entered; a value in the wrong form is refused in the page.
    form.get_by_label("Format").select_option("DDMM")
    expect(form.get_by_label("Latitude")).to_have_value("5536.3000")
    expect(form.get_by_label("Longitude")).to_have_value("01300.2280")
    form.get_by_label("Longitude").fill("13.0038")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_contain_text("in the DDMM form")
    form.get_by_label("Longitude").fill("01300.2280")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("status")).to_contain_text("saved")
    root = etree.fromstring(httpx.get(live.http + "/axis-cgi/geolocation/get.cgi", auth=digest()).content)
    found = {e.tag: e.text for e in root.iter() if len(e) == 0}
    assert (found["Lat"], found["Lng"], found["Heading"], found["Text"]) == ("5536.3000", "01300.2280", "270", "Gate 3")
