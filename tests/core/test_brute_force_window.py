"""Brute-force blocking counts failures over a window per address (probe finding 19), besides
the AXIS per-second conditions: System.BruteForce.WindowFailures failures allowed within
System.BruteForce.Window seconds (10 in 60 by default)."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN, add_account, asgi_client, client_as
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.http.app import create_app

URI = "/axis-cgi/usergroup.cgi"


async def test_fifteen_wrong_passwords_a_second_are_blocked(device: Device, clock: FakeClock) -> None:
    async with client_as(device, "admin", basic=True) as right, \
            asgi_client(device, httpx.BasicAuth(ADMIN[0], "wrong")) as wrong:
        statuses = []
        for _ in range(45):  # 15 a second: below the per-second limits (20 per page, 100 per device)
            statuses.append((await wrong.get(URI)).status_code)
            clock.advance(1 / 15)
        assert statuses[:11] == [401] * 11 and set(statuses[11:]) == {403}
        # The right password from the blocked address is refused while it is blocked...
        r = await right.get(URI)
        assert r.status_code == 403 and "too many failed logins" in r.text
        clock.advance(device.params.get_int("System.BruteForce.BlockingPeriod") + 1)
        # ...and accepted once the blocking period is over.
        assert (await right.get(URI)).status_code == 200
    assert "blocked 127.0.0.1 for 10 s" in device.logs.text("access")


async def test_slow_guessing_is_blocked_by_the_window(device: Device, clock: FakeClock) -> None:
    async with client_as(device, "admin", address="127.0.0.2") as admin:
        r = await admin.get("/axis-cgi/param.cgi", params={
            "action": "update", "System.BruteForce.WindowFailures": "5", "System.BruteForce.Window": "3600"})
        assert r.text == "OK\r\n"
    async with asgi_client(device, httpx.BasicAuth(ADMIN[0], "wrong")) as wrong:
        for _ in range(5):  # one guess every ten minutes
            assert (await wrong.get(URI)).status_code == 401
            clock.advance(600)
        assert (await wrong.get(URI)).status_code == 401  # the 6th within the hour blocks
        assert (await wrong.get(URI)).status_code == 403


async def test_failures_spread_wider_than_the_window_do_not_block(device: Device, clock: FakeClock) -> None:
    async with asgi_client(device, httpx.BasicAuth(ADMIN[0], "wrong")) as wrong:
        for _ in range(30):  # one every 7 s: at most 9 in any 60 s
            assert (await wrong.get(URI)).status_code == 401
            clock.advance(7)
    async with client_as(device, "admin", basic=True) as right:
        assert (await right.get(URI)).status_code == 200


def wrong_password_from(device: Device, address: str) -> httpx.AsyncClient:
    app = device.__dict__.setdefault("_test_app", create_app(device))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)),
                             base_url="http://127.0.0.1", auth=httpx.BasicAuth(ADMIN[0], "wrong"))


async def test_window_counts_per_address(device: Device, clock: FakeClock) -> None:
    add_account(device, *ADMIN, "admin")
    for n in range(60):  # six addresses, ten failures each within the minute: none is over
        async with wrong_password_from(device, f"127.0.1.{n % 6}") as wrong:
            assert (await wrong.get(URI)).status_code == 401
        clock.advance(0.5)
    assert "blocked" not in device.logs.text("access")
    async with wrong_password_from(device, "127.0.1.0") as wrong:
        assert (await wrong.get(URI)).status_code == 401  # its 11th
        assert (await wrong.get(URI)).status_code == 403
    assert "blocked 127.0.1.0" in device.logs.text("access")
    assert "blocked 127.0.1.1" not in device.logs.text("access")
