"""The power feature's names: event topics, parameter names, store keys, paths and limits."""

from __future__ import annotations

# -- event topics (stateful) ----------------------------------------------------------------
IGNITION = "tns1:Device/tnsaxis:Power/Ignition"  # Active: the ignition is on
SHUTDOWN_PENDING = "tns1:Device/tnsaxis:Power/DelayedShutdown"  # Active: the device shuts down at the end of the delay

# -- parameters -----------------------------------------------------------------------------
ENABLED = "PowerSettings.DelayedShutdown.Enabled"
DELAY = "PowerSettings.DelayedShutdown.Delay"  # minutes, 1-60 (the manual)
ARM_DELAY = "PowerSettings.DelayedShutdown.ArmDelay"  # seconds after a start without power before it is armed
MIN_DELAY, MAX_DELAY = 1, 60
MAX_ARM_DELAY = 3600

# -- what the device remembers between runs (store kv) -----------------------------------------
RUNNING_KEY = "power.running"  # "1" while the device runs: still "1" at a start means the power was cut
LAST_STOP_KEY = "power.last_stop"  # "delayed-shutdown" when the last run ended that way

# -- paths ------------------------------------------------------------------------------------
STATUS_PATH = "/vigil/power"
SIM_POWER = "/vigil/sim/power"
