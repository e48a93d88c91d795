"""The I/O service: ports as the user configures them (IOPort.I<n> parameters) over the
hardware layer, their events, output control with pulses and sequences, and the rule actions "Toggle I/O once" and "Toggle I/O while the rule is active"."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import Change, ParamTree
from vigil.core.registry import Key
from vigil.core.rules import ActionContext, ActionType, RuleError, Stop
from vigil.features.io.const import (
    CONFIGURABLE,
    DIGITAL_INPUT,
    DIRECTION,
    INPUT_NAME,
    INPUT_SUPERVISED,
    INPUT_TRIG,
    MAX_DURATION,
    OUTPUT_ACTIVE,
    OUTPUT_NAME,
    PORT,
    RELAY,
    SUPERVISED,
    USAGE,
    port_group,
)
from vigil.hal.io import IOHardware, PortSpec

PORT_INDEX = re.compile(r"[0-9]{1,3}")
DURATION = re.compile(r"[0-9]{1,10}")
ACTIVE_WORDS = {"high": True, "active": True, "1": True, "low": False, "inactive": False, "0": False}


class IOError_(ValueError):
    """A refused I/O request, with a message for the user."""


@dataclass(frozen=True)
class PortView:
    index: int
    name: str
    direction: str  # input | output
    usage: str
    configurable: bool
    normal: str  # open | closed: the circuit when the port is not active
    circuit: str  # open | closed | cut | short
    supervised: bool

    @property
    def active(self) -> bool:
        return self.circuit in ("open", "closed") and self.circuit != self.normal

    @property
    def reported(self) -> str:
        """The circuit as the APIs report it, open or closed: a cut loop reads open, a shorted
        one closed (the tampering itself is the SupervisedPort event)."""
        return {"cut": "open", "short": "closed"}.get(self.circuit, self.circuit)

    @property
    def tampered(self) -> bool:
        return self.supervised and self.circuit in ("cut", "short")


def opposite(circuit: str) -> str:
    return "open" if circuit == "closed" else "closed"


class IOService:
    def __init__(self, hardware: IOHardware, params: ParamTree, bus: EventBus, logs: Logs) -> None:
        self.hw = hardware
        self.params = params
        self.bus = bus
        self.logs = logs
        self._reverts: dict[int, asyncio.Task] = {}
        self._published: dict[int, PortView] = {}
        hardware.watch(self._on_hardware)
        params.listeners.append(self._on_params)

    # -- reading -----------------------------------------------------------------------
    @property
    def specs(self) -> list[PortSpec]:
        return self.hw.specs

    def view(self, index: int) -> PortView:
        if not 0 <= index < len(self.hw.specs):
            raise IOError_(f"There is no port {index}")
        g = port_group(index)
        p = self.params.get
        direction = p(g + DIRECTION)
        if direction == "input":
            normal = opposite(p(g + INPUT_TRIG))
            name = p(g + INPUT_NAME)
        else:
            normal = opposite(p(g + OUTPUT_ACTIVE))
            name = p(g + OUTPUT_NAME)
        spec = self.hw.specs[index]
        supervised = direction == "input" and spec.supervisable and p(g + INPUT_SUPERVISED) == "yes"
        circuit = self.hw.read(index)
        if circuit in ("cut", "short") and not supervised:
            circuit = "open"  # an unsupervised input cannot tell a cut loop from an open one
        return PortView(index, name, direction, p(g + USAGE), p(g + CONFIGURABLE) == "yes", normal,
                        circuit, supervised)

    def views(self) -> list[PortView]:
        return [self.view(s.index) for s in self.hw.specs]

    # -- events ------------------------------------------------------------------------
    def declare(self) -> None:
        """Apply the stored port directions to the hardware, put every output in its normal
        position and publish the initial states.

        The hardware leaves an output's circuit open while the device starts (the W401 manual:
        "During restart, the output circuit is open. When the restart is complete, the circuit
        goes back to the normal position"): an output whose normal state is closed would
        otherwise come up active."""
        for spec in self.hw.specs:
            self.hw.set_direction(spec.index, self.params.get(port_group(spec.index) + DIRECTION))
        for view in self.views():
            if view.direction == "output":
                self.hw.drive(view.index, view.normal)
        n = len(self.hw.specs)
        ones = tuple(str(i + 1) for i in range(n))
        zeros = tuple(str(i) for i in range(n))
        self.bus.declare(Topic(PORT, "Digital I/O port", True, (Item("port", "xsd:int", "Port", ones),),
                               (Item("state", "xsd:boolean", "Active", state=True),)))
        self.bus.declare(Topic(DIGITAL_INPUT, "Digital input", True,
                               (Item("InputToken", "tt:ReferenceToken", "Input", zeros),),
                               (Item("LogicalState", "xsd:boolean", "Active", state=True),)))
        self.bus.declare(Topic(RELAY, "Relay", True, (Item("RelayToken", "tt:ReferenceToken", "Relay", zeros),),
                               (Item("LogicalState", "tt:RelayLogicalState", "State", ("active", "inactive"),
                                     state=True),)))
        if any(s.supervisable for s in self.hw.specs):
            self.bus.declare(Topic(SUPERVISED, "Supervised input", True, (Item("port", "xsd:int", "Port", ones),),
                                   (Item("state", "xsd:string", "Circuit", ("open", "closed", "cut", "short")),
                                    Item("tampered", "xsd:boolean", "Tampering", state=True))))
        self.sync()

    def sync(self) -> None:
        """Publish every port whose state or configuration changed."""
        for view in self.views():
            before = self._published.get(view.index)
            if before == view:
                continue
            self._published[view.index] = view
            self._publish(view, before)

    def _publish(self, view: PortView, before: PortView | None) -> None:
        i = view.index
        if before is not None and before.direction != view.direction:
            self.bus.delete(DIGITAL_INPUT if before.direction == "input" else RELAY, {
                "InputToken" if before.direction == "input" else "RelayToken": str(i)})
        if before is not None and before.supervised and not view.supervised:
            self.bus.delete(SUPERVISED, {"port": str(i + 1)})
        self.bus.publish(PORT, {"port": str(i + 1)}, {"state": "1" if view.active else "0"})
        if view.direction == "input":
            self.bus.publish(DIGITAL_INPUT, {"InputToken": str(i)},
                             {"LogicalState": "true" if view.active else "false"})
        else:
            self.bus.publish(RELAY, {"RelayToken": str(i)}, {"LogicalState": "active" if view.active else "inactive"})
        if view.supervised:
            self.bus.publish(SUPERVISED, {"port": str(i + 1)},
                             {"state": view.circuit, "tampered": "1" if view.tampered else "0"})

    def _on_hardware(self, index: int) -> None:
        self.sync()

    def _port_change(self, change: Change, leaf: str) -> int | None:
        """The port index when `change` is that port's `leaf` parameter, else None."""
        for spec in self.hw.specs:
            if change.name == port_group(spec.index) + leaf:
                return spec.index
        return None

    def _on_params(self, changes: list[Change], actor: str) -> None:
        redirected: set[int] = set()
        for change in changes:
            index = self._port_change(change, DIRECTION)
            if index is not None:
                redirected.add(index)
                self._cancel_revert(index)
                self.hw.set_direction(index, change.new)
                if change.new == "output":  # a new output starts in its normal position
                    self.hw.drive(index, self.view(index).normal)
        renormalled: set[int] = set()
        for change in changes:
            index = self._port_change(change, OUTPUT_ACTIVE)
            if index is not None:
                before = self._published.get(index)
                if index in redirected or before is None or before.direction != "output":
                    continue
                # A new normal state keeps the output's logical state (the circuit flips, the
                # port stays active or inactive) and ends a running sequence (VAPIX I/O port
                # management, setPorts normalState).
                self._cancel_revert(index)
                renormalled.add(index)
                normal = opposite(change.new)
                self.hw.drive(index, opposite(normal) if before.active else normal)
        if any(c.name.startswith(port_group(s.index)) for c in changes for s in self.hw.specs):
            self._outputs_to_normal(redirected | renormalled, actor)
            self.sync()

    def _outputs_to_normal(self, skip: set[int], actor: str) -> None:
        """A change of the port settings returns every active output to its normal position,
        whatever holds it active (the W401 manual, Accessories: "If you change any settings on
        this page, the output circuits go back to their normal positions regardless of any
        active triggers"). `skip`: outputs the change itself just placed: a new output (already
        normal) and one whose normal state changed, which keeps its logical state as VAPIX
        setPorts documents for normalState."""
        for view in self.views():
            if view.direction != "output" or view.index in skip or not view.active:
                continue
            self._cancel_revert(view.index)
            self.hw.drive(view.index, view.normal)
            self.logs.system(f"output {view.index} back to its normal state: {actor} changed the port settings")

    # -- outputs -----------------------------------------------------------------------
    def set_output(self, index: int, active: bool, actor: str, duration: float = 0.0) -> None:
        """Drive an output active or inactive; with a duration, return to the opposite after it."""
        view = self.view(index)
        if view.direction != "output":
            raise IOError_(f"Port {index} is not an output")
        self._cancel_revert(index)
        self._drive(view, active)
        if duration > 0:
            self._reverts[index] = asyncio.ensure_future(self._revert_after(index, not active, duration))
        self.logs.system(f"{actor} set output {index} {'active' if active else 'inactive'}"
                         + (f" for {duration:g} s" if duration else ""))

    def set_circuit(self, index: int, circuit: str, actor: str) -> None:
        """Drive an output's circuit. A running sequence goes on and overrides it at its
        next step (VAPIX I/O port management, setPorts state)."""
        view = self.view(index)
        if view.direction != "output":
            raise IOError_(f"Port {index} is not an output")
        self.hw.drive(index, circuit)
        self.sync()
        self.logs.system(f"{actor} set output {index} circuit {circuit}")

    def _drive(self, view: PortView, active: bool) -> None:
        self.hw.drive(view.index, opposite(view.normal) if active else view.normal)
        self.sync()

    async def _revert_after(self, index: int, active: bool, delay: float) -> None:
        await asyncio.sleep(delay)
        self._reverts.pop(index, None)
        view = self.view(index)
        if view.direction == "output":
            self._drive(view, active)

    def run_sequence(self, index: int, steps: list[tuple[str, int]], actor: str) -> None:
        """Drive an output through (circuit, milliseconds) steps; the last state stays."""
        view = self.view(index)
        if view.direction != "output":
            raise IOError_(f"Port {index} is not an output")
        if index in self._reverts and not self._reverts[index].done():
            raise IOError_(f"Port {index} is already running a sequence")
        self._reverts[index] = asyncio.ensure_future(self._sequence(index, steps))
        self.logs.system(f"{actor} started a sequence of {len(steps)} steps on output {index}")

    async def _sequence(self, index: int, steps: list[tuple[str, int]]) -> None:
        try:
            for circuit, millis in steps:
                self.hw.drive(index, circuit)
                self.sync()
                if millis:
                    await asyncio.sleep(millis / 1000)
        finally:
            if self._reverts.get(index) is asyncio.current_task():
                self._reverts.pop(index, None)

    def _cancel_revert(self, index: int) -> None:
        task = self._reverts.pop(index, None)
        if task is not None:
            task.cancel()

    # -- rule actions ------------------------------------------------------------------
    def _action_port(self, params: Mapping[str, str]) -> tuple[int, bool]:
        raw = params.get("port", "").strip()
        if not PORT_INDEX.fullmatch(raw):  # int() would also take "٣", "0_1" and 5000 digits
            raise RuleError("The I/O action needs a port number")
        index = int(raw)
        if not 0 <= index < len(self.hw.specs):
            raise RuleError(f"There is no port {index}")
        state = params.get("state", "high").lower()
        if state not in ACTIVE_WORDS:
            raise RuleError("The I/O action state must be high (active) or low (inactive)")
        return index, ACTIVE_WORDS[state]

    def _validate(self, params: Mapping[str, str]) -> None:
        self._action_port(params)
        duration = params.get("duration", "0") or "0"
        # ASCII digits, and few enough that the number stays a finite time.
        if not DURATION.fullmatch(duration) or int(duration) > MAX_DURATION:
            raise RuleError(f"The I/O action duration is a whole number of seconds, 0 to {MAX_DURATION}")

    def action_types(self) -> list[ActionType]:
        async def toggle_once(ctx: ActionContext) -> None:
            index, active = self._action_port(ctx.config.params)
            self.set_output(index, active, f"rule {ctx.rule.name}", float(ctx.config.params.get("duration") or 0))

        async def toggle_while(ctx: ActionContext) -> Stop:
            index, active = self._action_port(ctx.config.params)
            self.set_output(index, active, f"rule {ctx.rule.name}")

            async def stop() -> None:
                if self.view(index).direction == "output":
                    self.set_output(index, not active, f"rule {ctx.rule.name}")
            return stop

        return [
            ActionType("com.axis.action.fixed.io.toggle", "Toggle I/O once", ("port", "state", "duration"),
                       run=toggle_once, validate=self._validate),
            ActionType("com.axis.action.unlimited.io.toggle", "Toggle I/O while the rule is active",
                       ("port", "state"), start=toggle_while, validate=self._validate),
        ]


IO_SERVICE: Key[IOService] = Key("io")
