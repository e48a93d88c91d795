"""The ONVIF audio backchannel on a served C1410: GStreamer's `rtspsrc backchannel=onvif` sends
a tone over the sendonly track and the speaker's sink hears it; without `Require:
www.onvif.org/ver20/backchannel` the SDP has no such track; over UDP it is refused (461)."""

from __future__ import annotations

import asyncio
import base64
import math
from pathlib import Path

from tests.conftest import ADMIN
from tests.playback.conftest import sink
from vigil.device import Device
from vigil.features.playback.backchannel import rtp_payload
from vigil.features.playback.service import PLAYBACK_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency, level_dbfs

CLIENT = Path(__file__).resolve().parent.parent / "peers" / "gst_backchannel.py"


def url(device: Device) -> str:
    return f"rtsp://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{device.ports.rtsp}/axis-media/media.amp?audio=1"


async def test_gstreamer_talks_through_the_speaker(served: Device):
    proc = await asyncio.create_subprocess_exec("/usr/bin/python3", str(CLIENT), url(served), "--seconds", "1",
                                                "--frequency", "1000", stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 40)
    assert proc.returncode == 0, err.decode()
    player = served.features[PLAYBACK_SERVICE].player
    while player.live:  # the last 100 ms
        await asyncio.sleep(0.05)
    heard = audible(sink(served).sink_samples(), -60.0)
    assert abs(len(heard) / RATE - 1.0) < 0.15, len(heard) / RATE
    assert abs(dominant_frequency(heard) - 1000) < 20
    assert abs(level_dbfs(heard) - level_dbfs_of_volume(0.35)) < 1.5


def level_dbfs_of_volume(volume: float) -> float:
    """The RMS level of audiotestsrc's sine at `volume` (a fraction of full scale)."""
    return 20 * math.log10(volume / math.sqrt(2))


async def rtsp(device: Device, request: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", device.ports.rtsp)
    writer.write(request.encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0)
    body = await reader.readexactly(length) if length else b""
    writer.close()
    return (head + body).decode()


async def test_the_track_is_offered_only_to_who_requires_it(served: Device):
    auth = "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    target = f"rtsp://127.0.0.1:{served.ports.rtsp}/axis-media/media.amp?audio=1"
    plain = await rtsp(served, f"DESCRIBE {target} RTSP/1.0\r\nCSeq: 1\r\nAuthorization: {auth}\r\n\r\n")
    assert "a=sendonly" not in plain and "a=recvonly" in plain
    asked = await rtsp(served, f"DESCRIBE {target} RTSP/1.0\r\nCSeq: 1\r\nAuthorization: {auth}\r\n"
                               f"Require: www.onvif.org/ver20/backchannel\r\n\r\n")
    assert "m=audio 0 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=sendonly" in asked
    udp = await rtsp(served, f"SETUP {target.replace('?', '/stream=1?')} RTSP/1.0\r\nCSeq: 2\r\n"
                             f"Authorization: {auth}\r\nRequire: www.onvif.org/ver20/backchannel\r\n"
                             f"Transport: RTP/AVP;unicast;client_port=40000-40001\r\n\r\n")
    assert udp.startswith("RTSP/1.0 461") and "interleaved" in udp


def test_rtp_payloads_are_read_with_csrcs_extension_and_padding():
    plain = bytes([0x80, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7]) + b"\xff" * 4
    assert rtp_payload(plain) == (0, b"\xff" * 4)
    rich = bytes([0xB1, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7]) + b"CSRC" + b"\xbe\xde\x00\x01" + b"EXT!" \
        + b"\x55\x55" + b"\x00\x02"
    assert rtp_payload(rich) == (8, b"\x55\x55")
    assert rtp_payload(b"\x40" + bytes(20)) is None and rtp_payload(b"\x80") is None
