"""The NTP client on a FakeClock against in-process servers: it steps a large offset, slews a
small one, polls less often while all is well, says when synchronisation is lost, takes the DHCP
lease's servers with the static ones as fallback, and refuses what must not be trusted."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import eventually
from tests.timesync.conftest import service_of
from vigil.core.clock import MAX_SLEW_RATE, OFFSET_KEY
from vigil.features.timesync.const import LOST_AFTER, STEP_THRESHOLD
from vigil.hal.network import NETWORK_HARDWARE, Lease
from vigil.hal.sim.network import SimulatedNetwork


def use(device, *servers, **extra: str) -> None:
    device.params.set_internal({"Time.NTP.Server": ",".join(s.address for s in servers),
                                "Time.ObtainFromDHCP": "no", **extra}, "test")


async def test_a_large_offset_is_stepped(device, clock, ntp_servers):
    server = await ntp_servers(offset=100.0)
    use(device, server)
    start = clock.time()
    state = await service_of(device).poll()
    assert state.synced and state.adjustment == "step" and state.offset == pytest.approx(100.0)
    assert clock.time() == pytest.approx(start + 100.0)
    assert float(device.store.get_kv(OFFSET_KEY)) == pytest.approx(100.0)  # kept over a restart
    assert server.requests == 4  # a burst; the shortest round trip counts
    assert f"time synchronised with {server.address}: stepped +100.000000 s" in device.logs.text("system")


async def test_a_small_offset_is_slewed_without_a_jump(device, clock, ntp_servers):
    server = await ntp_servers(offset=-0.5)
    use(device, server)
    start = clock.time()
    state = await service_of(device).poll()
    assert state.adjustment == "slew" and state.offset == pytest.approx(-0.5)
    assert clock.time() == start  # nothing jumped
    assert clock.slew_remaining == pytest.approx(-0.5)
    seen = []
    for _ in range(10):
        clock.advance(1.0)
        seen.append(clock.time())
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False))  # the clock never runs backwards
    assert seen[0] == pytest.approx(start + 1.0 - MAX_SLEW_RATE)  # slower by the slew rate meanwhile
    assert clock.time() == pytest.approx(start + 10.0 - 0.5)  # and then it is done
    assert clock.slew_remaining == 0
    assert float(device.store.get_kv(OFFSET_KEY)) == pytest.approx(-0.5)


async def test_the_threshold_between_slewing_and_stepping(device, clock, ntp_servers):
    server = await ntp_servers(offset=STEP_THRESHOLD - 0.01)
    use(device, server)
    assert (await service_of(device).poll()).adjustment == "slew"
    server.offset = STEP_THRESHOLD + 0.02  # (no time passed: nothing of the slew is done yet)
    assert (await service_of(device).poll()).adjustment == "step"


async def test_two_servers_count_alike(device, clock, ntp_servers):
    a, b = await ntp_servers(offset=20.0), await ntp_servers(offset=30.0)
    use(device, a, b)
    start = clock.time()
    state = await service_of(device).poll()
    assert state.offset == pytest.approx(25.0) and clock.time() == pytest.approx(start + 25.0)
    assert state.servers == [a.address, b.address]


async def test_the_poll_interval_grows_from_min_to_max_poll(device, clock, ntp_servers):
    use(device, await ntp_servers(), **{"Time.NTP.MinPoll": "2", "Time.NTP.MaxPoll": "4"})
    service = service_of(device)
    intervals = []
    for _ in range(4):
        await service.poll()
        intervals.append(service.time_to_next_sync())
        clock.advance(service.time_to_next_sync())
    assert intervals == [4, 8, 16, 16]


async def test_an_unreachable_server_is_an_error_and_sync_is_lost_after_some_polls(device, clock, ntp_servers):
    server = await ntp_servers(offset=2.0)
    use(device, server, **{"Time.NTP.MinPoll": "3"})
    service = service_of(device)
    assert (await service.poll()).synced
    server.transport.close()  # nothing listens there any more: the kernel answers "port unreachable"
    for n in range(LOST_AFTER):
        state = await service.poll()
        assert f"{server.address}: {server.address} refused (no NTP server listens there)" in state.error
        assert state.synced == (n < LOST_AFTER - 1)
        assert service.time_to_next_sync() == 8  # back to MinPoll
    log = device.logs.text("system")
    assert "time synchronisation: 127.0.0.1" in log and "refused" in log
    assert "time synchronisation lost: no NTP server answered 3 polls in a row" in log


async def test_a_silent_server_times_out(device, clock, ntp_servers):
    server = await ntp_servers(silent=True)
    use(device, server)
    service_of(device).reply_timeout = 0.2
    state = await service_of(device).poll()
    assert not state.synced and state.error == f"{server.address}: no answer from {server.address} within 0.2 s"


@pytest.mark.parametrize(("fault", "error"), [
    ({"kiss": "RATE"}, "the server refused with kiss code RATE"),
    ({"leap": 3}, "the server is not synchronised itself"),
    ({"stratum": 16}, "the server is not synchronised itself"),
    ({"wrong_origin": True}, "a reply to another request (its origin timestamp is not ours)"),
    ({"offset": -30 * 365 * 86400.0}, "its time is outside the dates the device can hold"),  # 1993
])
async def test_replies_that_must_not_be_used(device, clock, ntp_servers, fault, error):
    server = await ntp_servers(**fault)
    use(device, server)
    start = clock.time()
    state = await service_of(device).poll()
    assert not state.synced and error in state.error
    assert clock.time() == start


async def test_dhcp_servers_come_first_and_static_ones_are_the_fallback(device, clock, ntp_servers):
    static, leased = await ntp_servers(offset=10.0), await ntp_servers(offset=20.0)
    device.params.set_internal({"Time.NTP.Server": static.address, "Time.ObtainFromDHCP": "yes"}, "test")
    service = service_of(device)
    assert service.servers_in_use(service_settings(device))[0] == "fallback"
    assert (await service.poll()).offset == pytest.approx(10.0)
    service.set_dhcp_servers([leased.address, "300.1.1.1"])
    assert device.params.get("Time.NTP.VolatileServer") == leased.address
    assert "NTP server '300.1.1.1' from DHCP ignored: '300.1.1.1' is not an IPv4 address" in device.logs.text("system")
    assert not service.state.synced  # new servers: synchronised again only once they answered
    state = await service.poll()
    assert state.servers == [leased.address] and state.offset == pytest.approx(20.0 - 10.0)
    device.params.set_internal({"Time.ObtainFromDHCP": "no"}, "test")
    assert (await service.poll()).servers == [static.address]
    service.set_dhcp_servers([])
    assert device.params.get("Time.NTP.VolatileServer") == ""


async def test_the_dhcp_lease_of_the_network_settings_gives_the_servers(device, clock, ntp_servers):
    """The network feature's DHCP lease (here from the simulated DHCP server) reaches the client."""
    static, leased = await ntp_servers(offset=10.0), await ntp_servers(offset=20.0)
    device.params.set_internal({"Time.NTP.Server": static.address, "Time.ObtainFromDHCP": "yes"}, "test")
    network = device.hardware[NETWORK_HARDWARE]
    assert isinstance(network, SimulatedNetwork)
    network.offer(Lease("192.168.0.90", 24, ("192.168.0.1",), ntp_servers=(leased.address,)))
    assert device.params.get("Time.NTP.VolatileServer") == leased.address
    state = await service_of(device).poll()
    assert state.servers == [leased.address] and state.offset == pytest.approx(20.0)
    network.offer(None)  # the lease is gone: the static servers again
    assert device.params.get("Time.NTP.VolatileServer") == ""
    assert (await service_of(device).poll()).servers == [static.address]


def service_settings(device):
    from vigil.features.timesync.service import Settings

    return Settings.read(device.params)


async def test_nothing_is_asked_when_automatic_time_is_off(device, clock, ntp_servers):
    server = await ntp_servers(offset=50.0)
    use(device, server, **{"Time.SyncSource": "None"})
    state = await service_of(device).poll()
    assert server.requests == 0 and not state.synced and service_of(device).time_to_next_sync() == 0


async def test_no_server_set_says_so(device):
    device.params.set_internal({"Time.ObtainFromDHCP": "no"}, "test")
    state = await service_of(device).poll()
    assert state.error == "no NTP server is set"
    device.params.set_internal({"Time.NTP.NTS": "yes"}, "test")
    assert (await service_of(device).poll()).error == "no NTS-KE server is set"


async def test_a_settings_change_starts_over(device, clock, ntp_servers):
    a, b = await ntp_servers(offset=5.0), await ntp_servers(offset=5.0)
    use(device, a)
    service = service_of(device)
    assert (await service.poll()).synced
    use(device, b)
    assert not service.state.synced and service.state.next_poll is None
    assert "time synchronisation starts over: the synchronisation settings changed" in device.logs.text("system")


async def test_the_client_polls_when_due_and_at_once_after_a_change(device, clock, ntp_servers):
    server = await ntp_servers(offset=3.0)
    service = service_of(device)
    task = asyncio.create_task(service.run())
    try:
        use(device, server, **{"Time.NTP.MinPoll": "4"})
        await eventually(lambda: service.state.synced, what="a first poll after the change")
        asked = server.requests
        clock.advance(10)
        await asyncio.sleep(0.05)
        assert server.requests == asked  # not due yet
        clock.advance(6)
        await eventually(lambda: server.requests > asked, what="the poll 16 s later")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
