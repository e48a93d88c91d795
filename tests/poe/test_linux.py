"""The Linux PoE backend on a machine without power sourcing equipment: it says so, and the
device reports it (the NVR PoE API's error 50, the page's API) instead of inventing ports."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import vigil.features.poe
from tests.conftest import client_as, make_device
from vigil.features.poe.service import POE_SERVICE
from vigil.hal.linux.poe import LinuxPoe


def test_no_ports_named_means_no_pse() -> None:
    backend = LinuxPoe([], 305, 4)
    assert backend.ports == 0 and "no PoE switch" in backend.absent


def test_an_interface_without_pse_is_named() -> None:
    backend = LinuxPoe(["lo"], 305, 4)
    assert backend.ports == 0
    assert "ethtool" in backend.absent or "on lo" in backend.absent  # no ethtool here, or no PSE on lo


async def test_the_device_says_it_has_no_pse(tmp_path, clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vigil.features.poe, "make_hardware", lambda device: LinuxPoe([], 305, 4))
    device = make_device(tmp_path, clock)
    try:
        service = device.features[POE_SERVICE]
        assert service.statuses() == [] and service.totals()["absent"] == service.absent
        async with client_as(device, "operator") as c:
            root = ET.fromstring((await c.get("/axis-cgi/nvr/poe/getportstatuses.cgi",
                                              params={"schemaversion": "1"})).text)
            assert root.findtext("GeneralError/ErrorCode") == "50"
            assert "no PoE switch" in (root.findtext("GeneralError/Description") or "")
            reply = await c.patch("/config/rest/poe/v1/ports", json={"data": {"port": 1, "enabled": False}})
            assert reply.status_code == 409 and "no PoE switch" in reply.json()["error"]["message"]
        device.logs.flush()
        assert "no PoE switch" in device.logs.text("system")
    finally:
        device.close()
