"""The simulated firewall: the rule set enforced in the device's own listeners.

Every connection the HTTP, HTTPS and RTSP listeners accept is checked as it is accepted, and
every datagram the SNMP agent receives (`admits`, registered with
`vigil.http.ports.Listening.filter_peers`): a connection the rules drop is closed at once,
unanswered (HTTPS: once its TLS handshake is done, when the listener first sees it), a datagram
is dropped. A rule sees the peer's address, the protocol and the device's port; the peer's MAC
comes from the host's neighbour table (a peer on loopback has none, so a MAC rule never matches
it), and what these servers receive is unicast. The discovery responders (multicast) and RTP over
UDP are not filtered here: the Linux backend filters everything. Tests reach the device from
127.0.0.x addresses to be different clients. Nothing of the host machine's own packet filter
changes."""

from __future__ import annotations

from vigil.hal.firewall import ACCEPT, Packet, Ruleset, incoming


class SimulatedFirewall:
    name = "simulated"

    def __init__(self) -> None:
        self.ruleset: Ruleset | None = None  # what is enforced now; None: the firewall is off

    def apply(self, ruleset: Ruleset | None) -> None:
        self.ruleset = ruleset

    def close(self) -> None:
        self.ruleset = None

    def lets_in(self, ruleset: Ruleset, packet: Packet) -> bool:
        return ruleset.verdict(packet) == ACCEPT

    def admits(self, peer: str, port: int, protocol: str = "TCP") -> bool:
        """Whether a TCP connection or a UDP datagram from `peer` to the device's `port` gets in."""
        if self.ruleset is None:
            return True
        try:
            return self.lets_in(self.ruleset, incoming(peer, port, protocol))
        except ValueError:  # no IP address (a Unix socket): not the network's traffic
            return True
