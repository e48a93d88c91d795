"""Allow contact rewrite and Allow via rewrite (rewrite.py) with a real PBX behind a real NAT: the
device registers from behind a source NAT (a network namespace, `source_nat` closed as a real NAT
is) at Kamailio on the far side. With both on, Kamailio's location holds the public address the
NAT gave the device (and no other binding), the REGISTER after the first answer has that address
in its Via, and a call from a baresip registered at Kamailio reaches the device through the NAT.
With them off (the default), the device's own address stays in Contact and Via."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_as, eventually
from tests.peers.baresip import start_baresip
from tests.peers.kamailio import PASSWORD, Kamailio, start_kamailio
from tests.peers.lan import Lan, needs_lan
from tests.sip.conftest import NAT_PORTS, call_state, running_phone, sip_call, source_nat
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE


@pytest.fixture(scope="module")
def pbx_beyond_nat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lan, Kamailio, str]]:
    lan = Lan.create()
    try:
        public = source_nat(lan, closed=True)
        lan.run("ip", "route", "del", "default")  # no DNS server to wait for: Kamailio's look-ups fail at once
        registrar = start_kamailio(tmp_path_factory.mktemp("pbx"), lan=lan)
        try:
            yield lan, registrar, public
        finally:
            registrar.stop()
    finally:
        lan.delete()


async def _register(phone: Device, registrar: Kamailio, user: str, **settings: bool) -> int:
    """`user` registered at `registrar` with the rewrite `settings`; the device's SIP port."""
    async with client_as(phone, "admin") as admin:
        if settings:
            reply = await sip_call(admin, "setSipConfiguration", **settings)
            assert "error" not in reply, reply
            assert all(reply["data"][k] == v for k, v in settings.items())
        reply = await sip_call(admin, "setSipAccount", id="pbx", user=user, password=PASSWORD,
                               registrar=registrar.address, autoAnswer=True)
        assert "error" not in reply, reply
    service = phone.features[SIP_SERVICE]
    await eventually(lambda: service.status.get("pbx", {}).get("state") == "registered", 5, "the registration")
    assert service.agent is not None
    return service.agent.port


@needs_lan
async def test_contact_and_via_rewrite_register_the_public_address_and_calls_reach_the_device(
        tmp_path: Path, clock: FakeClock, pbx_beyond_nat: tuple[Lan, Kamailio, str]) -> None:
    lan, registrar, public = pbx_beyond_nat
    async with running_phone(tmp_path, clock, lan.device_address) as phone:
        before = len(registrar.vias("REGISTER"))
        own = await _register(phone, registrar, "door", contactRewrite=True, viaRewrite=True)
        bindings = await eventually(lambda: registrar.location("door"), 5, "the binding")
        assert len(bindings) == 1 and bindings[0].startswith(f"sip:door@{public}:"), bindings  # the old one removed
        port = int(bindings[0].rsplit(":", 1)[1].split(";")[0])
        assert port in NAT_PORTS
        vias = registrar.vias("REGISTER")[before:]
        assert vias[0].startswith(f"SIP/2.0/UDP {lan.device_address}:{own};")  # before any answer: its own
        assert vias[-1].startswith(f"SIP/2.0/UDP {public}:{port};")  # then what the registrar saw
        softphone = start_baresip(tmp_path / "softphone", account="bob", lan=lan,
                                  extra=f";auth_pass={PASSWORD};outbound=sip:{registrar.address};regint=60")
        try:
            await eventually(lambda: registrar.location("bob"), 5, "the softphone's registration")
            assert (await softphone.command("dial", f"sip:door@{registrar.address}"))["ok"]
            await eventually(lambda: call_state(phone) == "Active", 8, "the call through the NAT to be answered")
            assert (await softphone.command("hangup"))["ok"]
            await eventually(lambda: call_state(phone) == "Idle", 5, "the call to end")
        finally:
            softphone.stop()


@needs_lan
async def test_without_rewrite_the_private_contact_is_kept(tmp_path: Path, clock: FakeClock,
                                                           pbx_beyond_nat: tuple[Lan, Kamailio, str]) -> None:
    lan, registrar, _ = pbx_beyond_nat
    async with running_phone(tmp_path, clock, lan.device_address) as phone:
        before = len(registrar.vias("REGISTER"))
        own = await _register(phone, registrar, "gate")
        assert registrar.location("gate") == [f"sip:gate@{lan.device_address}:{own}"]
        vias = registrar.vias("REGISTER")[before:]
        assert vias and all(v.startswith(f"SIP/2.0/UDP {lan.device_address}:{own};") for v in vias), vias


async def test_rewrite_settings_are_checked_and_audited(phone: Device) -> None:
    async with client_as(phone, "admin") as admin:
        before = phone.store.get_kv(c.SETTINGS_KEY)
        for name in ("contactRewrite", "viaRewrite"):
            reply = await sip_call(admin, "setSipConfiguration", **{name: "yes"})
            assert reply["error"]["code"] == 4004 and name in reply["error"]["message"], reply
        assert phone.store.get_kv(c.SETTINGS_KEY) == before  # nothing stored changed
        settings = (await sip_call(admin, "getSipConfiguration"))["data"]
        assert (settings["contactRewrite"], settings["viaRewrite"]) == (False, False)  # the defaults, unchanged
        assert "error" not in await sip_call(admin, "setSipConfiguration", viaRewrite=True)
    assert "changed the SIP settings: viaRewrite" in phone.logs.text("audit")
