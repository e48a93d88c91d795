"""Where the agent's requests go (RFC 3261 §8.1.2, §12.1, §16.12, §19.1.2; RFC 5630 for SIPS).

- Out of a dialog (REGISTER, INVITE): an account's outbound proxies, in the order given, are the
  route; the first proxy is the next hop, and every proxy is a loose-routing Route header
  (`;lr`), so each proxy passes the request on to the next and the last to the Request-URI.
- In a dialog (ACK of a 2xx, BYE): the route set is what the Record-Route headers of the message
  that made the dialog say (the callee keeps their order, the caller reverses them); the first
  entry is the next hop and the Request-URI is the far end's Contact.
- A SIPS account writes `sips:` URIs (and needs TLS on every hop); a `sips:` URI or
  `;transport=tls` means port 5061 when none is given, else 5060."""

from __future__ import annotations

import re

from vigil.features.sip import message as m

Address = tuple[str, int]
ENTRY = re.compile(r"<[^>]*>[^,]*")  # one name-addr of a comma-separated header value


def default_port(uri: str, transport: str = "udp") -> int:
    secure = uri.lower().startswith(("sips:", "<sips:")) or "transport=tls" in uri.lower() or transport == "tls"
    return 5061 if secure else 5060


def hostport(value: str, transport: str) -> Address:
    """A setting written host[:port] as an address; the port by the transport when none is given."""
    host, _, port = value.partition(":")
    return host, int(port) if port else default_port("", transport)


def scheme(sips: bool) -> str:
    return "sips" if sips else "sip"


def proxy_routes(proxies: tuple[str, ...], transport: str, sips: bool) -> list[tuple[str, str]]:
    """The Route headers of an out-of-dialog request through `proxies`."""
    param = f";transport={transport}" if transport != "udp" and not sips else ""
    return [("route", f"<{scheme(sips)}:{proxy}{param};lr>") for proxy in proxies]


def first_hop(proxies: tuple[str, ...], transport: str, otherwise: Address) -> Address:
    """The next hop of an out-of-dialog request: the first proxy, else `otherwise`."""
    return hostport(proxies[0], transport) if proxies else otherwise


def dialog_routes(msg: m.Message, caller: bool) -> list[str]:
    """The route set of the dialog `msg` makes (an INVITE for the callee, its 2xx for the caller)."""
    entries = [e.strip() for value in msg.all("record-route") for e in ENTRY.findall(value)]
    return entries[::-1] if caller else entries


def route_address(route: str) -> Address | None:
    """Where a route set entry (or a Contact) points."""
    return m.uri_address(route, default_port(route))


def remote_contact(msg: m.Message) -> str:
    """The Contact URI of a dialog-making message (the Request-URI of in-dialog requests)."""
    contact = msg.get("contact")
    quoted = re.search(r"<([^>]*)>", contact)
    return quoted.group(1) if quoted else contact.split(";")[0].strip()
