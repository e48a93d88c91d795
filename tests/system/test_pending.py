"""A change to a parameter the device does not apply yet says so in the system log."""

from __future__ import annotations

PARAM = "/axis-cgi/param.cgi"


async def test_a_pending_parameter_change_is_noted(device, admin):
    r = await admin.get(PARAM, params={"action": "update", "RemoteService.ProxyServer": "proxy.example",
                                       "RemoteService.ProxyPort": "8080", "System.BoaProtPTZOperator": "anonymous"})
    assert r.text == "OK\r\n"
    log = device.logs.text("system")
    assert ("root.RemoteService.ProxyServer, root.RemoteService.ProxyPort stored but not applied yet: waiting for "
            "one-click cloud connection (O3C): an O3C dispatch service to connect to") in log
    assert "root.System.BoaProtPTZOperator stored but not applied yet: waiting for PTZ control (no profile has PTZ)" in log
    assert device.params.get("RemoteService.ProxyServer") == "proxy.example"  # kept all the same


async def test_an_applied_parameter_change_is_not_noted(device, admin):
    r = await admin.get(PARAM, params={"action": "update", "System.BruteForce.BlockingPeriod": "30",
                                       "Time.NTP.Server": "ntp.example"})  # the NTP client follows it now
    assert r.text == "OK\r\n"
    assert "not applied yet" not in device.logs.text("system")
