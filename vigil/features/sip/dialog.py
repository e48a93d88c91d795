"""What the user agent keeps of an account and of a call (ua.py): the account as the agent uses
it (the password in clear, only in memory; how its servers are reached), and a call's dialog
(tags, CSeq, the route set and remote target of routing.py), its offer/answer (negotiation.py)
and its media (media.py)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from vigil.features.sip import message as m
from vigil.features.sip import routing, sdp
from vigil.features.sip.media import RtpSession
from vigil.features.sip.negotiation import Negotiation
from vigil.features.sip.proxyauth import ProxyLogin


@dataclass
class Account:
    """What the agent needs of an account (the password in clear, only in memory)."""

    id: str
    user: str
    domain: str = ""
    auth_id: str = ""
    password: str = ""
    registrar: str = ""  # host[:port]; empty: a peer-to-peer account, never registered
    auto_answer: bool = False
    dtmf_sequences: tuple[str, ...] = ()  # DTMF codes the account recognises (the DTMF event names the one entered)
    transport: str = "udp"  # udp | tcp | tls: how the registrar, proxies (or the called peer) are reached
    caller_id: str = ""  # the display name of the From header of the account's calls
    dtmf_methods: tuple[str, ...] = ("rtp", "info")  # how the far end's DTMF is accepted (RFC 4733, SIP INFO)
    tls_version: str = "auto"  # tls.TLS_VERSIONS
    verify_server: bool = False
    sips: bool = False  # sips: URIs (TLS on every hop)
    secondary: str = ""  # host[:port] of the secondary registrar
    proxies: tuple[str, ...] = ()  # outbound proxies host[:port], the first is the next hop
    certificate: str = ""  # the keystore alias presented to a TLS server that asks
    media_encryption: str = "none"  # const.MEDIA_ENCRYPTION
    proxy_logins: tuple[ProxyLogin, ...] = ()  # each proxy's credentials, in the order of `proxies` (proxyauth.py)
    dtmf_descriptions: tuple[str, ...] = ()  # of dtmf_sequences, in their order (the DTMF event carries it)

    def target(self, server: str = "") -> tuple[str, int] | None:
        server = server or self.registrar
        return routing.hostport(server, self.transport) if server else None


@dataclass(eq=False)
class Call:
    id: str
    account: Account
    direction: str  # incoming | outgoing
    remote_uri: str
    call_id: str
    local_tag: str
    state: str = "idle"  # calling | ringing | active | ended
    reason: str = ""
    remote_tag: str = ""
    remote_target: tuple[str, int] | None = None  # where in-dialog requests go (the route set's first hop)
    remote_contact: str = ""  # the far end's Contact URI: the Request-URI of in-dialog requests
    routes: list[str] = field(default_factory=list)  # the dialog's route set (routing.py)
    local_uri: str = ""
    from_header: str = ""  # as this side's requests carry them
    to_header: str = ""
    cseq: int = 1
    invite: m.Message | None = None  # the INVITE of an incoming call (responses copy it)
    invite_addr: tuple[str, int] | None = None
    invite_branch: str = ""  # of an outgoing call, for CANCEL
    offer: sdp.Media | None = None
    media: RtpSession | None = None
    negotiation: Negotiation | None = None
    offered: bool = False  # a re-INVITE without SDP got the device's offer: its answer comes in the ACK
    started: float = 0.0  # time.time() when answered
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    last_response: m.Message | None = None
    digits: str = ""

    @property
    def duration(self) -> float:
        return time.time() - self.started if self.started and self.state == "active" else 0.0
