"""The discovery service without a network: the settings' checks, what it starts and stops as
they change, how it reports a protocol that cannot start, and that a device listening on
loopback announces nothing (there is no local network there)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import client_as
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.discovery.interfaces import Interface, interfaces_for
from vigil.features.discovery.model import Settings
from vigil.features.discovery.service import DISCOVERY_SERVICE, DiscoveryService

PARAM = "/axis-cgi/param.cgi"


def setting(device: Device, name: str, value: str) -> None:
    device.params.update([(name, value)], Role.ADMIN, "test")


class Recorder:
    """An announcer that records its starts and stops; it fails while `fail` is set."""

    label = "Test protocol"

    def __init__(self, field: str = "bonjour") -> None:
        self.field = field
        self.calls: list[str] = []
        self.fail: Exception | None = None

    def wanted(self, settings: Settings) -> tuple | None:
        return (getattr(settings, self.field), settings.bonjour_name) if getattr(settings, self.field) else None

    async def start(self, settings: Settings) -> None:
        self.calls.append(f"start {settings.bonjour_name}")
        if self.fail is not None:
            raise self.fail

    async def stop(self) -> None:
        self.calls.append("stop")


@pytest.mark.parametrize(("value", "why"), [
    ("", "a name is required"),
    ("   ", "a name is required"),
    ("x" * 64, "longer than 63"),
    ("ö" * 32, "longer than 63 bytes in UTF-8"),
    (" padded", "no spaces at the start or the end"),
    ("a\tb", "control characters"),
])
async def test_a_bad_name_is_refused_clearly_logged_and_nothing_changes(admin: httpx.AsyncClient, device: Device,
                                                                        value: str, why: str) -> None:
    for name in ("Network.Bonjour.FriendlyName", "Network.UPnP.FriendlyName"):
        before = device.params.get(name)
        r = await admin.post(PARAM, data={"action": "update", name: value})
        assert r.text.startswith("# Error:") and why in r.text, r.text
        assert device.params.get(name) == before
        assert any(why in e.message and name in e.message for e in device.logs.entries("system"))


async def test_the_switches_take_yes_or_no_only(admin: httpx.AsyncClient) -> None:
    for name in ("Network.Bonjour.Enabled", "Network.UPnP.Enabled", "WebService.DiscoveryMode.Discoverable",
                 "Network.LLDP.Enabled"):
        r = await admin.post(PARAM, data={"action": "update", name: "maybe"})
        assert "must be yes or no" in r.text, r.text
        assert (await admin.post(PARAM, data={"action": "update", name: "no"})).text == "OK\r\n"


async def test_changes_stop_and_start_only_what_differs(device: Device) -> None:
    bonjour, upnp = Recorder("bonjour"), Recorder("upnp")
    service = DiscoveryService(device, {"bonjour": bonjour, "upnp": upnp})
    await service.reconcile()
    assert bonjour.calls == upnp.calls == [f"start Vigil S3016 - {device.identity.serial}"]
    setting(device, "Network.Bonjour.FriendlyName", "Hall")
    await service.reconcile()
    assert bonjour.calls[1:] == ["stop", "start Hall"]
    assert upnp.calls[1:] == ["stop", "start Hall"]  # the recorder's wish includes the name: it restarts
    setting(device, "Network.UPnP.Enabled", "no")
    await service.reconcile()
    assert upnp.calls[-1] == "stop" and service.states["upnp"].state == "off"
    assert service.states["bonjour"].state == "on"


async def test_a_protocol_that_cannot_start_is_reported_logged_once_and_retried(device: Device) -> None:
    broken, fine = Recorder("bonjour"), Recorder("upnp")
    broken.fail = OSError(98, "Address already in use")
    service = DiscoveryService(device, {"bonjour": broken, "upnp": fine})
    await service.reconcile()
    await service.reconcile()
    assert service.status()["bonjour"] == {"state": "failed", "error": "OSError: [Errno 98] Address already in use"}
    assert service.status()["upnp"] == {"state": "on"}
    warnings = [e for e in device.logs.entries("system") if "Test protocol cannot start" in e.message]
    assert len(warnings) == 1 and warnings[0].severity == "warning"
    broken.fail = None
    await service.reconcile()
    assert service.status()["bonjour"] == {"state": "on"}


async def test_on_loopback_nothing_is_announced_and_the_status_says_why(device: Device) -> None:
    device.listening.host = "127.0.0.1"
    service = device.features[DISCOVERY_SERVICE]
    assert interfaces_for("127.0.0.1") == [] and interfaces_for("localhost") == []
    await service.reconcile()
    status = service.status()
    assert status["interfaces"] == []
    assert {status[p]["state"] for p in ("bonjour", "upnp", "wsdiscovery")} == {"no-interface"}
    setting(device, "Network.Bonjour.Enabled", "no")
    await service.reconcile()
    assert service.status()["bonjour"] == {"state": "off"}


async def test_the_network_settings_choose_the_interfaces(device: Device) -> None:
    recorder = Recorder("bonjour")
    service = DiscoveryService(device, {"bonjour": recorder})
    device.listening.host = "127.0.0.1"
    service.use_interfaces([Interface("eth9", "192.0.2.50")])
    assert service.read_settings().interfaces == (Interface("eth9", "192.0.2.50"),)
    service.use_interfaces(None)
    assert service.read_settings().interfaces == ()


async def test_the_status_is_for_administrators(device: Device) -> None:
    async with client_as(device, "operator") as operator:
        assert (await operator.get("/vigil/discovery")).status_code == 403
    async with client_as(device, "admin") as admin:
        r = await admin.get("/vigil/discovery")
    assert r.status_code == 200
    assert set(r.json()) >= {"interfaces", "bonjour", "upnp", "wsdiscovery"}


async def test_the_upnp_description_is_anonymous_and_gone_when_upnp_is_off(device: Device,
                                                                           anon: httpx.AsyncClient) -> None:
    r = await anon.get("/rootdesc1.xml")
    assert r.status_code == 200
    assert f"<serialNumber>{device.identity.serial}</serialNumber>".encode() in r.content
    assert b"<presentationURL>http://127.0.0.1:80/</presentationURL>" in r.content
    setting(device, "Network.UPnP.Enabled", "no")
    assert (await anon.get("/rootdesc1.xml")).status_code == 404
    assert (await anon.get("/scpd_basic.xml")).status_code == 404


async def test_the_announced_port_follows_the_http_port(device: Device) -> None:
    """The announcements name where the web server serves now, not the port it started on."""
    service = device.features[DISCOVERY_SERVICE]
    service._wake = asyncio.Event()
    setting(device, "Network.HTTP.Port", "8099")
    assert service._wake.is_set()
    assert service.read_settings().http_port == 8099 != device.ports.http
