"""The PoE switch as the user runs it: each port's power on/off, "power only", friendly name,
the allocation policy (by PoE class, or by the power a device requests over LLDP), the total
budget enforced, keep power during a restart, the port statuses of the VAPIX NVR PoE API, and
the events (a port's power, the PoE failure) that rules use as conditions.

Allocation is static, as the manuals describe it: each powered port reserves power (its class's
limit, or its LLDP request) and a port is powered only while the reserved total stays within the
budget. Ports already powered keep their reservation; a newcomer that does not fit stays off with
"power budget exceeded" and the PoE failure event, whatever its port number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import Change, ParamError, ParamTree
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.features.poe.const import (
    ALLOCATION,
    ANY_PORT,
    BUDGET_EXCEEDED,
    CONNECTED_NO_POE,
    CONNECTED_POE,
    DISABLED,
    ENABLED,
    FRIENDLY_NAME,
    KEEP_POWER,
    NETWORK,
    NOT_CONNECTED,
    OTHER_ERROR,
    POE_FAILURE,
    PORT_POWER,
    STATUS_TEXT,
    port_group,
)
from vigil.features.poe.lldp import LldpError, Neighbour, parse
from vigil.hal.poe import CLASS_POWER_W, Detection, PoeHardware

log = logging.getLogger("vigil.poe")
POLL_SECONDS = 2.0  # how often the measured draw and (on Linux) the detections are read


class PoeError(ValueError):
    """A refused PoE request, with a message for the user."""


@dataclass(frozen=True)
class PortStatus:
    port: int
    code: int
    description: str
    extra: str
    class_power_limit: float | None  # the class's limit at the port, W; None with no class
    poe_class: int | None
    allocated_w: float
    consumption_w: float
    pse_class_limit: int
    requested_w: float | None  # None until an LLDPDU with a power request arrived
    enabled: bool
    network: bool
    name: str

    def to_json(self) -> dict:
        return asdict(self)


def standard(poe_class: int) -> str:
    if poe_class <= 3:
        return "802.3af"
    return "802.3at" if poe_class == 4 else "802.3bt"


class PoeService:
    def __init__(self, hardware: PoeHardware, params: ParamTree, bus: EventBus, logs: Logs,
                 next_action: Callable[[], str], labels: tuple[str, ...] = ()) -> None:
        self.hw = hardware
        self.labels = labels  # the ports' names on the case, when they have them (the S4000's)
        self.params = params
        self.bus = bus
        self.logs = logs
        self._next_action = next_action  # what the device does once it stops: restart keeps power
        self._neighbours: dict[int, Neighbour] = {}
        self._allocated: dict[int, float] = {}
        self._codes: dict[int, int] = {}
        self._errors: dict[int, str] = {}
        self._published: dict[tuple[str, str], dict[str, str]] = {}
        if not hardware.absent:
            hardware.watch(self._on_hardware)
            params.listeners.append(self._on_params)

    @property
    def ports(self) -> int:
        return self.hw.ports

    @property
    def absent(self) -> str:
        return self.hw.absent

    # -- reading -----------------------------------------------------------------------
    def check_port(self, port: int) -> int:
        if self.absent:
            raise PoeError(self.absent)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= self.ports:
            raise PoeError(f"port {port} does not exist: the ports are 1 to {self.ports}")
        return port

    def enabled(self, port: int) -> bool:
        """Whether the port gives power: never on a port without PSE (it has no such setting)."""
        return self.hw.pse and self.params.get_bool(port_group(self.check_port(port)) + ENABLED)

    def keep_power(self) -> bool:
        return self.hw.pse and self.params.get_bool(KEEP_POWER)

    def class_limit_w(self, poe_class: int) -> float:
        """The power a port gives a device of `poe_class`: its class's, at most the port's."""
        return CLASS_POWER_W[min(poe_class, self.hw.port_class_limit)]

    def wanted_w(self, port: int, detection: Detection) -> float:
        """The power `port` reserves: the class's limit, or the LLDP request under that policy."""
        assert detection.poe_class is not None
        limit = self.class_limit_w(detection.poe_class)
        neighbour = self._neighbours.get(port)
        if self.params.get(ALLOCATION) == "lldp" and neighbour is not None and neighbour.power is not None:
            return min(neighbour.power.requested_w, limit)
        return limit

    def status(self, port: int) -> PortStatus:
        self.check_port(port)
        g = port_group(port)
        code = self._codes.get(port, NOT_CONNECTED)
        detection = self._detect(port)
        poe_class = detection.poe_class if detection is not None else None
        neighbour = self._neighbours.get(port)
        requested = neighbour.power.requested_w if neighbour is not None and neighbour.power else None
        if code in (BUDGET_EXCEEDED, OTHER_ERROR):
            extra = self._errors.get(port, "")
        elif poe_class is not None:
            extra = f"0x01: {standard(poe_class)}-compliant device detected, class {poe_class}"
        else:
            extra = ""
        name = self.params.get(g + FRIENDLY_NAME)
        if not name and neighbour is not None:
            name = " ".join(part for part in (neighbour.system_name, neighbour.chassis_mac) if part)
        return PortStatus(
            port, code, STATUS_TEXT[code], extra,
            self.class_limit_w(poe_class) if poe_class is not None else None, poe_class,
            round(self._allocated.get(port, 0.0), 1), round(self._draw(port), 1), self.hw.port_class_limit,
            requested, self.enabled(port), self.params.get_bool(g + NETWORK), name)

    def statuses(self) -> list[PortStatus]:
        if self.absent:
            return []
        return [self.status(port) for port in range(1, self.ports + 1)]

    def totals(self) -> dict:
        """The Status card: the budget, what the ports reserve and what they draw, in watts."""
        return {"budget_w": self.hw.budget_w, "ports": self.ports, "absent": self.absent, "pse": self.hw.pse,
                "labels": list(self.labels),
                "allocated_w": round(sum(self._allocated.values()), 1),
                "consumption_w": round(sum(self._draw(p) for p in range(1, self.ports + 1)), 1),
                "powered": sum(1 for code in self._codes.values() if code == CONNECTED_POE)}

    # -- changing ----------------------------------------------------------------------
    def set_port(self, port: int, values: dict[str, str], role: Role, actor: str) -> None:
        """Write a port's settings (`Enabled`, `Network`, `FriendlyName`) with the caller's
        role; the change is audited and applied by the parameter listener."""
        g = port_group(self.check_port(port))
        try:
            self.params.update([(g + leaf, value) for leaf, value in values.items()], role, actor)
        except (ValueError, ParamError) as err:
            raise PoeError(str(err)) from None

    def set_keep_power(self, on: bool, role: Role, actor: str) -> None:
        if self.absent:
            raise PoeError(self.absent)
        try:
            self.params.update([(KEEP_POWER, "yes" if on else "no")], role, actor)
        except (ValueError, ParamError) as err:
            raise PoeError(str(err)) from None

    # -- the switch --------------------------------------------------------------------
    def start(self) -> None:
        """Declare the events and power the ports as the settings and the budget allow."""
        if self.absent:
            self.logs.system(f"PoE: {self.absent}", "warning")
            return
        if not self.hw.pse:
            self.reconcile()
            return
        ports = tuple(str(p) for p in range(1, self.ports + 1))
        self.bus.declare(Topic(PORT_POWER, "PoE port power", True, (Item("port", "xsd:int", "Port", ports),),
                               (Item("powered", "xsd:boolean", "Powered", state=True),)))
        self.bus.declare(Topic(POE_FAILURE, "Power over ethernet failure", True,
                               (Item("port", "xsd:int", "Port Identifier", (*ports, ANY_PORT)),),
                               (Item("reason", "xsd:int", "Reason Code"),
                                Item("reasonstr", "xsd:string", "Reason Description"),
                                Item("disruption", "xsd:boolean", "PoE provider Disruption", state=True))))
        self.hw.watch_lldp(self._on_lldp)
        self.reconcile()

    def reconcile(self) -> None:
        """Bring every port's power in line with its detection, its settings and the budget."""
        candidates: list[tuple[int, Detection]] = []
        for port in range(1, self.ports + 1):
            g = port_group(port)
            try:
                detection = self.hw.detect(port)
                if detection is not None:
                    self.hw.set_network(port, self.params.get_bool(g + NETWORK))
                if detection is None:
                    self._neighbours.pop(port, None)  # a new device announces itself anew
                    code = NOT_CONNECTED
                elif self.hw.pse and not self.enabled(port):
                    code = DISABLED
                elif detection.poe_class is None:
                    code = CONNECTED_NO_POE
                else:
                    candidates.append((port, detection))
                    continue
                self._power(port, False)
                self._codes[port] = code
            except OSError as err:
                self._fail(port, f"the switch refused: {err}")
        used = 0.0
        # Powered ports keep their reservation first; newcomers follow in port order.
        for port, detection in sorted(candidates, key=lambda c: (not self._powered(c[0]), c[0])):
            want = self.wanted_w(port, detection)
            before = self._allocated.get(port, 0.0)
            if self._powered(port) and used + want > self.hw.budget_w and used + before <= self.hw.budget_w:
                want = before  # a larger LLDP request that does not fit: the port keeps what it had
            if used + want > self.hw.budget_w:
                self._power(port, False)
                left = max(self.hw.budget_w - used, 0.0)
                self._codes[port] = BUDGET_EXCEEDED
                self._errors[port] = (f"the class {detection.poe_class} device needs {want:.1f} W; "
                                      f"{left:.1f} W of the {self.hw.budget_w:g} W budget remain")
                continue
            try:
                self._power(port, True)
            except OSError as err:
                self._fail(port, f"the switch could not power the port: {err}")
                continue
            used += want
            self._allocated[port] = want
            self._codes[port] = CONNECTED_POE
        self._publish()

    def _fail(self, port: int, why: str) -> None:
        self._codes[port] = OTHER_ERROR
        self._errors[port] = why
        self._allocated.pop(port, None)

    def _power(self, port: int, on: bool) -> None:
        if not on:
            self._allocated.pop(port, None)
        if self._powered(port) != on:
            self.hw.set_power(port, on)
            self.logs.system(f"PoE port {port} power {'on' if on else 'off'}")

    def _powered(self, port: int) -> bool:
        return self.hw.powered(port)

    def _detect(self, port: int) -> Detection | None:
        try:
            return self.hw.detect(port)
        except OSError:
            return None

    def _draw(self, port: int) -> float:
        try:
            return self.hw.draw_w(port)
        except OSError:
            return 0.0

    def _publish(self) -> None:
        if not self.hw.pse:
            return  # plain network ports: no power events
        failing = []
        for port in range(1, self.ports + 1):
            code = self._codes.get(port, NOT_CONNECTED)
            self._emit(PORT_POWER, str(port), {"powered": "1" if code == CONNECTED_POE else "0"})
            failed = code in (BUDGET_EXCEEDED, OTHER_ERROR)
            if failed:
                failing.append(port)
            self._emit(POE_FAILURE, str(port), {
                "reason": str(code if failed else 0),
                "reasonstr": f"{STATUS_TEXT[code]}: {self._errors.get(port, '')}" if failed else "",
                "disruption": "1" if failed else "0"})
        first = failing[0] if failing else None
        self._emit(POE_FAILURE, ANY_PORT, {
            "reason": str(self._codes[first]) if first else "0",
            "reasonstr": f"port {first}: {STATUS_TEXT[self._codes[first]]}" if first else "",
            "disruption": "1" if failing else "0"})

    def _emit(self, topic: str, port: str, data: dict[str, str]) -> None:
        key = (topic, port)
        if self._published.get(key) == data:
            return
        before = self._published.get(key)
        self._published[key] = data
        self.bus.publish(topic, {"port": port}, data)
        if topic == POE_FAILURE and port != ANY_PORT and data["disruption"] == "1" and (
                before is None or before["disruption"] != "1"):
            self.logs.system(f"PoE port {port}: {data['reasonstr']}", "warning")

    # -- what arrives ------------------------------------------------------------------
    def _on_hardware(self, port: int) -> None:
        self.reconcile()

    def _on_lldp(self, port: int, frame: bytes) -> None:
        try:
            neighbour = parse(frame)
        except LldpError as err:
            log.info("PoE port %s: an LLDP frame that cannot be read: %s", port, err)
            return
        before = self._neighbours.get(port)
        self._neighbours[port] = neighbour
        if before != neighbour:
            if neighbour.power is not None:
                self.logs.system(f"PoE port {port}: the device requests {neighbour.power.requested_w:g} W "
                                 f"over LLDP ({neighbour.power.priority} priority)")
            self.reconcile()

    def _on_params(self, changes: list[Change], actor: str) -> None:
        if any(c.name.startswith("PoE.") for c in changes):
            self.reconcile()

    async def run(self) -> None:
        """Read the draw (and on Linux the detections) now and then; when the device stops, cut
        the power unless it restarts with keep power on."""
        if self.absent:
            return
        try:
            while True:
                await asyncio.sleep(POLL_SECONDS)
                self.reconcile()
        finally:
            self.stop(self._next_action())

    def stop(self, action: str) -> None:
        if action == "restart" and self.keep_power():
            self.logs.system("PoE: keep power is on; the ports stay powered through the restart")
            return
        for port in range(1, self.ports + 1):
            with contextlib.suppress(OSError):
                if self.hw.powered(port):
                    self.hw.set_power(port, False)


POE_SERVICE: Key[PoeService] = Key("poe")
