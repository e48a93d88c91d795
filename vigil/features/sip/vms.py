"""VMS calls (VAPIX Call service, "VMS calls" and "VMS call configuration"; the manuals' "SIP or
VMS" recipient, VMS part): calls simulated with the device's call events for a video management
system that streams instead of speaking SIP. Placed with the address `VMS_CALL`, with or without
SIP enabled: the call is Calling until the VMS answers it by streaming, which makes it Active;
it ends when those streams stop, and one left unanswered ends with NoAnswer after the
configuration's Timeout.

The VMSCallConfiguration (stored, `VmsConfig`): Enabled (false: `VMS_CALL` is refused and
streams make no calls), and one threshold per stream kind the device counts. A kind whose count
reaches its threshold answers the oldest VMS call that is Calling, or else is itself an incoming
VMS call (Active at once); each kind is a call of its own, and its call ends when its count falls
below the threshold. A threshold of 0 or less is not used. What the device counts:

- AudioFromNetworkToDeviceStreams: audio sent to the speaker (transmit.cgi, the RTSP backchannel).
  The speaker plays one such stream at a time (another is refused busy), so the count is 0 or 1
  and a threshold above 1 is refused.
- AudioFromDeviceToNetworkStreams: the microphone's streams to clients (receive.cgi, RTSP audio).
- VideoFromDeviceToNetworkStreams: no profile has video of its own (the C1410 is a speaker, the
  W401 an I/O device, the recorders relay cameras), so nothing is counted and a threshold above 0
  is refused with the reason. A kind the device has no hardware for (no speaker, no microphone:
  W401, recorders) is refused the same way; there VMS calls are announced and end unanswered."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from vigil.core.store import Store
from vigil.features.audio.service import AudioService
from vigil.features.playback.player import Player
from vigil.features.sip import const as c
from vigil.features.sip.ua import Account, Call, SipError

VMS_CALL = "VMS_CALL"
VMS_ACCOUNT = Account("vms", "vms")  # the account VMS calls are listed under (the SIP API's call list)
WATCH = 0.2  # seconds between looks at the stream counts
THRESHOLDS = ("AudioFromDeviceToNetworkStreams", "AudioFromNetworkToDeviceStreams", "VideoFromDeviceToNetworkStreams")


class VmsConfigError(ValueError):
    """A VMSCallConfiguration the device refuses (the message says why)."""


def is_vms(call: Call) -> bool:
    return call.account is VMS_ACCOUNT


class StreamCounts:
    """What the device counts of each stream kind; `most` is the highest count a kind can reach
    (0: the device cannot count it)."""

    def __init__(self, player: Player | None, audio: AudioService | None) -> None:
        self.player, self.audio = player, audio

    def count(self, kind: str) -> int:
        if kind == "AudioFromNetworkToDeviceStreams":
            return int(self.player is not None and self.player.talking)
        if kind == "AudioFromDeviceToNetworkStreams":
            return self.audio.network_streams if self.audio is not None else 0
        return 0

    def most(self, kind: str) -> int | None:
        """None: no limit."""
        if kind == "AudioFromNetworkToDeviceStreams":
            return 1 if self.player is not None else 0
        if kind == "AudioFromDeviceToNetworkStreams":
            return None if self.audio is not None else 0
        return 0

    def why_not(self, kind: str) -> str:
        return {"AudioFromNetworkToDeviceStreams": "it plays one audio stream at a time" if self.player is not None
                else "it has no speaker to send audio to",
                "AudioFromDeviceToNetworkStreams": "it has no microphone",
                "VideoFromDeviceToNetworkStreams": "it has no video of its own"}[kind]


class VmsConfig:
    """The stored VMSCallConfiguration."""

    def __init__(self, store: Store, counts: StreamCounts) -> None:
        self.store, self.counts = store, counts
        raw = store.get_kv(c.VMS_KEY)
        self._config = {**self.defaults(), **(json.loads(raw) if raw else {})}  # read five times a second: kept

    def get(self) -> dict[str, Any]:
        return dict(self._config)

    def defaults(self) -> dict[str, Any]:
        """The page's defaults, with a threshold the device cannot reach turned off."""
        return {k: (0 if k in THRESHOLDS and self.counts.most(k) == 0 else v) for k, v in c.VMS_DEFAULTS.items()}

    def check(self, given: dict[str, Any]) -> dict[str, Any]:
        """The configuration `given` (whole or some fields) makes; VmsConfigError if refused."""
        unknown = sorted(set(given) - set(c.VMS_DEFAULTS))
        if unknown:
            raise VmsConfigError(f"VMSCallConfiguration has no field(s) {', '.join(str(u)[:40] for u in unknown)} "
                                 f"(it has {', '.join(c.VMS_DEFAULTS)})")
        out = {**self.get(), **given}
        if not isinstance(out["Enabled"], bool):
            raise VmsConfigError("Enabled must be true or false")
        for name in (*THRESHOLDS, "Timeout"):
            if not isinstance(out[name], int) or isinstance(out[name], bool):
                raise VmsConfigError(f"{name} must be an integer")
        if not 1 <= out["Timeout"] <= c.MAX_VMS_TIMEOUT:
            raise VmsConfigError(f"Timeout must be 1-{c.MAX_VMS_TIMEOUT} seconds")
        for kind in THRESHOLDS:
            most = self.counts.most(kind)
            if most is not None and out[kind] > most:
                raise VmsConfigError(f"{kind} must be at most {most} on this device ({self.counts.why_not(kind)}; "
                                     f"0 or less: not used)")
        return out

    def save(self, config: dict[str, Any]) -> None:
        self.store.set_kv(c.VMS_KEY, json.dumps(config))
        self._config = dict(config)


class VmsCalls:
    """The VMS calls in progress; `changed` is told of every state (SipService.call_changed)."""

    def __init__(self, config: VmsConfig, changed: Callable[[Call], None]) -> None:
        self.config, self.changed = config, changed
        self.calls: dict[str, Call] = {}
        self._by_kind: dict[str, Call] = {}  # a stream kind -> the call its streams answered or made
        self._ids = itertools.count(1)

    def _new(self, direction: str, state: str) -> Call:
        call = Call(f"vms-{next(self._ids)}", VMS_ACCOUNT, direction, VMS_CALL, f"vms-{secrets.token_hex(8)}", "",
                    state=state)
        self.calls[call.call_id] = call
        return call

    def place(self) -> Call:
        if not self.config.get()["Enabled"]:
            raise SipError("VMS calls are disabled (VMSCallConfiguration Enabled is false)")
        call = self._new("outgoing", "calling")
        self.changed(call)
        return call

    def end(self, call: Call, reason: str) -> None:
        if call.state == "ended":
            return
        call.state, call.reason = "ended", reason
        call.answered.set()
        self.calls.pop(call.call_id, None)
        self.changed(call)

    def look(self) -> None:
        """Answer, start or end calls by the stream counts against the thresholds."""
        config = self.config.get()
        for kind in THRESHOLDS:
            threshold = config[kind] if config["Enabled"] else 0
            met = threshold > 0 and self.config.counts.count(kind) >= threshold
            call = self._by_kind.get(kind)
            if met and call is None:
                waiting = [x for x in self.calls.values() if x.state == "calling"]
                call = waiting[0] if waiting else self._new("incoming", "calling")
                call.state, call.started = "active", time.time()
                call.answered.set()
                self._by_kind[kind] = call
                self.changed(call)
            elif not met and call is not None:  # (a call ended by hand stays its kind's until the streams stop)
                del self._by_kind[kind]
                self.end(call, "the VMS stopped its audio")  # both kinds counted are audio

    async def watch(self) -> None:
        """While the SIP service runs."""
        while True:
            await asyncio.sleep(WATCH)
            self.look()
