"""The Network page in Debian's Chromium (Playwright) against a real `vigil run` S3016 on loopback:
the user moves the HTTP port on the Ports tab and keeps working at the new address, logged in;
sets a static address and DNS servers on the simulated interface and sees what it has; sets the
global proxies; and sees what discovery does on the Discovery tab."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveDevice, create_admin_live, wait_until
from tests.peers.browser import Session
from tests.peers.processes import free_port, port_open
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser
API = "/axis-cgi/network_settings.cgi"


def param(origin: str, name: str) -> str:
    r = httpx.get(origin + "/axis-cgi/param.cgi", params={"action": "list", "group": name}, auth=digest())
    return r.text.strip().split("=", 1)[1]


def network_info(origin: str) -> dict:
    body = {"apiVersion": "1.0", "method": "getNetworkInfo"}
    return httpx.post(origin + API, json=body, auth=digest()).json()["data"]


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")


def test_the_user_moves_the_http_port_and_keeps_working(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    old, new, rtsp = live.http_port, free_port(), free_port()
    page = session.page
    log_in(page, live)
    open_page(page, "Network")
    open_tab(page, "Ports")
    ports = page.locator("#network-ports-form")
    expect(ports.get_by_label("HTTP port")).to_have_value(str(old))
    ports.get_by_label("HTTP port").fill(str(new))
    ports.get_by_role("button", name="Save").click()

    # The page goes on at the new address, on the same tab, logged in.
    expect(page).to_have_url(re.compile(rf"^http://127\.0\.0\.1:{new}/.*#/network/ports$"))
    expect(page.get_by_role("heading", name="Network", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("tab", name="Ports")).to_have_attribute("aria-selected", "true")
    ports = page.locator("#network-ports-form")
    expect(ports.get_by_label("HTTP port")).to_have_value(str(new))
    expect(page.locator(".card", has_text="This page")).to_contain_text(f"http://127.0.0.1:{new}")

    # ... and a further setting saves there.
    ports.get_by_label("RTSP port").fill(str(rtsp))
    ports.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="The ports are saved")).to_be_visible()
    origin = f"http://127.0.0.1:{new}"
    assert param(origin, "Network.RTSP.Port") == str(rtsp)
    wait_until(lambda: port_open(rtsp), 10, "the RTSP listener on its new port")

    # The old HTTP port is closed: nothing answers there any more.
    assert not port_open(old)
    with pytest.raises(httpx.ConnectError):
        httpx.get(live.http + "/vigil/session", timeout=3)
    assert httpx.get(origin + "/vigil/session").status_code == 200


def test_a_port_in_use_is_refused_on_the_page(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    open_page(page, "Network")
    open_tab(page, "Ports")
    ports = page.locator("#network-ports-form")
    ports.get_by_label("HTTP port").fill(str(live.https_port))  # the HTTPS listener's
    ports.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text(f"port {live.https_port} is the HTTPS port")
    assert param(live.http, "Network.HTTP.Port") == str(live.http_port)
    expect(page).to_have_url(re.compile(rf"^{live.http}/"))


def test_static_address_and_dns_on_the_simulated_interface(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    open_page(page, "Network")
    in_use = page.locator("#network-in-use")
    expect(in_use).to_contain_text("192.168.0.90/24 (dhcp)")  # the simulated DHCP server's lease

    ipv4 = page.locator("#network-ipv4-form")
    ipv4.get_by_label("Assign IPv4 automatically (DHCP)").uncheck()
    ipv4.get_by_label("IP address", exact=True).fill("192.168.0.120")
    ipv4.get_by_label("Subnet mask").fill("255.255.255.0")
    ipv4.get_by_label("Router", exact=True).fill("192.168.0.1")
    ipv4.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="The IPv4 settings are saved")).to_be_visible()
    expect(in_use).to_contain_text("192.168.0.120/24 (static)")
    expect(in_use).not_to_contain_text("(dhcp)")

    dns = page.locator("#network-dns-form")
    dns.get_by_label("Assign DNS automatically (DHCP)").uncheck()
    dns.get_by_label("DNS server 1").fill("192.168.0.53")
    dns.get_by_label("Search domains").fill("example.com, lab.example.com")
    dns.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="The DNS settings are saved")).to_be_visible()
    expect(in_use).to_contain_text("192.168.0.53")
    expect(in_use).to_contain_text("example.com, lab.example.com")

    # A router outside the subnet is refused by the device, and nothing changes.
    ipv4 = page.locator("#network-ipv4-form")
    ipv4.get_by_label("Router", exact=True).fill("10.9.9.1")
    ipv4.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("10.9.9.1")

    # What the simulated interface has now, as its simulation API reports it.
    sim = httpx.get(live.http + "/vigil/sim/network", auth=digest()).json()
    assert {"address": "192.168.0.120", "prefixLength": 24, "origin": "static"} in sim["addresses"]
    assert sim["router"] == "192.168.0.1"
    assert sim["resolver"]["nameServers"] == ["192.168.0.53"]
    assert sim["resolver"]["search"] == ["example.com", "lab.example.com"]


def test_global_proxies_are_set_on_the_page(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    open_page(page, "Network")
    open_tab(page, "Proxies")
    form = page.locator("#network-proxies-form")
    form.get_by_label("HTTP proxy").fill("http://gate:Pr0xy-s3cret@proxy.example.com:3128")
    form.get_by_label("No proxy").fill("10.0.0.0/8, .example.net")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="The proxies are saved")).to_be_visible()
    proxies = network_info(live.http)["system"]["globalProxies"]
    assert proxies == {"httpProxy": "http://gate:******@proxy.example.com:3128", "httpsProxy": "",
                       "noProxy": "10.0.0.0/8,.example.net"}
    open_tab(page, "IP and DNS")  # away and back: the page shows the proxy, its password hidden
    open_tab(page, "Proxies")
    expect(page.locator("#network-proxies-form").get_by_label("HTTP proxy")).to_have_value(
        "http://gate:******@proxy.example.com:3128")
    assert "Pr0xy-s3cret" not in page.content()


def test_the_discovery_tab_shows_what_discovery_does(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    open_page(page, "Network")
    open_tab(page, "Discovery")
    status = page.locator(".discovery-status")
    # The device listens on loopback and its interface is simulated: nowhere to announce.
    expect(status).to_contain_text("Bonjour")
    expect(status).to_contain_text("no network interface to announce on")
    page.get_by_label("UPnP", exact=True).uncheck()
    page.get_by_role("button", name="Save").click()
    expect(status).to_contain_text("Off: announces nothing")
    assert param(live.http, "Network.UPnP.Enabled") == "no"
