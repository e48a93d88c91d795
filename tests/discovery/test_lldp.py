"""LLDP and CDP against a real receiver: lldpd (receive-only, CDP on) in the peers' namespace
lists the device as an LLDP and a CDPv2 neighbour with its name, description and management
address; turned off, the device sends a shutdown LLDPDU (lldpd forgets it at once) and then no
frame at all, as a raw capture on the peers' side shows. Frame building is checked too."""

from __future__ import annotations

import asyncio
import json

from tests.conftest import make_device
from tests.discovery.conftest import Served, until
from tests.peers.lan import Lan, needs_lan
from tests.peers.lldpd import Lldpd, lldpd  # noqa: F401 (fixture)
from vigil.core.clock import FakeClock
from vigil.features.discovery.interfaces import Interface
from vigil.features.discovery.lldp import cdp_checksum, cdp_pdu, lldpdu
from vigil.features.discovery.model import Facts

pytestmark = needs_lan
# Counts the LLDP and CDP frames that arrive on the peers' interface during a few seconds.
CAPTURE = """
import json, socket, sys, time
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
sock.bind((sys.argv[1], 0))
sock.settimeout(0.1)
counts = {"lldp": 0, "cdp": 0}
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        frame = sock.recv(2048)
    except TimeoutError:
        continue
    if frame[:6] == bytes.fromhex("0180c200000e") and frame[12:14] == b"\\x88\\xcc":
        counts["lldp"] += 1
    elif frame[:6] == bytes.fromhex("01000ccccccc"):
        counts["cdp"] += 1
print(json.dumps(counts))
"""


def capture(lan: Lan, seconds: float) -> dict[str, int]:
    return json.loads(lan.python(CAPTURE, lan.peer_if, str(seconds)))


def neighbour(lldpd: Lldpd, protocol: str, **match: str):  # noqa: F811
    return lambda: [n for n in lldpd.neighbors() if n["protocol"] == protocol
                    and all(n[k] == v for k, v in match.items())]


async def test_lldpd_sees_the_device_by_lldp_and_cdp(served: Served, lldpd: Lldpd) -> None:  # noqa: F811
    device = served.device
    host = device.params.get("Network.HostName")
    mac = device.identity.mac.lower()
    found = await until(neighbour(lldpd, "LLDP", chassis_id=mac), 15, "the LLDP neighbour")
    lldp = found[0]
    assert lldp["name"] == host
    assert lldp["description"].startswith("Vigil S3016 Recorder ")
    assert lldp["management"] == [served.lan.device_address]
    assert lldp["port_id"] == mac and lldp["port_description"] == served.lan.device_if
    assert lldp["ttl"] == "120"
    cdp = (await until(neighbour(lldpd, "CDPv2", name=host), 15, "the CDP neighbour"))[0]
    assert cdp["management"] == [served.lan.device_address]
    assert cdp["port_id"] == served.lan.device_if
    assert served.discovery.status()["lldp"] == {"state": "on"}


async def test_turned_off_it_says_so_and_sends_nothing_more(served: Served, lldpd: Lldpd) -> None:  # noqa: F811
    mac = served.device.identity.mac.lower()
    served.discovery.lldp.interval = 0.2  # a quick period, so that a short capture tells
    await served.set(**{"Network.LLDP.Enabled": "no"})
    await served.set(**{"Network.LLDP.Enabled": "yes"})
    await until(neighbour(lldpd, "LLDP", chassis_id=mac), 15, "the LLDP neighbour")
    on = await asyncio.to_thread(capture, served.lan, 1.5)
    assert on["lldp"] >= 4 and on["cdp"] >= 1, on
    await served.set(**{"Network.LLDP.Enabled": "no"})
    await until(lambda: not neighbour(lldpd, "LLDP", chassis_id=mac)(), 10, "the shutdown LLDPDU")
    assert served.discovery.status()["lldp"] == {"state": "off"}
    assert await asyncio.to_thread(capture, served.lan, 1.5) == {"lldp": 0, "cdp": 0}


def test_the_frames_as_the_standards_lay_them_out(tmp_path) -> None:
    device = make_device(tmp_path, FakeClock())
    facts = Facts.of(device.profile, device.identity)
    device.close()
    eth = Interface("eth0", "192.0.2.10", 2)
    pdu = lldpdu(facts, "vigil-host", eth)
    assert pdu[:2] == bytes([0x02, 7]) and pdu[2] == 4  # chassis ID TLV, 7 bytes, subtype MAC
    assert pdu.endswith(b"\x00\x00")  # End of LLDPDU
    shutdown = lldpdu(facts, "vigil-host", eth, ttl=0)
    assert shutdown[18:22] == bytes([0x06, 2, 0, 0]) and len(shutdown) == 24  # chassis, port, TTL 0, End
    for name in ("vigil-a", "vigil-ab"):  # both parities of the checksummed length
        cdp = cdp_pdu(facts, name, eth)
        assert cdp_checksum(cdp) == 0  # a correct checksum sums to zero
