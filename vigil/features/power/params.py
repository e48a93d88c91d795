"""The Power settings parameters: Delayed shutdown on or off, its delay, and the arming delay
after a start without power."""

from __future__ import annotations

from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.features.power.const import ARM_DELAY, DELAY, ENABLED, MAX_ARM_DELAY, MAX_DELAY, MIN_DELAY

ON_CHANGE = applied("power", how="listener")  # the countdown follows them at once
BY_POWER = applied("power")  # read at the next start


def param_defs() -> list[ParamDef]:
    return [
        ParamDef(ENABLED, "no", "bool", read=Role.VIEWER, nice="Delayed shutdown", owner=ON_CHANGE),
        ParamDef(DELAY, "10", "int", minimum=MIN_DELAY, maximum=MAX_DELAY, read=Role.VIEWER,
                 nice="Delay time (minutes)", owner=ON_CHANGE),
        ParamDef(ARM_DELAY, "300", "int", minimum=0, maximum=MAX_ARM_DELAY, read=Role.VIEWER,
                 nice="Seconds after a start without power before Delayed shutdown is armed", owner=BY_POWER),
    ]
