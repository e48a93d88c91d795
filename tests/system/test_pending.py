"""A change to a parameter the device does not apply yet says so in the system log."""

from __future__ import annotations

PARAM = "/axis-cgi/param.cgi"


async def test_a_pending_parameter_change_is_noted(device, admin):
    r = await admin.get(PARAM, params={"action": "update", "Network.IPAddress": "10.1.2.3",
                                       "Network.DNSServer1": "10.1.2.1", "Network.SSH.Enabled": "yes"})
    assert r.text == "OK\r\n"
    log = device.logs.text("system")
    assert ("root.Network.IPAddress, root.Network.DNSServer1 stored but not applied yet: waiting for "
            "system settings: network") in log
    assert "root.Network.SSH.Enabled stored but not applied yet: waiting for system settings: security" in log
    assert device.params.get("Network.IPAddress") == "10.1.2.3"  # kept all the same


async def test_an_applied_parameter_change_is_not_noted(device, admin):
    r = await admin.get(PARAM, params={"action": "update", "System.BruteForce.BlockingPeriod": "30",
                                       "Time.NTP.Server": "ntp.example"})  # the NTP client follows it now
    assert r.text == "OK\r\n"
    assert "not applied yet" not in device.logs.text("system")
