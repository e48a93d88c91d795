"""One ONVIF service endpoint (device, media): SOAP over the device's HTTP stack
(vigil.http.soap), with ONVIF's authentication and access policy in front of each operation.

Who calls:
- a WS-Security UsernameToken in the SOAP header (`security.py`), or
- HTTP Digest (or Basic, where the policy allows it) checked by the router's guard, or
- a browser session of the device's own pages (the Accounts page manages ONVIF accounts).
A UsernameToken or HTTP credentials must belong to an ONVIF account; ONVIF is on once one
exists (the manual: "When you create an ONVIF account, you automatically enable ONVIF").

Each operation has an access class (ONVIF Core's default access policy, `const.CLASS_ROLE`):
PRE_AUTH operations answer anyone; the others need an account whose ONVIF user level holds the
class. No credentials at all: HTTP 401 with the Digest challenge; wrong or insufficient ones: a
Sender fault `ter:NotAuthorized` (HTTP 400), as ONVIF clients expect. The request's host and
scheme are in `CALL` while an operation runs (service addresses and stream URIs name them).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lxml import etree
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import ANONYMOUS, Principal
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.onvif.const import ACTION_NOT_SUPPORTED, CLASS_ROLE, REPLY_NAMESPACES, TEXT_PREFIXES, WSSE
from vigil.features.onvif.security import NotAuthorized, UsernameTokens, refused
from vigil.http.ports import Listening
from vigil.http.routing import challenge, client_address
from vigil.http.soap import SoapFault, SoapMessage, SoapService, fault_response, parse, receiver, reply

log = logging.getLogger("vigil.onvif")
Operation = Callable[[SoapMessage, Principal], Awaitable[etree._Element | list[etree._Element]]]


@dataclass(frozen=True)
class Call:
    """What an operation may need of the HTTP request it answers."""

    scheme: str  # http | https
    host: str  # the host name or address the client reached, without the port
    address: str  # the client's
    path_params: dict[str, str] = field(default_factory=dict)  # e.g. the PullPoint subscription's id
    # What to do once the reply is sent (a restart: the client gets its answer first).
    after_reply: list[Callable[[], None]] = field(default_factory=list)


CALL: contextvars.ContextVar[Call] = contextvars.ContextVar("onvif_call")


def base_address(listening: Listening) -> str:
    """scheme://host:port of the device as the client of the current call reached it."""
    call = CALL.get()
    port = listening.https if call.scheme == "https" else listening.http
    return f"{call.scheme}://{call.host}:{port}"


class OnvifEndpoint:
    """The operations of one service path, each with its access class."""

    def __init__(self, device: Device, tokens: UsernameTokens) -> None:
        self.device = device
        self.tokens = tokens
        self.soap = SoapService(understood=(WSSE,))  # the table (the fuzz walk reads it too)

    def add(self, namespace: str, name: str, access: str, handler: Operation) -> None:
        self.soap.add(namespace, name, CLASS_ROLE[access], handler)

    async def handle(self, request: Request, who: Principal) -> Response:
        try:
            msg = parse(await request.body(), request.headers.get("content-type"),
                        request.headers.get("soapaction"), self.soap.understood)
        except SoapFault as fault:
            log.info("ONVIF request from %s refused: %s", client_address(request), fault.reason)
            return fault_response(fault)
        ns, name = msg.operation
        op = self.soap.operations.get((ns, name))
        if op is None:
            elsewhere = sorted(n_ns for (n_ns, n) in self.soap.operations if n == name)
            hint = f" ({name} belongs to namespace {elsewhere[0]})" if elsewhere else ""
            fault = SoapFault(f"The operation {name} of namespace {ns or '(none)'} is not supported here{hint}",
                              "Receiver", (ACTION_NOT_SUPPORTED,))
            return fault_response(fault, msg.version)
        try:
            caller = self.caller(msg, who, request)
            if caller.role < op.role:
                if caller.method == "anonymous":
                    return challenge(self.device, request)
                raise refused(f"{name} needs an ONVIF {_level(op.role)} account")
        except SoapFault as fault:
            self.device.logs.access(f"ONVIF {name} refused for {who.name if who.method != 'anonymous' else '?'} "
                                    f"from {client_address(request)}: {fault.reason}")
            if isinstance(fault, NotAuthorized) and fault.guess:
                self.device.auth.guard.failure(client_address(request), request.url.path)
            return fault_response(fault, msg.version)
        call = Call(request.url.scheme, request.url.hostname or "localhost", client_address(request),
                    dict(request.path_params))
        token = CALL.set(call)
        try:
            result = await op.handler(msg, caller)
        except SoapFault as fault:
            return fault_response(fault, msg.version)
        except Exception:
            log.exception("ONVIF operation %s failed", name)
            return fault_response(receiver(f"Internal error while running {name}; see the system log"), msg.version)
        finally:
            CALL.reset(token)
        response = reply(*(result if isinstance(result, list) else [result]), version=msg.version,
                         nsmap=REPLY_NAMESPACES, keep_prefixes=TEXT_PREFIXES)
        if call.after_reply:
            response.background = BackgroundTask(_run_all, list(call.after_reply))
        return response

    def caller(self, msg: SoapMessage, who: Principal, request: Request) -> Principal:
        """The principal an operation runs as (see the module's docstring)."""
        token = self.tokens.token_of(msg.headers)
        if token is not None and self.tokens.names_a_user(token):
            account = self.tokens.verify(token)
            self.device.auth.seen(client_address(request), account.name, "ws-security")
            return Principal(account.name, account.role, account.ptz, "ws-security")
        if who.method == "anonymous":  # also with anonymous viewing on: ONVIF's anonymous is PRE_AUTH only
            return ANONYMOUS
        if who.method == "session":
            return who
        account = self.device.accounts.get(who.name)
        if account is None or not account.onvif:
            raise refused(f"{who.name} is not an ONVIF account")
        return who


def _run_all(actions: list[Callable[[], None]]) -> None:
    for action in actions:
        action()


def _level(role: Role) -> str:
    return {Role.ADMIN: "Administrator", Role.OPERATOR: "Operator"}.get(role, "User")
