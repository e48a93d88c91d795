"""A browser session cookie counts only on requests the device's own pages sent (probe finding 3):
GETs that change state included; Basic and Digest clients are untouched; the pages cannot be
framed by another site (finding 21)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN, add_account, asgi_client, client_as
from vigil.device import Device

UPDATE = "/axis-cgi/param.cgi"
NAME = "Network.UPnP.FriendlyName"
# What a page on another port or name of the same host makes the browser send along with the cookie.
CROSS = [
    {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site", "Referer": "http://evil.example/x.html"},
    {"Sec-Fetch-Site": "same-site"},  # another port of the device's own host, on HTTPS or localhost
    {"Sec-Fetch-Site": "cross-site"},  # an <img src> or link: GETs carry no Origin
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:8080"},  # another port is another origin
    {"Origin": "https://127.0.0.1"},  # and so is another scheme
    {},  # a browser that sends no proof at all (plain HTTP on a LAN address), or a forged form
]
# What the device's own pages send: X-Requested-With on every call (vigil/web/api.js), and the
# browser's own marks where it sends them.
SAME = [
    {"X-Requested-With": "vigil"},
    {"Sec-Fetch-Site": "same-origin"},
    {"Origin": "http://127.0.0.1"},
    {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin", "X-Requested-With": "vigil"},
]


@pytest.fixture
async def browser(device: Device):
    """A client holding an administrator's session cookie, and nothing else."""
    add_account(device, *ADMIN, "admin", ptz=True)
    async with asgi_client(device) as c:
        r = await c.post("/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})
        assert r.status_code == 200
        yield c


@pytest.mark.parametrize("headers", CROSS)
async def test_state_changing_get_with_cookie_needs_a_same_origin_proof(device: Device, browser, headers):
    before = device.params.get(NAME)
    r = await browser.get(UPDATE, params={"action": "update", NAME: "csrf"}, headers=headers)
    assert r.status_code == 403 and "cross-origin" in r.text
    r = await browser.get("/axis-cgi/pwdgrp.cgi", headers=headers, params={
        "action": "add", "user": "csrfadmin", "pwd": "Csrf-pass1", "grp": "users", "sgrp": "admin:operator:viewer"})
    assert r.status_code == 403
    r = await browser.get("/axis-cgi/disks/format.cgi", params={"diskid": "default", "filesystem": "ext4"},
                          headers=headers)
    assert r.status_code == 403
    assert device.params.get(NAME) == before
    assert device.accounts.get("csrfadmin") is None
    assert "cross-origin request refused from 127.0.0.1 on /axis-cgi/pwdgrp.cgi" in device.logs.text("access")


@pytest.mark.parametrize("headers", CROSS)
async def test_post_with_cookie_needs_a_same_origin_proof(device: Device, browser, headers):
    r = await browser.post(UPDATE, data={"action": "update", NAME: "csrf"}, headers=headers)
    assert r.status_code == 403
    assert device.params.get(NAME) != "csrf"


@pytest.mark.parametrize("headers", SAME)
async def test_the_pages_own_requests_work(device: Device, browser, headers):
    value = f"same {len(headers)} {sorted(headers)[0]}"[:60]
    r = await browser.get(UPDATE, params={"action": "update", NAME: value}, headers=headers)
    assert r.text == "OK\r\n"
    assert device.params.get(NAME) == value
    r = await browser.post(UPDATE, data={"action": "update", NAME: value + " post"}, headers=headers)
    assert r.text == "OK\r\n"
    assert device.params.get(NAME) == value + " post"


async def test_an_address_typed_by_the_user_is_no_other_sites_doing(device: Device, browser):
    r = await browser.get(UPDATE, params={"action": "update", NAME: "typed"}, headers={"Sec-Fetch-Site": "none"})
    assert r.text == "OK\r\n"
    # A POST never comes from the address bar.
    r = await browser.post(UPDATE, data={"action": "update", NAME: "posted"}, headers={"Sec-Fetch-Site": "none"})
    assert r.status_code == 403
    assert device.params.get(NAME) == "typed"


async def test_reads_the_pages_point_the_browser_at_take_the_cookie_without_proof(device: Device, browser):
    # The session state, the pages themselves, a <video> and a download link: a browser on plain
    # HTTP sends no proof for those, and they only read.
    assert (await browser.get("/vigil/session")).json()["user"] == "root"
    for path, query in (("/axis-cgi/record/play.cgi", {"recordingid": "none"}),
                        ("/axis-cgi/record/export/download.cgi", {"jobid": "1"})):
        r = await browser.get(path, params=query)
        # No such recording or job: the answer of the API to a caller it knows.
        assert r.status_code not in (401, 403) and "error" in r.text.lower(), path
    assert (await browser.get("/index.html")).status_code == 200
    # Asked for by another site, the same reads are answered as to anyone.
    cross = {"Sec-Fetch-Site": "cross-site"}
    assert (await browser.get("/vigil/session", headers=cross)).json()["user"] is None
    assert (await browser.get("/axis-cgi/record/play.cgi", params={"recordingid": "none"},
                              headers=cross)).status_code == 401
    assert (await browser.get("/index.html", headers=cross)).status_code == 200
    # A read that is no such link still needs the proof.
    assert (await browser.get("/axis-cgi/usergroup.cgi")).status_code == 403


async def test_logout_needs_the_proof_too(device: Device, browser):
    assert (await browser.delete("/vigil/session")).status_code == 403
    assert (await browser.get("/vigil/session")).json()["user"] == "root"
    r = await browser.delete("/vigil/session", headers={"X-Requested-With": "vigil"})
    assert r.status_code == 200
    assert (await browser.get("/vigil/session")).json()["user"] is None


async def test_basic_and_digest_clients_are_untouched(device: Device):
    # API clients (the axis library, curl) send no Origin and no Sec-Fetch-Site.
    async with client_as(device, "admin") as digest, client_as(device, "admin", basic=True) as basic:
        for n, c in enumerate((digest, basic)):
            r = await c.get(UPDATE, params={"action": "update", NAME: f"api {n}"})
            assert r.text == "OK\r\n"
            r = await c.post(UPDATE, data={"action": "update", NAME: f"api post {n}"})
            assert r.text == "OK\r\n"
            assert device.params.get(NAME) == f"api post {n}"
    async with asgi_client(device, httpx.BasicAuth("root", "wrong")) as wrong:
        assert (await wrong.get(UPDATE, params={"action": "list"})).status_code == 401


async def test_pages_cannot_be_framed(device: Device, anon):
    for page in ("/index.html", "/app.js", "/style.css"):
        r = await anon.get(page)
        assert r.status_code == 200, page
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert r.headers["x-content-type-options"] == "nosniff"


# -- the WebSocket upgrade follows the same rule ----------------------------------------------
async def upgrade(device: Device, headers: dict[str, str]) -> int:
    """Open the event stream over ASGI with `headers`: 101 when accepted, else the refusal's status."""
    from vigil.http.app import create_app

    app = device.__dict__.setdefault("_test_app", create_app(device))
    scope = {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
             "path": "/vapix/ws-data-stream", "raw_path": b"/vapix/ws-data-stream", "root_path": "",
             "query_string": b"sources=events", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
             "subprotocols": [], "extensions": {"websocket.http.response": {}},
             "headers": [(k.lower().encode(), v.encode()) for k, v in ({"Host": "127.0.0.1"} | headers).items()]}
    messages = iter([{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}])
    sent: list[dict] = []

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)
    await app(scope, receive, send)
    if sent[0]["type"] == "websocket.accept":
        return 101
    assert sent[0]["type"] == "websocket.http.response.start", sent
    return sent[0]["status"]


async def session_cookie(device: Device) -> str:
    add_account(device, *ADMIN, "admin", ptz=True)
    async with asgi_client(device) as c:
        r = await c.post("/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})
    return f"vigil_session={r.cookies['vigil_session']}"


async def test_the_event_stream_upgrade_takes_the_cookie_by_the_same_rule(device: Device) -> None:
    """The WebSocket upgrade had a second, different origin check of its own."""
    cookie = await session_cookie(device)
    for headers in CROSS:
        assert await upgrade(device, {"Cookie": cookie, **headers}) == 403, headers
    for headers in SAME:
        assert await upgrade(device, {"Cookie": cookie, **headers}) == 101, headers
    # Host names ignore case (the HTTP rule compares them so; the second check did not).
    assert await upgrade(device, {"Cookie": cookie, "Host": "Vigil.Local",
                                  "Origin": "http://vigil.local"}) == 101
    device.logs.flush()
    assert "cross-origin request refused from 127.0.0.1 on /vapix/ws-data-stream" in device.logs.text("access")
