"""A call's media through the audio layer: RTP (RFC 3550) on an even port with its RTCP on the
next (rtcp.py: reports every few seconds, a BYE at the end), SRTP when the offer/answer agreed
on keys (srtp.py), in the codec it chose (codecs.py). The far end's packets are decoded and
played as a live stream of the speaker's player (the call takes the speaker the way
transmit.cgi and the backchannel do), the microphone's periods are encoded and sent as 20 ms packets,
and RFC 4733 telephone-events are turned into DTMF digits (one per event, however many times
its end packet is repeated). A new offer/answer (re-INVITE, hold) is applied to the running
session: hold stops sending (and playing, when inactive), resume starts them again. The packets
go over the session's own sockets, or over the path nat.py opens (a TURN relay, ICE: `attach`).
On a device without a speaker (no player, no microphone) a call carries no audio.

While the microphone is sent, its periods (40 ms, hal.audio.PERIOD) clock the call: the RTP
socket is not watched by the event loop, and each period first takes in what the far end sent
since the last one, then sends the period's two packets. A call then wakes the device 25 times a
second instead of once per packet each way (a wake-up, and the cold caches after it, cost more
than the work done in it: bench/sip.py), for at most 40 ms more latency."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import socket
import struct
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from vigil.core.logs import Logs
from vigil.features.audio.service import AudioService
from vigil.features.playback.backchannel import rtp_payload
from vigil.features.playback.decode import PacketDecoder, StreamDecoder
from vigil.features.playback.player import Player, SpeakerBusy
from vigil.features.sip import rtcp
from vigil.features.sip.codecs import FramedEncoder, G711Encoder, decoder_for, encoder_for
from vigil.features.sip.negotiation import Plan
from vigil.features.sip.srtp import SrtpContext
from vigil.hal.audio import AudioError
from vigil.rtsp.protocol import rtcp_bye

log = logging.getLogger("vigil.sip")

EVENTS = "0123456789*#ABCD"  # RFC 4733 event codes 0-15
QUEUE = 500
MAX_AHEAD = 0.08  # seconds the speaker may hold of the call: beyond, decoded audio is skipped (the
# latency a stall at the start or a burst of late packets would otherwise add for the rest of the call)
_HEADER = struct.Struct("!BBHII")
RECEIVE_SIZE = 65535
TAKE_IN_LIMIT = 64  # packets read per microphone period at most: a flood waits for the next one


class RtpSocket:
    """The session's own RTP socket: watched by the event loop, or read directly (`take_in`) while
    the microphone clocks the call; sent to without a buffer (a packet the socket cannot take now
    would be late: it is lost, as on the wire). Its own class, not an asyncio transport: the
    device's loop (uvloop) cannot pause reading a datagram transport."""

    def __init__(self, sock: socket.socket, protocol: asyncio.DatagramProtocol) -> None:
        self.sock, self.protocol = sock, protocol
        self.loop = asyncio.get_running_loop()
        self.watched = self.closed = False

    @classmethod
    def bound(cls, host: str, port: int, protocol: asyncio.DatagramProtocol) -> RtpSocket:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        return cls(sock, protocol)

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.closed:
            return
        try:
            self.sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as err:
            self.protocol.error_received(err)

    def watch(self, on: bool) -> None:
        if self.closed or on == self.watched:
            return
        if on:
            self.loop.add_reader(self.sock.fileno(), self.take_in)
        else:
            self.loop.remove_reader(self.sock.fileno())
        self.watched = on

    def take_in(self) -> None:
        """Hand what has arrived to the protocol."""
        for _ in range(TAKE_IN_LIMIT):
            try:
                data, addr = self.sock.recvfrom(RECEIVE_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # an ICMP error of an earlier send
                self.protocol.error_received(err)
                continue
            self.protocol.datagram_received(data, addr)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        if not self.closed:
            self.watch(False)
            self.closed = True
            self.sock.close()


class Datagrams(Protocol):
    """Where a session's packets go: its UDP socket, or a path nat.py opens (a TURN relay, ICE)."""

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None: ...

    def is_closing(self) -> bool: ...

    def close(self) -> None: ...


class RtpProtocol(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes], None]) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_datagram(data)


class RtpSession:
    """Media of one call: bound to a local port pair, sending to the far end's address and port."""

    def __init__(self, player: Player | None, audio: AudioService | None, logs: Logs,
                 on_dtmf: Callable[[str], None], name: str, priority: Callable[[], int] | None = None) -> None:
        # player and audio are None on a device without a speaker: its calls offer no audio ("inactive")
        self.player, self.audio, self.logs, self.on_dtmf, self.name = player, audio, logs, on_dtmf, name
        self.priority = priority  # against the multicast controller's streams (Player.live_stream)
        self.transport: Datagrams | None = None
        self._own: RtpSocket | None = None  # the session's own RTP socket (`transport` unless nat.py attached a path)
        self.control: asyncio.DatagramTransport | None = None  # RTCP (none over a TURN relay or ICE)
        self.plan: Plan | None = None
        self.srtp: SrtpContext | None = None
        self.ssrc = secrets.randbits(32)
        self.sequence = secrets.randbits(16)
        self.timestamp = secrets.randbits(32)
        # decoded blocks for the speaker: the far end's packets are decoded as they arrive, and
        # the player's task wakes once a block (about 50 ms), not once a packet
        self.blocks: asyncio.Queue[np.ndarray | None] = asyncio.Queue(QUEUE)
        self._decoder: StreamDecoder | PacketDecoder | None = None
        self.reception = rtcp.Reception()
        self.sent_packets = self.sent_octets = 0
        self.reports_sent = 0
        self.received_packets = 0
        self.skipped = 0  # samples not played to keep the latency down
        self._last_sent = 0.0  # wall-clock time of the last RTP packet sent
        self._last_event: int | None = None  # RTP timestamp of the last DTMF event reported
        self._play_task: asyncio.Task | None = None
        self._encoder: G711Encoder | FramedEncoder | None = None
        self._report: asyncio.TimerHandle | None = None
        self._listening = False

    async def bind(self, host: str, first_port: int,
                   protocol: Callable[[], asyncio.DatagramProtocol] | None = None, count: int = 1000) -> int:
        """RTP on the first free even port from `first_port` (RFC 3550 11), RTCP on the next;
        `protocol`: the RTP socket's own (nat.py: one that also hears STUN)."""
        loop = asyncio.get_running_loop()
        for port in range(first_port, first_port + count, 2):
            try:
                rtp = RtpSocket.bound(host, port, (protocol or (lambda: RtpProtocol(self.received)))())
            except OSError:
                continue
            try:
                self.control, _ = await loop.create_datagram_endpoint(lambda: RtpProtocol(self.received_control),
                                                                      local_addr=(host, port + 1))
            except OSError:
                rtp.close()
                continue
            self.transport = self._own = rtp
            rtp.watch(True)
            return port
        raise OSError(f"no free RTP port pair from {first_port}")

    def attach(self, transport: Datagrams) -> None:
        """Send and receive over `transport` instead of an own socket (nat.py: a TURN relay, ICE)."""
        self.transport = transport
        self._clock_reading()

    def apply(self, plan: Plan) -> None:
        """Start the media, or change it to a new offer/answer's plan (re-INVITE: hold, resume,
        another address, codec or key). Without a speaker (calls-only) nothing plays or is sent."""
        before, self.plan = self.plan, plan
        if plan.remote_key is None:
            self.srtp = None
        elif self.srtp is None or self.srtp.local_key != plan.local_key:
            assert plan.local_key is not None
            self.srtp = SrtpContext(plan.local_key, plan.remote_key)
        elif self.srtp.remote_key != plan.remote_key:
            self.srtp.receive_with(plan.remote_key)  # re-keyed by the far end; what the device sends goes on
        if before is None or before.codec != plan.codec:
            self._encoder = encoder_for(plan.codec)
        playing = self._play_task is not None and not self._play_task.done()
        if plan.plays and self.player is not None and (not playing or before is None or before.codec != plan.codec):
            previous = self._play_task
            self._stop_playing()
            self.blocks = asyncio.Queue(QUEUE)
            self._decoder = decoder_for(plan.codec)
            self._play_task = asyncio.get_running_loop().create_task(self._play(self._decoder, previous))
        elif not plan.plays:
            self._stop_playing()
        if plan.sends and self.audio is not None and not self._listening:
            try:
                self.audio.listen(self._on_period, self._unclocked)
                self._listening = True
            except AudioError as err:
                self.logs.system(f"SIP call {self.name}: the microphone is not sent: {err}", "warning")
        elif not plan.sends and self._listening and self.audio is not None:
            self.audio.unlisten(self._on_period)
            self._unclocked()
        self._clock_reading()
        if self._report is None:
            self._schedule_report()

    def stop(self) -> None:
        if self._listening and self.audio is not None:
            self.audio.unlisten(self._on_period)
            self._listening = False
        self._stop_playing(drop=True)
        if self._report is not None:
            self._report.cancel()
        if self.plan is not None:
            self._send_control(rtcp_bye(self.ssrc))
        for transport in (self.transport, self._own, self.control):
            if transport is not None:
                transport.close()

    def _stop_playing(self, drop: bool = False) -> None:
        """The playing ends once what was handed over is heard (hold, another codec), or at once
        with `drop` (the call ended: its queued audio is not played and the speaker is free for the
        next call, which would otherwise be refused while this one drains)."""
        if not drop:
            with contextlib.suppress(asyncio.QueueFull):
                self.blocks.put_nowait(None)
        if self._play_task is not None and (drop or self.blocks.full()):
            self._play_task.cancel()
        self._play_task = None

    def _clock_reading(self) -> None:
        """The event loop watches the RTP socket unless the microphone's periods clock the call
        (then `_on_period` reads it); a path nat.py opened delivers its packets itself."""
        if self._own is not None:
            self._own.watch(not (self._listening and self.transport is self._own))

    def _unclocked(self) -> None:
        """The microphone no longer clocks the call (unsent, or its capture ended): the far end's
        packets are read as they arrive again."""
        self._listening = False
        self._clock_reading()

    # -- to the far end -----------------------------------------------------------------
    def _on_period(self, period: np.ndarray) -> None:
        if self._own is not None and self.transport is self._own:
            self._own.take_in()  # what the far end sent since the last period
        plan, encoder = self.plan, self._encoder
        if plan is None or encoder is None or not plan.sends:
            return
        for payload, ticks in encoder.encode(period):
            self._send(plan.payload_type, payload, ticks)

    def _send(self, payload_type: int, payload: bytes, ticks: int, marker: bool = False) -> None:
        if self.transport is None or self.plan is None or self.transport.is_closing():
            return
        packet = _HEADER.pack(0x80, payload_type | (0x80 if marker else 0), self.sequence, self.timestamp,
                              self.ssrc) + payload
        if self.srtp is not None:
            packet = self.srtp.protect(packet)
        self.transport.sendto(packet, self.plan.remote)
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + ticks) & 0xFFFFFFFF
        self.sent_packets += 1
        self.sent_octets += len(payload)
        self._last_sent = time.time()

    def _send_control(self, packet: bytes) -> None:
        if self.control is None or self.plan is None or self.control.is_closing():
            return
        if self.srtp is not None:
            packet = self.srtp.protect_rtcp(packet)
        address, port = self.plan.remote
        with contextlib.suppress(OSError):
            self.control.sendto(packet, (address, port + 1))

    def _schedule_report(self) -> None:
        # RFC 3550 6.3.5: the interval is randomised (0.5 to 1.5 times) so that reports do not synchronise
        delay = rtcp.REPORT_INTERVAL * random.uniform(0.5, 1.5) if self.reports_sent else 0.5
        self._report = asyncio.get_running_loop().call_later(delay, self._send_report)

    def _send_report(self) -> None:
        plan = self.plan
        if plan is None:
            return
        now = time.time()
        sending = self.sent_packets > 0 and plan.sends
        clock_ahead = int((now - self._last_sent) * plan.codec.clock) if self._last_sent else 0
        self._send_control(rtcp.report(self.ssrc, f"vigil@{socket.gethostname()}", self.reception, now, sending,
                                       (self.timestamp + clock_ahead) & 0xFFFFFFFF, self.sent_packets,
                                       self.sent_octets))
        self.reports_sent += 1
        self._schedule_report()

    # -- from the far end ---------------------------------------------------------------
    def received(self, packet: bytes) -> None:
        plan = self.plan
        if plan is None:
            return
        if self.srtp is not None:
            clear = self.srtp.unprotect(packet)
            if clear is None:
                return  # forged, replayed or sent with another key
            packet = clear
        found = rtp_payload(packet)
        if found is None:
            return
        self.received_packets += 1
        sequence, timestamp, ssrc = struct.unpack("!HII", packet[2:12])
        self.reception.packet(ssrc, sequence, timestamp, time.monotonic(), plan.codec.clock)
        kind, payload = found
        if kind == plan.dtmf_payload and plan.dtmf_payload is not None:
            self._dtmf(timestamp, payload)
        elif kind == plan.payload_type and plan.plays and self._decoder is not None:
            samples = self._decoder.decode(payload)
            if len(samples):
                with contextlib.suppress(asyncio.QueueFull):  # faster than real time: the excess is lost
                    self.blocks.put_nowait(samples)

    def received_control(self, packet: bytes) -> None:
        if self.srtp is not None:
            clear = self.srtp.unprotect_rtcp(packet)
            if clear is None:
                return
            packet = clear
        if len(packet) >= 8 and packet[0] >> 6 == 2:
            self.reception.control(packet, time.time())

    def _dtmf(self, timestamp: int, payload: bytes) -> None:
        if len(payload) < 4 or not payload[1] & 0x80:  # reported at its end (E bit)
            return
        if timestamp == self._last_event or payload[0] >= len(EVENTS):
            return  # the end packet is sent three times (RFC 4733 2.5.1.4)
        self._last_event = timestamp
        self.on_dtmf(EVENTS[payload[0]])

    async def _play(self, decoder: StreamDecoder | PacketDecoder, previous: asyncio.Task | None) -> None:
        blocks = self.blocks
        assert self.player is not None
        if previous is not None:
            await asyncio.wait({previous})  # it gives the speaker back when what it handed over is heard
        samples: np.ndarray | None = None
        while True:
            try:
                async with self.player.live_stream(self.priority, f"SIP call {self.name}") as play:
                    if samples is not None:
                        await play(samples)  # the block that found the speaker free again
                    while (samples := await blocks.get()) is not None:
                        if self.player.ahead > MAX_AHEAD:
                            self.skipped += len(samples)  # late (a burst after a stall): catch up
                        else:
                            await play(samples)
                    if len(tail := decoder.flush()):
                        await play(tail)
                return
            except SpeakerBusy as err:
                self.logs.system(f"SIP call {self.name} is not played: {err}", "warning")
            except AudioError as err:
                self.logs.system(f"SIP call {self.name}: the speaker stopped: {err}", "warning")
                return
            # the speaker went to a stream of higher priority (multicast) or talk: the call's audio
            # is dropped until a block finds the speaker free for it, and then it is heard again
            while (samples := await blocks.get()) is not None and not self.player.free_for(self.priority):
                self.skipped += len(samples)
            if samples is None:
                return
            self.logs.system(f"SIP call {self.name} has the speaker again")
