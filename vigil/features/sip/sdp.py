"""SDP for audio calls (RFC 4566, RFC 3264): what the far end offers or answers (address, port,
profile, payload types with their codecs, telephone-event, direction, SDES crypto lines), and
the device's description with the codecs of codecs.py in the order of the codec priority list
and RFC 4733 telephone-event for DTMF. Which codec, direction and keys a call uses is decided
in negotiation.py."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from vigil.features.sip import codecs
from vigil.features.sip import const as c

STATIC = codecs.STATIC  # RFC 3551 static payload types
CODEC_NAMES = {name: codec.encoding for name, codec in codecs.CODECS.items()}  # priority list entries -> names
DTMF_PAYLOAD = c.DEFAULTS["dtmfPayloadType"]  # telephone-event's, unless the settings say another
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


class SdpError(ValueError):
    """A session description the device cannot use."""


@dataclass
class Media:
    address: str
    port: int
    payloads: dict[int, str] = field(default_factory=dict)  # payload type -> encoding name (upper)
    direction: str = "sendrecv"
    attributes: list[str] = field(default_factory=list)  # every a= value, the session's then the stream's (ICE)
    profile: str = "RTP/AVP"  # RTP/SAVP: the far end sends and takes SRTP only
    cryptos: list[str] = field(default_factory=list)  # a=crypto values (RFC 4568), in the order given

    @property
    def dtmf_payload(self) -> int | None:
        return next((pt for pt, name in self.payloads.items() if name == "TELEPHONE-EVENT"), None)

    def first_audio(self, priority: list[str]) -> tuple[int, str] | None:
        """The payload of the first codec the list allows, in the order the far end gave (RFC 3264 6.1)."""
        allowed = {CODEC_NAMES[p] for p in priority}
        return next(((pt, name) for pt, name in self.payloads.items() if name in allowed), None)


def parse(body: bytes) -> Media:
    try:
        lines = body.decode("utf-8").replace("\r\n", "\n").split("\n")
    except UnicodeDecodeError:
        raise SdpError("the session description is not UTF-8") from None
    session_address = ""
    media: Media | None = None
    direction = "sendrecv"
    session_attributes: list[str] = []
    for line in (ln.strip() for ln in lines):
        kind, eq, value = line.partition("=")
        if not line:
            continue
        if not eq or len(kind) != 1:
            raise SdpError(f"bad SDP line {line[:40]!r}")
        if kind == "c":
            parts = value.split()
            if len(parts) != 3 or parts[:2] != ["IN", "IP4"]:
                raise SdpError("only IN IP4 connection addresses are supported")
            if media is None:
                session_address = parts[2]
            else:
                media.address = parts[2]
        elif kind == "m":
            if media is not None:
                break  # the first audio stream is the call's; later streams are not used
            parts = value.split()
            if len(parts) < 4 or parts[0] != "audio" or not parts[1].isdigit() or not parts[2].startswith("RTP/"):
                raise SdpError("the first media stream is not RTP audio")
            if not all(p.isdigit() for p in parts[3:]):
                raise SdpError("bad payload type list")
            media = Media(session_address, int(parts[1]),
                          {int(p): STATIC.get(int(p), "") for p in parts[3:]}, direction, list(session_attributes),
                          parts[2])
        elif kind == "a" and media is not None:
            media.attributes.append(value)
            if value.startswith("rtpmap:"):
                pt, _, enc = value[7:].partition(" ")
                if pt.isdigit() and int(pt) in media.payloads:
                    media.payloads[int(pt)] = enc.split("/")[0].upper()
            elif value in DIRECTIONS:
                media.direction = value
            elif value.startswith("crypto:"):
                media.cryptos.append(value[7:])
        elif kind == "a":
            session_attributes.append(value)
            direction = value if value in DIRECTIONS else direction
    if media is None:
        raise SdpError("no audio stream offered")
    if not media.address:
        raise SdpError("no connection address")
    return media


def build(address: str, port: int, payloads: list[tuple[int, str]], direction: str = "sendrecv",
          dtmf: int | None = DTMF_PAYLOAD, profile: str = "RTP/AVP", attributes: Iterable[str] = (),
          origin: tuple[int, int] | None = None) -> bytes:
    """`payloads`: (payload type, encoding name) of codecs.py's codecs; `attributes` follow the
    rtpmaps (a=crypto, ICE's candidates, ...); `origin`: the session id and version (RFC 3264 8:
    the same id for the whole call, the version one up whenever the description changes)."""
    session, version = origin or (secrets.randbelow(2**31),) * 2
    types = [pt for pt, _ in payloads] + ([dtmf] if dtmf is not None else [])
    lines = ["v=0", f"o=vigil {session} {version} IN IP4 {address}", "s=Vigil call", f"c=IN IP4 {address}",
             "t=0 0", f"m=audio {port} {profile} {' '.join(map(str, types))}"]
    for pt, name in payloads:
        codec = codecs.BY_ENCODING[name]
        lines.append(f"a=rtpmap:{pt} {codec.rtpmap}")
        if codec.fmtp:
            lines.append(f"a=fmtp:{pt} {codec.fmtp}")
    if dtmf is not None:
        lines += [f"a=rtpmap:{dtmf} telephone-event/8000", f"a=fmtp:{dtmf} 0-15"]
    lines += [f"a={attribute}" for attribute in attributes]
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()


def offer_payloads(priority: list[str]) -> list[tuple[int, str]]:
    return [(codecs.CODECS[p].payload_type, codecs.CODECS[p].encoding) for p in priority]


def answer_direction(offered: str) -> str:
    return {"sendonly": "recvonly", "recvonly": "sendonly"}.get(offered, offered)
