"""VAPIX: the NTP API, /axis-cgi/ntp.cgi (getNTPInfo, setNTPClientConfiguration). Administrator
only, as the API is; errors in its own codes, invalid parameters with `error.details.subCode`.

The settings are the Time parameters, so ntp.cgi, param.cgi and the web page see one truth, and
each change is audited. Server addresses may carry a port (`host:port`, `[v6]:port`). Vigil adds
`syncStatus` to the client section: the servers in use and where they come from, the last sync,
how the clock was corrected, and why the last poll failed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.certificates.service import KEYSTORE
from vigil.features.mqtt.transport import ConnectFailure, resolve_certificate
from vigil.features.timesync import servers
from vigil.features.timesync.const import (
    MAX_POLL,
    MAX_STATIC_SERVERS,
    MIN_POLL,
    NTP_PATH,
    NTP_PORT,
    NTP_SERVERS,
    NTP_VERSIONS,
    NTS_ENABLED,
    NTS_KE_CA_CERTS,
    NTS_KE_PORT,
    NTS_KE_SERVERS,
    OBTAIN_FROM_DHCP,
    POLL_RANGE,
    SUB_CA_CERTS,
    SUB_ENABLED,
    SUB_MAX_POLL,
    SUB_MIN_POLL,
    SUB_NTS,
    SUB_NTS_KE,
    SUB_SERVERS,
    SUB_SOURCE,
    SYNC_SOURCE,
)
from vigil.features.timesync.service import TIMESYNC_SERVICE, Settings
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod, ServiceCodes

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = JsonErrors(wrong_http_method=ServiceCodes.INVALID_REQUEST, bad_version=ServiceCodes.BAD_VERSION,
                    unknown_method=ServiceCodes.NO_METHOD, bad_json=ServiceCodes.INVALID_JSON,
                    bad_params=ServiceCodes.INVALID, internal=ServiceCodes.INTERNAL)
SOURCES = {"dhcp": "yes", "static": "no"}  # serversSource -> Time.ObtainFromDHCP


def iso(moment: float | None) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else ""


async def get_ntp_info(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    params, service = device.params, device.features[TIMESYNC_SERVICE]
    state = service.state
    try:
        source, in_use = service.servers_in_use(Settings.read(params))
    except ValueError:
        source, in_use = "", ()
    return {"client": {
        "enabled": params.get(SYNC_SOURCE) == "NTP",
        "NTSEnabled": params.get_bool(NTS_ENABLED),
        "NTSKEServerCACerts": servers.split_list(params.get(NTS_KE_CA_CERTS)),
        "serversSource": "DHCP" if params.get_bool(OBTAIN_FROM_DHCP) else "static",
        "maxSupportedStaticServers": MAX_STATIC_SERVERS,
        "staticServers": servers.split_list(params.get(NTP_SERVERS)),
        "advertisedServers": [str(s) for s in service.dhcp_servers],
        "staticNTSKEServers": servers.split_list(params.get(NTS_KE_SERVERS)),
        "synced": state.synced,
        "timeToNextSync": service.time_to_next_sync(),
        "timeOffset": round(state.offset * 1000, 3) if state.synced and state.offset is not None else 0.0,
        "minpoll": params.get_int(MIN_POLL),
        "maxpoll": params.get_int(MAX_POLL),
        "syncStatus": {
            "source": source,
            "servers": [str(s) for s in in_use],
            "answered": state.servers,
            "stratum": min((s.stratum for s in state.samples), default=0),
            "lastSync": iso(state.last_sync),
            "adjustment": state.adjustment,
            "slewRemaining": round(device.clock.slew_remaining * 1000, 3),
            "error": state.error,
        },
    }}


def invalid(sub_code: int, message: str) -> JsonApiError:
    return JsonApiError(ServiceCodes.INVALID, message, more={"details": {"subCode": sub_code}})


def _flag(params: dict[str, Any], key: str, sub_code: int) -> bool:
    value = params[key]
    if not isinstance(value, bool):
        raise invalid(sub_code, f"Parameter '{key}' must be true or false")
    return value


def _server_list(params: dict[str, Any], key: str, default_port: int, sub_code: int) -> str:
    value = params[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(sub_code, f"Parameter '{key}' must be a list of strings")
    items = [v.strip() for v in value if v.strip()]  # [] and [""] clear the list
    if len(items) > MAX_STATIC_SERVERS:
        raise invalid(sub_code, f"Parameter '{key}' holds at most {MAX_STATIC_SERVERS} servers")
    for item in items:
        if "," in item:
            raise invalid(sub_code, f"Parameter '{key}': one server per list entry ({item[:80]!r})")
        try:
            servers.parse_server(item, default_port)
        except ValueError as err:
            raise invalid(sub_code, f"Parameter '{key}': {err}") from None
    return ",".join(items)


def _poll(params: dict[str, Any], key: str, sub_code: int) -> int:
    value = params[key]
    low, high = POLL_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(sub_code, f"Parameter '{key}' must be a whole number from {low} to {high} "
                                f"(a poll interval of 2^{key} seconds)")
    return value


def _ca_certs(device: Device, params: dict[str, Any]) -> str:
    value = params["NTSKEServerCACerts"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(SUB_CA_CERTS, "Parameter 'NTSKEServerCACerts' must be a list of certificate ids")
    ids = [v.strip() for v in value if v.strip()]
    if len(ids) > MAX_STATIC_SERVERS:
        raise invalid(SUB_CA_CERTS, f"Parameter 'NTSKEServerCACerts' holds at most {MAX_STATIC_SERVERS} ids")
    for ident in ids:
        try:
            resolve_certificate(ident, device.features[KEYSTORE])
        except ConnectFailure as err:
            raise invalid(SUB_CA_CERTS, f"Parameter 'NTSKEServerCACerts': {err.message}") from None
    return ",".join(ids)


KNOWN = ("enabled", "NTSEnabled", "NTSKEServerCACerts", "serversSource", "staticServers", "staticNTSKEServers",
         "minpoll", "maxpoll")


def settings_of(device: Device, params: dict[str, Any]) -> dict[str, str]:
    """The Time parameters a setNTPClientConfiguration asks for; JsonApiError names what is wrong."""
    unknown = [k for k in params if k not in KNOWN]
    if unknown:
        raise JsonApiError(ServiceCodes.INVALID, f"Unknown parameter '{str(unknown[0])[:80]}'")
    if not params:
        raise JsonApiError(ServiceCodes.MISSING,
                           "Missing parameter(s): give at least one of " + ", ".join(KNOWN))
    values: dict[str, str] = {}
    if "enabled" in params:
        values[SYNC_SOURCE] = "NTP" if _flag(params, "enabled", SUB_ENABLED) else "None"
    if "NTSEnabled" in params:
        values[NTS_ENABLED] = "yes" if _flag(params, "NTSEnabled", SUB_NTS) else "no"
    if "serversSource" in params:
        source = params["serversSource"]
        if not isinstance(source, str) or source.lower() not in SOURCES:
            raise invalid(SUB_SOURCE, "Parameter 'serversSource' must be DHCP or static")
        values[OBTAIN_FROM_DHCP] = SOURCES[source.lower()]
    if "staticServers" in params:
        values[NTP_SERVERS] = _server_list(params, "staticServers", NTP_PORT, SUB_SERVERS)
    if "staticNTSKEServers" in params:
        values[NTS_KE_SERVERS] = _server_list(params, "staticNTSKEServers", NTS_KE_PORT, SUB_NTS_KE)
    if "NTSKEServerCACerts" in params:
        values[NTS_KE_CA_CERTS] = _ca_certs(device, params)
    low = _poll(params, "minpoll", SUB_MIN_POLL) if "minpoll" in params else device.params.get_int(MIN_POLL)
    high = _poll(params, "maxpoll", SUB_MAX_POLL) if "maxpoll" in params else device.params.get_int(MAX_POLL)
    if low > high:
        raise invalid(SUB_MAX_POLL if "maxpoll" in params else SUB_MIN_POLL,
                      f"minpoll ({low}) must not be above maxpoll ({high})")
    if "minpoll" in params:
        values[MIN_POLL] = str(low)
    if "maxpoll" in params:
        values[MAX_POLL] = str(high)
    return values


async def set_ntp_client_configuration(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    try:
        values = settings_of(device, call.params)
        device.params.set_internal(values, who.name)
    except JsonApiError as err:
        device.logs.system(f"ntp.cgi setNTPClientConfiguration refused for {who.name}: {err.message}", "warning")
        raise
    except ParamError as err:
        device.logs.system(f"ntp.cgi setNTPClientConfiguration refused for {who.name}: {err}", "warning")
        raise JsonApiError(ServiceCodes.INVALID, str(err)) from None
    return {}


METHODS = {
    "getNTPInfo": (Role.ADMIN, get_ntp_info),
    "setNTPClientConfiguration": (Role.ADMIN, set_ntp_client_configuration),
}


def register(device: Device) -> None:
    device.router.json_api(NTP_PATH, NTP_VERSIONS, {name: JsonMethod(role, partial(method, device))
                                                    for name, (role, method) in METHODS.items()}, ERRORS)
    device.apis.append(Api("ntp", NTP_VERSIONS[-1], "NTP API"))
