"""The WLAN page in a real browser against a real `vigil run --profile w401` with scripted
access points: the network list, Configure with a wrong and then the right password, a custom
hidden network, and the page following the switch-over when the cable is pulled and plugged."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser


@pytest.fixture
def w401(w401: LiveDevice) -> LiveDevice:
    """The web tests' W401 with three access points in range, one of them hidden."""
    for ap in ({"ssid": "Depot", "security": "wpa2-psk", "password": "depot-secret", "signal": 80, "channel": 11},
               {"ssid": "Yard", "security": "wpa3-sae", "password": "yard-secret-1", "signal": 35, "channel": 36},
               {"ssid": "Office", "security": "wpa2-psk", "password": "office-secret", "hidden": True}):
        r = httpx.post(w401.http + "/vigil/sim/wlan", auth=digest(), json={"add": ap})
        assert r.status_code == 200, r.text
    return w401


def set_cable(server: LiveDevice, plugged: bool) -> None:
    r = httpx.post(server.http + "/vigil/sim/network", auth=digest(), json={"link": plugged})
    assert r.status_code == 200, r.text


def test_configure_a_network_and_switch_over(w401: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, w401)
    open_page(page, "WLAN")
    networks = page.locator("#wlan-networks")
    expect(networks.locator('tr[data-ssid="Depot"]')).to_contain_text("80 %")
    expect(networks.locator('tr[data-ssid="Yard"]')).to_contain_text("WPA3-Personal")
    expect(networks.locator('tr[data-ssid="Office"]')).to_have_count(0)  # hidden
    expect(page.locator("#wlan-now")).to_contain_text("connected via ethernet cable")

    page.get_by_role("button", name="Configure Depot").click()
    form = page.locator("#wlan-form")
    form.get_by_label("Password", exact=True).fill("wrong-password")
    form.get_by_role("button", name="Connect and save").click()
    expect(page.get_by_role("alert")).to_contain_text("refused the password")
    form.get_by_label("Password", exact=True).fill("depot-secret")
    form.get_by_role("button", name="Connect and save").click()
    expect(page.locator(".message.ok")).to_contain_text("accepted the settings")
    expect(page.locator("#wlan-now")).to_contain_text("switches to Depot when you disconnect the ethernet cable")

    set_cable(w401, False)
    expect(page.locator("#wlan-now")).to_contain_text("connected to the wireless network Depot")
    expect(page.locator("#wlan-now")).to_have_attribute("data-interface", "wlan")
    set_cable(w401, True)
    expect(page.locator("#wlan-now")).to_have_attribute("data-interface", "ethernet")

    page.get_by_role("button", name="Configure custom network").click()
    form = page.locator("#wlan-form")
    form.get_by_label("Network name (SSID)").fill("Office")
    form.get_by_label("Password", exact=True).fill("office-secret")
    form.get_by_label("IPv4", exact=True).select_option(label="Manual")
    form.get_by_label("IPv4 address").fill("192.168.9.9")
    form.get_by_role("button", name="Connect and save").click()
    expect(page.locator(".message.ok")).to_contain_text("The network Office accepted")
    set_cable(w401, False)
    expect(page.locator("#wlan-now")).to_contain_text("connected to the wireless network Office")
    expect(page.get_by_text("192.168.9.9/24")).to_be_visible()
