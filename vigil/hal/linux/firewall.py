"""The firewall of a real Linux machine: the rule set written as an nftables table of its own
(`table inet vigil`, an input chain), replaced as a whole in one `nft -f` transaction (the kernel
takes all of it or none), and removed when the device stops.

Only when VIGIL_HAL=linux: the default device never touches the machine's packet filter. Two
rules come before the user's, as on any host firewall: loopback traffic (the device's own
services talk to each other over it) and packets of connections already let in (replies to the
device's own requests, and the connection of the client that applies a rule set) pass.
The tests run it inside a network namespace of their own.
"""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import subprocess

from vigil.hal.firewall import FirewallError, Packet, Rule, Ruleset

TABLE = "vigil"
NFT_PKTTYPE = {"UNICAST": "host", "MULTICAST": "multicast", "BROADCAST": "broadcast"}


def rule_line(rule: Rule) -> str:
    """One rule as nftables says it, e.g. `ip saddr 10.0.0.0/8 tcp dport 80 accept`."""
    parts: list[str] = []
    if rule.pkt_type is not None:
        parts.append(f"meta pkttype {NFT_PKTTYPE[rule.pkt_type]}")
    if rule.mac is not None:
        parts.append(f"ether saddr {rule.mac}")
    if rule.network is not None:
        family = "ip6" if ipaddress.ip_network(rule.network).version == 6 else "ip"
        parts.append(f"{family} saddr {rule.network}")
    if rule.ip_range is not None:
        family = "ip6" if ipaddress.ip_address(rule.ip_range[0]).version == 6 else "ip"
        parts.append(f"{family} saddr {rule.ip_range[0]}-{rule.ip_range[1]}")
    if rule.ports is not None:
        first, last = rule.ports
        ports = str(first) if first == last else f"{first}-{last}"
        if rule.protocol in ("TCP", "UDP"):
            parts.append(f"{rule.protocol.lower()} dport {ports}")
        else:
            parts.append(f"meta l4proto {{ tcp, udp }} th dport {ports}")
    parts.append("accept" if rule.policy == "ACCEPT" else "drop")
    return " ".join(parts)


def script(ruleset: Ruleset | None) -> str:
    """The nft script that makes the kernel's `vigil` table say `ruleset` (None: no table).

    Declaring the table before deleting it lets the delete succeed whether or not it existed,
    and the whole script is one transaction."""
    lines = [f"table inet {TABLE}", f"delete table inet {TABLE}"]
    if ruleset is not None:
        policy = "accept" if ruleset.default_policy == "ACCEPT" else "drop"
        lines += [f"table inet {TABLE} {{", "  chain input {",
                  f"    type filter hook input priority filter; policy {policy};",
                  "    iif lo accept",
                  "    ct state established,related accept",
                  *(f"    {rule_line(rule)}" for rule in ruleset.rules),
                  "  }", "}"]
    return "\n".join(lines) + "\n"


class NftFirewall:
    name = "nftables"

    def __init__(self, nft: str | None = None) -> None:
        found = nft or shutil.which("nft")
        if found is None:
            raise FirewallError("nft (the nftables package) is not installed")
        self.nft = found

    def apply(self, ruleset: Ruleset | None) -> None:
        done = subprocess.run([self.nft, "-f", "-"], input=script(ruleset), capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            raise FirewallError(f"nft refused the rule set: {done.stderr.strip() or done.returncode}")

    def lets_in(self, ruleset: Ruleset, packet: Packet) -> bool:
        return ipaddress.ip_address(packet.source).is_loopback or ruleset.verdict(packet) == "ACCEPT"

    def close(self) -> None:
        with contextlib.suppress(FirewallError, OSError, subprocess.TimeoutExpired):  # stopping: nothing else to do
            self.apply(None)
