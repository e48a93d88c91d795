"""The Network page's Discovery tab in Debian's Chromium (Playwright) against a real `vigil run` S3016 on
loopback: it shows the settings and what each protocol does (nothing to announce on loopback),
saves changes that the device applies, and refuses a name the network cannot carry."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice, create_admin_live
from tests.peers.browser import Session, module_browser  # noqa: F401 (the browser fixture)
from tests.web.conftest import digest, log_in, open_page, session  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def param(server: LiveDevice, name: str) -> str:
    r = httpx.get(server.http + "/axis-cgi/param.cgi", params={"action": "list", "group": name}, auth=digest())
    return r.text.strip().split("=", 1)[1]


def test_the_panel_saves_the_switches_and_names_and_refuses_a_bad_name(live: LiveDevice,
                                                                        session: Session) -> None:  # noqa: F811
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    open_page(page, "Network")
    page.get_by_role("tab", name="Discovery").click()
    status = page.locator(".discovery-status")
    expect(status).to_contain_text("no network interface to announce on")

    page.get_by_label("Bonjour", exact=True).uncheck()
    page.get_by_label("UPnP name").fill("Gate recorder")
    page.get_by_label("LLDP and CDP").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    expect(status).to_contain_text("Off: announces nothing")
    assert param(live, "Network.Bonjour.Enabled") == "no"
    assert param(live, "Network.UPnP.FriendlyName") == "Gate recorder"
    assert param(live, "Network.LLDP.Enabled") == "no"
    assert param(live, "Network.UPnP.Enabled") == "yes"

    page.get_by_label("Bonjour name").fill("ö" * 40)  # 40 characters, 80 bytes: more than a DNS label holds
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("too long")
    assert param(live, "Network.Bonjour.FriendlyName").startswith("Vigil S3016 - ")
