"""The remote syslog parameters, `API.RemoteSyslog1.*` as the VAPIX Remote Syslog API names
them: two servers and `Enabled`. Administrators only, both ways. The service follows every
change (a listener): the senders start, stop or reconnect at once."""

from __future__ import annotations

from vigil.core import checks
from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.features.syslog.const import (
    DEFAULT_FORMAT,
    DEFAULT_PORTS,
    DEFAULT_PROTOCOL,
    DEFAULT_SEVERITY,
    DEFAULT_TYPE,
    ENABLED,
    FALSE,
    FORMATS,
    PROTOCOLS,
    SERVERS,
    SEVERITIES,
    TRUE,
    TYPES,
)

A = Role.ADMIN
ON_CHANGE = applied("syslog", how="listener")


def _address(value: str) -> str | None:
    return None if value == "" else checks.host_or_address(value)


def param_defs() -> list[ParamDef]:
    defs = [ParamDef(ENABLED, FALSE, "bool", truth=(TRUE, FALSE), read=A, write=A, owner=ON_CHANGE)]
    for names in SERVERS:
        defs += [
            ParamDef(names.address, "", maxlen=255, read=A, write=A, check=_address, owner=ON_CHANGE),
            ParamDef(names.port, str(DEFAULT_PORTS[(DEFAULT_PROTOCOL, DEFAULT_FORMAT)]), "int", minimum=1,
                     maximum=65535, read=A, write=A, owner=ON_CHANGE),
            ParamDef(names.protocol, DEFAULT_PROTOCOL, "enum", PROTOCOLS, read=A, write=A, owner=ON_CHANGE),
            ParamDef(names.format, DEFAULT_FORMAT, "enum", FORMATS, read=A, write=A, owner=ON_CHANGE),
            ParamDef(names.severity, DEFAULT_SEVERITY, "enum", SEVERITIES, read=A, write=A, owner=ON_CHANGE),
            ParamDef(names.type, DEFAULT_TYPE, "enum", TYPES, read=A, write=A, owner=ON_CHANGE),
        ]
    return defs
