"""Testing a camera before (or without) recording it: the RTSP handshake the recorder runs,
then the stream itself until its first key frame, so that the answer is what the camera
really sends (codec, size, audio), not only what its SDP claims.

A camera that announces one thing and sends another (an SDP whose parameter sets give another
size than the stream's, or a codec whose key frames never come) is reported as such: the
recorder would store footage whose description is wrong, or none at all.
"""

from __future__ import annotations

import select
import time
from dataclasses import dataclass

from vigil.features.recording.ingest import READ_CHUNK, Connection, Gop
from vigil.features.recording.rtp import AccessUnit
from vigil.features.recording.rtsp_client import RtspError, connect
from vigil.footage.h26x import h264_size, h265_size, sdp_parameter_sets

CONNECT_TIMEOUT = 5.0
KEY_FRAME_TIMEOUT = 6.0  # cameras send a key frame at least every few seconds


@dataclass(frozen=True)
class CameraReport:
    codec: str  # H264 | H265
    width: int
    height: int
    audio: str  # the audio codec, "" for none
    transport: str

    def public(self) -> dict[str, str | int]:
        return {"video": self.codec, "width": self.width, "height": self.height, "audio": self.audio,
                "transport": self.transport}


def _size(codec: str, sps: bytes) -> tuple[int, int] | None:
    """The picture size of an SPS, or None when it does not parse as the codec's SPS."""
    try:
        width, height = (h264_size if codec == "H264" else h265_size)(sps)
    except (IndexError, ValueError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def _sdp_size(codec: str, fmtp: dict[str, str]) -> tuple[int, int] | None:
    for nal in sdp_parameter_sets(fmtp):
        if nal and ((nal[0] & 0x1F) == 7 if codec == "H264" else (nal[0] >> 1) & 0x3F == 33):
            return _size(codec, nal)
    return None


def probe(url: str, username: str, password: str, transport: str = "tcp",
          key_frame_timeout: float = KEY_FRAME_TIMEOUT) -> CameraReport:
    """Connect, DESCRIBE, SETUP and PLAY as the recorder does, and read until the first key
    frame; RtspError with the reason when the camera refuses, cannot be reached or lies."""
    session, leftover = connect(url, username, password, timeout=CONNECT_TIMEOUT, transport=transport)
    keys: list[tuple[str, tuple[bytes, bytes, bytes]]] = []

    def on_key(_source: str, codec: str, params: tuple[bytes, bytes, bytes], _unit: AccessUnit,
               _at: float) -> None:
        keys.append((codec, params))

    def ignore_gop(_conn: Connection, _gop: Gop) -> None:
        """Nothing is recorded while testing."""

    lost: list[str] = []
    connection = Connection("test", session, ignore_gop, lambda _c, reason: lost.append(reason), time.monotonic)
    connection.on_key = on_key
    try:
        connection.setup(leftover)
        sockets = [session.sock, *(pair[0] for pair in session.udp.values())]
        for sock in sockets:
            sock.setblocking(False)
        buffer = bytearray(READ_CHUNK)
        deadline = time.monotonic() + key_frame_timeout
        while not keys and not lost and time.monotonic() < deadline:
            select.select(sockets, [], [], max(deadline - time.monotonic(), 0))
            connection.pump(buffer, time.monotonic())
    finally:
        connection.close(teardown=True)
    video = connection.video
    assert video is not None  # connect() refuses a camera without video
    announced = "H.264" if video.codec == "H264" else "H.265"
    if lost:
        raise RtspError(f"the camera stopped sending: {lost[0]}")
    if not keys:
        raise RtspError(f"the camera sent no {announced} key frame in {key_frame_timeout:g} s (its SDP "
                        f"announces {announced}; it may send another codec)")
    codec, (_vps, sps, _pps) = keys[0]
    size = _size(codec, sps)
    if size is None:
        raise RtspError(f"the camera's {announced} parameter sets cannot be read (its SDP announces {announced}; "
                        "it may send another codec)")
    claimed = _sdp_size(codec, video.fmtp)
    if claimed is not None and claimed != size:
        raise RtspError(f"the camera's SDP announces {claimed[0]}x{claimed[1]} but it sends {size[0]}x{size[1]}")
    audio = connection.audio.codec if connection.audio is not None else ""
    return CameraReport(codec, size[0], size[1], audio, transport)
