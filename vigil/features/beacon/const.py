"""The beacon feature's names: event topics, action tokens, parameter names, paths and limits."""

from __future__ import annotations

# -- event topics -------------------------------------------------------------------------
# Stateful, per (SystemID, Port): active from the first new signal heard until HoldTime passes
# without hearing it. Port is the signal's number, the message type the body-worn system sends.
BEACON_RECEIVED = "tns1:Device/tnsaxis:Bluetooth/BeaconSignal"
# Stateful, per (SystemID, Port): the device broadcasts that signal.
BEACON_BROADCAST = "tns1:Device/tnsaxis:Bluetooth/BeaconBroadcast"
# Stateless: an advertisement in the body-worn format that could not be read.
BEACON_MALFORMED = "tns1:Device/tnsaxis:Bluetooth/MalformedBeacon"

# -- rule actions ("Broadcast signal") ------------------------------------------------------
BROADCAST_ONCE = "com.axis.action.fixed.bluetooth.broadcast"
BROADCAST_WHILE = "com.axis.action.unlimited.bluetooth.broadcast"
ONCE_SECONDS = 3.0  # how long "once" stays on the air: many advertising intervals, so every camera near hears it

# -- parameters ---------------------------------------------------------------------------
RSSI_THRESHOLD = "Bluetooth.Beacon.RSSIThreshold"  # dBm: weaker advertisements are not signals
HOLD_TIME = "Bluetooth.Beacon.HoldTime"  # seconds a received signal stays active after it was last heard
MIN_RSSI, MAX_RSSI = -127, 0
MAX_HOLD = 600

# -- paths --------------------------------------------------------------------------------
STATUS_PATH = "/vigil/beacon"  # JSON: what is on the air, what was heard, the counters
SIM_BLE = "/vigil/sim/ble"  # the simulation API: a scripted advertiser, and the air
MALFORMED_REPORT_SECONDS = 60.0  # one MalformedBeacon event per sender and minute at most
