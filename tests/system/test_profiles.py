"""Every profile builds and shows itself as its model: Brand, Properties, identity, I/O groups."""

from __future__ import annotations

import re

import pytest

from tests.conftest import client_as, make_device
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.profiles import NAMES, UnknownProfile, load_profile

PARAM = "/axis-cgi/param.cgi"


def parse(body: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in body.split("\r\n") if line and not line.startswith("#"))


@pytest.mark.parametrize("name", NAMES)
async def test_profile_builds_and_describes_itself(tmp_path, name):
    profile = load_profile(name)
    device = make_device(tmp_path, FakeClock(), name)
    try:
        async with client_as(device, "admin") as c:
            brand = parse((await c.get(PARAM, params={"action": "list", "group": "root.Brand"})).text)
            props = parse((await c.get(PARAM, params={"action": "list", "group": "root.Properties"})).text)
            io = await c.get(PARAM, params={"action": "list", "group": "IOPort"})
            counts = await c.get(PARAM, params={"action": "list", "group": "Input,Output"})
            info = (await c.post("/axis-cgi/basicdeviceinfo.cgi",
                                 json={"apiVersion": "1.3", "method": "getAllProperties"})).json()["data"]
            mac = parse((await c.get(PARAM, params={"action": "list", "group": "Network.eth0.MACAddress"})).text)
    finally:
        device.close()
    assert brand == {
        "root.Brand.Brand": profile.full_name.split()[0],
        "root.Brand.ProdFullName": profile.full_name,
        "root.Brand.ProdNbr": profile.model,
        "root.Brand.ProdShortName": profile.short_name,
        "root.Brand.ProdType": profile.prod_type,
        "root.Brand.ProdVariant": profile.variant,
        "root.Brand.WebURL": brand["root.Brand.WebURL"],
    }
    assert profile.model == name.upper()
    assert props["root.Properties.System.SerialNumber"] == device.identity.serial
    assert props["root.Properties.System.HardwareID"] == profile.hardware_id
    assert props["root.Properties.System.Architecture"] == profile.architecture
    assert props["root.Properties.System.Soc"] == profile.soc
    assert int(props["root.Properties.API.HTTP.Version"]) >= 3
    assert re.fullmatch(r"[0-9A-F]{12}", device.identity.serial)
    assert mac["root.Network.eth0.MACAddress"] == device.identity.mac
    assert device.identity.serial == device.identity.mac.replace(":", "")
    assert info["propertyList"]["ProdNbr"] == profile.model
    assert info["propertyList"]["SerialNumber"] == device.identity.serial
    assert len(info["propertyList"]) == 14
    if profile.hardware.io_ports:
        ports = parse(io.text)
        directions = [k for k in ports if k.endswith(".Direction")]
        assert len(directions) == profile.hardware.io_ports
        assert "root.Properties.IO.ManualTriggerNbr" in props
        got = parse(counts.text)
        assert int(got["root.Input.NbrOfInputs"]) == profile.hardware.io_inputs + profile.hardware.configurable_io
        assert int(got["root.Output.NbrOfOutputs"]) == (profile.hardware.io_outputs + profile.hardware.configurable_io
                                                         + profile.hardware.relays)
    else:
        assert io.text == "# Error: Error -1 getting param in group 'IOPort'\r\n"
        assert counts.text.count("# Error:") == 2
        assert not any(k.startswith("root.Properties.IO.") for k in props)


def test_only_w401_has_io_ports():
    assert [n for n in NAMES if load_profile(n).hardware.io_ports] == ["w401"]


def test_unknown_profile_refused(tmp_path):
    with pytest.raises(UnknownProfile):
        build_device("x9999", tmp_path / "d")


def test_identity_stable_per_folder_and_unique_between_folders(tmp_path):
    seen = []
    for folder in ("a", "a", "b"):
        device = build_device("s3008", tmp_path / folder, clock=FakeClock())
        seen.append((device.identity.serial, device.identity.mac, device.params.get("Properties.System.SerialNumber"),
                     device.auth.realm))
        device.close()
    assert seen[0] == seen[1]
    assert seen[0][0] != seen[2][0] and seen[0][1] != seen[2][1]
    assert seen[0][2] == seen[0][0]
    # The identity does not depend on the profile: the folder is the device.
    device = build_device("c1410", tmp_path / "a", clock=FakeClock())
    try:
        assert device.identity.serial == seen[0][0]
    finally:
        device.close()
