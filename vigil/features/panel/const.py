"""The front panel's names: LEDs, the buzzer, the power button, the press lengths the manuals
give, and the HTTP paths."""

from __future__ import annotations

STATUS_LED = "status"
NETWORK_LED = "network"  # the LAN port's LED
BUZZER = "buzzer"
POWER_BUTTON = "power"
LONG_PRESS_SECONDS = 4.0  # "Press the power button ... for 4–5 seconds until you hear a beep"
BEEP = "beep"  # the brief sound of a long press
ALARM = "alarm"

PANEL_PATH = "/vigil/panel"
SILENCE_PATH = "/vigil/panel/silence"
SIM_PANEL = "/vigil/sim/panel"


def disk_led(slot: int) -> str:
    return f"disk{slot + 1}"


def poe_led(port: int) -> str:
    return f"poe{port}"
