"""Keep power through a real restart of `vigil run` (restart.cgi): with keep power on, the camera
on port 1 never loses power; with it off, the restart cuts it once and the new start powers it."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN, LiveDevice, create_admin_live, wait_until
from tests.web.conftest import digest


def sim(server: LiveDevice) -> list[dict]:
    return httpx.get(server.http + "/vigil/sim/poe", auth=digest()).json()["ports"]


def restart(server: LiveDevice) -> None:
    """restart.cgi, then wait for the new instance: a session of the old one is unknown to it."""
    cookies = httpx.post(server.http + "/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]}).cookies
    assert httpx.get(server.http + "/axis-cgi/restart.cgi", auth=digest()).status_code == 200

    def new_instance() -> bool:
        assert server.process.poll() is None, "vigil exited instead of restarting"
        try:
            return httpx.get(server.http + "/vigil/session", cookies=cookies, timeout=1).json()["user"] is None
        except (httpx.TransportError, ValueError):
            return False

    wait_until(new_instance, 30, "the restarted device")


def test_keep_power_over_a_restart(live: LiveDevice) -> None:
    create_admin_live(live)
    r = httpx.post(live.http + "/vigil/sim/poe", auth=digest(), json={"port": 1, "connect": {"class": 4, "draw": 12}})
    assert r.json()["ports"][0]["powered"] is True
    poe = live.http + "/axis-cgi/nvr/poe/"
    assert "GeneralSuccess" in httpx.get(poe + "setkeeppower.cgi", params={"schemaversion": "1", "enabled": "yes"},
                                         auth=digest()).text
    restart(live)
    assert sim(live)[0] == {"port": 1, "connected": True, "class": 4, "draw": 12, "powered": True,
                            "network": True, "powerCycles": 0}
    assert "<Enabled>yes</Enabled>" in httpx.get(poe + "getkeeppower.cgi", params={"schemaversion": "1"},
                                                 auth=digest()).text
    httpx.get(poe + "setkeeppower.cgi", params={"schemaversion": "1", "enabled": "no"}, auth=digest())
    restart(live)
    first = sim(live)[0]
    assert (first["powered"], first["powerCycles"]) == (True, 1)
