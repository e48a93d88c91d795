"""Axis's Call service API, `/vapix/call` (VAPIX Intercom > Call service API), over the same
settings, accounts and calls as the SIP API (http_sip.py): the SIP configuration, SIP accounts
and their status, the audio codec priority list, placing and terminating calls and their
status, in JSON or the simplified key-value form (vigil/http/axservice.py).

Axis's names map onto the stored ones (`UserId` user, `PublicDomain` domain, `AuthenticationId`
authId, `CallerId`, `IsDefault`, `Registrar`, `Transport`, `Name`; `SIPEnabled`,
`AllowIncomingCalls`, `SIPPort`, `RTPStartPort`, `CallingTimeout`); a field the device does not
have is refused by name, never dropped. Passwords are write-only (returned as null). `To: VMS_CALL`
places a VMS call (vms.py). DTMF events, triggers and configurations are served over the accounts'
sequences as dtmf_catalogue.py maps them: an account's `DTMFConfigurationId` links it to a
configuration, whose triggers become its sequences, each described by its event's Name (what the
DTMF event carries as Description and rules pick). The VMS call configuration
(Get/SetVMSCallConfiguration: Enabled, the three stream thresholds, Timeout) is vms.py's. Not served:
attributes. Axis's SIPConfiguration has no fields for the manual's Additional settings (DTMF payload
type, register interval, max retransmissions, UDP-to-TCP switching): the SIP API serves them.
Operators read and place or end calls; administrators change settings, accounts and DTMF items (audited)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.sip import codecs
from vigil.features.sip import const as c
from vigil.features.sip.accounts import SipConfigError, check_account, check_settings
from vigil.features.sip.call_events import STATUS_STATES, start_time, status_reason
from vigil.features.sip.dtmf_catalogue import KINDS, DtmfError, DtmfInUse, DtmfMissing, check, users
from vigil.features.sip.service import SIP_SERVICE, SipService
from vigil.features.sip.ua import Call, SipError
from vigil.features.sip.vms import VMS_CALL, VmsConfigError
from vigil.http.axservice import Fault, invalid, serve
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device

PATH = "/vapix/call"
SETTINGS = {"SIPEnabled": "enabled", "AllowIncomingCalls": "allowIncoming", "SIPPort": "sipPort",
            "RTPStartPort": "rtpPortStart", "CallingTimeout": "callingTimeout"}
ACCOUNT = {"Id": "id", "Name": "name", "UserId": "user", "PublicDomain": "domain", "AuthenticationId": "authId",
           "Password": "password", "Registrar": "registrar", "Transport": "transport", "CallerId": "callerId",
           "IsDefault": "isDefault", "DTMFConfigurationId": "dtmfConfiguration"}
CODECS = {name: codec.encoding for name, codec in codecs.CODECS.items()}  # PCMU, PCMA, G722, OPUS


def codec_entry(name: str) -> dict[str, Any]:
    return {"Name": CODECS[name], "SampleRate": codecs.CODECS[name].rate}


def not_found(what: str) -> Fault:
    return Fault("env:Sender", "ter:InvalidArgVal", "ter:NotFound", f"Not found: {what}")


def renamed(given: Any, names: dict[str, str], what: str) -> dict[str, Any]:
    """Axis's fields as the stored names; a field the device does not have is refused."""
    if not isinstance(given, dict):
        raise invalid(f"{what} must be an object")
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise invalid(f"{what} field(s) not supported by this device: {', '.join(printable(u)[:40] for u in unknown)}"
                      f" (supported: {', '.join(names)})")
    return {names[k]: ("" if v is None and names[k] != "isDefault" else v) for k, v in given.items()}


def _text(arguments: dict[str, Any], name: str) -> str:
    value = arguments.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # the simplified form reads an id of digits as a number
    if not isinstance(value, str) or not value:
        raise Fault("env:Sender", "ter:InvalidArgs", "ter:InvalidArgs", f"Missing data: {name}")
    return value


class CallService:
    def __init__(self, device: Device, service: SipService, who: Principal) -> None:
        self.device, self.service, self.who = device, service, who

    # -- SIP configuration ------------------------------------------------------------------
    def get_configuration(self, arguments: dict[str, Any]) -> dict[str, Any]:
        settings = self.service.store.settings()
        return {"SIPConfiguration": {axis: settings[ours] for axis, ours in SETTINGS.items()}}

    async def set_configuration(self, arguments: dict[str, Any]) -> dict[str, Any]:
        changes = renamed(arguments.get("SIPConfiguration"), SETTINGS, "SIPConfiguration")
        keep = arguments.get("KeepCurrent")
        base = self.service.store.settings()
        if keep is False:  # the fields not given go back to their defaults
            base = {**base, **{ours: c.DEFAULTS[ours] for ours in SETTINGS.values()}}
        with refused():
            settings = check_settings(self.service.store.settings(), {**base, **changes}, self.service.calls_only)
        self.service.store.save_settings(settings)
        self.device.logs.audit(self.who.name, f"changed the SIP configuration: {', '.join(sorted(changes))}", "sip")
        await self.service.apply()
        return {}

    def get_codecs(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"AudioCodec": [codec_entry(x) for x in self.service.codec_priority()]}

    def supported_codecs(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"AudioCodec": [codec_entry(x) for x in c.CODECS]}

    async def set_codecs(self, arguments: dict[str, Any]) -> dict[str, Any]:
        codecs = arguments.get("AudioCodec")
        if not isinstance(codecs, list) or not all(isinstance(x, dict) and isinstance(x.get("Name"), str)
                                                   for x in codecs):
            raise invalid('AudioCodec must list codecs such as {"Name": "PCMU"}')
        names = {v: k for k, v in CODECS.items()}
        with refused():
            settings = check_settings(self.service.store.settings(),
                                      {"codecPriority": [names.get(x["Name"].upper(), x["Name"]) for x in codecs]})
        self.service.store.save_settings(settings)
        self.device.logs.audit(self.who.name, "changed the SIP audio codec priority", "sip")
        await self.service.apply()
        return {}

    # -- accounts --------------------------------------------------------------------------
    def _shown(self, stored: dict[str, Any]) -> dict[str, Any]:
        default = self.service.store.default_account_id()
        out = {axis: stored.get(ours, "") for axis, ours in ACCOUNT.items() if axis != "Password"}
        return {**out, "Password": None, "IsDefault": stored["id"] == default}

    def get_accounts(self, arguments: dict[str, Any]) -> dict[str, Any]:
        wanted = arguments.get("SIPAccountId") or []
        accounts = self.service.store.accounts()
        return {"SIPAccount": [self._shown(a) for i, a in accounts.items() if not wanted or i in wanted]}

    def get_account(self, arguments: dict[str, Any]) -> dict[str, Any]:
        account_id = _text(arguments, "SIPAccountId")
        stored = self.service.store.accounts().get(account_id)
        if stored is None:
            raise not_found(f"no SIP account {printable(account_id)[:64]}")
        return {"SIPAccount": self._shown(stored)}

    async def set_account(self, arguments: dict[str, Any]) -> dict[str, Any]:
        given = renamed(arguments.get("SIPAccount"), ACCOUNT, "SIPAccount")
        accounts = self.service.store.accounts()
        account_id = given.get("id") or next(f"sip_account_{n}" for n in range(len(accounts) + 1)
                                             if f"sip_account_{n}" not in accounts)
        current = accounts.get(account_id)
        if not given.get("registrar") and given.get("domain") and account_id != c.P2P_ID:
            given["registrar"] = given["domain"]  # VAPIX: no Registrar, the PublicDomain is registered with
        with refused():
            account = check_account(current, {**given, "id": account_id})
            self.service.store.save_account(account)
        self.device.logs.audit(self.who.name, f"{'changed' if current else 'added'} the SIP account {account_id}",
                               "sip")
        await self.service.apply()
        return {"SIPAccountId": account_id}

    async def remove_account(self, arguments: dict[str, Any]) -> dict[str, Any]:
        account_id = _text(arguments, "SIPAccountId")
        if account_id == c.P2P_ID:
            raise Fault("env:Receiver", "ter:Action", "ter:Failure", "The peer-to-peer account cannot be removed")
        if account_id in self.service.store.accounts():  # VAPIX: an unknown id is ignored
            self.service.store.remove_account(account_id)
            self.device.logs.audit(self.who.name, f"removed the SIP account {account_id}", "sip")
            await self.service.apply()
        return {}

    def _status(self, account_id: str, stored: dict[str, Any]) -> dict[str, Any]:
        state = self.service.account_status(account_id, stored)
        registered = state["state"] == "registered"
        text = {"peer-to-peer": "Does not register", "disabled": "SIP disabled"}.get(
            state["state"], "OK" if registered else state["reason"] or state["state"])
        host = stored["domain"] or stored["registrar"].split(":")[0] or self.device.ports.host
        return {"SIPAccountId": account_id, "SIPURI": f"sip:{stored['user']}@{host}",
                "IsDefault": account_id == self.service.store.default_account_id(),
                "RegURI": stored["registrar"] if registered else "",
                "Status": 200 if registered else 0, "StatusText": text}

    def get_status(self, arguments: dict[str, Any]) -> dict[str, Any]:
        account_id = _text(arguments, "SIPAccountId")
        stored = self.service.store.accounts().get(account_id)
        if stored is None:
            raise not_found(f"no SIP account {printable(account_id)[:64]}")
        return {"SIPAccountStatus": self._status(account_id, stored)}

    def get_statuses(self, arguments: dict[str, Any]) -> dict[str, Any]:
        wanted = arguments.get("SIPAccountId") or []
        return {"SIPAccountStatus": [self._status(i, a) for i, a in self.service.store.accounts().items()
                                     if not wanted or i in wanted]}

    # -- calls -----------------------------------------------------------------------------
    async def call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        to = _text(arguments, "To")
        account_id = arguments.get("SIPAccountId")
        try:
            placed = await self.service.call(account_id if isinstance(account_id, str) and account_id else None, to)
        except (SipError, SipConfigError, OSError) as err:
            raise Fault("env:Receiver", "ter:Action", "ter:Failure", f"Failed to initiate the call: {err}") from None
        self.device.logs.audit(self.who.name, f"placed a SIP call to {to} from account {placed.account.id}", "sip")
        return {"CallId": placed.id}

    async def terminate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        call_id = _text(arguments, "CallId")
        try:
            await self.service.hangup(call_id)
        except SipConfigError:
            raise not_found(f"no ongoing call {printable(call_id)[:64]}") from None
        except SipError as err:
            raise Fault("env:Receiver", "ter:Action", "ter:Failure", f"Failed to terminate the call: {err}") from None
        self.device.logs.audit(self.who.name, f"terminated SIP call {call_id}", "sip")
        return {}

    def _call_status(self, described: dict[str, Any], started: float | None) -> dict[str, Any]:
        return {"CallId": described["id"], "Source": "", "CallState": STATUS_STATES.get(described["state"], "Idle"),
                "CallStateReason": status_reason({**described, "started": started}), "StartTime": start_time(started),
                "Direction": described["direction"].capitalize(),
                "DeviceURI": self.service.call_events.device_uri, "RemoteURI": described["remote"],
                "CallType": "VMS" if described["remote"] == VMS_CALL else "SIP",
                "SIPAccountId": described["accountId"]}

    def _statuses(self) -> dict[str, dict[str, Any]]:
        live: list[Call] = self.service.calls()
        out = {d["id"]: self._call_status(d, d.get("started")) for d in self.service.history}
        out.update({x.id: self._call_status(self.service.describe(x), x.started or None) for x in live})
        return out

    def call_status(self, arguments: dict[str, Any]) -> dict[str, Any]:
        call_id = _text(arguments, "CallId")
        found = self._statuses().get(call_id)
        if found is None:
            raise not_found(f"no call {printable(call_id)[:64]}")
        return {"CallStatus": found}

    def call_statuses(self, arguments: dict[str, Any]) -> dict[str, Any]:
        wanted = arguments.get("CallId") or []
        return {"CallStatus": [s for i, s in self._statuses().items() if not wanted or i in wanted]}

    # -- VMS calls -------------------------------------------------------------------------
    def get_vms(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"VMSCallConfiguration": self.service.vms.config.get()}

    def set_vms(self, arguments: dict[str, Any]) -> dict[str, Any]:
        given = arguments.get("VMSCallConfiguration")
        if not isinstance(given, dict):
            raise Fault("env:Sender", "ter:InvalidArgs", "ter:InvalidArgs", "Missing data: VMSCallConfiguration")
        config = self.service.vms.config
        try:
            checked = config.check(given)
        except VmsConfigError as err:
            raise invalid(f"Invalid data: {err}") from None
        config.save(checked)
        self.device.logs.audit(self.who.name, "changed the VMS call configuration: " + ", ".join(
            f"{k}={checked[k]}" for k in sorted(given)), "sip")
        self.service.vms.look()  # a threshold met or no longer met counts from now
        return {}

    def capabilities(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"Capabilities": {"SIP": True, "DTMF": True, "AudioCodec": True, "MediaEncryption": False,
                                 "Certificate": False, "Attribute": False}}

    # -- DTMF events, triggers and configurations (dtmf_catalogue.py) ---------------------
    def get_dtmf(self, arguments: dict[str, Any], kind: str) -> dict[str, Any]:
        item_id = _text(arguments, f"{kind}Id")
        found = self.service.store.dtmf.load()[kind].get(item_id)
        if found is None:
            raise not_found(f"no {LABELS[kind]} {printable(item_id)[:64]}")
        return {kind: {"Id": item_id, **found}}

    def get_dtmf_many(self, arguments: dict[str, Any], kind: str) -> dict[str, Any]:
        wanted = _ids(arguments, f"{kind}Id", required=False)
        items = self.service.store.dtmf.load()[kind]
        return {kind: [{"Id": i, **x} for i, x in items.items() if not wanted or i in wanted]}

    async def set_dtmf(self, arguments: dict[str, Any], kind: str, many: bool = False) -> dict[str, Any]:
        given = arguments.get(kind, arguments.get(kind.replace("DTMF", "DTM")))  # the page also spells it so
        if given is None:
            raise Fault("env:Sender", "ter:InvalidArgs", "ter:InvalidArgs", f"Missing data: {kind}")
        if many and not isinstance(given, list):
            raise invalid(f"{kind} must list {kind} objects")
        catalogue = self.service.store.dtmf
        data, ids = catalogue.load(), []
        with dtmf_refused():
            for item in given if many else [given]:  # all checked before any is stored
                item_id, checked = check(data, kind, item)
                data[kind][item_id] = checked
                ids.append(item_id)
        catalogue.save(data)
        self.device.logs.audit(self.who.name, f"set the {LABELS[kind]}(s) {', '.join(ids)}", "sip")
        await self.service.apply()
        return {f"{kind}Id": ids if many else ids[0]}

    async def remove_dtmf(self, arguments: dict[str, Any], kind: str, many: bool = False) -> dict[str, Any]:
        ids = _ids(arguments, f"{kind}Id") if many else [_text(arguments, f"{kind}Id")]
        catalogue = self.service.store.dtmf
        data = catalogue.load()
        present = [i for i in ids if i in data[kind]]  # VAPIX: an unknown id is ignored
        with dtmf_refused():
            for item_id in present:
                used = users(data, kind, item_id, self.service.store.accounts())
                if used:
                    raise DtmfInUse(f"The {LABELS[kind]} {item_id} is in use by {', '.join(used)}")
                del data[kind][item_id]
        if present:
            catalogue.save(data)
            self.device.logs.audit(self.who.name, f"removed the {LABELS[kind]}(s) {', '.join(present)}", "sip")
            await self.service.apply()
        return {}


LABELS = {"DTMFEvent": "DTMF event", "DTMFTrigger": "DTMF trigger", "DTMFConfiguration": "DTMF configuration"}


def _ids(arguments: dict[str, Any], name: str, required: bool = True) -> list[str]:
    """A list of ids as given (one id alone is a list of one; digits may come as numbers)."""
    value = arguments.get(name)
    if value is None and not required:
        return []
    value = value if isinstance(value, list) else [value]
    if not value or not all(isinstance(x, str | int) and not isinstance(x, bool) and str(x) for x in value):
        raise Fault("env:Sender", "ter:InvalidArgs", "ter:InvalidArgs", f"Missing data: {name} (a list of ids)")
    return [str(x) for x in value]


@contextlib.contextmanager
def dtmf_refused() -> Iterator[None]:
    """A refused DTMF item as the service's fault: missing data, invalid data, or in use (Failure)."""
    try:
        yield
    except DtmfMissing as err:
        raise Fault("env:Sender", "ter:InvalidArgs", "ter:InvalidArgs", str(err)) from None
    except DtmfInUse as err:
        raise Fault("env:Receiver", "ter:Action", "ter:Failure", f"Failed to remove: {err}") from None
    except DtmfError as err:
        raise invalid(f"Invalid data: {err}") from None


@contextlib.contextmanager
def refused() -> Iterator[None]:
    """A refused setting or account (SipConfigError) as the service's invalid-data fault."""
    try:
        yield
    except (SipConfigError, SipError) as err:
        raise invalid(f"Invalid data: {err}") from None


Command = Callable[[CallService, dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]
COMMANDS: dict[str, tuple[Role, Command]] = {
    "axcall:GetServiceCapabilities": (Role.OPERATOR, CallService.capabilities),
    "axcall:GetSIPConfiguration": (Role.OPERATOR, CallService.get_configuration),
    "axcall:SetSIPConfiguration": (Role.ADMIN, CallService.set_configuration),
    "axcall:GetSIPAccount": (Role.OPERATOR, CallService.get_account),
    "axcall:GetSIPAccounts": (Role.OPERATOR, CallService.get_accounts),
    "axcall:SetSIPAccount": (Role.ADMIN, CallService.set_account),
    "axcall:RemoveSIPAccount": (Role.ADMIN, CallService.remove_account),
    "axcall:GetSIPAccountStatus": (Role.OPERATOR, CallService.get_status),
    "axcall:GetSIPAccountStatuses": (Role.OPERATOR, CallService.get_statuses),
    "axcall:GetAudioCodecs": (Role.OPERATOR, CallService.get_codecs),
    "axcall:GetDefaultAudioCodecs": (Role.OPERATOR, CallService.supported_codecs),
    "axcall:GetSupportedAudioCodecs": (Role.OPERATOR, CallService.supported_codecs),
    "axcall:SetAudioCodecs": (Role.ADMIN, CallService.set_codecs),
    "axcall:Call": (Role.OPERATOR, CallService.call),
    "axcall:TerminateCall": (Role.OPERATOR, CallService.terminate),
    "axcall:GetCallStatus": (Role.OPERATOR, CallService.call_status),
    "axcall:GetCallStatuses": (Role.OPERATOR, CallService.call_statuses),
    "axcall:GetVMSCallConfiguration": (Role.OPERATOR, CallService.get_vms),
    "axcall:SetVMSCallConfiguration": (Role.ADMIN, CallService.set_vms),
}
for _kind in KINDS:  # Get/Set/Remove of each DTMF kind, one and many
    COMMANDS |= {f"axcall:Get{_kind}": (Role.OPERATOR, partial(CallService.get_dtmf, kind=_kind)),
                 f"axcall:Get{_kind}s": (Role.OPERATOR, partial(CallService.get_dtmf_many, kind=_kind)),
                 f"axcall:Set{_kind}": (Role.ADMIN, partial(CallService.set_dtmf, kind=_kind)),
                 f"axcall:Set{_kind}s": (Role.ADMIN, partial(CallService.set_dtmf, kind=_kind, many=True)),
                 f"axcall:Remove{_kind}": (Role.ADMIN, partial(CallService.remove_dtmf, kind=_kind)),
                 f"axcall:Remove{_kind}s": (Role.ADMIN, partial(CallService.remove_dtmf, kind=_kind, many=True))}


async def axcall(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    calls = CallService(device, device.features[SIP_SERVICE], who)

    def run(command: str, arguments: dict[str, Any]) -> Any:
        found = COMMANDS.get(command)
        if found is None:
            raise Fault("env:Sender", "ter:ActionNotSupported", "ter:ActionNotSupported",
                        f"Unknown command {printable(command)[:64]!r}: " + ", ".join(COMMANDS))
        role, handler = found
        if who.role < role:
            raise Fault("env:Sender", "ter:NotAuthorized", "ter:NotAuthorized", f"{command} needs the {role.label} role",
                        status=403)
        return handler(calls, arguments)

    return await serve(request, "axcall:GetSIPConfiguration", device.logs, "Call service", who.name, run)


ROUTES = (Endpoint(PATH, axcall, Role.OPERATOR, methods=("GET", "POST"), kind="json"),)
