"""The web interface in a real browser: Debian's Chromium, driven by Playwright, against a
real `vigil run` process. The pages use only the public API, so every check of what the
browser did is made again over that API with HTTP Digest."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import ADMIN, LiveDevice, add_account, asgi_client, create_admin_live, wait_until
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, nav_links
from vigil.core.clock import FakeClock
from vigil.device import Device

pytestmark = pytest.mark.browser

ADMIN_PAGES = ("Events", "MQTT", "SNMP", "Time and location", "Network", "Security", "Accounts", "Plain config", "Logs",
               "Apps", "Maintenance")


def param(server: LiveDevice, name: str) -> str:
    r = httpx.get(server.http + "/axis-cgi/param.cgi", params={"action": "list", "group": name}, auth=digest())
    r.raise_for_status()
    return r.text


def setup_required(server: LiveDevice) -> bool:
    return httpx.get(server.http + "/vigil/session").json()["setupRequired"]


def serial_number(server: LiveDevice) -> str:
    r = httpx.post(server.http + "/axis-cgi/basicdeviceinfo.cgi",
                   json={"apiVersion": "1.3", "method": "getAllUnrestrictedProperties"})
    return r.json()["data"]["propertyList"]["SerialNumber"]


def test_first_administrator_is_created_in_the_browser(live: LiveDevice, session: Session) -> None:
    page = session.page
    page.goto(live.http + "/")
    expect(page.get_by_role("heading", name="Create an administrator account")).to_be_visible()
    page.get_by_label("Username", exact=True).fill("root")
    page.get_by_label("Password", exact=True).fill("pass1234")
    page.get_by_label("Repeat password").fill("pass1234")
    add = page.get_by_role("button", name="Add account")

    # The license must be accepted.
    add.click()
    expect(page.get_by_role("alert")).to_contain_text("accept the license agreement")
    # The repeated password must match.
    page.get_by_label("I accept the license agreement").check()
    page.get_by_label("Repeat password").fill("pass12345")
    add.click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    expect(page.get_by_label("Repeat password")).to_have_attribute("aria-invalid", "true")
    # Passwords are printable ASCII only.
    page.get_by_label("Password", exact=True).fill("pässword")
    page.get_by_label("Repeat password").fill("pässword")
    add.click()
    expect(page.get_by_role("alert")).to_contain_text("printable ASCII")
    assert setup_required(live)

    page.get_by_label("Password", exact=True).fill("pass1234")
    page.get_by_label("Repeat password").fill("pass1234")
    add.click()
    expect(page.get_by_role("heading", name="Status", level=1)).to_be_visible()
    expect(page.locator("#serial-number")).to_have_text(serial_number(live))
    # The S3016 records, has disks and a PoE switch.
    assert nav_links(page) == ["Status", "Live view", "Recordings", "Cameras", "Storage", "Events", "Power over Ethernet", *ADMIN_PAGES[1:]]
    assert not setup_required(live)
    r = httpx.get(live.http + "/axis-cgi/usergroup.cgi", auth=digest())
    assert r.status_code == 200 and r.text.split("\n")[1].split() == ["admin", "operator", "viewer", "ptz"]
    # The Status page lists this browser among the connected clients.
    expect(page.locator("section", has_text="Connected clients").locator("tbody")).to_contain_text("root")


def test_plain_config_saves_a_parameter_and_shows_refusals(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    page.locator("#nav").get_by_role("link", name="Plain config").click()
    page.get_by_role("button", name=re.compile(r"^Network")).click()
    friendly = page.locator('input[name="Network.Bonjour.FriendlyName"]')
    friendly.fill("Lobby recorder")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".save-bar .message.ok")).to_contain_text("root.Network.Bonjour.FriendlyName")
    assert param(live, "Network.Bonjour.FriendlyName") == "root.Network.Bonjour.FriendlyName=Lobby recorder\r\n"

    # An invalid value is refused by the device, with its "# Error:" text, and nothing of the
    # request is applied, not even the valid change that came with it.
    friendly.fill("Other name")
    page.get_by_label("Find parameter").fill("https.port")
    port = page.locator('input[name="HTTPS.Port"]')
    expect(port).to_have_attribute("type", "number")
    port.fill("70000")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Error setting 'root.HTTPS.Port' to '70000'")
    expect(port).to_have_attribute("aria-invalid", "true")
    assert param(live, "HTTPS.Port") == f"root.HTTPS.Port={live.https_port}\r\n"  # the factory value: the flag
    assert param(live, "Network.Bonjour.FriendlyName") == "root.Network.Bonjour.FriendlyName=Lobby recorder\r\n"

    # A text value the device's rules refuse.
    page.get_by_role("button", name="Discard changes").click()
    page.get_by_label("Find parameter").fill("network.hostname")
    page.locator('input[name="Network.HostName"]').fill("not a host!")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("not a valid host name")
    assert "not a host" not in param(live, "Network.HostName")


def test_viewer_account_sees_no_admin_pages(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    page.locator("#nav").get_by_role("link", name="Accounts").click()
    page.get_by_role("button", name="Add account").click()
    dialog = page.get_by_role("dialog", name="Add account")
    dialog.get_by_label("Account", exact=True).fill("guard")
    dialog.get_by_label("New password").fill("watch1234")
    dialog.get_by_label("Repeat password").fill("watch1234")
    dialog.get_by_label("Viewer").check()
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_be_hidden()
    row = page.locator('tr[data-account="guard"]')
    expect(row).to_contain_text("Viewer")
    r = httpx.get(live.http + "/axis-cgi/usergroup.cgi", auth=digest("guard", "watch1234"))
    assert r.text == "guard\nviewer\n"

    page.get_by_role("button", name="Log out").click()
    log_in(page, live, "guard", "watch1234")
    expect(page.get_by_role("heading", name="Status", level=1)).to_be_visible()
    expect(page.locator("#user-name")).to_contain_text("guard (Viewer)")
    expect(page.locator("#serial-number")).to_have_text(serial_number(live))
    assert nav_links(page) == ["Status", "Live view", "Recordings", "Power over Ethernet"]
    expect(page.get_by_role("heading", name="Security")).to_have_count(0)
    # Typing the address of an admin page shows Status instead.
    page.goto(live.http + "/#/accounts")
    expect(page.get_by_role("heading", name="Status", level=1)).to_be_visible()
    expect(page.locator("#accounts-table")).to_have_count(0)
    # And the API behind the page refuses the viewer all the same.
    r = httpx.get(live.http + "/axis-cgi/pwdgrp.cgi?action=get", auth=digest("guard", "watch1234"))
    assert r.status_code == 403


def test_theme_toggle_persists_in_the_device(live: LiveDevice, browser: Browser, session: Session) -> None:
    create_admin_live(live)
    r = httpx.post(live.http + "/axis-cgi/pwdgrp.cgi", auth=digest(),
                   data={"action": "add", "user": "viewer1", "pwd": "look1234", "grp": "users", "sgrp": "viewer"})
    assert "Created account" in r.text
    page = session.page
    html = page.locator("html")
    # A viewer may choose the theme: it is the System.Theme parameter.
    log_in(page, live, "viewer1", "look1234")
    expect(html).to_have_class(re.compile(r"\btheme-light\b"))
    toggle = page.get_by_role("button", name="Dark theme")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(html).to_have_class(re.compile(r"\btheme-dark\b"))
    expect(toggle).to_have_attribute("aria-pressed", "true")
    wait_until(lambda: param(live, "System.Theme") == "root.System.Theme=dark\r\n", 10, "the dark theme")

    page.reload()
    expect(page.get_by_role("heading", name="Status", level=1)).to_be_visible()
    expect(html).to_have_class(re.compile(r"\btheme-dark\b"))

    # Another browser, with nothing stored, gets the device's theme once logged in.
    other = Session(browser)
    try:
        log_in(other.page, live)
        expect(other.page.locator("html")).to_have_class(re.compile(r"\btheme-dark\b"))
        other.page.get_by_role("button", name="Dark theme").click()
        expect(other.page.locator("html")).to_have_class(re.compile(r"\btheme-light\b"))
        wait_until(lambda: param(live, "System.Theme") == "root.System.Theme=light\r\n", 10, "the light theme")
    finally:
        other.close()


def test_logs_report_and_restart(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)

    page.locator("#nav").get_by_role("link", name="Logs").click()
    output = page.locator("#log-output")
    expect(output).to_contain_text("started, serial")
    page.get_by_role("tab", name="Audit log").click()
    expect(output).to_contain_text("logged in from")
    page.get_by_label("Show lines containing").fill("added account")
    page.get_by_role("button", name="Show").click()
    expect(output).to_contain_text("added account root")
    expect(output).not_to_contain_text("logged in from")
    page.get_by_label("Show lines containing").fill("<script>")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("letters, digits")

    page.locator("#nav").get_by_role("link", name="Maintenance").click()
    page.get_by_role("button", name="View server report").click()
    report = page.get_by_role("dialog", name="Server report")
    expect(report.locator("pre")).to_contain_text(f"SerialNumber: {serial_number(live)}")
    report.get_by_role("button", name="Close").click()
    expect(report).to_be_hidden()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download server report").click()
    assert download.value.suggested_filename == f"serverreport_{serial_number(live)}.zip"

    # Cancelling the confirmation does nothing; confirming restarts, and the page comes back.
    page.get_by_role("button", name="Restart", exact=True).click()
    confirm = page.get_by_role("dialog", name="Restart")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert httpx.get(live.http + "/vigil/session").status_code == 200
    page.get_by_role("button", name="Restart", exact=True).click()
    confirm.get_by_role("button", name="Restart").click()
    expect(page.get_by_role("status").filter(has_text="Restarting")).to_be_visible()
    # Sessions do not survive a restart: the page returns to the login form.
    expect(page.get_by_role("heading", name="Log in")).to_be_visible(timeout=60_000)
    log_in(page, live)
    expect(page.get_by_role("heading", name="Maintenance", level=1)).to_be_visible()
    r = httpx.get(live.http + "/axis-cgi/auditlog.cgi", params={"text": "requested restart"}, auth=digest())
    assert "requested restart" in r.text

    # Factory default removes every account: the page comes back to the first-administrator form.
    page.get_by_role("button", name="Factory default").click()
    page.get_by_role("dialog", name="Factory default").get_by_role("button", name="Factory default").click()
    expect(page.get_by_role("heading", name="Create an administrator account")).to_be_visible(timeout=60_000)
    assert setup_required(live)


# -- the API the pages rely on, in process ------------------------------------------------
# These are synchronous too: the browser's sync API keeps an event loop on this thread, so
# each request runs the in-process app on a loop of its own in a worker thread.
def call(device: Device, method: str, path: str, auth: httpx.Auth | None = None, **options) -> httpx.Response:
    async def send() -> httpx.Response:
        async with asgi_client(device, auth) as client:
            return await client.request(method, path, **options)

    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, send()).result()


def test_clients_endpoint_lists_recent_callers(device: Device, clock: FakeClock) -> None:
    add_account(device, *ADMIN, "admin")
    r = call(device, "GET", "/vigil/clients", digest())
    assert r.status_code == 200
    assert r.json() == {"clients": [{"address": "127.0.0.1", "user": "root", "method": "digest",
                                     "lastSeen": "2023-11-14T22:13:20Z"}]}
    clock.advance(601)  # the endpoint lists the last ten minutes only
    assert call(device, "GET", "/vigil/clients", digest()).json()["clients"][0]["lastSeen"] == "2023-11-14T22:23:21Z"
    clock.advance(601)
    assert device.auth.recent_clients() == []


def test_clients_endpoint_is_for_administrators(device: Device) -> None:
    add_account(device, "viewer1", "view1234", "viewer")
    r = call(device, "GET", "/vigil/clients", headers={"X-Requested-With": "vigil"})
    assert r.status_code == 401 and "www-authenticate" not in r.headers
    assert call(device, "GET", "/vigil/clients", digest("viewer1", "view1234")).status_code == 403


def test_a_viewer_may_set_the_theme_and_nothing_else(device: Device) -> None:
    add_account(device, "viewer1", "view1234", "viewer")
    viewer = digest("viewer1", "view1234")
    r = call(device, "POST", "/axis-cgi/param.cgi", viewer, data={"action": "update", "System.Theme": "dark"})
    assert r.text == "OK\r\n"
    assert device.params.get("System.Theme") == "dark"
    r = call(device, "POST", "/axis-cgi/param.cgi", viewer,
             data={"action": "update", "System.Theme": "light", "Network.Bonjour.FriendlyName": "x"})
    assert r.status_code == 403
    assert device.params.get("System.Theme") == "dark"
