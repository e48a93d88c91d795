"""The camera feed the ingest hands live video to (vigil/features/recording/relay.py): RTP
packets are collected for the RTSP relay only while it has clients; a browser viewer alone
gets frames, not packets."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from types import SimpleNamespace

from tests.rtsp.test_relay import FakeOutlet, stream
from vigil.features.recording.ingest import Connection
from vigil.features.recording.relay import CameraFeed
from vigil.features.recording.rtsp_client import Track
from vigil.rtsp.relay import RtpRelay


def interleaved(packets: list[bytes]) -> bytes:
    return b"".join(b"$" + struct.pack("!BH", 0, len(p)) + p for p in packets)


async def test_packets_are_collected_for_rtsp_clients_only() -> None:
    ours, camera = socket.socketpair()
    ours.setblocking(False)
    session = SimpleNamespace(sock=ours, udp={}, timeout=60,
                              tracks=[Track("video", "H264", 90000, 96, "trackID=1", interleaved=0)])
    connection = Connection("cam1", session, lambda c, g: None, lambda c, reason: None, time.time)  # type: ignore[arg-type]
    connection.setup(b"")
    relay = RtpRelay("H264")
    feed = CameraFeed(relay, SimpleNamespace(watched=True), connection, asyncio.get_running_loop())  # type: ignore[arg-type]
    connection.live = feed
    frames = stream(10)
    try:
        assert feed.watched and not feed.relayed  # a browser watches: fast passes, but no packets
        camera.sendall(interleaved([p for f in frames[:5] for p in f]))
        connection.pump(bytearray(1 << 16), time.monotonic())
        await asyncio.sleep(0)
        assert relay.packets == 0
        outlet = FakeOutlet()
        relay.add(outlet)  # an RTSP client: from now on every packet goes to the relay
        assert feed.relayed
        camera.sendall(interleaved([p for f in frames[5:] for p in f]))
        connection.pump(bytearray(1 << 16), time.monotonic())
        await asyncio.sleep(0)
        assert relay.packets == sum(len(f) for f in frames[5:]) and outlet.got
    finally:
        ours.close()
        camera.close()
