"""Virtual inputs 1..32: conditions switched by hand (the Events page's Manual triggers, VAPIX
virtualinput/*.cgi, the event service's ChangeVirtualInputState) on every device, whatever I/O
ports it has. Each is the stateful `tns1:Device/tnsaxis:IO/VirtualInput` event, so rules take
it as a condition like any other event."""

from __future__ import annotations

import asyncio

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.features.triggers.const import VIRTUAL_INPUT, VIRTUAL_INPUTS


class TriggerError(ValueError):
    """A refused manual trigger request, with a message for the user."""


class VirtualInputs:
    def __init__(self, bus: EventBus, logs: Logs) -> None:
        self.bus = bus
        self.logs = logs
        self._active = dict.fromkeys(range(1, VIRTUAL_INPUTS + 1), False)
        self._timers: dict[int, asyncio.Task] = {}

    def declare(self) -> None:
        """Declare the topic and publish every input's initial (inactive) state."""
        self.bus.declare(Topic(VIRTUAL_INPUT, "Virtual input", True,
                               (Item("port", "xsd:int", "Port", tuple(str(i) for i in self._active)),),
                               (Item("active", "xsd:boolean", "Active", state=True),)))
        for number, active in self._active.items():
            self._publish(number, active)

    def _publish(self, number: int, active: bool) -> None:
        self.bus.publish(VIRTUAL_INPUT, {"port": str(number)}, {"active": "1" if active else "0"})

    def set_virtual(self, number: int, active: bool, actor: str, duration: float = 0.0) -> bool:
        """Set input `number`; with a duration, return to the opposite state after it. Returns
        whether the state changed."""
        if number not in self._active:
            raise TriggerError(f"Virtual inputs are numbered 1 to {VIRTUAL_INPUTS}")
        timer = self._timers.pop(number, None)
        if timer is not None:
            timer.cancel()
        changed = self._active[number] != active
        self._active[number] = active
        self._publish(number, active)
        if duration > 0:
            self._timers[number] = asyncio.ensure_future(self._after(number, not active, duration))
        if changed:
            self.logs.system(f"{actor} set virtual input {number} {'active' if active else 'inactive'}")
        return changed

    async def _after(self, number: int, active: bool, delay: float) -> None:
        await asyncio.sleep(delay)
        self._timers.pop(number, None)
        self.set_virtual(number, active, "timer")

    def virtual(self, number: int) -> bool:
        return self._active[number]


VIRTUAL_INPUTS_SERVICE: Key[VirtualInputs] = Key("virtual-inputs")
