"""The Time group: synchronisation settings, applied by the service as they change, and the time
zone, which everything that shows or plans local time reads (`vigil.core.zones`)."""

from __future__ import annotations

from collections.abc import Callable

from vigil.core import checks
from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.core.zones import posix_zone_problem
from vigil.features.timesync import servers
from vigil.features.timesync.const import (
    DEFAULT_MAX_POLL,
    DEFAULT_MIN_POLL,
    DHCP_SERVERS,
    DST_ENABLED,
    MAX_POLL,
    MAX_STATIC_SERVERS,
    MIN_POLL,
    NTP_PORT,
    NTP_SERVERS,
    NTS_ENABLED,
    NTS_KE_CA_CERTS,
    NTS_KE_PORT,
    NTS_KE_SERVERS,
    OBTAIN_FROM_DHCP,
    POLL_RANGE,
    POSIX_TIME_ZONE,
    SYNC_SOURCE,
    TIME_ZONE,
)

V, OP, A = Role.VIEWER, Role.OPERATOR, Role.ADMIN
YESNO = {"kind": "bool"}
SYNC = applied("timesync", how="listener", note="the NTP client follows each change at once")
ZONE = applied("system", "timesync", "core.zones", note="time.cgi's local time, schedules and notification texts "
               "(vigil.core.zones); the service keeps the IANA and POSIX zones consistent")


def zone_name(value: str) -> str | None:
    """An IANA zone, or empty: the POSIX zone applies."""
    return None if value == "" else checks.iana_zone(value)


def cert_ids(value: str) -> str | None:
    ids = servers.split_list(value)
    if len(ids) > MAX_STATIC_SERVERS:
        return f"at most {MAX_STATIC_SERVERS} certificates"
    return None


def param_defs(dhcp_servers: Callable[[], str]) -> list[ParamDef]:
    poll = {"kind": "int", "minimum": POLL_RANGE[0], "maximum": POLL_RANGE[1]}
    return [
        ParamDef(SYNC_SOURCE, "NTP", "enum", ("NTP", "None"), owner=SYNC),
        ParamDef(OBTAIN_FROM_DHCP, "yes", **YESNO, owner=SYNC),
        ParamDef(TIME_ZONE, "Etc/UTC", maxlen=64, ascii_only=True, read=OP, check=zone_name, owner=ZONE),
        ParamDef(POSIX_TIME_ZONE, "UTC0", maxlen=64, ascii_only=True, read=OP, check=posix_zone_problem, owner=ZONE),
        ParamDef(DST_ENABLED, "no", **YESNO, read=OP, owner=ZONE),
        ParamDef(NTP_SERVERS, "", maxlen=1024, check=servers.list_problem(NTP_PORT), owner=SYNC),
        ParamDef(NTS_ENABLED, "no", **YESNO, owner=SYNC),
        ParamDef(NTS_KE_SERVERS, "", maxlen=1024, check=servers.list_problem(NTS_KE_PORT), owner=SYNC),
        ParamDef(NTS_KE_CA_CERTS, "", maxlen=1024, check=cert_ids, owner=SYNC),
        # A MaxPoll below MinPoll polls every 2^MinPoll seconds (the NTP API refuses the pair).
        ParamDef(MIN_POLL, str(DEFAULT_MIN_POLL), **poll, owner=SYNC),
        ParamDef(MAX_POLL, str(DEFAULT_MAX_POLL), **poll, owner=SYNC),
        ParamDef(DHCP_SERVERS, "", read=A, write=None, dynamic=dhcp_servers),
        # The geolocation API (http_geolocation.py), as VAPIX identifies it
        ParamDef("Properties.Geolocation.Geolocation", "yes", read=V, write=None),
        ParamDef("Properties.Geolocation.Version", "0.01", read=V, write=None),
    ]
