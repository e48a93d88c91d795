"""UDP-to-TCP switching (RFC 3261 §18.1.1; the manual's "UDP-to-TCP switching", the setting
`udpToTcp`): a request that would go over UDP and is larger than 1300 bytes (within 200 bytes of
an Ethernet path's 1500-byte MTU) goes over TCP to the same address and port instead, so that it is
not fragmented. Its Via then says TCP. The connection stays while the peer keeps it open: messages
to that address go over it meanwhile (transport.py), and over UDP again once it ends. A peer that
refuses the connection gets the request over UDP after all."""

from __future__ import annotations

import logging
from typing import Protocol

from vigil.features.sip import message as m
from vigil.features.sip.transport import Address, Transports

log = logging.getLogger("vigil.sip")
UDP_LIMIT = 1300  # bytes: larger requests are not sent over UDP


class Sender(Protocol):
    """The user agent as this module uses it (ua.py)."""

    transports: Transports

    def via(self, toward: Address, branch: str) -> str: ...


async def switch_to_tcp(agent: Sender, req: m.Message, addr: Address) -> None:
    """Send `req` (not sent yet) to `addr` over TCP when it is too large for UDP."""
    transports = agent.transports
    if transports.reliable(addr) or addr in transports.secure or len(req.encode()) <= UDP_LIMIT:
        return
    try:
        await transports.connect(addr)
    except (OSError, TimeoutError) as err:
        log.info("SIP %s to %s:%s stays on UDP: TCP refused (%s)", req.method, addr[0], addr[1], err or "timed out")
        return
    log.info("SIP %s of %d bytes to %s:%s goes over TCP (UDP-to-TCP switching)", req.method, len(req.encode()),
             addr[0], addr[1])
    via = req.get("via")
    req.headers = [("via", agent.via(addr, m.param(via, "branch"))) if (n, v) == ("via", via) else (n, v)
                   for n, v in req.headers]
