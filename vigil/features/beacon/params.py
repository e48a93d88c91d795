"""The beacon parameters: how strong a signal must be, and how long one stays active."""

from __future__ import annotations

from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.features.beacon.const import HOLD_TIME, MAX_HOLD, MAX_RSSI, MIN_RSSI, RSSI_THRESHOLD

BY_BEACON = applied("beacon")  # read for each advertisement heard


def param_defs() -> list[ParamDef]:
    return [
        ParamDef(RSSI_THRESHOLD, "-90", "int", minimum=MIN_RSSI, maximum=MAX_RSSI, read=Role.VIEWER,
                 nice="Weakest signal that counts (dBm)", owner=BY_BEACON),
        ParamDef(HOLD_TIME, "5", "int", minimum=1, maximum=MAX_HOLD, read=Role.VIEWER,
                 nice="Seconds a signal stays received after it was last heard", owner=BY_BEACON),
    ]
