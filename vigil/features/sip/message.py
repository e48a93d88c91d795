"""SIP messages (RFC 3261 §7): parsing a datagram or stream frame into a request or response,
building them, and the header helpers the user agent needs (tags, URIs, Via branches), plus
HTTP-style digest authentication (RFC 3261 §22, RFC 2617) for REGISTER and INVITE challenges."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
           "c": "content-type", "k": "supported", "s": "subject"}
METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO")
REQUEST_LINE = re.compile(r"([A-Z]+) (\S+) SIP/2\.0")
STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6][0-9][0-9]) ?(.*)")
URI = re.compile(r"<?(sips?):(?:([^@;>]+)@)?([^;>:]+)(?::([0-9]+))?")
MAGIC = "z9hG4bK"  # RFC 3261 branch prefix


class SipParseError(ValueError):
    """Not a SIP message this agent can read; the text says why (it goes into a 400's reason)."""


@dataclass
class Message:
    first: str  # request line or status line
    headers: list[tuple[str, str]] = field(default_factory=list)  # (lower-case full name, value), in order
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return not self.first.startswith("SIP/2.0")

    @property
    def method(self) -> str:
        return self.first.split(" ", 1)[0] if self.is_request else self.cseq[1]

    @property
    def uri(self) -> str:
        return self.first.split(" ")[1]

    @property
    def status(self) -> int:
        return int(self.first.split(" ")[1])

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = self.get("cseq").partition(" ")
        return int(number), method.strip()

    def get(self, name: str, default: str = "") -> str:
        return next((v for n, v in self.headers if n == name), default)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name]

    def set(self, name: str, value: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n != name] + [(name, value)]

    def encode(self) -> bytes:
        lines = [self.first] + [f"{pretty(n)}: {v}" for n, v in self.headers if n != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def pretty(name: str) -> str:
    special = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate"}
    return special.get(name, "-".join(p.capitalize() for p in name.split("-")))


def parse(data: bytes) -> Message:
    """One message; SipParseError when it is none (start line, header syntax, the headers every
    request must have, Content-Length)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise SipParseError("no empty line after the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("headers are not UTF-8") from None
    lines = text.split("\r\n")
    while lines and not lines[0]:
        lines.pop(0)  # RFC 3261 7.5: empty lines before the start line are ignored
    if not lines or not (REQUEST_LINE.fullmatch(lines[0]) or STATUS_LINE.fullmatch(lines[0])):
        raise SipParseError("bad start line")
    msg = Message(lines[0])
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and msg.headers:  # folded continuation
            n, v = msg.headers[-1]
            msg.headers[-1] = (n, v + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            raise SipParseError(f"bad header line {line[:40]!r}")
        key = name.strip().lower()
        msg.headers.append((COMPACT.get(key, key), value.strip()))
    for required in ("via", "from", "to", "call-id", "cseq"):
        if not msg.get(required):
            raise SipParseError(f"missing {pretty(required)} header")
    number, _, method = msg.get("cseq").partition(" ")
    if not number.isdigit() or not method.strip():
        raise SipParseError("bad CSeq header")
    if msg.is_request and method.strip() != msg.first.split(" ")[0]:
        raise SipParseError("CSeq method differs from the request method")
    length = msg.get("content-length")
    if length:
        if not length.isdigit() or int(length) > len(body):
            raise SipParseError("Content-Length does not match the body")
        body = body[:int(length)]
    msg.body = body
    return msg


def param(header: str, name: str) -> str:
    found = re.search(rf";\s*{name}=([^;>,\s]+)", header)
    return found.group(1) if found else ""


def tag(header: str) -> str:
    return param(header, "tag")


def new_tag() -> str:
    return secrets.token_hex(5)


def new_branch() -> str:
    return MAGIC + secrets.token_hex(8)


def uri_user(header: str) -> str:
    found = URI.search(header)
    return (found.group(2) or "") if found else ""


def uri_address(header: str, default_port: int = 5060) -> tuple[str, int] | None:
    """(host, port) of the first SIP URI in a header or URI."""
    found = URI.search(header)
    if not found:
        return None
    return found.group(3), int(found.group(4) or default_port)


def response(request: Message, status: int, reason: str, to_tag: str = "", body: bytes = b"",
             extra: list[tuple[str, str]] | None = None) -> Message:
    """The response to `request` (RFC 3261 8.2.6: Via, From, Call-ID and CSeq copied; To with our tag)."""
    out = Message(f"SIP/2.0 {status} {reason}")
    out.headers += [("via", v) for v in request.all("via")]
    to = request.get("to")
    if to_tag and not tag(to):
        to += f";tag={to_tag}"
    out.headers += [("from", request.get("from")), ("to", to), ("call-id", request.get("call-id")),
                    ("cseq", request.get("cseq"))]
    out.headers += extra or []
    out.body = body
    return out


# -- digest authentication ---------------------------------------------------------------
def challenge_fields(header: str) -> dict[str, str]:
    return {k.lower(): v1 or v2 for k, v1, v2 in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', header)}


def digest(challenge: str, method: str, uri: str, user: str, password: str, nc: int = 1) -> str:
    """The Authorization value answering a WWW-/Proxy-Authenticate `challenge` (MD5, qop auth or none)."""
    f = challenge_fields(challenge)
    realm, nonce = f.get("realm", ""), f.get("nonce", "")
    algorithm = f.get("algorithm", "MD5")
    if algorithm.upper() not in ("MD5", "SHA-256"):
        raise ValueError(f"unsupported digest algorithm {algorithm}")
    h = (lambda s: hashlib.sha256(s.encode()).hexdigest()) if algorithm.upper() == "SHA-256" else (
        lambda s: hashlib.md5(s.encode()).hexdigest())  # noqa: S324 - MD5 is what SIP digest asks for
    ha1, ha2 = h(f"{user}:{realm}:{password}"), h(f"{method}:{uri}")
    value = f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm={algorithm}'
    if "auth" in [q.strip() for q in f.get("qop", "").split(",")]:
        cnonce, count = secrets.token_hex(8), f"{nc:08x}"
        answer = h(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        value += f', qop=auth, nc={count}, cnonce="{cnonce}"'
    else:
        answer = h(f"{ha1}:{nonce}:{ha2}")
    value += f', response="{answer}"'
    if "opaque" in f:
        value += f', opaque="{f["opaque"]}"'
    return value
