"""RTSP/1.0 on the wire (RFC 2326): status codes, request parsing, the Transport header,
responses, and RTP packets framed for the RTSP connection (interleaved) or a datagram.

Nothing here holds state; the server (server.py) and the tracks use these helpers."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate

SERVER = "Vigil RTSP"
MAX_HEADER = 16 * 1024
MAX_BODY = 64 * 1024
REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 413: "Request Entity Too Large",
    451: "Parameter Not Understood", 453: "Not Enough Bandwidth", 454: "Session Not Found",
    455: "Method Not Valid in This State", 457: "Invalid Range", 461: "Unsupported Transport",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
    505: "RTSP Version not supported", 551: "Option not supported",
}
_RTP_HEADER = struct.Struct("!BBHII")
_INTERLEAVED = struct.Struct("!cBH")
_RTCP_REPORT = struct.Struct("!BBHI")
_SENDER_INFO = struct.Struct("!IIIII")
NTP_EPOCH = 2_208_988_800  # seconds from 1900 (NTP) to 1970 (Unix)
_CLOCK = re.compile(r"(\d{8})T(\d{6})(?:\.(\d{1,9}))?Z")
_NPT = re.compile(r"(?:(\d{1,9})|(\d{1,9}):([0-5]\d):([0-5]\d))(\.\d{1,9})?")
MAX_SCALE = 64.0  # the fastest Scale a PLAY may ask for, either way


class RtspError(Exception):
    """A request refused with `status`; the message is the response body, `headers` go with it,
    and `close` ends the connection after the response (the stream is out of step)."""

    def __init__(self, status: int, detail: str = "", headers: list[tuple[str, str]] | None = None,
                 close: bool = False) -> None:
        super().__init__(detail or REASONS.get(status, ""))
        self.status = status
        self.headers = headers or []
        self.close = close


@dataclass
class Request:
    method: str
    url: str
    version: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def cseq(self) -> str | None:
        return self.headers.get("cseq")

    @property
    def session_id(self) -> str | None:
        value = self.headers.get("session")
        return value.split(";", 1)[0].strip() if value else None

    @property
    def required(self) -> set[str]:
        """The option tags of the Require header (RFC 2326 12.32), e.g. `onvif-replay`."""
        return {tag.strip() for tag in self.headers.get("require", "").split(",") if tag.strip()}


def parse_request(head: bytes) -> Request:
    """Parse a request line and headers; raises RtspError(400/505) when malformed."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise RtspError(400, "request is not UTF-8", close=True) from None
    lines = text.replace("\r\n", "\n").split("\n")
    # Nothing a response echoes (the URL) or a client splits lines on may hide in a request.
    if not lines[0].isascii() or not lines[0].isprintable():
        raise RtspError(400, "malformed request line", close=True)
    if any(ch < " " and ch != "\t" for line in lines[1:] for ch in line):
        raise RtspError(400, "control character in a header", close=True)
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].replace("_", "").isalpha():
        raise RtspError(400, "malformed request line", close=True)
    method, url, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise RtspError(400, "malformed header line", close=True)
        headers[name.lower()] = value.strip()
    request = Request(method, url, version, headers)
    if not version.startswith("RTSP/"):
        raise RtspError(400, "not an RTSP request", close=True)
    if version != "RTSP/1.0":
        raise RtspError(505)
    cseq = headers.get("cseq")
    if cseq is None or not cseq.isdigit():
        raise RtspError(400, "missing or malformed CSeq")
    return request


def cseq_of(head: bytes) -> str | None:
    """The CSeq of a request that could not be parsed, to answer it in step."""
    for line in head.decode("latin-1").splitlines()[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "cseq" and value.strip().isdigit():
            return value.strip()
    return None


def response(status: int, cseq: str | None, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """A whole response, to go out in one write (the axis library reads each as one response)."""
    lines = [f"RTSP/1.0 {status} {REASONS.get(status, 'Error')}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    lines.append(f"Date: {formatdate(usegmt=True)}")
    lines.append(f"Server: {SERVER}")
    lines += [f"{k}: {v}" for k, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Transport:
    kind: str  # udp | tcp
    client_ports: tuple[int, int] = (0, 0)
    channels: tuple[int, int] = (0, 1)


def parse_transport(header: str) -> Transport:
    """The first acceptable of the client's comma-separated transport specifications."""
    for spec in header.split(","):
        fields = [f.strip() for f in spec.split(";") if f.strip()]
        if not fields:
            continue
        protocol = fields[0].upper()
        options = {}
        for f in fields[1:]:
            key, _, value = f.partition("=")
            options[key.lower()] = value
        if "multicast" in options:
            continue
        try:
            if protocol in ("RTP/AVP", "RTP/AVP/UDP") and "client_port" in options:
                ports = [int(p) for p in options["client_port"].split("-")]
                if not 1 <= len(ports) <= 2 or not all(0 < p < 65536 for p in ports):
                    continue
                return Transport("udp", client_ports=(ports[0], ports[-1] if len(ports) == 2 else ports[0] + 1))
            if protocol == "RTP/AVP/TCP":
                channels = [int(c) for c in options.get("interleaved", "0-1").split("-")]
                if not 1 <= len(channels) <= 2 or not all(0 <= c < 256 for c in channels):
                    continue
                return Transport("tcp", channels=(channels[0], channels[-1] if len(channels) == 2 else channels[0] + 1))
        except ValueError:
            continue
    raise RtspError(461)


def rtp_packet(payload_type: int, seq: int, timestamp: int, ssrc: int, payload: bytes, marker: bool = True,
               extension: bytes = b"") -> bytes:
    """A 12-byte RTP header (version 2, no padding or CSRC), the header `extension` if any
    (profile, length and words, as built whole), and the payload."""
    return _RTP_HEADER.pack(0x90 if extension else 0x80, (0x80 if marker else 0) | payload_type, seq & 0xFFFF,
                            timestamp & 0xFFFFFFFF, ssrc) + extension + payload


def interleaved(channel: int, packets: list[bytes]) -> bytes:
    """Packets framed for the RTSP connection (`$`, channel, length), joined for one write."""
    parts = []
    for packet in packets:
        parts.append(_INTERLEAVED.pack(b"$", channel, len(packet)))
        parts.append(packet)
    return b"".join(parts)


# -- PLAY -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlayRange:
    """A PLAY's Range: `npt` (seconds from the presentation's start) or `clock` (absolute UTC,
    epoch seconds). `start` None: from where the presentation is (npt=now-, or a range that
    gives only its end). The first point is where playing starts in either direction."""

    unit: str  # npt | clock
    start: float | None
    stop: float | None

    def header(self) -> str:
        """The range as a Range header value, in its own unit."""
        show = clock_time if self.unit == "clock" else _npt_time
        start = "now" if self.start is None and self.unit == "npt" else show(self.start) if self.start is not None else ""
        return f"{self.unit}={start}-{show(self.stop) if self.stop is not None else ''}"


@dataclass(frozen=True)
class Play:
    """What one PLAY asks (RFC 2326 with the ONVIF Streaming Specification's replay headers):
    where (`range`), how fast and which way (`scale`, negative: reverse), whether the server
    paces (`rate_control`) or sends as fast as the client reads, which frames (`frames`: all,
    intra or predicted; `intra_ms`: the least recording time between two intra frames), and
    `immediate` (a new position takes effect now). `cseq`'s low byte marks the packets it sent."""

    cseq: int = 0
    range: PlayRange | None = None
    scale: float = 1.0
    rate_control: bool = True
    frames: str = "all"
    intra_ms: int = 0
    immediate: bool = False

    @property
    def reverse(self) -> bool:
        return self.scale < 0


def clock_time(moment: float) -> str:
    """An absolute time as RFC 2326 writes it: 20261123T080000.000Z."""
    when = datetime.fromtimestamp(round(moment, 3), UTC)
    return when.strftime("%Y%m%dT%H%M%S") + f".{round(when.microsecond / 1000):03d}Z"


def _npt_time(seconds: float) -> str:
    return f"{seconds:.3f}"


def _clock_point(text: str) -> float:
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise RtspError(457, f"clock time {text[:40]!r} is not YYYYMMDDThhmmss[.fff]Z")
    try:
        when = datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise RtspError(457, f"clock time {text[:40]!r} is not a date") from None
    return when.timestamp() + (int(match.group(3)) / 10 ** len(match.group(3)) if match.group(3) else 0.0)


def _npt_point(text: str) -> float:
    match = _NPT.fullmatch(text)
    if match is None:
        raise RtspError(457, f"npt time {text[:40]!r} is not seconds or h:mm:ss")
    seconds, hours, minutes, secs, fraction = match.groups()
    whole = int(seconds) if seconds is not None else int(hours) * 3600 + int(minutes) * 60 + int(secs)
    return whole + (float(fraction) if fraction else 0.0)


def parse_range(header: str) -> PlayRange:
    """A Range header of npt or clock time (RFC 2326 3.6, 3.7); RtspError 457 for anything else."""
    unit, sep, spec = header.split(";", 1)[0].strip().partition("=")
    unit = unit.strip().lower()
    if not sep or unit not in ("npt", "clock"):
        raise RtspError(457, "Range is npt=... or clock=...")
    start_text, dash, stop_text = spec.strip().partition("-")
    if not dash:
        raise RtspError(457, "a Range has a start, a dash, and maybe a stop")
    point = _clock_point if unit == "clock" else _npt_point
    now = unit == "npt" and start_text == "now"
    start = None if now or not start_text else point(start_text)
    stop = point(stop_text) if stop_text else None
    if start is None and stop is None and not now:
        raise RtspError(457, "a Range needs a start or a stop")
    return PlayRange(unit, start, stop)


def parse_play(request: Request) -> Play:
    """The PLAY headers as a Play; RtspError 400/457 with the reason for a malformed one."""
    headers = request.headers
    play_range = parse_range(headers["range"]) if "range" in headers else None
    scale = 1.0
    if "scale" in headers:
        try:
            scale = float(headers["scale"])
        except ValueError:
            raise RtspError(400, "Scale is a number such as 1.0 or -1.0") from None
        if not (scale == scale and 0 < abs(scale) <= MAX_SCALE):  # NaN, 0 and inf are no speed
            raise RtspError(400, f"Scale is a number other than 0, at most {MAX_SCALE:g} either way")
    rate = headers.get("rate-control", "yes").strip().lower()
    if rate not in ("yes", "no"):
        raise RtspError(400, "Rate-Control is yes or no")
    frames, _, interval = headers.get("frames", "all").strip().lower().partition("/")
    if frames not in ("all", "intra", "predicted") or (interval and frames != "intra"):
        raise RtspError(400, "Frames is all, predicted, intra or intra/<milliseconds>")
    if interval and not (interval.isascii() and interval.isdigit() and len(interval) <= 9):
        raise RtspError(400, "the interval of Frames: intra/<milliseconds> is a whole number")
    immediate = headers.get("immediate", "no").strip().lower()
    if immediate not in ("yes", "no"):
        raise RtspError(400, "Immediate is yes or no")
    return Play(int(request.cseq or 0), play_range, scale, rate == "yes", frames, int(interval or 0),
                immediate == "yes")


def rtcp_sender_report(ssrc: int, wall: float, rtp_timestamp: int, packets: int, octets: int,
                       blocks: tuple[bytes, ...] = ()) -> bytes:
    """An RTCP SR (RFC 3550 6.4.1): the wall-clock moment `wall` (seconds since 1970) is
    `rtp_timestamp` in the stream's clock; `blocks` are 24-byte reception report blocks."""
    ntp = wall + NTP_EPOCH
    seconds = int(ntp)
    fraction = int((ntp - seconds) * (1 << 32)) & 0xFFFFFFFF
    return (_RTCP_REPORT.pack(0x80 | len(blocks), 200, 6 + 6 * len(blocks), ssrc)
            + _SENDER_INFO.pack(seconds & 0xFFFFFFFF, fraction, rtp_timestamp & 0xFFFFFFFF, packets & 0xFFFFFFFF,
                                octets & 0xFFFFFFFF) + b"".join(blocks))


def rtcp_receiver_report(ssrc: int, blocks: tuple[bytes, ...] = ()) -> bytes:
    """An RTCP RR (RFC 3550 6.4.2) of a participant that has not sent lately."""
    return _RTCP_REPORT.pack(0x80 | len(blocks), 201, 1 + 6 * len(blocks), ssrc) + b"".join(blocks)


def rtcp_bye(ssrc: int) -> bytes:
    """A compound RTCP packet saying `ssrc` has ended (RFC 3550 6.6): an empty receiver report
    first (a compound packet starts with a report) and the BYE."""
    return rtcp_receiver_report(ssrc) + _RTCP_REPORT.pack(0x81, 203, 1, ssrc)
