"""VAPIX-style SIP API, /axis-cgi/sip/sip.cgi (JSON: apiVersion, method, params). Settings and
accounts: administrators change them (audited), operators read them; calls: operators place,
answer and hang up calls and read their state. Passwords are never returned (`passwordSet`)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.sip import const as c
from vigil.features.sip.accounts import SipConfigError, check_account, check_settings, shown, shown_settings
from vigil.features.sip.service import SIP_SERVICE, SipService
from vigil.features.sip.ua import SipError
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod, ServiceCodes

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = JsonErrors(wrong_http_method=ServiceCodes.INVALID_REQUEST, bad_version=ServiceCodes.BAD_VERSION,
                    unknown_method=ServiceCodes.NO_METHOD, bad_json=ServiceCodes.INVALID_JSON,
                    bad_params=ServiceCodes.MISSING, internal=ServiceCodes.INTERNAL)


def _service(device: Device) -> SipService:
    return device.features[SIP_SERVICE]


def _text(call: JsonCall, name: str) -> str:
    value = call.params.get(name)
    if not isinstance(value, str) or not value:
        raise JsonApiError(ServiceCodes.MISSING, f"Missing parameter(s): {name}")
    return value


@contextlib.contextmanager
def refused(prefix: str = "") -> Iterator[None]:
    """A refused setting or call (SipConfigError, SipError) as the API's Invalid parameter(s) error."""
    try:
        yield
    except (SipConfigError, SipError) as err:
        raise JsonApiError(ServiceCodes.INVALID, f"{prefix}{err}") from None


async def get_configuration(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    return shown_settings(_service(device).store.settings())


async def set_configuration(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    service = _service(device)
    with refused("Invalid parameter(s): "):
        settings = check_settings(service.store.settings(), call.params, service.calls_only)
    service.store.save_settings(settings)
    device.logs.audit(who.name, f"changed the SIP settings: {', '.join(sorted(call.params)) or 'nothing'}", "sip")
    await service.apply()
    return shown_settings(settings)


async def get_accounts(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    service = _service(device)
    default = service.store.default_account_id()  # the peer-to-peer account while no other is made default
    return {"accounts": [{**shown(a), "isDefault": i == default, "status": service.account_status(i, a)}
                         for i, a in service.store.accounts().items()],
            "natStatus": service.nat_status.state}  # per NAT protocol: ok, or failed with the reason


async def set_account(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    service = _service(device)
    account_id = _text(call, "id")
    current = service.store.accounts().get(account_id)
    with refused("Invalid parameter(s): "):
        account = check_account(current, call.params)
        service.check_certificate(account["certificate"])
        service.store.save_account(account)
    device.logs.audit(who.name, f"{'changed' if current else 'added'} the SIP account {account_id}", "sip")
    await service.apply()
    return shown(account)


async def remove_account(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    service = _service(device)
    account_id = _text(call, "id")
    if account_id == c.P2P_ID:
        raise JsonApiError(ServiceCodes.INVALID, "Invalid parameter(s): the peer-to-peer account cannot be removed")
    if account_id not in service.store.accounts():
        raise JsonApiError(ServiceCodes.INVALID, f"Invalid parameter(s): no account {account_id}")
    service.store.remove_account(account_id)
    device.logs.audit(who.name, f"removed the SIP account {account_id}", "sip")
    await service.apply()
    return {}


async def get_calls(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    service = _service(device)
    return {"calls": [service.describe(x) for x in service.calls()], "history": service.history}


async def make_call(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    account_id = call.params.get("accountId")  # none: the default account
    with refused():
        placed = await _service(device).call(account_id, _text(call, "uri"))
    device.logs.audit(who.name, f"placed a SIP call to {call.params['uri']} from account {placed.account.id}", "sip")
    return _service(device).describe(placed)


async def answer_call(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    with refused():
        await _service(device).answer(_text(call, "callId"))
    device.logs.audit(who.name, f"answered SIP call {call.params['callId']}", "sip")
    return {}


async def hangup_call(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    with refused():
        await _service(device).hangup(_text(call, "callId"))
    device.logs.audit(who.name, f"hung up SIP call {call.params['callId']}", "sip")
    return {}


async def supported_versions(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {"apiVersions": c.VERSIONS}


METHODS = {
    "getSipConfiguration": (Role.OPERATOR, get_configuration),
    "setSipConfiguration": (Role.ADMIN, set_configuration),
    "getSipAccounts": (Role.OPERATOR, get_accounts),
    "setSipAccount": (Role.ADMIN, set_account),
    "removeSipAccount": (Role.ADMIN, remove_account),
    "getCalls": (Role.OPERATOR, get_calls),
    "call": (Role.OPERATOR, make_call),
    "answer": (Role.OPERATOR, answer_call),
    "hangup": (Role.OPERATOR, hangup_call),
    "getSupportedVersions": (Role.VIEWER, supported_versions),
}


def register(device: Device) -> None:
    bound = {name: JsonMethod(role, functools.partial(handler, device)) for name, (role, handler) in METHODS.items()}
    device.router.json_api(c.CGI_PATH, c.VERSIONS, bound, ERRORS)
