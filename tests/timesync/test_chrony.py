"""Against chrony, the real NTP and NTS server: the device's clock, set a known offset away from
chrony's (the host's) time, comes back to it: stepped from far off, slewed from near, over plain
NTP and over NTS, and an NTS-KE server whose certificate is not trusted is refused."""

from __future__ import annotations

import time

import pytest

from tests.conftest import eventually
from tests.peers.chrony import Chrony, ntp_time
from tests.timesync.conftest import service_of
from vigil.device import Device
from vigil.features.certificates.service import KEYSTORE


def off_from_chrony(device: Device, chrony: Chrony) -> float:
    return device.clock.time() - ntp_time(chrony.ntp_port)


def use_chrony(device: Device, chrony: Chrony, **extra: str) -> None:
    device.params.set_internal({"Time.NTP.Server": chrony.server, "Time.ObtainFromDHCP": "no", **extra}, "test")


async def test_the_clock_steps_to_chrony_from_far_off(real_device, chrony):
    real_device.clock.set_time(time.time() + 1000.0)
    use_chrony(real_device, chrony)
    state = await service_of(real_device).poll()
    assert state.synced and state.adjustment == "step", state.error
    assert state.offset == pytest.approx(-1000.0, abs=0.05)
    assert abs(off_from_chrony(real_device, chrony)) < 0.05
    assert state.samples[0].stratum == 8 and state.samples[0].reference == "127.127.1.1"


async def test_the_clock_slews_to_chrony_from_near(real_device, chrony):
    clock = real_device.clock
    clock.set_time(time.time() + 0.3)
    use_chrony(real_device, chrony)
    state = await service_of(real_device).poll()
    assert state.adjustment == "slew" and state.offset == pytest.approx(-0.3, abs=0.05)
    assert off_from_chrony(real_device, chrony) == pytest.approx(0.3, abs=0.05)  # no jump
    seen = [clock.time()]

    def settled() -> bool:
        seen.append(clock.time())
        return abs(off_from_chrony(real_device, chrony)) < 0.01

    await eventually(settled, timeout=clock.slew_duration(0.3) + 5, what="the slew to end on chrony's time")
    assert all(later >= earlier for earlier, later in zip(seen, seen[1:], strict=False))


async def test_nts_with_chrony(real_device, chrony):
    real_device.features[KEYSTORE].add_ca("testca", chrony.certs.ca.read_bytes(), "test")
    real_device.clock.set_time(time.time() - 5.0)
    real_device.params.set_internal({"Time.NTP.NTS": "yes", "Time.NTP.NTSKEServer": chrony.nts_server,
                                     "Time.NTP.NTSKECACerts": "testca"}, "test")
    service = service_of(real_device)
    state = await service.poll()
    assert state.synced and state.adjustment == "step", state.error
    assert all(sample.nts for sample in state.samples)
    assert state.servers == [f"{chrony.server} (NTS-KE {chrony.nts_server})"]
    assert abs(off_from_chrony(real_device, chrony)) < 0.05
    # The cookies chrony sent keep the next polls going without a new key establishment.
    source = next(iter(service._nts.values()))  # noqa: SLF001 - the test looks at the one NTS source
    assert (await service.poll()).synced and source.key_exchanges == 1
    assert len(source.session.cookies) == 8


async def test_nts_refuses_a_server_its_certificates_do_not_vouch_for(real_device, chrony):
    real_device.features[KEYSTORE].add_ca("otherca", chrony.certs.other_ca.read_bytes(), "test")
    real_device.clock.set_time(time.time() - 5.0)
    before = real_device.clock.offset
    real_device.params.set_internal({"Time.NTP.NTS": "yes", "Time.NTP.NTSKEServer": chrony.nts_server,
                                     "Time.NTP.NTSKECACerts": "otherca"}, "test")
    state = await service_of(real_device).poll()
    assert not state.synced and "certificate verify failed" in state.error
    assert real_device.clock.offset == before
    assert "certificate verify failed" in real_device.logs.text("system")

