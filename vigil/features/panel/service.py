"""The recorders' front panel: what the LEDs show, when the buzzer sounds, what the power
button does (the S3008, S3016 and S4000 manuals' product overview and troubleshooting tables).

- Product status LED: amber while the recorder starts, red when the PoE budget is exceeded
  (a PoE failure), green otherwise.
- Hard drive LEDs: as `vigil.hal.disks.drive_leds` reads the manuals' LED tables (one per bay
  on the S3016 and S4000, one on the S3008).
- The LAN network port LED (rear): blinks green while the link is up (the S3016's 2.5 Gbit/s,
  the S4000's 1 Gbit/s), off without network.
- PoE status LEDs (S3016, one per port): green a powered device, red a PoE failure of that
  port (budget exceeded), off otherwise.
- The buzzer sounds while there is a reason: the PoE budget exceeded (S3008 manual), a broken
  drive, a RAID without redundancy or failed, a storage failure. A short press of the power
  button (or Silence on the Status page) silences it; it sounds again only for a new reason.
- A long press (4 s or more) of the power button: a brief beep, then the recorder shuts down
  through its normal stop path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vigil.core.events import Event, EventBus
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.features.panel.const import (
    ALARM,
    BEEP,
    BUZZER,
    LONG_PRESS_SECONDS,
    NETWORK_LED,
    POWER_BUTTON,
    STATUS_LED,
    disk_led,
    poe_led,
)
from vigil.features.poe.const import POE_FAILURE, PORT_POWER
from vigil.features.storage.const import DISRUPTION, FAILURE, RECORDING_ONGOING
from vigil.features.storage.service import StorageService
from vigil.hal.disks import drive_leds
from vigil.hal.indicators import OFF, Indicators, LedState, SoundState
from vigil.hal.network import InterfaceState

GREEN, AMBER, RED = LedState(("green",)), LedState(("amber",)), LedState(("red",))
WATCHED = (POE_FAILURE, PORT_POWER, DISRUPTION, FAILURE, RECORDING_ONGOING)


def panel_parts(disk_slots: int, raid: bool, poe_ports: int) -> tuple[str, ...]:
    """The LEDs of a recorder: status, the drive LEDs (one for a single-drive recorder), the PoE LEDs."""
    disks = tuple(disk_led(s) for s in range(disk_slots if raid else min(disk_slots, 1)))
    return (STATUS_LED, *disks, NETWORK_LED, *(poe_led(p) for p in range(1, poe_ports + 1)))


class PanelService:
    def __init__(self, hardware: Indicators, bus: EventBus, logs: Logs, storage: StorageService | None,
                 poe_ports: int, shut_down: Callable[[], None]) -> None:
        self.hw = hardware
        self.bus = bus
        self.logs = logs
        self.storage = storage
        self.disks = storage.hw if storage is not None else None
        self.poe_ports = poe_ports
        self.shut_down = shut_down
        self.started = False
        self.silenced: set[str] = set()
        self.reasons: dict[str, str] = {}
        self.shutting_down = False
        self.link: bool | None = None  # the LAN port's link, once the network tells it
        hardware.watch_buttons(self._on_button)

    def on_interface(self, state: InterfaceState) -> None:
        """The network feature's interface watcher: the LAN port's LED follows its link."""
        self.link = state.link
        self.refresh()

    def declare(self) -> None:
        self.hw.set_led(STATUS_LED, AMBER)  # starting up
        self.bus.subscribe(self._on_event)
        if self.disks is not None:
            self.disks.watch(self.refresh)
        self.refresh()

    async def run(self) -> None:
        """The device is up: the status LED leaves amber."""
        self.started = True
        self.refresh()

    def _on_event(self, event: Event) -> None:
        if event.topic in WATCHED:
            self.refresh()

    # -- what the panel shows ----------------------------------------------------------------
    def _active(self, topic: str, key: str) -> list[Event]:
        return [e for e in self.bus.states(topic) if e.data.get(key) in ("1", "true")]

    def refresh(self) -> None:
        poe_failures = self._active(POE_FAILURE, "disruption")
        failed_ports = {e.source.get("port") for e in poe_failures}
        reasons: dict[str, str] = {}
        if poe_failures:
            reasons["poe"] = "The PoE budget is exceeded"
        if not self.started:
            status = AMBER
        elif poe_failures:
            status = RED
        else:
            status = GREEN
        self.hw.set_led(STATUS_LED, status)
        reasons.update(self._show_disks())
        self.hw.set_led(NETWORK_LED, LedState(("green",), "blink") if self.link else OFF)
        powered = {e.source.get("port") for e in self._active(PORT_POWER, "powered")}
        for port in range(1, self.poe_ports + 1):
            name = str(port)
            self.hw.set_led(poe_led(port), RED if name in failed_ports else GREEN if name in powered else OFF)
        for key, why in self._active_storage_failures().items():
            reasons[key] = why
        self._sound(reasons)

    def _active_storage_failures(self) -> dict[str, str]:
        return {f"storage:{e.source.get('disk_id')}": f"Storage failure on {e.source.get('disk_id')}"
                for e in self._active(FAILURE, "disruption")}

    def _show_disks(self) -> dict[str, str]:
        """Drive the hard drive LEDs as `drive_leds` (the manuals' LED tables) has them; the
        reasons for the buzzer: a broken drive, a RAID without redundancy or failed."""
        reasons: dict[str, str] = {}
        if self.disks is None:
            return reasons
        assert self.storage is not None
        drives, array, raid = self.disks.drives(), self.disks.array(), self.storage.raid
        writing = bool(self._active(RECORDING_ONGOING, "recording"))
        onboard = self.storage.onboard()
        disrupted = self.storage.disrupted(onboard) if onboard else False  # the drive's volume, not a share
        for slot, led in drive_leds(drives, array, raid, writing, disrupted).items():
            if disk_led(slot) in self.hw.leds:
                colors = () if led.color == "off" else (led.color,)
                self.hw.set_led(disk_led(slot), LedState(colors, "blink" if led.blink else "steady"))
        state = array.state if array is not None else None
        if raid and state == "failed":
            reasons["raid"] = "The RAID has failed: the system is not recording"
        elif raid and state == "degraded":
            reasons["raid"] = "The RAID is missing redundancy"
        for drive in drives:
            if drive.status == "failed":
                reasons[f"drive:{drive.slot}"] = f"Hard drive {drive.slot + 1} is broken"
        return reasons

    # -- the buzzer ------------------------------------------------------------------------------
    def _sound(self, reasons: dict[str, str]) -> None:
        for new in set(reasons) - set(self.reasons):
            self.logs.system(f"Buzzer: {reasons[new]}", "warning")
        self.silenced &= set(reasons)  # a reason that went away sounds again when it comes back
        self.reasons = reasons
        loud = set(reasons) - self.silenced
        if not self.shutting_down:
            self.hw.set_sound(BUZZER, SoundState(ALARM) if loud else None)

    def silence(self, actor: str) -> bool:
        """Silence the buzzer for the reasons it sounds for now; whether it was sounding."""
        sounding = bool(set(self.reasons) - self.silenced)
        self.silenced |= set(self.reasons)
        self.hw.set_sound(BUZZER, None)
        if sounding:
            self.logs.system(f"{actor} silenced the buzzer")
        return sounding

    # -- the power button ----------------------------------------------------------------------
    def _on_button(self, button: str, seconds: float) -> None:
        if button != POWER_BUTTON:
            return
        if seconds < LONG_PRESS_SECONDS:
            self.silence("the power button")
            return
        self.shutting_down = True
        self.hw.set_sound(BUZZER, SoundState(BEEP))  # the brief sound that tells the press was long enough
        self.logs.system(f"The power button was held {seconds:g} s: shutting down")
        self.shut_down()

    def view(self) -> dict[str, Any]:
        sound = self.hw.sound(BUZZER)
        return {
            "leds": [{"name": name, "state": self.hw.led(name).describe(), "colors": list(self.hw.led(name).colors),
                      "pattern": self.hw.led(name).pattern} for name in self.hw.leds],
            "buzzer": sound.pattern if sound else None,
            "reasons": [{"reason": why, "silenced": key in self.silenced} for key, why in self.reasons.items()],
            "missing": self.hw.missing(),
        }


PANEL_SERVICE: Key[PanelService] = Key("panel")
