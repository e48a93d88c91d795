"""Offer/answer for one call (RFC 3264): the codec (answering, the first of the codec priority
list that the far end offers: the recipient's list decides, as the manual says; offering, the
list in order, and the far end's answer decides), the direction (hold: a far end that offers sendonly or inactive is
answered recvonly or inactive, and the device stops sending), the SRTP keys the account's
media encryption asks for (srtp.py), and the device's own description of the call, whose SDP
origin keeps one session id and counts its version up whenever the description changes.

A re-INVITE is answered the same way as the first offer; the media then follows the new plan
(media.py `RtpSession.apply`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from vigil.features.sip import codecs, sdp
from vigil.features.sip import const as c
from vigil.features.sip.srtp import SUITE, Crypto, new_key, parse_crypto


class NotAcceptable(Exception):
    """An offer or answer the device cannot take (488 Not Acceptable Here); the text says why."""


@dataclass(frozen=True)
class Plan:
    """What the media of a call does after an offer/answer."""

    remote: tuple[str, int]
    codec: codecs.SipCodec
    payload_type: int
    dtmf_payload: int | None
    direction: str  # the device's: sendrecv | sendonly | recvonly | inactive
    local_key: bytes | None = None  # SRTP: the device's key (what it sends) ...
    remote_key: bytes | None = None  # ... and the far end's (what it receives)

    @property
    def sends(self) -> bool:
        return self.direction in ("sendrecv", "sendonly")

    @property
    def plays(self) -> bool:
        return self.direction in ("sendrecv", "recvonly")


class Negotiation:
    def __init__(self, priority: list[str], encryption: str, address: str, port: int,
                 attributes: tuple[str, ...] = (), dtmf: int = sdp.DTMF_PAYLOAD) -> None:
        """`address`, `port`: where the far end sends RTP (nat.py's path); `attributes`: the
        path's own SDP lines (ICE's credentials and candidates); `dtmf`: the telephone-event payload
        type the device offers (the settings' dtmfPayloadType; answering, the offer's is kept)."""
        if encryption not in c.MEDIA_ENCRYPTION:
            raise ValueError(f"unknown media encryption {encryption}")
        self.priority, self.encryption, self.address, self.port = priority, encryption, address, port
        self.attributes, self.dtmf = attributes, dtmf
        self.key = new_key()
        self.session = (secrets.randbelow(2**31), 1)  # the SDP origin's id and version
        self.last: tuple[object, ...] | None = None

    def _describe(self, payloads: list[tuple[int, str]], direction: str, dtmf: int | None, profile: str,
                  crypto: Crypto | None) -> bytes:
        described = (tuple(payloads), direction, dtmf, profile, crypto)
        if self.last is not None and described != self.last:
            self.session = (self.session[0], self.session[1] + 1)
        self.last = described
        return sdp.build(self.address, self.port, payloads, direction, dtmf, profile,
                         ((crypto.attribute(),) if crypto else ()) + self.attributes, self.session)

    def offer(self, direction: str = "sendrecv") -> bytes:
        """The device's offer: RTP/SAVP with its key when SRTP is mandatory, RTP/AVP with its key
        when optional (a far end without SRTP ignores the line), plain RTP/AVP otherwise."""
        crypto = Crypto(1, SUITE, self.key) if self.encryption != "none" else None
        profile = "RTP/SAVP" if self.encryption == "srtp-mandatory" else "RTP/AVP"
        return self._describe(sdp.offer_payloads(self.priority), direction, self.dtmf, profile, crypto)

    def answer(self, offer: sdp.Media) -> tuple[bytes, Plan]:
        """The device's answer to `offer` and the plan it makes; NotAcceptable (488) when no codec
        is common or the encryption of the two sides does not agree."""
        offered = {name: pt for pt, name in reversed(offer.payloads.items())}  # the first payload type of each
        chosen = next(((offered[codecs.CODECS[x].encoding], codecs.CODECS[x].encoding) for x in self.priority
                       if codecs.CODECS[x].encoding in offered), None)
        if chosen is None:
            raise NotAcceptable("no codec in common")
        usable = next((x for x in map(parse_crypto, offer.cryptos) if x is not None), None)
        if offer.profile == "RTP/SAVP" and self.encryption == "none":
            raise NotAcceptable("the far end asks for SRTP; the account's media encryption is off")
        if offer.profile == "RTP/SAVP" and usable is None:
            raise NotAcceptable(f"no SRTP crypto suite in common ({SUITE} only)")
        if self.encryption == "srtp-mandatory" and usable is None:
            raise NotAcceptable("the account's media encryption requires SRTP; the offer has no usable key")
        secure = usable is not None and self.encryption != "none"
        mine = Crypto(usable.tag, SUITE, self.key) if secure and usable is not None else None
        direction = sdp.answer_direction(offer.direction)
        dtmf = offer.dtmf_payload
        body = self._describe([chosen], direction, dtmf, offer.profile if secure else "RTP/AVP", mine)
        return body, self._plan(offer, chosen, direction, usable.key if secure and usable else None)

    def accept(self, answer: sdp.Media) -> Plan:
        """The plan of the far end's answer to the device's offer; NotAcceptable when it cannot be
        used (then the call ends)."""
        chosen = answer.first_audio(self.priority)
        if chosen is None:
            raise NotAcceptable("the far end answered with no codec the device has")
        usable = next((x for x in map(parse_crypto, answer.cryptos) if x is not None), None)
        if self.encryption == "none":
            usable = None
        elif usable is None and (self.encryption == "srtp-mandatory" or answer.profile == "RTP/SAVP"):
            raise NotAcceptable("the far end answered without SRTP keys; the account requires SRTP")
        direction = answer.direction if answer.direction == "sendrecv" else sdp.answer_direction(answer.direction)
        return self._plan(answer, chosen, direction, usable.key if usable else None)

    def _plan(self, far: sdp.Media, chosen: tuple[int, str], direction: str, remote_key: bytes | None) -> Plan:
        return Plan((far.address, far.port), codecs.BY_ENCODING[chosen[1]], chosen[0], far.dtmf_payload, direction,
                    self.key if remote_key else None, remote_key)
