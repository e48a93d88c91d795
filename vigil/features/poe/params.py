"""The PoE parameters: each port's power (`PoE.Port.P<n>.Enabled`), network ("power only" is
`Network=no`) and friendly name, keep power during a restart, and the allocation policy."""

from __future__ import annotations

from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.features.poe.const import (
    ALLOCATION,
    ALLOCATIONS,
    ENABLED,
    FRIENDLY_NAME,
    KEEP_POWER,
    NETWORK,
    port_group,
)

V, OP, A = Role.VIEWER, Role.OPERATOR, Role.ADMIN
ON_CHANGE = applied("poe", how="listener")  # the service powers, cuts and re-allocates at once
BY_POE = applied("poe")  # read where used: the status and the page
AT_STOP = applied("poe", how="read", note="read when the device stops: a restart keeps the ports powered")


def param_defs(ports: int, pse: bool) -> list[ParamDef]:
    """The ports' settings; the power settings only where the ports give power."""
    defs: list[ParamDef] = []
    for port in range(1, ports + 1):
        g = port_group(port)
        if pse:
            defs.append(ParamDef(g + ENABLED, "yes", "bool", read=V, write=OP, nice=f"Port {port} PoE",
                                 owner=ON_CHANGE))
        defs += [
            ParamDef(g + NETWORK, "yes", "bool", read=V, write=OP, nice=f"Port {port} network", owner=ON_CHANGE),
            ParamDef(g + FRIENDLY_NAME, "", maxlen=64, read=V, write=OP, nice=f"Port {port} friendly name",
                     owner=BY_POE),
        ]
    if not pse:
        return defs
    return defs + [
        ParamDef(KEEP_POWER, "no", "bool", read=V, write=OP, nice="Keep PoE active during a restart", owner=AT_STOP),
        ParamDef(ALLOCATION, "class", "enum", ALLOCATIONS, read=V, write=A, nice="Allocate power by",
                 owner=ON_CHANGE),
    ]
