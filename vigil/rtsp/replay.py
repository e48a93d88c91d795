"""Replay of stored video over RTSP, as the ONVIF Streaming Specification (chapter 6,
"Playback") describes it: a track that a feature gives for its stored footage (`Footage`),
understanding `Require: onvif-replay`.

- Range: `clock=` (absolute UTC) or `npt=` (seconds from the footage's start); the stream
  starts at the key frame at or before the start (in a gap: the next section going forward,
  the previous one in reverse). A start past the footage in the direction of play is 457.
  A PLAY without a Range after PAUSE goes on with the frame after the last one sent.
- Scale: the speed, negative for reverse. Reverse sends whole GOPs in reverse order, the
  frames of each in decoding order, with the D bit on each GOP's first packet. With
  `Rate-Control: no` the scale is 1 or -1 (what is asked otherwise is answered in the reply's
  Scale) and frames go out as fast as the client reads them (the outlet's flow control);
  otherwise the server paces them at the scale.
- Frames: `intra` (a GOP is its key frame), `intra/<ms>` (key frames at least ms apart in
  recording time), `predicted` (no non-reference pictures), `all`.
- Every access unit's first packet carries the 0xABAC header extension: the frame's recorded
  time as NTP, C on key frames, E on the last frame before a gap or the end of the footage
  (reverse: on the last frame of the GOP after a gap), D after a discontinuity (each GOP in
  reverse; the first frame of a PLAY that moved a playing session), T on the last frame sent,
  and the PLAY's CSeq.
- RTP timestamps: with Rate-Control no, the recording time (the same whichever way it plays);
  with rate control, the playing time at the scale. RTP-Info gives the one of the Range start.
- At the end of the footage (or of the Range) the stream sends an RTCP BYE and stops.

Reading happens on the event loop, one GOP at a time (a read of adjacent samples and, on an
encrypted volume, its decryption), one GOP ahead of what is sent.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Protocol

from vigil.rtsp.mounts import Outlet, Position
from vigil.rtsp.packetize import (
    CLEAN,
    DISCONTINUITY,
    END,
    TERMINAL,
    is_parameter_set,
    is_reference,
    nal_units,
    onvif_extension,
    packetize,
)
from vigil.rtsp.protocol import Play, RtspError, clock_time, rtcp_bye, rtp_packet

log = logging.getLogger("vigil.rtsp")

ONVIF_REPLAY = "onvif-replay"
PAYLOAD_TYPE = 96
CLOCK_RATE = 90_000
CONGESTED_WAIT = 0.005  # seconds between looks at a congested UDP outlet (TCP waits for the drain)


class Frame(Protocol):
    time: float  # recorded, Unix seconds
    duration: float
    key: bool


@dataclass
class Gop:
    """A key frame and the frames that depend on it (or the key frame alone: `Frames: intra`),
    in decoding order, with their stored bytes; `end`: where the whole GOP's footage ends.
    `edge`: a gap or the end of the footage lies next in the direction of play."""

    frames: list[Frame]
    data: list[bytes]
    end: float
    edge: bool = False

    @property
    def start(self) -> float:
        return self.frames[0].time


class Footage(Protocol):
    """Stored video a feature offers for replay."""

    codec: str  # H264 | H265
    parameter_sets: tuple[bytes, ...]  # (VPS,) SPS, PPS as stored with the footage
    start: float  # first and last recorded instants, Unix seconds
    stop: float
    track: str  # the recording's track token (the SDP's a=x-onvif-track)

    def gops(self, at: float, reverse: bool, keys_only: bool) -> Generator[Gop]:
        """GOPs from the one holding `at` on (reverse: back from it), each `edge` marked; with
        `keys_only`, key frames alone. Closing the iterator closes what it opened."""
        ...


@dataclass(frozen=True)
class Plan:
    """What one PLAY sends: from `start` (recorded time) towards `stop`, as `play` asks."""

    play: Play
    start: float
    stop: float | None
    scale: float
    resume: bool  # go on after a PAUSE: frames before `start` were sent already
    discontinuity: bool  # the first frame follows something else this session was sent


@dataclass(eq=False)
class ReplayTrack:
    """The video of stored footage for one RTSP session (a new one per SETUP)."""

    footage: Footage
    media: str = "video"
    payload_type: int = PAYLOAD_TYPE
    ssrc: int | None = None
    options: frozenset[str] = frozenset({ONVIF_REPLAY})
    plan: Plan | None = None  # what the next `open` plays
    resume_at: float | None = None  # where a PLAY without a Range goes on after PAUSE
    sent: bool = False  # something went out in this session
    playing: ReplayStream | None = None  # the stream of the last PLAY

    def sdp(self) -> list[str]:
        footage = self.footage
        lines = [f"m=video 0 RTP/AVP {PAYLOAD_TYPE}", f"a=rtpmap:{PAYLOAD_TYPE} {footage.codec}/{CLOCK_RATE}"]
        b64 = [base64.b64encode(n).decode() for n in footage.parameter_sets]
        if footage.codec == "H264":
            fmtp = "packetization-mode=1"
            if len(footage.parameter_sets) == 2 and len(footage.parameter_sets[0]) >= 4:
                fmtp += f";profile-level-id={footage.parameter_sets[0][1:4].hex().upper()}"
                fmtp += f";sprop-parameter-sets={b64[0]},{b64[1]}"
            lines.append(f"a=fmtp:{PAYLOAD_TYPE} {fmtp}")
        elif len(b64) == 3:
            lines.append(f"a=fmtp:{PAYLOAD_TYPE} sprop-vps={b64[0]};sprop-sps={b64[1]};sprop-pps={b64[2]}")
        return [*lines, f"a=x-onvif-track:{footage.track}", "a=recvonly"]

    def ranges(self) -> list[str]:
        """Absolute first, for ONVIF clients (GStreamer's takes the first range it can read and
        seeks in absolute time), npt last (ffmpeg takes the last one)."""
        footage = self.footage
        return [f"clock={clock_time(footage.start)}-{clock_time(footage.stop)}",
                f"npt=0-{footage.stop - footage.start:.3f}"]

    def seek(self, play: Play) -> Position:
        footage = self.footage
        reverse = play.reverse
        scale = play.scale if play.rate_control else (-1.0 if reverse else 1.0)
        asked = play.range
        resume = False
        going = self.playing.next_at if self.playing is not None and not self.playing.task.done() else None
        if asked is None or asked.start is None:
            if going is not None or self.resume_at is not None:  # after PAUSE, or a new speed: on from here
                start, resume = going if going is not None else self.resume_at, True
            elif self.plan is not None:  # paused before anything went out, or played to the end: again
                start = self.plan.start
            else:
                start = footage.stop if reverse else footage.start
        else:
            start = asked.start + (footage.start if asked.unit == "npt" else 0.0)
        stop = None
        if asked is not None and asked.stop is not None:
            stop = asked.stop + (footage.start if asked.unit == "npt" else 0.0)
        if reverse:
            if start <= footage.start:
                raise RtspError(457, f"nothing is stored before {clock_time(start)}: the footage starts "
                                     f"{clock_time(footage.start)}")
            start = min(start, footage.stop)
        else:
            if start >= footage.stop:
                raise RtspError(457, f"nothing is stored after {clock_time(start)}: the footage ends "
                                     f"{clock_time(footage.stop)}")
            start = max(start, footage.start)
        if stop is not None and ((stop >= start) if reverse else (stop <= start)):
            raise RtspError(457, "the Range must run the way the Scale plays, within the footage: "
                            + ("its end before its start" if reverse else "its end after its start"))
        self.plan = Plan(play, start, stop, scale, resume, self.sent and not resume)
        unit = asked.unit if asked is not None else "npt"
        base = footage.start if unit == "npt" else 0.0
        show = clock_time if unit == "clock" else (lambda t: f"{t - base:.3f}")
        return Position(f"{unit}={show(start)}-{show(stop) if stop is not None else ''}", scale)

    def rtp_info(self, outlet: Outlet) -> str:
        assert self.plan is not None
        return f"seq={outlet.seq & 0xFFFF};rtptime={self.rtp_clock(outlet, self.plan)(self.plan.start)}"

    def rtp_clock(self, outlet: Outlet, plan: Plan) -> Callable[[float], int]:
        """The RTP timestamp of a frame recorded at `t`: the recording time with Rate-Control
        no; with rate control the playing time, which runs at the scale from the Range start."""
        origin, base = self.footage.start, outlet.ts_base
        if not plan.play.rate_control:
            return lambda t: (base + round((t - origin) * CLOCK_RATE)) & 0xFFFFFFFF
        start, scale = plan.start, plan.scale
        return lambda t: (base + round(((start - origin) + (t - start) / scale) * CLOCK_RATE)) & 0xFFFFFFFF

    def open(self, outlet: Outlet) -> ReplayStream:
        assert self.plan is not None
        self.sent = True
        self.resume_at = None
        self.playing = ReplayStream(self, self.plan, outlet)
        return self.playing


@dataclass(eq=False)
class ReplayStream:
    """One PLAY of a replay track: a task that sends until the end, a PAUSE or a new PLAY."""

    track: ReplayTrack
    plan: Plan
    outlet: Outlet
    frames: int = 0  # access units sent
    next_at: float | None = None  # where a resume goes on
    task: asyncio.Task = field(init=False)

    def __post_init__(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"replay {self.outlet.name}")

    def stop(self) -> None:
        self.task.cancel()
        self.track.resume_at = self.next_at

    async def _run(self) -> None:
        plan, outlet = self.plan, self.outlet
        gops = self.track.footage.gops(plan.start, plan.play.reverse, plan.play.frames == "intra")
        try:
            if not await self._play(gops):
                return  # the client is gone
        except (OSError, ValueError) as err:  # footage that went unreadable: the stream ends here
            log.warning("replay to %s stopped after %d frames: %s", outlet.name, self.frames, err)
        finally:
            gops.close()
        with contextlib.suppress(ConnectionError):
            await outlet.drain()
        outlet.send_control([rtcp_bye(outlet.ssrc)])
        log.debug("replay to %s ended after %d frames", outlet.name, self.frames)

    async def _play(self, gops: Generator[Gop]) -> bool:
        """Send the plan's GOPs; False when the client went away."""
        plan, play = self.plan, self.plan.play
        reverse = play.reverse
        stamp = self.track.rtp_clock(self.outlet, plan)
        loop = asyncio.get_running_loop()
        began = loop.time()
        last_key: float | None = None
        flags = DISCONTINUITY if plan.discontinuity else 0
        gop = self._next(gops)
        while gop is not None:
            following = self._next(gops)
            units = self._units(gop, last_key)
            if units:
                last_key = units[0][0].time if units[0][0].key else last_key
            for n, (frame, data) in enumerate(units):
                if play.rate_control:  # reverse: a GOP goes whole, by when its last frame shows
                    due = (plan.start - gop.end if reverse else frame.time - plan.start) / abs(plan.scale)
                    delay = began + due - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                bits = flags | (CLEAN if frame.key else 0) | (DISCONTINUITY if reverse and n == 0 else 0)
                if n == len(units) - 1:
                    bits |= (END if gop.edge else 0) | (TERMINAL if following is None else 0)
                if not await self._send(self._packets(frame, data, bits, stamp)):
                    return False
                flags = 0
                self.frames += 1
                if not reverse:
                    self.next_at = frame.time + 1e-6
            if reverse and units:
                self.next_at = gop.start - 1e-6
            if not play.rate_control:
                await asyncio.sleep(0)  # others on the loop get their turn between GOPs
            gop = following
        return True

    def _next(self, gops: Generator[Gop]) -> Gop | None:
        """The next GOP within the plan's range (None: no more)."""
        plan = self.plan
        for gop in gops:
            if plan.stop is not None and ((gop.end <= plan.stop) if plan.play.reverse else (gop.start >= plan.stop)):
                return None
            return gop
        return None

    def _units(self, gop: Gop, last_key: float | None) -> list[tuple[Frame, bytes]]:
        """The frames of `gop` to send, as the plan's range and Frames ask."""
        plan, play = self.plan, self.plan.play
        out = list(zip(gop.frames, gop.data, strict=True))
        if play.reverse:
            out = [(f, d) for f, d in out if f.time <= plan.start]  # nothing later than where it starts
        else:
            if plan.resume:
                out = [(f, d) for f, d in out if f.time >= plan.start]
            if plan.stop is not None:
                out = [(f, d) for f, d in out if f.time < plan.stop]
        if play.frames == "intra":
            out = [(f, d) for f, d in out if f.key]
            if play.intra_ms and last_key is not None:
                out = [(f, d) for f, d in out if abs(f.time - last_key) * 1000 >= play.intra_ms]
        elif play.frames == "predicted":
            codec = self.track.footage.codec
            out = [(f, d) for f, d in out if f.key or any(is_reference(codec, n) for n in nal_units(d))]
        return out

    def _packets(self, frame: Frame, data: bytes, flags: int, stamp: Callable[[float], int]) -> list[bytes]:
        footage, outlet = self.track.footage, self.outlet
        codec = footage.codec
        nals = list(nal_units(data))
        if frame.key and not any(is_parameter_set(codec, n) for n in nals):
            nals = [*footage.parameter_sets, *nals]
        timestamp = stamp(frame.time)
        extension = onvif_extension(frame.time, flags, self.plan.play.cseq)
        packets = []
        for i, nal in enumerate(nals):
            for payload, marker in packetize(nal, i == len(nals) - 1, codec):
                packets.append(rtp_packet(PAYLOAD_TYPE, outlet.seq, timestamp, outlet.ssrc, payload, marker, extension))
                outlet.seq = (outlet.seq + 1) & 0xFFFF
                extension = b""  # on the first packet of the access unit
        return packets

    async def _send(self, packets: list[bytes]) -> bool:
        """Send one access unit, waiting while the client's connection is full; False: gone."""
        outlet = self.outlet
        while not outlet.send(packets):
            if outlet.closed:
                return False
            try:
                await outlet.drain()
            except ConnectionError:
                return False
            if outlet.congested():
                await asyncio.sleep(CONGESTED_WAIT)
        return True
