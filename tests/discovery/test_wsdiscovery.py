"""WS-Discovery against real clients in the peers' namespace: python-wsdiscovery's
ThreadedWSDiscovery probes for ONVIF NetworkVideoTransmitters and finds the device, its
endpoint, XAddrs and scopes (every profile: the recorders, the speaker, the I/O device); a
listener on the multicast group hears Hello when the device starts announcing and Bye when it
stops; turned off, no probe is answered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from pathlib import Path

from tests.discovery.conftest import Served, serve_on, until
from tests.peers.lan import VENV_BIN, Lan, needs_lan
from tests.peers.processes import stop_process
from vigil.features.discovery.model import endpoint_reference
from vigil.features.discovery.wsdiscovery import APP_MAX_DELAY

pytestmark = needs_lan

PROBE = """
import json, sys
from wsdiscovery import QName, Scope
from wsdiscovery.discovery import ThreadedWSDiscovery
types = [QName(*t.split("|")) for t in sys.argv[1].split(",") if t]
scopes = [Scope(s) for s in sys.argv[2].split(",") if s]
wsd = ThreadedWSDiscovery()
wsd.start()
try:
    for s in wsd.searchServices(types=types or None, scopes=scopes or None, timeout=float(sys.argv[3])):
        print(json.dumps({"epr": s.getEPR(), "xaddrs": s.getXAddrs(), "scopes": [str(x) for x in s.getScopes()],
                          "types": [str(x) for x in s.getTypes()]}))
finally:
    wsd.stop()
"""
LISTEN = """
import json, socket, struct, sys
from lxml import etree
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("239.255.255.250", 3702))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                socket.inet_aton("239.255.255.250") + socket.inet_aton(sys.argv[1]))
print("ready", flush=True)
while True:
    data, sender = sock.recvfrom(65535)
    root = etree.fromstring(data)
    action = root.findtext(".//{http://schemas.xmlsoap.org/ws/2004/08/addressing}Action") or ""
    xaddrs = root.findtext(".//{http://schemas.xmlsoap.org/ws/2005/04/discovery}XAddrs") or ""
    print(json.dumps({"from": sender[0], "action": action.rsplit("/", 1)[-1], "xaddrs": xaddrs}), flush=True)
"""
NVT = "http://www.onvif.org/ver10/network/wsdl|NetworkVideoTransmitter"
DEVICE = "http://www.onvif.org/ver10/device/wsdl|Device"


# How long a probe collects answers (python-wsdiscovery waits all of it): a device answers within
# APP_MAX_DELAY (0.5 s), and a probe that finds too little is sent again.
PROBE_SECONDS = 3 * APP_MAX_DELAY


def probe(lan: Lan, types: str = NVT, scopes: str = "onvif://www.onvif.org") -> list[dict]:
    out = lan.python(PROBE, types, scopes, str(PROBE_SECONDS))
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def listen(lan: Lan) -> subprocess.Popen:
    listener = subprocess.Popen(lan.command(str(VENV_BIN / "python"), "-c", LISTEN, lan.peer_address),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
    return listener


def heard(listener: subprocess.Popen) -> list[dict]:
    stop_process(listener)
    return [json.loads(line) for line in (listener.stdout.read() if listener.stdout else "").splitlines()]


async def test_a_probe_finds_the_device_with_its_types_scopes_and_xaddrs(served: Served) -> None:
    found = await until(lambda: probe(served.lan), 20, "a ProbeMatch")
    match = found[0]
    assert match["epr"] == endpoint_reference(served.device.identity)
    assert match["xaddrs"] == [f"{served.base}/onvif/device_service"]
    assert set(match["types"]) == {NVT.replace("|", ":"), DEVICE.replace("|", ":")}
    assert "onvif://www.onvif.org/hardware/S3016" in match["scopes"]
    assert "onvif://www.onvif.org/type/Network_Video_Storage" in match["scopes"]
    assert await asyncio.to_thread(probe, served.lan, DEVICE, "onvif://www.onvif.org/hardware/S3016")
    # Types or scopes the device does not have: no answer.
    assert await asyncio.to_thread(probe, served.lan, "http://example.com/ns|Printer", "") == []
    assert await asyncio.to_thread(probe, served.lan, NVT, "onvif://www.onvif.org/hardware/S3008") == []


async def test_hello_when_it_starts_announcing_bye_when_turned_off_and_then_silence(served: Served) -> None:
    await served.set(**{"WebService.DiscoveryMode.Discoverable": "no"})
    listener = await asyncio.to_thread(listen, served.lan)
    try:
        await served.set(**{"WebService.DiscoveryMode.Discoverable": "yes"})
        await until(lambda: probe(served.lan), 20, "a ProbeMatch")
        await served.set(**{"WebService.DiscoveryMode.Discoverable": "no"})
        assert served.discovery.status()["wsdiscovery"] == {"state": "off"}
        assert await asyncio.to_thread(probe, served.lan) == []
    finally:
        messages = await asyncio.to_thread(heard, listener)
    from_device = [m for m in messages if m["from"] == served.lan.device_address]
    assert [m["action"] for m in from_device] == ["Hello", "Bye"]
    assert from_device[0]["xaddrs"] == f"{served.base}/onvif/device_service"


async def test_every_profile_is_found(tmp_path: Path, lan: Lan) -> None:
    """The S3008, S4000, C1410 and W401 on one LAN: one probe finds each, with its hardware scope."""
    async with contextlib.AsyncExitStack() as stack:
        devices = [await stack.enter_async_context(serve_on(lan, tmp_path / profile, profile))
                   for profile in ("s3008", "s4000", "c1410", "w401")]
        wanted = {endpoint_reference(d.device.identity): d for d in devices}
        found = await until(lambda: (m := probe(lan, DEVICE, "")) and len(m) >= len(wanted) and m, 20,
                            "a ProbeMatch from each device")
        assert sorted(m["epr"] for m in found) == sorted(wanted)
        for match in found:
            served = wanted[match["epr"]]
            assert match["xaddrs"] == [f"{served.base}/onvif/device_service"]
            assert f"onvif://www.onvif.org/hardware/{served.device.profile.model}" in match["scopes"]
