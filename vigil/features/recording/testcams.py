"""Built-in test cameras: an RTSP server on 127.0.0.1 that plays a generated clip in a loop,
so that a recorder records something the moment it starts (`vigil run --test-cameras N`).

The clip (a moving test pattern with a clock) is encoded once with PyAV and kept in the data
folder; the server sends it as H.264 over RTP interleaved in the RTSP connection, paced in real
time, with parameter sets before every key frame as cameras do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

from vigil.footage.h26x import config_parameter_sets, h264_size
from vigil.rtsp.packetize import packetize

log = logging.getLogger("vigil.testcams")


@dataclass(frozen=True)
class Frame:
    nals: tuple[bytes, ...]
    key: bool
    duration: int  # 90 kHz ticks


@dataclass(frozen=True)
class Clip:
    sps: bytes
    pps: bytes
    frames: tuple[Frame, ...]
    width: int
    height: int


def make_clip(path: Path, width: int = 1280, height: int = 720, fps: int = 15, seconds: int = 6,
              bitrate: int = 1_000_000) -> None:
    """Encode a test-pattern clip: H.264, one key frame per second, no B-frames."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    source = av.open(f"testsrc2=size={width}x{height}:rate={fps}", format="lavfi")
    out = av.open(str(tmp), "w")
    stream = out.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.bit_rate = bitrate
    ctx = stream.codec_context
    ctx.gop_size = fps
    ctx.max_b_frames = 0
    ctx.thread_count = 1
    ctx.options = {"preset": "ultrafast", "bf": "0", "g": str(fps), "keyint_min": str(fps), "sc_threshold": "0"}
    for n, frame in enumerate(source.decode(video=0)):
        if n >= fps * seconds:
            break
        frame.pict_type = 0  # the test source marks every frame intra; let the encoder choose
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    source.close()
    tmp.replace(path)


def load_clip(path: Path) -> Clip:
    import av


    container = av.open(str(path))
    stream = container.streams.video[0]
    _, sps, pps = config_parameter_sets("H264", bytes(stream.codec_context.extradata or b""))
    frames = []
    rate = stream.average_rate or 15
    tick = int(90000 / float(rate))
    for packet in container.demux(stream):
        data = bytes(packet)
        if not data:
            continue
        nals = []
        at = 0
        while at + 4 <= len(data):
            size = int.from_bytes(data[at:at + 4], "big")
            nal = data[at + 4:at + 4 + size]
            if nal and (nal[0] & 0x1F) not in (7, 8, 9):
                nals.append(nal)
            at += 4 + size
        frames.append(Frame(tuple(nals), bool(packet.is_keyframe), tick))
    container.close()
    width, height = h264_size(sps)
    return Clip(sps, pps, tuple(frames), width, height)


class TestCameraServer:
    """RTSP server for the clips; paths /testcam1 ... /testcamN all play the same clip."""

    def __init__(self, clip: Clip, count: int, host: str = "127.0.0.1") -> None:
        self.clip = clip
        self.count = count
        self.host = host
        self.port = 0
        self.plays = 0  # PLAY requests that started a stream, since start
        self._server: asyncio.AbstractServer | None = None

    def url(self, number: int) -> str:
        return f"rtsp://{self.host}:{self.port}/testcam{number}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def _sdp(self, path: str) -> str:
        import base64

        sprop = base64.b64encode(self.clip.sps).decode() + "," + base64.b64encode(self.clip.pps).decode()
        level = self.clip.sps[1:4].hex()
        return (f"v=0\r\no=- 0 0 IN IP4 {self.host}\r\ns=Vigil test camera\r\nt=0 0\r\n"
                f"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                f"a=fmtp:96 packetization-mode=1;profile-level-id={level};sprop-parameter-sets={sprop}\r\n"
                f"a=control:rtsp://{self.host}:{self.port}{path}/track1\r\n")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        playing: asyncio.Task | None = None
        session = "VT" + format(id(writer) & 0xFFFFFF, "06X")
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, url, _ = (lines[0].split(" ") + ["", ""])[:3]
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                cseq = headers.get("cseq", "0")
                path = "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0] if "://" in url else url
                camera = path.split("/")[1] if path.count("/") >= 1 else ""
                if camera not in {f"testcam{n}" for n in range(1, self.count + 1)} and method != "OPTIONS":
                    writer.write(f"RTSP/1.0 404 Not Found\r\nCSeq: {cseq}\r\n\r\n".encode())
                    continue
                base = f"/{camera}"
                if method == "OPTIONS":
                    reply = "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n"
                    writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{reply}\r\n".encode())
                elif method == "DESCRIBE":
                    sdp = self._sdp(base).encode()
                    writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\n"
                                 f"Content-Base: rtsp://{self.host}:{self.port}{base}/\r\n"
                                 f"Content-Length: {len(sdp)}\r\n\r\n".encode() + sdp)
                elif method == "SETUP":
                    if "interleaved" not in headers.get("transport", ""):
                        writer.write(f"RTSP/1.0 461 Unsupported Transport\r\nCSeq: {cseq}\r\n\r\n".encode())
                        continue
                    writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: {session};timeout=60\r\n"
                                 f"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n".encode())
                elif method == "PLAY":
                    writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: {session}\r\n\r\n".encode())
                    if playing is None:
                        self.plays += 1
                        playing = asyncio.ensure_future(self._play(writer))
                elif method in ("GET_PARAMETER", "SET_PARAMETER"):
                    writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: {session}\r\n\r\n".encode())
                elif method == "TEARDOWN":
                    writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\r\n".encode())
                    break
                else:
                    writer.write(f"RTSP/1.0 501 Not Implemented\r\nCSeq: {cseq}\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            if playing is not None:
                playing.cancel()
            writer.close()

    async def _play(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        seq = 0
        timestamp = 0
        started = loop.time()
        elapsed = 0
        ssrc = id(writer) & 0xFFFFFFFF
        try:
            while True:
                for frame in self.clip.frames:
                    nals = ((self.clip.sps, self.clip.pps) if frame.key else ()) + frame.nals
                    packets = []
                    for i, nal in enumerate(nals):
                        packets += packetize(nal, i == len(nals) - 1)
                    out = bytearray()
                    for payload, marker in packets:
                        rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, seq & 0xFFFF,
                                          timestamp & 0xFFFFFFFF, ssrc) + payload
                        out += struct.pack("!BBH", 0x24, 0, len(rtp)) + rtp
                        seq += 1
                    writer.write(bytes(out))
                    timestamp += frame.duration
                    elapsed += frame.duration
                    delay = started + elapsed / 90000 - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if writer.transport.get_write_buffer_size() > 4_000_000:
                        return  # the client stopped reading
        except (ConnectionError, asyncio.CancelledError):
            return
