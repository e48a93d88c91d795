"""LLDP-MED power requests read from frames a real lldpd sends as a powered device (in the peers'
namespace of a private veth pair), checked against tshark's decoding, and used for allocation."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.conftest import client_as
from tests.peers.lan import Lan, lan, needs_lan  # noqa: F401 (fixture)
from tests.peers.lldpd import powered_device
from tests.poe.conftest import switch
from vigil.device import Device
from vigil.features.poe.lldp import LldpError, parse, tlvs

pytestmark = needs_lan


@pytest.fixture(scope="module")
def camera_frame(lan: Lan) -> bytes:  # noqa: F811
    return powered_device(lan, 25500)


def test_the_power_request_of_lldpd(camera_frame: bytes) -> None:
    neighbour = parse(camera_frame)
    assert neighbour.power is not None
    assert neighbour.power.requested_w == 25.5
    assert neighbour.power.priority == "high"
    assert neighbour.power.source == "med"
    assert len(neighbour.chassis_mac.split(":")) == 6
    assert neighbour.system_name


def test_tshark_reads_the_same_request(camera_frame: bytes, tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    capture = tmp_path / "camera.pcap"
    capture.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
                        + struct.pack("<IIII", 0, 0, len(camera_frame), len(camera_frame)) + camera_frame)
    fields = subprocess.run(["tshark", "-r", str(capture), "-T", "fields", "-e", "lldp.media.power.value",
                             "-e", "lldp.media.power.prio", "-e", "lldp.chassis.id.mac"],
                            capture_output=True, text=True, timeout=60, check=True).stdout.split()
    neighbour = parse(camera_frame)
    assert neighbour.power is not None
    assert fields == [str(int(neighbour.power.requested_w * 10)), "2", neighbour.chassis_mac]  # 2: high


def without_med_power(frame: bytes) -> bytes:
    """The frame with its LLDP-MED power TLV left out: what a camera that speaks only IEEE 802.3at
    LLDP sends."""
    kept = b"".join(struct.pack("!H", kind << 9 | len(value)) + value for kind, value in tlvs(frame)
                    if not (kind == 127 and value[:4] == bytes.fromhex("0012bb04")))
    return frame[:14] + kept + b"\x00\x00"


def test_the_ieee_8023at_power_request_of_lldpd(camera_frame: bytes) -> None:
    assert bytes.fromhex("0012bb04") in camera_frame  # both TLVs were sent: LLDP-MED's is read first
    power = parse(without_med_power(camera_frame)).power
    assert power is not None
    assert (power.requested_w, power.priority, power.source) == (25.5, "high", "dot3")


def test_a_vlan_tagged_frame_reads_the_same(camera_frame: bytes) -> None:
    tagged = camera_frame[:12] + bytes.fromhex("81000064") + camera_frame[12:]
    assert parse(tagged) == parse(camera_frame)


@pytest.mark.parametrize("cut", [5, 13, 20])
def test_a_truncated_frame_is_refused(camera_frame: bytes, cut: int) -> None:
    with pytest.raises(LldpError):
        tlvs(camera_frame[:cut])


def test_a_frame_that_is_not_lldp_is_refused(camera_frame: bytes) -> None:
    with pytest.raises(LldpError, match="not LLDP"):
        parse(camera_frame[:12] + b"\x08\x00" + camera_frame[14:])


async def test_allocation_by_lldp_reserves_what_the_camera_asks_for(device: Device, camera_frame: bytes) -> None:
    hardware, service = switch(device)
    hardware.connect(3, 4, 12.0)
    assert service.status(3).allocated_w == 30.0  # by class until the camera says more
    device.params.set_internal({"PoE.Allocation": "lldp"})
    hardware.receive_lldp(3, camera_frame)
    status = service.status(3)
    assert (status.requested_w, status.allocated_w, status.code) == (25.5, 25.5, 1)
    async with client_as(device, "operator") as c:
        body = (await c.get("/axis-cgi/nvr/poe/getportstatuses.cgi", params={"schemaversion": "1"})).text
    assert "<Port>3</Port><StatusCode>1</StatusCode>" in body
    assert "<AllocatedPower>25.5</AllocatedPower>" in body and "<RequestedPower>25.5</RequestedPower>" in body
    assert "<RequestedPower></RequestedPower>" in body  # the other ports heard no LLDPDU


async def test_allocation_by_class_ignores_the_request(device: Device, camera_frame: bytes) -> None:
    hardware, service = switch(device)
    hardware.connect(2, 4, 12.0)
    hardware.receive_lldp(2, camera_frame)
    status = service.status(2)
    assert (status.requested_w, status.allocated_w) == (25.5, 30.0)
