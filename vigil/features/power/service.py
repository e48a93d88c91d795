"""The power layer: the ignition line as an input, and Delayed shutdown (System > Power
settings): when the ignition goes off the device keeps running for the delay (1-60 minutes),
then shuts down cleanly through the device's own stop path (recordings closed, logs and
configuration flushed), unless the ignition comes back first.

Arming: after a start without power (the last run did not end with a stop, or the very first
start), Delayed shutdown is armed only after `ArmDelay` seconds (the manual's note: "If the
device has been without power before it is turned on, a delay occurs before Delayed shutdown
is activated"). A device that starts with the ignition off after a delayed shutdown waits for
the ignition to come on before it arms, so that it never shuts down again and again.

Ignition flapping: each change is an Ignition event; the delay counts from the last time the
ignition went off, so only an ignition that stays off for the whole delay shuts the device down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vigil.core.clock import Clock
from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import Change, ParamTree
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.features.power.const import (
    ARM_DELAY,
    DELAY,
    ENABLED,
    IGNITION,
    LAST_STOP_KEY,
    RUNNING_KEY,
    SHUTDOWN_PENDING,
)
from vigil.hal.power import PowerHardware

DELAYED_SHUTDOWN = "delayed-shutdown"


class PowerService:
    def __init__(self, hardware: PowerHardware, params: ParamTree, bus: EventBus, logs: Logs, clock: Clock,
                 store: Store, shut_down: Callable[[], None]) -> None:
        """`shut_down`: the device's clean stop (Device.request_stop("shutdown"))."""
        self.hw = hardware
        self.params = params
        self.bus = bus
        self.logs = logs
        self.clock = clock
        self.store = store
        self.shut_down = shut_down
        self.after_power_loss = store.get_kv(RUNNING_KEY, "1") == "1"
        self.armed = False
        self.waiting_for_ignition = False
        self.pending_since: float | None = None  # loop time the ignition went off, while a shutdown is pending
        self._arm_timer: asyncio.TimerHandle | None = None
        self._shutdown_timer: asyncio.TimerHandle | None = None
        self._shutting_down = False
        hardware.watch(self._on_ignition)
        params.listeners.append(self._on_params)

    # -- start --------------------------------------------------------------------------
    def declare(self) -> None:
        self.bus.declare(Topic(IGNITION, "Ignition", True, (), (Item("Active", "xsd:boolean", "On", state=True),)))
        self.bus.declare(Topic(SHUTDOWN_PENDING, "Delayed shutdown pending", True, (),
                               (Item("Active", "xsd:boolean", "Pending", state=True),
                                Item("Delay", "xsd:int", "Delay (minutes)"))))
        last_stop = self.store.get_kv(LAST_STOP_KEY, "")
        self.store.set_kv(RUNNING_KEY, "1")
        self.store.set_kv(LAST_STOP_KEY, "")
        self._publish_ignition()
        self.bus.publish(SHUTDOWN_PENDING, {}, {"Active": "0", "Delay": self.params.get(DELAY)})
        if last_stop == DELAYED_SHUTDOWN and not self.hw.ignition():
            self.waiting_for_ignition = True
            self.logs.system("Started with the ignition off after a delayed shutdown: Delayed shutdown waits for "
                             "the ignition to come on", "notice")
        elif self.after_power_loss:
            self.logs.system(f"Started after a power loss: Delayed shutdown is armed in "
                             f"{self.params.get(ARM_DELAY)} s", "notice")
            self._schedule_arming()
        else:
            self._arm()

    def _schedule_arming(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # built outside the event loop (a command-line tool): run() arms it
            return
        self._arm_timer = loop.call_later(float(self.params.get(ARM_DELAY)), self._arm)

    async def run(self) -> None:
        """While the device runs; a stop (any stop) is remembered as a stop, not a power loss."""
        if self.after_power_loss and not self.armed and self._arm_timer is None and not self.waiting_for_ignition:
            self._schedule_arming()
        try:
            await asyncio.Event().wait()
        finally:
            self.close()

    def close(self) -> None:
        for timer in (self._arm_timer, self._shutdown_timer):
            if timer is not None:
                timer.cancel()
        self.store.set_kv(RUNNING_KEY, "0")

    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()  # the countdown starts from an event, in the loop

    # -- arming and the countdown ------------------------------------------------------------
    def _arm(self) -> None:
        self._arm_timer = None
        if self.armed:
            return
        self.armed = True
        self._update()

    @property
    def enabled(self) -> bool:
        return self.params.get_bool(ENABLED)

    def delay_seconds(self) -> float:
        return int(self.params.get(DELAY)) * 60.0

    def _update(self) -> None:
        """Start, keep or end the countdown for the ignition, the settings and the arming now."""
        should_count = self.enabled and self.armed and not self.waiting_for_ignition and not self.hw.ignition()
        if should_count and self._shutdown_timer is None:
            if self.pending_since is None:
                self.pending_since = self._loop().time()
            remaining = max(0.0, self.delay_seconds() - (self._loop().time() - self.pending_since))
            self._shutdown_timer = self._loop().call_later(remaining, self._shutdown)
            self.logs.system(f"Ignition off: the device shuts down in {remaining / 60:.1f} min unless the "
                             "ignition comes on", "notice")
            self.bus.publish(SHUTDOWN_PENDING, {}, {"Active": "1", "Delay": self.params.get(DELAY)})
        elif not should_count and (self._shutdown_timer is not None or self.pending_since is not None):
            if self._shutdown_timer is not None:
                self._shutdown_timer.cancel()
            self._shutdown_timer, self.pending_since = None, None
            self.logs.system("Delayed shutdown cancelled", "notice")
            self.bus.publish(SHUTDOWN_PENDING, {}, {"Active": "0", "Delay": self.params.get(DELAY)})

    def _shutdown(self) -> None:
        self._shutdown_timer = None
        if self._shutting_down:
            return
        self._shutting_down = True
        self.logs.system(f"The ignition has been off for {self.params.get(DELAY)} min: shutting down")
        self.store.set_kv(LAST_STOP_KEY, DELAYED_SHUTDOWN)
        self.shut_down()

    # -- inputs -------------------------------------------------------------------------------
    def _publish_ignition(self) -> None:
        self.bus.publish(IGNITION, {}, {"Active": "1" if self.hw.ignition() else "0"})

    def _on_ignition(self, on: bool) -> None:
        self.logs.system(f"Ignition {'on' if on else 'off'}")
        self._publish_ignition()
        if on and self.waiting_for_ignition:
            self.waiting_for_ignition = False
            self._arm()
        if not on:
            self.pending_since = None  # the delay counts from this time the ignition went off
            if self._shutdown_timer is not None:
                self._shutdown_timer.cancel()
                self._shutdown_timer = None
        self._update()

    def _on_params(self, changes: list[Change], actor: str) -> None:
        names = {c.name for c in changes}
        if DELAY in names and self._shutdown_timer is not None:
            self._shutdown_timer.cancel()  # the new delay, counted from when the ignition went off
            self._shutdown_timer = None
        if names & {ENABLED, DELAY}:
            self._update()

    # -- what the page shows -------------------------------------------------------------------
    def status(self) -> dict:
        left = None
        if self._shutdown_timer is not None and self.pending_since is not None:
            left = max(0, round(self.delay_seconds() - (self._loop().time() - self.pending_since)))
        return {"ignition": self.hw.ignition(), "enabled": self.enabled, "delayMinutes": int(self.params.get(DELAY)),
                "armed": self.armed and not self.waiting_for_ignition, "afterPowerLoss": self.after_power_loss,
                "waitingForIgnition": self.waiting_for_ignition, "shutdownPending": left is not None,
                "secondsLeft": left}


POWER_SERVICE: Key[PowerService] = Key("power")
