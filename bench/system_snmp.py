"""SNMP agent: varbinds per second of a whole walk with net-snmp's tools, and the event loop's
responsiveness meanwhile.

    .venv/bin/python bench/system_snmp.py            # 5 walks of each kind
    .venv/bin/python bench/system_snmp.py -n 20

The bench builds an S3016 in-process in a temporary folder, runs its SNMP agent on a free
loopback UDP port (v1, v2c, v3 with SHA/AES), and walks the whole agent from 1.3.6.1 with:

1. snmpwalk -v2c: GETNEXT, one varbind per request (one round trip per object);
2. snmpbulkwalk -v2c: GETBULK, as NMSes (LibreNMS, Zabbix) poll tables;
3. snmpwalk -v3 authPriv: GETNEXT with authentication and encryption.

It prints varbinds per second for each (the tool's whole run, process start included, and the
best run), and the worst delay a 10 ms ticker on the device's event loop saw during the walks
(the loop the agent shares with HTTP and recording). The goal: >= 2,000 varbinds/s.
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from tests.peers.snmp import HAVE_NET_SNMP, free_udp_port, tool, v2c, v3  # the tests' peers (stdlib only)
from vigil.boot import build_device  # noqa: E402
from vigil.core.roles import Role  # noqa: E402
from vigil.device import Ports  # noqa: E402
from vigil.features.snmp.service import SNMP_SERVICE  # noqa: E402

PASSWORD = "bench-password-1"


async def ticker(delays: list[float], stop: asyncio.Event) -> None:
    """How late a 10 ms sleep wakes up: the event loop's responsiveness."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        delays.append(time.perf_counter() - start - 0.01)


async def walks(name: str, args: list[str], runs: int) -> tuple[int, list[float]]:
    rates, count = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        result = await tool(*args, "1.3.6.1", timeout=120)
        took = time.perf_counter() - start
        if result.code != 0:
            raise SystemExit(f"{name} failed: {result.out[-500:]}")
        count = len(result.values())
        rates.append(count / took)
    return count, rates


async def main(runs: int) -> None:
    if not HAVE_NET_SNMP:
        raise SystemExit("net-snmp's tools are not installed (make debs installs snmp and snmptrapd)")
    with tempfile.TemporaryDirectory() as folder:
        port = free_udp_port()
        device = build_device("s3016", Path(folder), Ports(host="127.0.0.1", snmp=port))
        device.params.update([("SNMP.Enabled", "yes"), ("SNMP.V1", "yes"), ("SNMP.V2c", "yes"), ("SNMP.V3", "yes"),
                              ("SNMP.InitialUserPasswd", PASSWORD)], Role.ADMIN, "bench")
        service = device.features[SNMP_SERVICE]
        task = asyncio.create_task(service.run())
        while service.starts == 0:
            await asyncio.sleep(0.01)
        if service.agent is None:
            raise SystemExit(f"the agent did not start: {service.error}")
        delays: list[float] = []
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(delays, stop))
        print(f"SNMP agent on 127.0.0.1:{port}, {len(service.mib)} objects, {runs} walks each")
        for name, args in (("snmpwalk v2c (GETNEXT)", ["snmpwalk", *v2c("public", port)]),
                           ("snmpbulkwalk v2c (GETBULK)", ["snmpbulkwalk", "-Cr50", *v2c("public", port)]),
                           ("snmpwalk v3 authPriv SHA/AES", ["snmpwalk", *v3(port, PASSWORD)])):
            count, rates = await walks(name, args, runs)
            print(f"{name:30} {count:4d} varbinds  median {statistics.median(rates):7.0f}/s  "
                  f"best {max(rates):7.0f}/s")
        stop.set()
        await tick
        delays.sort()
        print(f"event loop during the walks: 10 ms ticks late by p50 {delays[len(delays) // 2] * 1000:.1f} ms, "
              f"p99 {delays[int(len(delays) * 0.99)] * 1000:.1f} ms, max {delays[-1] * 1000:.1f} ms")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        device.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
