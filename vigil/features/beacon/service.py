"""The beacon service: Bluetooth beacon signals heard from body-worn systems become the stateful
event "Bluetooth beacon signal received" (System ID, port), and the rule action "Broadcast
signal" puts the device's own beacon on the air, once or while the rule is active.

Receiving: advertisements under another company identifier are other devices and ignored;
weaker than `Bluetooth.Beacon.RSSIThreshold` they are too far away to count (COBAN-style
range gating); a repeat of a signal already active (same System ID, port and sequence) only
keeps it active (duplicate suppression: a broadcaster repeats one advertisement many times a
second); a signal not heard for `Bluetooth.Beacon.HoldTime` seconds goes inactive. Data in the
beacon format that does not read is reported as a MalformedBeacon event, once per sender and
minute, and in the counters.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from vigil.core.clock import Clock
from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.registry import Key
from vigil.core.rules import ActionContext, ActionType, RuleError, Stop
from vigil.features.beacon.const import (
    BEACON_BROADCAST,
    BEACON_MALFORMED,
    BEACON_RECEIVED,
    BROADCAST_ONCE,
    BROADCAST_WHILE,
    HOLD_TIME,
    MALFORMED_REPORT_SECONDS,
    ONCE_SECONDS,
    RSSI_THRESHOLD,
)
from vigil.features.beacon.payload import (
    COMPANY_ID,
    MESSAGE_TYPES,
    MalformedBeacon,
    Signal,
    decode,
    encode,
    format_system_id,
    parse_message_type,
    parse_system_id,
)
from vigil.hal.ble import BleError, BleRadio, Broadcast, Heard

SignalKey = tuple[str, int]  # (System ID as 8 hex digits, port = message type)


@dataclass
class Received:
    """A signal heard: the last advertisement of it, and whether it is active."""

    address: str
    rssi: int
    sequence: int
    last_heard: float
    active: bool
    timer: asyncio.TimerHandle | None = None


class BeaconService:
    def __init__(self, radio: BleRadio, params: ParamTree, bus: EventBus, logs: Logs, clock: Clock) -> None:
        self.radio = radio
        self.params = params
        self.bus = bus
        self.logs = logs
        self.clock = clock
        self.counters = {"signals": 0, "duplicates": 0, "weak": 0, "malformed": 0}
        self._received: dict[SignalKey, Received] = {}
        self._malformed_reported: dict[str, float] = {}
        self._broadcasting: dict[SignalKey, int] = {}  # how many actions hold each signal on the air
        self._sequences: dict[SignalKey, int] = {}
        self._keys = itertools.count(1)
        self.once_seconds = ONCE_SECONDS  # how long "once" stays on the air
        radio.watch(self._on_heard)

    def declare(self) -> None:
        self.bus.declare(Topic(BEACON_RECEIVED, "Bluetooth beacon signal received", True,
                               (Item("SystemID", "xsd:string", "System ID"), Item("Port", "xsd:int", "Port")),
                               (Item("Active", "xsd:boolean", "Active", state=True),
                                Item("RSSI", "xsd:int", "Signal strength (dBm)"),
                                Item("Address", "xsd:string", "Sender"))))
        self.bus.declare(Topic(BEACON_BROADCAST, "Bluetooth beacon signal broadcast", True,
                               (Item("SystemID", "xsd:string", "System ID"), Item("Port", "xsd:int", "Port")),
                               (Item("Active", "xsd:boolean", "Active", state=True),)))
        self.bus.declare(Topic(BEACON_MALFORMED, "Malformed Bluetooth beacon", False, (),
                               (Item("Address", "xsd:string", "Sender"), Item("Reason", "xsd:string", "Reason"))))

    async def run(self) -> None:
        """Scan (and be able to broadcast) while the device runs."""
        try:
            await self.radio.start()
        except BleError as err:
            self.logs.system(f"Bluetooth is not available: {err}", "error")
            return
        try:
            await asyncio.Event().wait()
        finally:
            self.close()
            await self.radio.close()

    # -- receiving -----------------------------------------------------------------------
    def _on_heard(self, heard: Heard) -> None:
        data = heard.manufacturer_data.get(COMPANY_ID)
        if data is None:
            return  # another kind of device
        try:
            signal = decode(bytes(data))
        except MalformedBeacon as err:
            self._malformed(heard.address, str(err))
            return
        if heard.rssi < int(self.params.get(RSSI_THRESHOLD)):
            self.counters["weak"] += 1
            return
        key = (signal.system, signal.message_type)
        now = self.clock.monotonic()
        entry = self._received.get(key)
        if entry is not None and entry.active and entry.sequence == signal.sequence:
            self.counters["duplicates"] += 1
        else:
            self.counters["signals"] += 1
        if entry is None:
            entry = self._received[key] = Received(heard.address, heard.rssi, signal.sequence, now, False)
        entry.address, entry.rssi, entry.sequence, entry.last_heard = heard.address, heard.rssi, signal.sequence, now
        if entry.timer is not None:
            entry.timer.cancel()
        entry.timer = asyncio.get_running_loop().call_later(float(self.params.get(HOLD_TIME)), self._expire, key)
        if not entry.active:
            entry.active = True
            self._publish_received(key, entry)

    def _expire(self, key: SignalKey) -> None:
        entry = self._received.get(key)
        if entry is None or not entry.active:
            return
        entry.active, entry.timer = False, None
        self._publish_received(key, entry)

    def _publish_received(self, key: SignalKey, entry: Received) -> None:
        self.bus.publish(BEACON_RECEIVED, {"SystemID": key[0], "Port": str(key[1])},
                         {"Active": "1" if entry.active else "0", "RSSI": str(entry.rssi), "Address": entry.address})

    def _malformed(self, address: str, reason: str) -> None:
        self.counters["malformed"] += 1
        now = self.clock.monotonic()
        last = self._malformed_reported.get(address)
        if last is not None and now - last < MALFORMED_REPORT_SECONDS:
            return
        self._malformed_reported[address] = now
        self.logs.system(f"Bluetooth beacon from {address} ignored: {reason}", "warning")
        self.bus.publish(BEACON_MALFORMED, {}, {"Address": address, "Reason": reason})

    # -- broadcasting ----------------------------------------------------------------------
    async def broadcast(self, signal: Signal, key: str) -> None:
        """Put `signal` on the air under `key` until `stop_broadcast(key, ...)`."""
        await self.radio.advertise(key, Broadcast(COMPANY_ID, encode(signal)))
        ident = (signal.system, signal.message_type)
        self._broadcasting[ident] = self._broadcasting.get(ident, 0) + 1
        self.bus.publish(BEACON_BROADCAST, {"SystemID": ident[0], "Port": str(ident[1])}, {"Active": "1"})

    async def stop_broadcast(self, key: str, signal: Signal) -> None:
        await self.radio.withdraw(key)
        ident = (signal.system, signal.message_type)
        left = self._broadcasting.get(ident, 1) - 1
        if left > 0:
            self._broadcasting[ident] = left
            return
        self._broadcasting.pop(ident, None)
        self.bus.publish(BEACON_BROADCAST, {"SystemID": ident[0], "Port": str(ident[1])}, {"Active": "0"})

    def new_signal(self, system_id: int, message_type: int) -> Signal:
        """The next signal of a System ID and message type: a new sequence, so receivers see it as new."""
        ident = (format_system_id(system_id), message_type)
        sequence = (self._sequences.get(ident, -1) + 1) % 256
        self._sequences[ident] = sequence
        return Signal(system_id, message_type, sequence)

    # -- rule actions ("Broadcast signal") --------------------------------------------------
    def _action_signal(self, params: Mapping[str, str]) -> tuple[int, int]:
        try:
            return (parse_system_id(params.get("system_id", "")),
                    parse_message_type(params.get("message_type", "") or "1"))
        except ValueError as err:
            raise RuleError(f"Broadcast signal: {err}") from None

    def _validate(self, params: Mapping[str, str]) -> None:
        self._action_signal(params)

    def action_types(self) -> list[ActionType]:
        async def once(ctx: ActionContext) -> None:
            signal = self.new_signal(*self._action_signal(ctx.config.params))
            key = f"rule{ctx.rule.id}-{next(self._keys)}"
            await self.broadcast(signal, key)
            self.logs.system(f"rule {ctx.rule.name} broadcasts signal {signal.message_type} of system {signal.system}")
            try:
                await asyncio.sleep(self.once_seconds)
            finally:
                await self.stop_broadcast(key, signal)

        async def while_active(ctx: ActionContext) -> Stop:
            signal = self.new_signal(*self._action_signal(ctx.config.params))
            key = f"rule{ctx.rule.id}-{next(self._keys)}"
            await self.broadcast(signal, key)
            self.logs.system(f"rule {ctx.rule.name} broadcasts signal {signal.message_type} of system "
                             f"{signal.system} while it is active")

            async def stop() -> None:
                await self.stop_broadcast(key, signal)
            return stop

        return [
            ActionType(BROADCAST_ONCE, "Broadcast signal", ("system_id", "message_type"), run=once,
                       validate=self._validate),
            ActionType(BROADCAST_WHILE, "Broadcast signal while the rule is active", ("system_id", "message_type"),
                       start=while_active, validate=self._validate),
        ]

    # -- what the page shows -------------------------------------------------------------------
    def status(self) -> dict:
        now = self.clock.monotonic()
        on_air = []
        for key, broadcast in sorted(self.radio.on_air().items()):
            try:
                signal = decode(broadcast.data)
            except MalformedBeacon:
                continue
            on_air.append({"key": key, "systemId": signal.system, "messageType": signal.message_type,
                           "message": MESSAGE_TYPES.get(signal.message_type, ""), "sequence": signal.sequence})
        heard = [{"systemId": system, "port": port, "message": MESSAGE_TYPES.get(port, ""), "active": e.active,
                  "address": e.address, "rssi": e.rssi, "secondsAgo": round(now - e.last_heard, 1)}
                 for (system, port), e in sorted(self._received.items())]
        return {"onAir": on_air, "heard": heard, "counters": dict(self.counters),
                "rssiThreshold": int(self.params.get(RSSI_THRESHOLD)), "holdTime": int(self.params.get(HOLD_TIME))}

    def close(self) -> None:
        for entry in self._received.values():
            if entry.timer is not None:
                entry.timer.cancel()


BEACON_SERVICE: Key[BeaconService] = Key("beacon")
