"""A change to a parameter the device does not apply yet says so in the system log."""

from __future__ import annotations

PARAM = "/axis-cgi/param.cgi"


async def test_a_pending_parameter_change_is_noted(device, admin):
    r = await admin.get(PARAM, params={"action": "update", "Network.Interface.I0.dot1x.EAPTLS.Identity": "lobby",
                                       "Network.Interface.I0.dot1x.EAPOLVersion": "2", "Storage.S0.CleanupLevel": "90"})
    assert r.text == "OK\r\n"
    log = device.logs.text("system")
    assert ("root.Network.Interface.I0.dot1x.EAPTLS.Identity, root.Network.Interface.I0.dot1x.EAPOLVersion stored but not "
            "applied yet: waiting for system settings: security") in log
    assert "root.Storage.S0.CleanupLevel stored but not applied yet: waiting for storage: clean up at a fill level" in log
    assert device.params.get("Network.Interface.I0.dot1x.EAPTLS.Identity") == "lobby"  # kept all the same


async def test_an_applied_parameter_change_is_not_noted(device, admin):
    r = await admin.get(PARAM, params={"action": "update", "System.BruteForce.BlockingPeriod": "30",
                                       "Time.NTP.Server": "ntp.example"})  # the NTP client follows it now
    assert r.text == "OK\r\n"
    assert "not applied yet" not in device.logs.text("system")
