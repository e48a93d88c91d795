"""Fixtures of the SIP tests (and helpers: `sip_call`, `add_rule`, `call_state`, `key_in` a peer's digits): `phone`, an in-process C1410 (`running_phone` on another address) (simulated audio: its sink and
microphone readable) whose SIP service runs, with SIP enabled on free loopback ports (SIP, TLS, RTP) through
the API; `w401`, an in-process W401 whose SIP service runs; `peer`, a baresip far end
(tests/peers/baresip.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import client_as, eventually, free_port
from tests.peers.baresip import Baresip, start_baresip
from tests.peers.lan import Lan
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.core.rules import Condition, Rule
from vigil.device import Device, Ports
from vigil.features.sip import call_events
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE, SipService

NAT_PORTS = range(40000, 41000)  # the ports `source_nat` maps to


def source_nat(lan: Lan, closed: bool = False) -> str:
    """The device behind a NAT as the peers' namespace sees it: its UDP packets come from the
    returned public address and a port of NAT_PORTS (a source NAT in the namespace's input hook).
    `closed`: as a real NAT, nothing reaches the device that is not an answer to what it sent
    (new flows toward its own address are dropped; the public address of a flow it opened works)."""
    public = lan.peer_address.rsplit(".", 1)[0] + ".200"
    lan.run("nft", "add", "table", "ip", "vigilnat")
    lan.run("nft", "add", "chain", "ip", "vigilnat", "incoming", "{ type nat hook input priority 100 ; }")
    lan.run("nft", "add", "rule", "ip", "vigilnat", "incoming", "ip", "saddr", lan.device_address,
            "meta", "l4proto", "udp", "snat", "to", f"{public}:{NAT_PORTS.start}-{NAT_PORTS.stop - 1}")
    if closed:
        lan.run("nft", "add", "chain", "ip", "vigilnat", "outgoing", "{ type filter hook output priority 0 ; }")
        lan.run("nft", "add", "rule", "ip", "vigilnat", "outgoing", "ip", "daddr", lan.device_address,
                "meta", "l4proto", "udp", "ct", "state", "new", "drop")
    return public


def call_state(device: Device) -> str:
    """The device's tnsaxis:Call/State (Idle, Calling, Ringing, Active)."""
    source = {"Source": call_events.source_of(device.profile.prod_type)}
    return (device.events.state(c.CALL_STATE, source) or {}).get("CallState", "")


async def sip_call(client: httpx.AsyncClient, method: str, **params: object) -> dict:
    reply = await client.post("/axis-cgi/sip/sip.cgi", json={"apiVersion": "1.0", "method": method,
                                                             "params": params})
    return reply.json()


def add_rule(device: Device, name: str, template: str, params: dict[str, str], trigger: Condition) -> None:
    action = device.rules.add_action(name, template, params, "test")
    device.rules.add_rule(Rule(0, name, True, action.id, (), trigger), "test")


async def key_in(phone: Device, peer: Baresip, digits: str) -> None:
    """The peer calls the phone's peer-to-peer account (which answers) and keys `digits` in once the call is active."""
    service = phone.features[SIP_SERVICE]
    assert service.agent is not None
    assert (await peer.command("dial", f"sip:vigil@127.0.0.1:{service.agent.port}"))["ok"]
    await eventually(lambda: call_state(phone) == "Active", 5, "the call")
    for code in digits:
        assert (await peer.command("sndcode", code))["ok"]


@pytest.fixture
async def phone(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Device]:
    async with running_phone(tmp_path, clock, "127.0.0.1") as device:
        yield device


@contextlib.asynccontextmanager
async def running_phone(tmp_path: Path, clock: FakeClock, host: str) -> AsyncIterator[Device]:
    """A C1410 whose SIP agent listens on `host` (and free ports there)."""
    device = build_device("c1410", tmp_path / "data", Ports(http=80, https=443, host=host), clock)
    async with sip_running(device) as service:
        async with client_as(device, "admin") as admin:
            port = free_port()
            rtp = (port + 2) & ~1 if port < 64000 else 20000  # RTP ports above the SIP port: no overlap
            tls = free_port()
            while rtp <= tls < rtp + 1000:  # the device refuses a TLS port among its RTP ports
                tls = free_port()
            reply = await sip_call(admin, "setSipConfiguration", enabled=True, sipPort=port, tlsPort=tls,
                                   rtpPortStart=rtp)
            assert "error" not in reply, reply
        await asyncio.wait_for(_listening(service), 5)
        yield device


@contextlib.asynccontextmanager
async def sip_running(device: Device) -> AsyncIterator[SipService]:
    """The device's SIP service running for the block; the device is closed after it."""
    service = device.features[SIP_SERVICE]
    task = asyncio.create_task(service.run())
    try:
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        device.close()


async def _listening(service: SipService) -> None:
    while service.agent is None:
        await asyncio.sleep(0.01)


@pytest.fixture
async def w401(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Device]:
    """An in-process W401 (no speaker: SIP places calls only) whose SIP service runs."""
    device = build_device("w401", tmp_path / "w401", Ports(http=80, https=443, host="127.0.0.1"), clock)
    async with sip_running(device):
        yield device


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Baresip]:
    far = start_baresip(tmp_path / "baresip")
    yield far
    far.stop()
