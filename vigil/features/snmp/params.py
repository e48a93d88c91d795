"""The SNMP parameters: the `SNMP.*` group as VAPIX lists it (versions, communities, the v3
user "initial", DSCP, engine boots, trap receiver T0 and which traps it gets), and Vigil's
own additions (the protocols of "initial", sysContact and sysLocation). The agent follows
every change at once (service.py listens to the tree)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from vigil.core import checks
from vigil.core.params import ParamDef, ParamTree, applied
from vigil.core.roles import Role
from vigil.features.snmp.const import (
    AUTH_PROTOCOLS,
    COMMUNITY_MAX,
    CONTACT,
    DSCP,
    ENABLED,
    ENGINE_BOOTS,
    INITIAL_AUTH,
    INITIAL_PASSWORD,
    INITIAL_PASSWORD_SET,
    INITIAL_PRIV,
    LOCATION,
    PASSWORD_MAX,
    PASSWORD_MIN,
    PRIV_PROTOCOLS,
    READ_COMMUNITY,
    TRAP_ADDRESS,
    TRAP_AUTH_FAIL,
    TRAP_COLD_START,
    TRAP_COMMUNITY,
    TRAP_LINK_DOWN,
    TRAP_LINK_UP,
    TRAP_PORT,
    TRAP_WARM_START,
    TRAPS,
    V1,
    V2C,
    V3,
    WRITE_COMMUNITY,
)

A = Role.ADMIN
YESNO = {"kind": "bool"}
AGENT = applied("snmp", how="listener")  # the agent is reconfigured when one changes


def community(value: str) -> str | None:
    if not value:
        return "a community name cannot be empty"
    if not value.isascii() or not value.isprintable():
        return "only printable ASCII characters are allowed"
    return None


def trap_receiver(value: str) -> tuple[str, int]:
    """(host, port) of a trap receiver written `host`, `host:port`, `IPv6` or `[IPv6]:port`."""
    text = value.strip()
    port = TRAP_PORT
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError("write an IPv6 address with a port as [address]:port")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, number = text.partition(":")
        if not number.isdigit():
            raise ValueError("the port after ':' must be a number")
        port = int(number)
    else:
        host = text
    if not 1 <= port <= 65535:
        raise ValueError("ports are 1 to 65535")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if checks.hostname(host):
            raise ValueError(f"{host!r} is neither an IP address nor a host name") from None
    return host, port


def trap_address(value: str) -> str | None:
    if value == "":
        return None
    try:
        trap_receiver(value)
    except ValueError as err:
        return str(err)
    return None


def initial_password(params: ParamTree) -> Callable[[str], str | None]:
    """The manual: the v3 password can be set only once; a factory default clears it."""

    def check(value: str) -> str | None:
        if params.get(INITIAL_PASSWORD):
            return "the SNMP v3 password can be set only once; reset the device to factory default to set it again"
        if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
            return f"the password has {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        if not value.isascii():
            return "only ASCII characters are allowed"
        return None

    return check


def param_defs(params: ParamTree, engine_boots: Callable[[], str]) -> list[ParamDef]:
    def flag(name: str, default: str = "no") -> ParamDef:
        return ParamDef(name, default, **YESNO, read=A, owner=AGENT)

    return [
        flag(ENABLED),
        flag(V1),
        flag(V2C),
        flag(V3),
        ParamDef(READ_COMMUNITY, "public", maxlen=COMMUNITY_MAX, check=community, read=A, owner=AGENT,
                 nice="Read community"),
        ParamDef(WRITE_COMMUNITY, "write", maxlen=COMMUNITY_MAX, check=community, read=A, owner=AGENT,
                 nice="Write community"),
        ParamDef(DSCP, "0", "int", minimum=0, maximum=63, read=A, owner=AGENT,
                 nice="Differentiated Services Codepoint of the agent's packets"),
        ParamDef(ENGINE_BOOTS, "0", read=A, write=None, dynamic=engine_boots),
        ParamDef(INITIAL_PASSWORD, "", "password", maxlen=PASSWORD_MAX, check=initial_password(params), read=A,
                 owner=AGENT, nice='Password for the account "initial"'),
        ParamDef(INITIAL_PASSWORD_SET, "no", read=A, write=None,
                 dynamic=lambda: "yes" if params.get(INITIAL_PASSWORD) else "no"),
        ParamDef(INITIAL_AUTH, "SHA", "enum", AUTH_PROTOCOLS, read=A, owner=AGENT,
                 nice='Authentication protocol of "initial"'),
        ParamDef(INITIAL_PRIV, "AES", "enum", PRIV_PROTOCOLS, read=A, owner=AGENT,
                 nice='Privacy (encryption) protocol of "initial"'),
        ParamDef(CONTACT, "", read=A, owner=AGENT, nice="sysContact"),
        ParamDef(LOCATION, "", read=A, owner=AGENT, nice="sysLocation"),
        flag(TRAPS),
        ParamDef(TRAP_ADDRESS, "", check=trap_address, read=A, owner=AGENT, nice="Trap address"),
        ParamDef(TRAP_COMMUNITY, "public", maxlen=COMMUNITY_MAX, check=community, read=A, owner=AGENT,
                 nice="Trap community"),
        flag(TRAP_AUTH_FAIL),
        flag(TRAP_COLD_START),
        flag(TRAP_WARM_START),
        flag(TRAP_LINK_UP),
        flag(TRAP_LINK_DOWN),
    ]
