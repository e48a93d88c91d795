"""VMS calls (VAPIX Call service, "VMS calls"; the manuals' "SIP or VMS" recipient, VMS part): a
call simulated with the device's events for a video management system that streams audio
instead of speaking SIP. Placed with the address `VMS_CALL`, with or without SIP enabled: the
call state goes to calling; the VMS answers by sending audio to the device (transmit.cgi or the
RTSP backchannel: the player's talk), which makes the call active, and ends it by stopping that
audio. Unanswered, it ends after the calling timeout (the service's limits). A device without a
speaker cannot be sent audio: its VMS calls are announced and end unanswered or when ended."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable

from vigil.features.playback.player import Player
from vigil.features.sip.ua import Account, Call

VMS_CALL = "VMS_CALL"
VMS_ACCOUNT = Account("vms", "vms")  # the CallState event's AccountId of VMS calls
WATCH = 0.2  # seconds between looks at the speaker's talk


def is_vms(call: Call) -> bool:
    return call.account is VMS_ACCOUNT


class VmsCalls:
    """The VMS calls in progress; `changed` is told of every state (SipService.call_changed)."""

    def __init__(self, player: Player | None, changed: Callable[[Call], None]) -> None:
        self.player, self.changed = player, changed
        self.calls: dict[str, Call] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()

    def place(self) -> Call:
        call = Call(f"vms-{next(self._ids)}", VMS_ACCOUNT, "outgoing", VMS_CALL, f"vms-{secrets.token_hex(8)}", "",
                    state="calling")
        self.calls[call.call_id] = call
        self.changed(call)
        task = asyncio.get_running_loop().create_task(self._watch(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return call

    def end(self, call: Call, reason: str) -> None:
        if call.state == "ended":
            return
        call.state, call.reason = "ended", reason
        self.calls.pop(call.call_id, None)
        self.changed(call)

    async def _watch(self, call: Call) -> None:
        while call.state in ("calling", "active"):
            await asyncio.sleep(WATCH)
            talking = self.player is not None and self.player.talking
            if call.state == "calling" and talking:
                call.state, call.started = "active", time.time()
                call.answered.set()
                self.changed(call)
            elif call.state == "active" and not talking:
                self.end(call, "the VMS stopped its audio")

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
