"""The Power over Ethernet page and the Status page's Network ports card in Chromium, against a
real `vigil run` S3016 whose switch the simulation API fills: the 16th camera beyond the budget
shows "power budget exceeded"; the user turns a port off (the refused camera gets its power),
makes a port "power only" and names it; each result is checked again over the APIs."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import LiveDevice
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser


def connect(server: LiveDevice, port: int, poe_class: int, draw: float) -> None:
    r = httpx.post(server.http + "/vigil/sim/poe", auth=digest(),
                   json={"port": port, "connect": {"class": poe_class, "draw": draw}})
    assert r.status_code == 200, r.text


def ports(server: LiveDevice) -> list[dict]:
    return httpx.get(server.http + "/config/rest/poe/v1/ports", auth=digest()).json()["data"]["ports"]


def test_a_user_sees_the_16th_camera_refused_and_frees_power_for_it(recorder: LiveDevice, browser: Browser) -> None:
    for port in range(1, 6):
        connect(recorder, port, 4, 15.0)
    for port in range(6, 17):
        connect(recorder, port, 3 if port < 16 else 2, 7.5 if port < 16 else 5.0)
    session = Session(browser)
    page = session.page
    try:
        log_in(page, recorder)
        expect(page.locator("#poe-allocated")).to_have_text("304.0 W")
        open_page(page, "Power over Ethernet")
        rows = page.locator("#poe-ports tbody tr")
        expect(rows).to_have_count(16)
        expect(page.locator('#poe-ports tr[data-port="16"]')).to_contain_text("Error: Power budget exceeded")
        expect(page.locator('#poe-ports tr[data-port="1"]')).to_contain_text("Connected - PoE")

        page.get_by_role("switch", name="Port 1 PoE").uncheck()
        expect(page.locator('#poe-ports tr[data-port="1"]')).to_contain_text("Disabled")
        expect(page.locator('#poe-ports tr[data-port="16"]')).to_contain_text("Connected - PoE")
        assert [p["code"] for p in ports(recorder)][::15] == [3, 1]

        page.get_by_label("Port 5 network").select_option(label="Power only")
        expect(page.get_by_role("status")).to_contain_text("Port 5: Power only")
        page.get_by_label("Port 5 friendly name").fill("Gate camera")
        page.get_by_label("Port 5 friendly name").press("Enter")
        page.get_by_label("Port 5 friendly name").blur()
        expect(page.get_by_role("status")).to_contain_text("Port 5 is named Gate camera")
        fifth = ports(recorder)[4]
        assert (fifth["network"], fifth["name"], fifth["code"]) == (False, "Gate camera", 1)
        sim = httpx.get(recorder.http + "/vigil/sim/poe", auth=digest()).json()["ports"]
        assert sim[4]["network"] is False and sim[4]["powered"] is True

        page.get_by_role("switch", name="Keep PoE active during a restart").check()
        expect(page.get_by_role("status")).to_contain_text("PoE stays active during a restart")
        r = httpx.get(recorder.http + "/axis-cgi/nvr/poe/getkeeppower.cgi", params={"schemaversion": "1"},
                      auth=digest())
        assert "<Enabled>yes</Enabled>" in r.text
    finally:
        session.close()
