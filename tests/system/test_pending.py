"""A change to a parameter the device does not apply yet says so in the system log.

No parameter of the device is pending today, so the test declares two of its own, as a feature
would while the chapter that applies them is not built."""

from __future__ import annotations

from vigil.core.params import ParamDef, pending
from vigil.core.roles import Role

PARAM = "/axis-cgi/param.cgi"


async def test_a_pending_parameter_change_is_noted(device, admin):
    waiting = pending("lights", "the light chapter")
    device.params.declare([ParamDef("Light.L0.Intensity", "50", "int", minimum=0, maximum=100, write=Role.ADMIN,
                                    owner=waiting),
                           ParamDef("Light.L0.Color", "white", write=Role.ADMIN, owner=waiting)])
    r = await admin.get(PARAM, params={"action": "update", "Light.L0.Intensity": "80", "Light.L0.Color": "red"})
    assert r.text == "OK\r\n"
    log = device.logs.text("system")
    assert "root.Light.L0.Intensity, root.Light.L0.Color stored but not applied yet: waiting for the light chapter" in log
    assert device.params.get("Light.L0.Intensity") == "80"  # kept all the same


async def test_an_applied_parameter_change_is_not_noted(device, admin):
    r = await admin.get(PARAM, params={"action": "update", "System.BruteForce.BlockingPeriod": "30",
                                       "Time.NTP.Server": "ntp.example"})  # the NTP client follows it now
    assert r.text == "OK\r\n"
    assert "not applied yet" not in device.logs.text("system")
