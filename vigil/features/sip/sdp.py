"""SDP offer/answer for audio calls (RFC 4566, RFC 3264): what the far end offers or answers
(address, port, payload types with their codecs, telephone-event, direction), and the device's
offer or answer with G.711 µ-law/A-law in the order of the codec priority list and RFC 4733
telephone-event for DTMF."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

STATIC = {0: "PCMU", 8: "PCMA"}  # RFC 3551 static payload types
CODEC_NAMES = {"pcmu": "PCMU", "pcma": "PCMA"}  # codec priority list entries -> rtpmap names
DTMF_PAYLOAD = 101
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
                          {int(p): STATIC.get(int(p), "") for p in parts[3:]}, direction, list(session_attributes))
        elif kind == "a" and media is not None:
            media.attributes.append(value)
            if value.startswith("rtpmap:"):
                pt, _, enc = value[7:].partition(" ")
                if pt.isdigit() and int(pt) in media.payloads:
                    media.payloads[int(pt)] = enc.split("/")[0].upper()
            elif value in DIRECTIONS:
                media.direction = value
        elif kind == "a":
            session_attributes.append(value)
            direction = value if value in DIRECTIONS else direction
    if media is None:
        raise SdpError("no audio stream offered")
    if not media.address:
        raise SdpError("no connection address")
    return media


def build(address: str, port: int, payloads: list[tuple[int, str]], direction: str = "sendrecv",
          dtmf: int | None = DTMF_PAYLOAD, attributes: list[str] | None = None) -> bytes:
    session = secrets.randbelow(2**31)
    types = [pt for pt, _ in payloads] + ([dtmf] if dtmf is not None else [])
    lines = ["v=0", f"o=vigil {session} {session} IN IP4 {address}", "s=Vigil call", f"c=IN IP4 {address}",
             "t=0 0", f"m=audio {port} RTP/AVP {' '.join(map(str, types))}"]
    lines += [f"a=rtpmap:{pt} {name}/8000" for pt, name in payloads]
    if dtmf is not None:
        lines += [f"a=rtpmap:{dtmf} telephone-event/8000", f"a=fmtp:{dtmf} 0-15"]
    lines += ["a=ptime:20", f"a={direction}"] + [f"a={x}" for x in attributes or ()]
    return ("\r\n".join(lines) + "\r\n").encode()


def offer_payloads(priority: list[str]) -> list[tuple[int, str]]:
    by_name = {v: k for k, v in STATIC.items()}
    return [(by_name[CODEC_NAMES[p]], CODEC_NAMES[p]) for p in priority]


def answer_direction(offered: str) -> str:
    return {"sendonly": "recvonly", "recvonly": "sendonly"}.get(offered, offered)
