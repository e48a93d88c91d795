"""The Accessories page's output buttons in a real browser against a real `vigil run --profile
w401`: an administrator chooses each output's button (activate/deactivate, a pulse of the port's
pulse time, or none) and the button does what it says, checked over the public API; and the
Bluetooth beacon card (signals heard, what is on the air, the receive settings)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice, wait_until
from tests.peers.browser import Session
from tests.peers.servers import PORT_TOPIC, add_action_xml, add_rule_xml, envelope, item_filter
from tests.web.conftest import digest, log_in, open_page, param

pytestmark = pytest.mark.browser




def relay_state(server: LiveDevice) -> str:
    r = httpx.post(server.http + "/axis-cgi/io/portmanagement.cgi", auth=digest(),
                   json={"apiVersion": "1.0", "method": "getPorts"})
    return r.json()["data"]["items"][8]["state"]




def test_output_buttons_pulse_toggle_or_none(w401: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, w401)
    open_page(page, "Accessories")
    relay = page.locator('tr[data-port="8"]')
    expect(relay.get_by_role("button", name="Activate port 9 (Relay)")).to_be_visible()  # the default button

    relay.get_by_label("Button of port 9").select_option(label="Pulse")
    expect(page.locator(".message.ok")).to_contain_text("button pulse")
    expect(relay.get_by_text("No pulse time set")).to_be_visible()
    relay.get_by_label("Pulse time of port 9 (ms)").fill("1500")
    relay.get_by_label("Pulse time of port 9 (ms)").press("Tab")
    pulse = relay.get_by_role("button", name="Pulse port 9 (Relay) for 1500 ms")
    expect(pulse).to_be_visible()
    assert (param(w401, "IOPort.I8.Output.Button"), param(w401, "IOPort.I8.Output.PulseTime")) == ("pulse", "1500")

    pulse.click()
    wait_until(lambda: relay_state(w401) == "closed", 5, "the relay active during the pulse")
    expect(relay.locator(".io-state")).to_have_attribute("data-active", "true")
    wait_until(lambda: relay_state(w401) == "open", 5, "the relay back to normal after the pulse")
    expect(relay.locator(".io-state")).to_have_attribute("data-active", "false")

    # A pulse time out of range is refused on the page and by the device.
    relay.get_by_label("Pulse time of port 9 (ms)").fill("70000")
    relay.get_by_label("Pulse time of port 9 (ms)").press("Tab")
    expect(page.locator(".message.error")).to_contain_text("0 to 65535")
    r = httpx.get(w401.http + "/axis-cgi/param.cgi", auth=digest(),
                  params={"action": "update", "IOPort.I8.Output.PulseTime": "70000"})
    assert r.text.startswith("# Error") and param(w401, "IOPort.I8.Output.PulseTime") == "1500"

    relay.get_by_label("Button of port 9").select_option(label="No button")
    expect(relay.get_by_role("button")).to_have_count(0)
    assert param(w401, "IOPort.I8.Output.Button") == "none"


def soap(server: LiveDevice, body: str) -> str:
    r = httpx.post(server.http + "/vapix/services", content=envelope(body), auth=digest(),
                   headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert r.status_code == 200, r.text
    return r.text


def test_beacon_card_shows_signals_heard_and_on_the_air(w401: LiveDevice, session: Session) -> None:
    # A rule: input 1 active -> "Broadcast signal while the rule is active", system 00C0FFEE, type 1.
    reply = soap(w401, add_action_xml("com.axis.action.unlimited.bluetooth.broadcast",
                                      {"system_id": "00C0FFEE", "message_type": "1"}))
    action = re.search(r"<aa:ConfigurationID>(\d+)<", reply).group(1)
    soap(w401, add_rule_xml("Light bar", int(action), start=(PORT_TOPIC, item_filter(port="1", state="1"))))
    page = session.page
    log_in(page, w401)
    open_page(page, "Accessories")
    expect(page.locator("#beacon-heard")).to_contain_text("No beacon heard yet.")
    expect(page.locator("#beacon-on-air")).to_contain_text("Nothing.")

    r = httpx.post(w401.http + "/vigil/sim/ble", auth=digest(), json={
        "address": "AA:BB:CC:00:11:22", "rssi": -61, "systemId": "00C0FFEE", "messageType": 1})
    assert r.status_code == 200, r.text
    row = page.locator('#beacon-heard tr[data-system="00C0FFEE"]')
    expect(row).to_contain_text("1 (lightbar active)")
    expect(row).to_contain_text("-61 dBm")
    expect(row).to_contain_text("Active")

    r = httpx.post(w401.http + "/vigil/sim/io", auth=digest(), json={"port": 0, "circuit": "closed"})
    assert r.status_code == 200, r.text
    expect(page.locator("#beacon-on-air")).to_contain_text("System ID 00C0FFEE, message type 1 (lightbar active)")

    form = page.locator("#beacon-settings")
    form.get_by_label("Weakest signal that counts (dBm)").fill("-75")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".message.ok").last).to_contain_text("Beacon settings saved")
    assert param(w401, "Bluetooth.Beacon.RSSIThreshold") == "-75"
