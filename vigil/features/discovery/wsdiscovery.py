"""WS-Discovery (the 2005/04 draft ONVIF uses): the device's Hello when it starts announcing,
ProbeMatches to a Probe whose types and scopes it matches, ResolveMatches to a Resolve of its
endpoint, and Bye when it stops.

The answers point clients (XAddrs) at `http://<address>:<port>/onvif/device_service`, the ONVIF
device service, which the ONVIF issue implements; until then a client finds the device here and
reaches its VAPIX APIs at the same address. The endpoint reference is stable across restarts
(model.endpoint_reference), as ONVIF clients key devices by it.

Per interface, one socket joins 239.255.255.250:3702 on that interface only (IP_MULTICAST_ALL
off: a datagram that arrived elsewhere is not ours) and one, bound to the interface's address,
takes unicast probes and sends every answer and announcement. Answers are unicast to the sender
after a random delay of up to 500 ms (APP_MAX_DELAY), so that many devices do not answer a
multicast probe at the same instant. A datagram that is no well-formed SOAP message is dropped
(counted in `ignored`): no answer, no error.

The other side, for a recorder looking for cameras: `probe` sends one Probe for ONVIF
NetworkVideoTransmitters on each interface and gathers the ProbeMatches that come back
(`parse_matches`), one `Found` per endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import uuid
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

from lxml import etree

from vigil.features.discovery.const import (
    DEVICE_SERVICE_PATH,
    NS_DN,
    NS_SOAP,
    NS_TDS,
    NS_WSA,
    NS_WSD,
    WSA_ANONYMOUS,
    WSD_GROUP,
    WSD_PORT,
    WSD_TO,
)
from vigil.features.discovery.interfaces import Interface, group_socket
from vigil.features.discovery.model import Facts, Settings

log = logging.getLogger("vigil.discovery")
APP_MAX_DELAY = 0.5
MAX_DATAGRAM = 65507
PREFIXES = {"dn": NS_DN, "tds": NS_TDS}
RFC3986 = "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc3986"
STRCMP0 = "http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
ACTION = f"{NS_WSD[:-len('discovery')]}discovery/"  # http://schemas.xmlsoap.org/ws/2005/04/discovery/


def qname(text: str) -> tuple[str, str] | None:
    """One of our types (`dn:NetworkVideoTransmitter`) as (namespace, local name)."""
    prefix, _, local = text.partition(":")
    return (PREFIXES[prefix], local) if prefix in PREFIXES and local else None


@dataclass(frozen=True)
class Request:
    """A Probe or a Resolve that arrived."""

    action: str  # Probe | Resolve
    message_id: str
    types: frozenset[tuple[str, str]] = frozenset()  # (namespace, local name)
    scopes: tuple[str, ...] = ()
    match_by: str = RFC3986
    endpoint: str = ""  # a Resolve's endpoint address


def parse(data: bytes) -> Request | None:
    """A Probe or Resolve, or None for anything else (other actions, malformed data)."""
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.tag != f"{{{NS_SOAP}}}Envelope":
        return None
    message_id = (root.findtext(f"{{{NS_SOAP}}}Header/{{{NS_WSA}}}MessageID") or "").strip()
    body = root.find(f"{{{NS_SOAP}}}Body")
    if body is None or len(body) == 0 or not message_id:
        return None
    payload = body[0]
    if payload.tag == f"{{{NS_WSD}}}Probe":
        types_el = payload.find(f"{{{NS_WSD}}}Types")
        types = set()
        for text in (types_el.text or "").split() if types_el is not None else ():
            prefix, _, local = text.rpartition(":")
            namespace = types_el.nsmap.get(prefix or None) if types_el is not None else None
            if namespace is None:
                return None  # a type whose prefix is not declared: not a valid probe
            types.add((namespace, local))
        scopes_el = payload.find(f"{{{NS_WSD}}}Scopes")
        scopes = tuple((scopes_el.text or "").split()) if scopes_el is not None else ()
        match_by = (scopes_el.get("MatchBy") if scopes_el is not None else None) or RFC3986
        return Request("Probe", message_id, frozenset(types), scopes, match_by)
    if payload.tag == f"{{{NS_WSD}}}Resolve":
        endpoint = (payload.findtext(f"{{{NS_WSA}}}EndpointReference/{{{NS_WSA}}}Address") or "").strip()
        return Request("Resolve", message_id, endpoint=endpoint)
    return None


@dataclass(frozen=True)
class Found:
    """A device that answered a Probe."""

    endpoint: str  # its endpoint reference (urn:uuid:...), stable over restarts
    xaddrs: tuple[str, ...]  # its device service addresses
    scopes: tuple[str, ...]
    address: str  # where the answer came from

    def scope(self, kind: str) -> str:
        """The value of an ONVIF scope `onvif://www.onvif.org/<kind>/<value>` ("" without one),
        URL-decoded as ONVIF clients show names."""
        prefix = f"onvif://www.onvif.org/{kind}/"
        return next((unquote(s[len(prefix):]) for s in self.scopes if s.startswith(prefix)), "")


def parse_matches(data: bytes, relates_to: str, sender: str) -> list[Found]:
    """The ProbeMatch entries of a ProbeMatches answering our Probe `relates_to`; [] for anything else."""
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError:
        return []
    if root.tag != f"{{{NS_SOAP}}}Envelope":
        return []
    if (root.findtext(f"{{{NS_SOAP}}}Header/{{{NS_WSA}}}RelatesTo") or "").strip() != relates_to:
        return []
    found = []
    for match in root.iterfind(f"{{{NS_SOAP}}}Body/{{{NS_WSD}}}ProbeMatches/{{{NS_WSD}}}ProbeMatch"):
        endpoint = (match.findtext(f"{{{NS_WSA}}}EndpointReference/{{{NS_WSA}}}Address") or "").strip()
        xaddrs = tuple(a for a in (match.findtext(f"{{{NS_WSD}}}XAddrs") or "").split()
                       if a.startswith(("http://", "https://")))
        if endpoint and xaddrs:
            found.append(Found(endpoint, xaddrs, tuple((match.findtext(f"{{{NS_WSD}}}Scopes") or "").split()),
                               sender))
    return found


def probe_message(message_id: str) -> bytes:
    body = "<d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe>"
    return envelope("Probe", WSD_TO, "", body, message_id)


async def probe(interfaces: tuple[Interface, ...], timeout: float) -> list[Found]:
    """Probe for ONVIF NetworkVideoTransmitters on each interface (multicast from the
    interface's address) and gather the answers that arrive within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    message_id = f"urn:uuid:{uuid.uuid4()}"
    found: dict[str, Found] = {}

    class Gatherer(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
            if len(data) <= MAX_DATAGRAM:
                for match in parse_matches(data, message_id, addr[0]):
                    found.setdefault(match.endpoint, match)

    transports = []
    try:
        for interface in interfaces:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
            try:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface.address))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", 1))
                sock.bind((interface.address, 0))
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
            transport, _ = await loop.create_datagram_endpoint(Gatherer, sock=sock)
            transports.append(transport)
            transport.sendto(probe_message(message_id), (WSD_GROUP, WSD_PORT))
        await asyncio.sleep(timeout)  # answers come after a random delay of up to APP_MAX_DELAY
    finally:
        for transport in transports:
            transport.close()
    return sorted(found.values(), key=lambda f: (f.address, f.endpoint))


def scope_matches(wanted: str, ours: str, match_by: str) -> bool:
    if match_by == STRCMP0:
        return wanted == ours
    if match_by != RFC3986:
        return False  # a matching rule we do not know matches nothing
    a, b = urlsplit(wanted), urlsplit(ours)
    if (a.scheme.lower(), a.netloc.lower()) != (b.scheme.lower(), b.netloc.lower()):
        return False
    wanted_segments = [s for s in a.path.split("/") if s]
    our_segments = [s for s in b.path.split("/") if s]
    return our_segments[:len(wanted_segments)] == wanted_segments


def matches(request: Request, facts: Facts, scopes: tuple[str, ...]) -> bool:
    ours = {q for q in (qname(t) for t in facts.onvif_types) if q is not None}
    if not request.types <= ours:
        return False
    return all(any(scope_matches(w, s, request.match_by) for s in scopes) for w in request.scopes)


def envelope(action: str, to: str, headers: str, body: str, message_id: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:a="{NS_WSA}" xmlns:d="{NS_WSD}" xmlns:dn="{NS_DN}" '
        f'xmlns:tds="{NS_TDS}"><s:Header>'
        f"<a:MessageID>{message_id or f'urn:uuid:{uuid.uuid4()}'}</a:MessageID>{headers}"
        f'<a:To s:mustUnderstand="1">{to}</a:To>'
        f'<a:Action s:mustUnderstand="1">{ACTION}{action}</a:Action>'
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


@dataclass
class Sequence:
    """AppSequence: the instance (one per start) and the number of each message sent."""

    instance: int
    number: int = 0

    def next(self) -> str:
        self.number += 1
        return f'<d:AppSequence InstanceId="{self.instance}" MessageNumber="{self.number}"/>'


@dataclass
class Responder:
    """The WS-Discovery side of one interface."""

    facts: Facts
    interface: Interface
    http_port: int
    sequence: Sequence
    metadata_version: int
    scopes: tuple[str, ...]
    ignored: int = 0
    group: asyncio.DatagramTransport | None = None
    unicast: asyncio.DatagramTransport | None = None

    @property
    def xaddrs(self) -> str:
        return f"http://{self.interface.address}:{self.http_port}{DEVICE_SERVICE_PATH}"

    def description(self) -> str:
        """EndpointReference, Types, Scopes, XAddrs and MetadataVersion, as every message has them."""
        return (f"<a:EndpointReference><a:Address>{self.facts.endpoint}</a:Address></a:EndpointReference>"
                f"<d:Types>{' '.join(self.facts.onvif_types)}</d:Types>"
                f"<d:Scopes>{escape(' '.join(self.scopes))}</d:Scopes>"
                f"<d:XAddrs>{escape(self.xaddrs)}</d:XAddrs>"
                f"<d:MetadataVersion>{self.metadata_version}</d:MetadataVersion>")

    def hello(self) -> bytes:
        return envelope("Hello", WSD_TO, self.sequence.next(), f"<d:Hello>{self.description()}</d:Hello>")

    def bye(self) -> bytes:
        address = f"<a:EndpointReference><a:Address>{self.facts.endpoint}</a:Address></a:EndpointReference>"
        return envelope("Bye", WSD_TO, self.sequence.next(), f"<d:Bye>{address}</d:Bye>")

    def answer(self, request: Request) -> bytes | None:
        relates = f"<a:RelatesTo>{escape(request.message_id)}</a:RelatesTo>{self.sequence.next()}"
        if request.action == "Probe" and matches(request, self.facts, self.scopes):
            return envelope("ProbeMatches", WSA_ANONYMOUS, relates,
                            f"<d:ProbeMatches><d:ProbeMatch>{self.description()}</d:ProbeMatch></d:ProbeMatches>")
        if request.action == "Resolve" and request.endpoint == self.facts.endpoint:
            return envelope("ResolveMatches", WSA_ANONYMOUS, relates,
                            f"<d:ResolveMatches><d:ResolveMatch>{self.description()}</d:ResolveMatch>"
                            "</d:ResolveMatches>")
        return None

    def received(self, data: bytes, sender: tuple[str, int]) -> None:
        request = parse(data) if len(data) <= MAX_DATAGRAM else None
        if request is None:
            self.ignored += 1
            return
        reply = self.answer(request)
        if reply is None:
            return
        asyncio.get_running_loop().call_later(random.uniform(0, APP_MAX_DELAY), self._send, reply, sender)

    def _send(self, data: bytes, target: tuple[str, int]) -> None:
        if self.unicast is not None and not self.unicast.is_closing():  # closed meanwhile: nothing goes out
            self.unicast.sendto(data, target)

    def announce(self, data: bytes) -> None:
        if self.unicast is not None and not self.unicast.is_closing():
            self.unicast.sendto(data, (WSD_GROUP, WSD_PORT))

    def close(self) -> None:
        for transport in (self.group, self.unicast):
            if transport is not None:
                transport.close()


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, responder: Responder) -> None:
        self.responder = responder

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.responder.received(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("WS-Discovery on %s: %s", self.responder.interface.name, exc)


def unicast_socket(interface: Interface) -> socket.socket:
    """Sends from `interface`'s address (multicast through that interface) and takes unicast probes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface.address))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", 1))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        sock.bind((interface.address, WSD_PORT))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class WsDiscovery:
    """WS-Discovery on each interface; `start` and `stop` as the discovery service asks."""

    label = "WS-Discovery"

    def __init__(self, facts: Facts, instance: int) -> None:
        self.facts = facts
        self.sequence = Sequence(instance)
        self.metadata_version = 0
        self.responders: list[Responder] = []

    @staticmethod
    def wanted(settings: Settings) -> tuple | None:
        if not settings.wsdiscovery or not settings.interfaces:
            return None
        return settings.interfaces, settings.http_port, settings.scopes  # new scopes: Hello again

    @property
    def ignored(self) -> int:
        return sum(r.ignored for r in self.responders)

    async def start(self, settings: Settings) -> None:
        loop = asyncio.get_running_loop()
        self.metadata_version += 1  # the XAddrs may have changed
        for interface in settings.interfaces:
            responder = Responder(self.facts, interface, settings.http_port, self.sequence, self.metadata_version,
                                  settings.scopes)
            self.responders.append(responder)
            responder.unicast, _ = await loop.create_datagram_endpoint(lambda r=responder: _Receiver(r),
                                                                       sock=unicast_socket(interface))
            group = group_socket(WSD_GROUP, WSD_PORT, [interface], reuse_port=True)
            responder.group, _ = await loop.create_datagram_endpoint(lambda r=responder: _Receiver(r), sock=group)
            responder.announce(responder.hello())

    async def stop(self) -> None:
        responders, self.responders = self.responders, []
        for responder in responders:
            responder.announce(responder.bye())
            responder.close()
