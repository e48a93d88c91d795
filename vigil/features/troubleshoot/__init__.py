"""Maintenance > Troubleshoot: ping and port check from the device (pingtest.cgi, tcptest.cgi)
and the network trace (debug.tgz?cmd=pcapdump), plus the crash report that holds the last trace
(debug.tgz). What flows: a host and port in, a verdict out; packets from the device's interfaces
into a pcap file the user downloads.

- `const`: paths and bounds. `probes`: ping (the system's `ping`) and the TCP/UDP port check.
- `trace`: the capture (tcpdump, bounded in time and size, one at a time), the last trace kept.
- `crash_report`: the debug archive. `http_tests` and `http_debug`: the CGIs.

These use the host's own network in every mode: the simulated device's traffic is the host's.
Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.troubleshoot import http_debug, http_tests
from vigil.features.troubleshoot.trace import TRACE_SERVICE, NetworkTrace

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    trace = NetworkTrace(device.logs, device.clock.time)
    device.features[TRACE_SERVICE] = trace
    device.services.append(trace.run)
    device.router.include((*http_tests.ROUTES, *http_debug.ROUTES))
