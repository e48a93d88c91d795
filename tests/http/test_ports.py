"""Where the device listens (vigil/http/ports.py): the HTTP, HTTPS and RTSP ports, HTTPS on or
off and "allow access through" take effect at once, without a restart; a change that cannot be
served (a port in use, two listeners on one port, every way in closed) is refused whole; the
reply tells the client where to go on; `vigil run`'s flags are the factory values.

The checks run on an in-process device; the moves against real `vigil run` processes, with
real sockets, TLS handshakes and RTSP requests."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import (
    ADMIN,
    LiveDevice,
    add_account,
    asgi_client,
    client_as,
    create_admin_live,
    start_live,
    wait_until,
)
from tests.peers.browser import Session, chromium
from tests.peers.processes import free_port, port_open
from tests.web.conftest import log_in, open_page
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.core.params import ParamError
from vigil.device import Device, Ports
from vigil.http.ports import HTTP, HTTPS, ORIGIN_HEADER, RTSP

PARAM = "/axis-cgi/param.cgi"
AUTH = httpx.DigestAuth(*ADMIN)
PAGE = {"X-Requested-With": "vigil"}  # what the device's own pages send with the session cookie


# -- helpers -----------------------------------------------------------------------------------
def wait_closed(port: int) -> None:
    wait_until(lambda: not port_open(port), 10, f"port {port} to close")


@contextlib.contextmanager
def occupied_at(port: int = 0) -> Iterator[int]:
    """A loopback port (`port`, or one the kernel picks) another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))
        other.listen()
        yield other.getsockname()[1]


def listed(base: str, name: str) -> str:
    r = httpx.get(base + PARAM, params={"action": "list", "group": name}, auth=AUTH, verify=False, timeout=10)
    return r.text.strip().split("=", 1)[1]


def update(base: str, **values: str) -> httpx.Response:
    return httpx.post(base + PARAM, data={"action": "update", **values}, auth=AUTH, verify=False, timeout=10)


def rtsp_options(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(f"OPTIONS rtsp://127.0.0.1:{port}/axis-media/media.amp RTSP/1.0\r\nCSeq: 7\r\n\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.decode()


def system_log(base: str) -> str:
    return httpx.get(base + "/axis-cgi/systemlog.cgi", auth=AUTH, verify=False, timeout=10).text


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveDevice]:
    live = start_live(tmp_path / "data")
    create_admin_live(live)
    yield live
    live.stop()


# -- checks before a change is stored (in-process device, no sockets) --------------------------
def test_the_flags_are_the_factory_values(tmp_path: Path) -> None:
    device = build_device("s3016", tmp_path / "data", Ports(http=8181, https=8444, rtsp=8555), FakeClock())
    try:
        assert [device.params.get(k.port) for k in (HTTP, HTTPS, RTSP)] == ["8181", "8444", "8555"]
        assert (device.listening.http, device.listening.https, device.listening.rtsp) == (8181, 8444, 8555)
        device.params.set_internal({"Network.HTTP.Port": "9090"}, "test")
    finally:
        device.close()
    # Stored, the user's port wins over the flags of the next start; the flags stay the defaults.
    again = build_device("s3016", tmp_path / "data", Ports(http=8181, https=8444, rtsp=8555), FakeClock())
    try:
        assert again.params.get("Network.HTTP.Port") == "9090"
        assert again.params.defs["Network.HTTP.Port"].default == "8181"
    finally:
        again.close()


async def test_two_listeners_cannot_share_a_port(device: Device) -> None:
    async with client_as(device, "admin") as admin:
        r = await admin.get(PARAM, params={"action": "update", "Network.HTTP.Port": "443",
                                           "Network.UPnP.FriendlyName": "not stored either"})
        assert r.text == ("# Error: Error setting 'root.Network.HTTP.Port' to '443'! "
                          "(port 443 is the HTTPS port (root.HTTPS.Port))\r\n")
        r = await admin.get(PARAM, params={"action": "update", "Network.RTSP.Port": "80"})
        assert "(port 80 is the HTTP port (root.Network.HTTP.Port))" in r.text
    assert device.params.get("Network.HTTP.Port") == "80"
    assert device.params.get("Network.UPnP.FriendlyName") != "not stored either"
    assert "param.cgi update refused for root" in device.logs.text("system")


async def test_a_change_that_locks_every_client_out_is_refused(device: Device) -> None:
    add_account(device, *ADMIN, "admin")
    async with asgi_client(device, httpx.DigestAuth(*ADMIN), scheme="https") as admin:
        async def update(**values: str) -> str:
            return (await admin.get(PARAM, params={"action": "update", **values})).text

        # Both at once: HTTPS only, and HTTPS off.
        r = await update(**{"HTTPS.Enabled": "no", "HTTPS.AllowAccessThrough": "https"})
        assert r.startswith("# Error: Error setting 'root.HTTPS.Enabled' to 'no'! (HTTPS is the only way in")
        assert await update(**{"HTTPS.AllowAccessThrough": "https"}) == "OK\r\n"
        r = await update(**{"HTTPS.Enabled": "no"})
        assert "turned off, it would lock every client out; allow HTTP first" in r
        assert device.params.get("HTTPS.Enabled") == "yes"
        # With HTTP allowed, HTTPS may go; then HTTPS only may not come.
        assert await update(**{"HTTPS.AllowAccessThrough": "both"}) == "OK\r\n"
        assert await update(**{"HTTPS.Enabled": "no"}) == "OK\r\n"
        r = await update(**{"HTTPS.AllowAccessThrough": "https"})
        assert r.startswith("# Error: Error setting 'root.HTTPS.AllowAccessThrough' to 'https'! (HTTPS is turned off")
        assert device.params.get("HTTPS.AllowAccessThrough") == "both"


async def test_the_reply_names_the_new_origin(device: Device) -> None:
    """The device was built with ports 80 and 443 (tests/conftest.py make_device)."""
    async with client_as(device, "admin") as admin:
        r = await admin.get(PARAM, params={"action": "update", "Network.UPnP.FriendlyName": "lobby"})
        assert r.text == "OK\r\n" and ORIGIN_HEADER not in r.headers  # nothing moved
        r = await admin.get(PARAM, params={"action": "update", "Network.HTTP.Port": "8088"})
        assert r.text == "OK\r\n" and r.headers[ORIGIN_HEADER] == "http://127.0.0.1:8088"
        r = await admin.get(PARAM, params={"action": "update", "HTTPS.AllowAccessThrough": "https"})
        assert r.headers[ORIGIN_HEADER] == "https://127.0.0.1:443"
        r = await admin.get(PARAM, params={"action": "list", "group": "Brand.Brand"})
        assert ORIGIN_HEADER not in r.headers  # said once, to the request that made the change


async def test_a_port_is_bound_before_the_change_is_stored(tmp_path: Path) -> None:
    """A listener that runs gets the new socket, bound and listening, once the change is stored;
    a change refused after the binding (by a later check) leaves the port free again."""
    device = build_device("s3016", tmp_path / "data", Ports(http=free_port(), https=free_port(), rtsp=free_port(),
                                                         host="127.0.0.1"), FakeClock())
    add_account(device, *ADMIN, "admin")
    moves: list[socket.socket | None] = []
    try:
        first = device.listening.attach(HTTP, moves.append)
        assert first is not None and device.listening.http == device.ports.http
        with occupied_at() as busy, pytest.raises(ParamError, match=rf"port {busy} cannot be used: Address already"):
            device.params.set_internal({"Network.HTTP.Port": str(busy)}, "test")
        assert moves == [] and device.params.get("Network.HTTP.Port") == str(device.ports.http)

        target = free_port()
        device.params.set_internal({"Network.HTTP.Port": str(target)}, "test")
        assert len(moves) == 1 and moves[0] is not None and moves[0].getsockname()[1] == target
        assert device.listening.http == target
        assert "HTTP listener moved from port" in device.logs.text("system")

        def refuse_all(new: dict[str, str]) -> tuple[str, str]:
            return next(iter(new)), "refused by a later check"

        device.params.vetoes.append(refuse_all)
        other = free_port()
        with pytest.raises(ParamError, match="refused by a later check"):
            device.params.set_internal({"Network.HTTP.Port": str(other)}, "test")
        assert port_open(other)  # bound and listening for the change ...
        await asyncio.sleep(0)
        assert not port_open(other)  # ... and let go once it was refused
        assert len(moves) == 1
    finally:
        first.close()
        for sock in moves:
            if sock is not None:
                sock.close()
        device.close()


# -- the listeners move, against `vigil run` ---------------------------------------------------
def test_http_port_change_moves_the_listener_and_the_session_keeps_working(server: LiveDevice) -> None:
    r = httpx.post(server.http + "/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})
    cookies = r.cookies
    old, new = server.http_port, free_port()
    with httpx.Client(base_url=server.http, cookies=cookies, headers=PAGE, timeout=10) as page:
        r = page.post(PARAM, data={"action": "update", "Network.HTTP.Port": str(new)})
    assert r.text == "OK\r\n" and r.headers[ORIGIN_HEADER] == f"http://127.0.0.1:{new}"
    assert r.headers.get("connection") == "close"  # the old listener lets go of this connection too
    wait_closed(old)
    server.http_port = new
    with httpx.Client(base_url=server.http, cookies=cookies, headers=PAGE, timeout=10) as page:
        assert page.get("/vigil/session").json()["user"] == ADMIN[0]  # the same browser session
        assert page.post(PARAM, data={"action": "update", "Network.UPnP.FriendlyName": "moved"}).text == "OK\r\n"
    assert listed(server.http, "Network.HTTP.Port") == str(new)
    assert f"HTTP listener moved from port {old} to {new} (by root)" in system_log(server.http)
    audit = httpx.get(server.http + "/axis-cgi/auditlog.cgi", auth=AUTH).text
    assert f"user=root set root.Network.HTTP.Port={new}" in audit
    # The HTTPS listener did not move.
    assert httpx.get(server.https + "/vigil/session", verify=False).status_code == 200


def test_a_port_in_use_is_refused_and_nothing_changes(server: LiveDevice) -> None:
    with occupied_at() as busy:
        r = update(server.http, **{"Network.UPnP.FriendlyName": "not stored", "Network.HTTP.Port": str(busy)})
        assert r.text == (f"# Error: Error setting 'root.Network.HTTP.Port' to '{busy}'! "
                          f"(port {busy} cannot be used: Address already in use)\r\n")
        assert ORIGIN_HEADER not in r.headers
        r = update(server.http, **{"HTTPS.Port": str(busy)})
        assert "cannot be used: Address already in use" in r.text
        r = update(server.http, **{"Network.RTSP.Port": str(busy)})
        assert "cannot be used: Address already in use" in r.text
    assert listed(server.http, "Network.HTTP.Port") == str(server.http_port)
    assert listed(server.http, "HTTPS.Port") == str(server.https_port)
    assert listed(server.http, "Network.RTSP.Port") == str(server.rtsp_port)
    assert listed(server.http, "Network.UPnP.FriendlyName") != "not stored"
    assert port_open(server.http_port) and port_open(server.https_port)
    assert rtsp_options(server.rtsp_port).startswith("RTSP/1.0 200 OK")
    assert "refused for root" in system_log(server.http)


def test_https_port_change_with_tls(server: LiveDevice) -> None:
    old, new = server.https_port, free_port()
    r = update(server.https, **{"HTTPS.Port": str(new)})  # over HTTPS itself
    assert r.text == "OK\r\n" and r.headers[ORIGIN_HEADER] == f"https://127.0.0.1:{new}"
    wait_closed(old)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", new), 10) as raw, context.wrap_socket(raw) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    server.https_port = new
    assert httpx.get(server.https + "/axis-cgi/usergroup.cgi", auth=AUTH, verify=False).text.startswith("root\n")
    # HTTP only: a client on HTTPS is sent to HTTP; HTTPS off closes its port at once.
    r = update(server.https, **{"HTTPS.AllowAccessThrough": "http"})
    assert r.headers[ORIGIN_HEADER] == f"http://127.0.0.1:{server.http_port}"
    assert update(server.http, **{"HTTPS.Enabled": "no"}).text == "OK\r\n"
    wait_closed(new)
    # HTTPS only cannot come while HTTPS is off; HTTPS on opens its port again at once.
    assert "HTTPS is turned off" in update(server.http, **{"HTTPS.AllowAccessThrough": "https"}).text
    r = update(server.http, **{"HTTPS.Enabled": "yes", "HTTPS.AllowAccessThrough": "https"})
    assert r.text == "OK\r\n" and r.headers[ORIGIN_HEADER] == f"https://127.0.0.1:{new}"
    wait_until(lambda: port_open(new), 10, "HTTPS to open again")
    r = httpx.get(server.http + "/axis-cgi/usergroup.cgi", auth=AUTH)
    assert r.status_code == 301 and r.headers["location"] == f"https://127.0.0.1:{new}/axis-cgi/usergroup.cgi"
    # Now the last way in: HTTPS cannot be turned off.
    r = update(server.https, **{"HTTPS.Enabled": "no"})
    assert "it would lock every client out" in r.text
    assert port_open(new)


def test_rtsp_port_change_and_turning_it_off(server: LiveDevice) -> None:
    old, new = server.rtsp_port, free_port()
    assert rtsp_options(old).startswith("RTSP/1.0 200 OK")
    r = update(server.http, **{"Network.RTSP.Port": str(new)})
    assert r.text == "OK\r\n" and ORIGIN_HEADER not in r.headers  # HTTP clients stay where they are
    wait_closed(old)
    reply = rtsp_options(new)
    assert reply.startswith("RTSP/1.0 200 OK") and "CSeq: 7" in reply and "DESCRIBE" in reply
    assert update(server.http, **{"Network.RTSP.Enabled": "no"}).text == "OK\r\n"
    wait_closed(new)
    assert update(server.http, **{"Network.RTSP.Enabled": "yes"}).text == "OK\r\n"
    wait_until(lambda: port_open(new), 10, "RTSP to open again")
    assert rtsp_options(new).startswith("RTSP/1.0 200 OK")
    assert f"RTSP listener moved from port {old} to {new}" in system_log(server.http)


def test_a_restart_keeps_the_stored_ports_and_a_restore_returns_to_the_flags(tmp_path: Path) -> None:
    flags = (free_port(), free_port(), free_port())
    chosen = (free_port(), free_port(), free_port())
    server = start_live(tmp_path / "data", ports=flags)
    try:
        create_admin_live(server)
        r = update(server.http, **{"Network.HTTP.Port": str(chosen[0]), "HTTPS.Port": str(chosen[1]),
                                   "Network.RTSP.Port": str(chosen[2])})
        assert r.text == "OK\r\n"
        wait_closed(flags[0])
    finally:
        server.stop()
    # `vigil run` again with the same flags (as `make run` does): the stored ports win.
    server = start_live(tmp_path / "data", ports=flags, serving=chosen)
    try:
        assert not any(port_open(p) for p in flags)
        assert httpx.get(server.https + "/vigil/session", verify=False).status_code == 200
        assert rtsp_options(chosen[2]).startswith("RTSP/1.0 200 OK")
        # A restore forgets them: the device listens on the flags' ports again.
        assert httpx.get(server.http + "/axis-cgi/factorydefault.cgi", auth=AUTH).status_code == 200
        wait_until(lambda: port_open(flags[0]) and port_open(flags[1]) and port_open(flags[2]), 20,
                   "the factory ports after the restore")
        assert not port_open(chosen[0])
    finally:
        server.stop()


def test_a_stored_port_taken_at_start_falls_back_to_the_flag(tmp_path: Path) -> None:
    flags = (free_port(), free_port(), free_port())
    chosen = free_port()
    server = start_live(tmp_path / "data", ports=flags)
    try:
        create_admin_live(server)
        assert update(server.http, **{"Network.HTTP.Port": str(chosen)}).text == "OK\r\n"
        wait_closed(flags[0])
    finally:
        server.stop()
    # Another program took the stored port meanwhile: the device is reachable on its flag's.
    with occupied_at(chosen):
        server = start_live(tmp_path / "data", ports=flags)
        try:
            assert listed(server.http, "Network.HTTP.Port") == str(chosen)  # the user's choice stays
            assert (f"root.Network.HTTP.Port={chosen} cannot be used (Address already in use): HTTP listens on "
                    f"its factory port {flags[0]} for this run") in system_log(server.http)
        finally:
            server.stop()


@pytest.mark.browser
def test_the_browser_follows_a_port_change(server: LiveDevice) -> None:
    """In Plain config, the HTTP port changes; the page goes on at the new port, still logged in."""
    old, new = server.http_port, free_port()
    with chromium() as browser:
        session = Session(browser)
        try:
            page = session.page
            log_in(page, server)
            open_page(page, "Plain config")
            page.get_by_label("Find parameter").fill("network.http.port")
            page.locator('input[name="Network.HTTP.Port"]').fill(str(new))
            page.get_by_role("button", name="Save").click()
            expect(page).to_have_url(re.compile(rf"^http://127\.0\.0\.1:{new}/.*#/config"))
            expect(page.get_by_role("heading", name="Plain config", level=1)).to_be_visible()
            expect(page.get_by_role("button", name="Log out")).to_be_visible()  # the same session
            expect(page.locator('input[name="Network.HTTP.Port"]')).to_have_value(str(new))
        finally:
            session.close()
    assert not port_open(old)
