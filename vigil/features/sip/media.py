"""A call's RTP media (RFC 3550) with G.711 (RFC 3551) through the audio layer: the far end's
packets are decoded and played as a live stream of the speaker's player (the call takes the
speaker the way transmit.cgi and the backchannel do), the microphone's blocks are encoded and
sent every 20 ms, and RFC 4733 telephone-events are turned into DTMF digits (one per event,
however many times its end packet is repeated)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
from collections.abc import Callable
from typing import Protocol

import numpy as np

from vigil.core.logs import Logs
from vigil.features.audio.service import AudioService
from vigil.features.playback.backchannel import rtp_payload
from vigil.features.playback.decode import ALAW, MULAW, StreamDecoder
from vigil.features.playback.player import Player, SpeakerBusy
from vigil.hal.audio import RATE, AudioError

log = logging.getLogger("vigil.sip")

ENCODINGS = {"PCMU": "mulaw", "PCMA": "alaw"}
CLOCK = 8000
PACKET = CLOCK // 50  # samples per 20 ms packet
EVENTS = "0123456789*#ABCD"  # RFC 4733 event codes 0-15
QUEUE = 500


def _encoder(table: np.ndarray) -> np.ndarray:
    """int16 (as uint16 index) -> the G.711 code whose decoded value is nearest."""
    order = np.argsort(table)
    values = table[order].astype(np.int32)
    x = np.arange(-32768, 32768, dtype=np.int32)
    at = np.clip(np.searchsorted(values, x), 1, 255)
    nearer = np.where(np.abs(values[at - 1] - x) <= np.abs(values[at] - x), at - 1, at)
    codes = order[nearer].astype(np.uint8)
    return np.roll(codes, -32768)  # index by the uint16 view of the sample


ENCODE = {"PCMU": _encoder(MULAW), "PCMA": _encoder(ALAW)}


def encode(samples: np.ndarray, codec: str) -> bytes:
    return ENCODE[codec][samples.astype(np.int16).view(np.uint16)].tobytes()


def to_8k(block: np.ndarray) -> np.ndarray:
    """48 kHz block -> 8 kHz, averaging each 6 samples (a crude low-pass before decimation)."""
    factor = RATE // CLOCK
    usable = len(block) - len(block) % factor
    return block[:usable].astype(np.int32).reshape(-1, factor).mean(axis=1).astype(np.int16)


class Datagrams(Protocol):
    """Where a session's packets go: its UDP socket, or a path nat.py opens (a TURN relay, ICE)."""

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None: ...

    def is_closing(self) -> bool: ...

    def close(self) -> None: ...


class RtpProtocol(asyncio.DatagramProtocol):
    def __init__(self, session: RtpSession) -> None:
        self.session = session

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.session.received(data)


class RtpSession:
    """Media of one call: bound to a local port, sending to the far end's address and port."""

    def __init__(self, player: Player | None, audio: AudioService | None, logs: Logs,
                 on_dtmf: Callable[[str], None], name: str, priority: Callable[[], int] | None = None) -> None:
        # player and audio are None on a device without a speaker: its calls offer no audio ("inactive")
        self.player, self.audio, self.logs, self.on_dtmf, self.name = player, audio, logs, on_dtmf, name
        self.priority = priority  # against the multicast controller's streams (Player.live_stream)
        self.transport: Datagrams | None = None
        self.remote: tuple[str, int] | None = None
        self.codec, self.payload_type, self.dtmf_payload = "PCMU", 0, None
        self.send_audio, self.play_audio = True, True
        self.ssrc = secrets.randbits(32)
        self.sequence = secrets.randbits(16)
        self.timestamp = secrets.randbits(32)
        self.packets: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE)
        self._last_event: int | None = None  # RTP timestamp of the last DTMF event reported
        self._play_task: asyncio.Task | None = None
        self._pending = np.zeros(0, np.int16)
        self.received_packets = 0

    async def bind(self, host: str, first_port: int,
                   protocol: Callable[[], asyncio.DatagramProtocol] | None = None, count: int = 1000) -> int:
        loop = asyncio.get_running_loop()
        for port in range(first_port, first_port + count, 2):  # RTP on even ports (RFC 3550 11)
            try:
                self.transport, _ = await loop.create_datagram_endpoint(protocol or (lambda: RtpProtocol(self)),
                                                                        local_addr=(host, port))
                return port
            except OSError:
                continue
        raise OSError(f"no free RTP port from {first_port}")

    def attach(self, transport: Datagrams) -> None:
        """Send and receive over `transport` instead of an own socket (nat.py: a TURN relay, ICE)."""
        self.transport = transport

    def start(self, remote: tuple[str, int], codec: str, payload_type: int, dtmf_payload: int | None,
              direction: str) -> None:
        self.remote, self.codec, self.payload_type, self.dtmf_payload = remote, codec, payload_type, dtmf_payload
        self.send_audio = direction in ("sendrecv", "sendonly")
        self.play_audio = direction in ("sendrecv", "recvonly")
        if self.play_audio and self.player is not None:
            self._play_task = asyncio.get_running_loop().create_task(self._play())
        if self.send_audio and self.audio is not None:
            try:
                self.audio.listen(self._on_block)
            except AudioError as err:
                self.logs.system(f"SIP call {self.name}: the microphone is not sent: {err}", "warning")

    def stop(self) -> None:
        if self.audio is not None:
            self.audio.unlisten(self._on_block)
        with contextlib.suppress(asyncio.QueueFull):
            self.packets.put_nowait(None)
        if self._play_task is not None and self.packets.full():
            self._play_task.cancel()
        if self.transport is not None:
            self.transport.close()

    # -- to the far end -----------------------------------------------------------------
    def _on_block(self, block: np.ndarray) -> None:
        self._pending = np.concatenate([self._pending, to_8k(block)])
        while len(self._pending) >= PACKET:
            chunk, self._pending = self._pending[:PACKET], self._pending[PACKET:]
            self._send(self.payload_type, encode(chunk, self.codec), PACKET)

    def _send(self, payload_type: int, payload: bytes, ticks: int, marker: bool = False) -> None:
        if self.transport is None or self.remote is None or self.transport.is_closing():
            return
        header = struct.pack("!BBHII", 0x80, payload_type | (0x80 if marker else 0), self.sequence,
                             self.timestamp, self.ssrc)
        self.transport.sendto(header + payload, self.remote)
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + ticks) & 0xFFFFFFFF

    # -- from the far end ---------------------------------------------------------------
    def received(self, packet: bytes) -> None:
        found = rtp_payload(packet)
        if found is None:
            return
        self.received_packets += 1
        kind, payload = found
        if kind == self.dtmf_payload and self.dtmf_payload is not None:
            self._dtmf(packet, payload)
        elif kind == self.payload_type and self.play_audio:
            with contextlib.suppress(asyncio.QueueFull):  # faster than real time: the excess is lost
                self.packets.put_nowait(payload)

    def _dtmf(self, packet: bytes, payload: bytes) -> None:
        if len(payload) < 4 or not payload[1] & 0x80:  # reported at its end (E bit)
            return
        timestamp = struct.unpack("!I", packet[4:8])[0]
        if timestamp == self._last_event or payload[0] >= len(EVENTS):
            return  # the end packet is sent three times (RFC 4733 2.5.1.4)
        self._last_event = timestamp
        self.on_dtmf(EVENTS[payload[0]])

    async def _play(self) -> None:
        decoder = StreamDecoder(ENCODINGS[self.codec], CLOCK)
        assert self.player is not None
        try:
            async with self.player.live_stream(self.priority, f"SIP call {self.name}") as play:
                while (payload := await self.packets.get()) is not None:
                    samples = decoder.decode(payload)
                    if len(samples):
                        await play(samples)
                if len(tail := decoder.flush()):
                    await play(tail)
        except SpeakerBusy as err:
            self.logs.system(f"SIP call {self.name} is not played: {err}", "warning")
        except AudioError as err:
            self.logs.system(f"SIP call {self.name}: the speaker stopped: {err}", "warning")
