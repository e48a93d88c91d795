"""The VAPIX I/O endpoints over the I/O service.

* `/axis-cgi/io/portmanagement.cgi`: the JSON I/O port management API (getPorts, setPorts,
  setStateSequence, getSupportedVersions), port ids `"0"`.. as in `IOPort.I<n>`, with its
  own error codes (2100 version, 2101 JSON, 2102 method, 2103 missing, 2104 invalid, 2105
  authorization, 2200 sequence ongoing, 1100 internal) and setPorts' partial-failure replies.
* `/axis-cgi/io/port.cgi`: the legacy I/O port API, ports numbered from 1: `check`,
  `checkactive`, `checkdirection` and `action=<n>:/300\\` style outputs and pulses.
* `/axis-cgi/virtualinput/activate.cgi`, `deactivate.cgi` and `getschemaversions.cgi`:
  virtual inputs 1..32 with their XML replies and XML errors (10, 20, 30, 40, 50).

`input.cgi` and `output.cgi` are not served: the I/O page calls them obsolete and says
products with configurable ports (the W401) must use `port.cgi`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.io.service import VIRTUAL_INPUTS, IOError_, IOService, PortView
from vigil.http.routing import refuse
from vigil.http.vapix import first, form_args, supported_version, text

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.io")

# -- I/O port management (JSON) -----------------------------------------------------------
PORT_MANAGEMENT = "/axis-cgi/io/portmanagement.cgi"
VERSIONS = ["1.0"]
MESSAGES = {
    1100: "Internal error",
    2100: "API version not supported",
    2101: "Invalid JSON",
    2102: "Method not supported",
    2103: "Required parameter missing",
    2104: "Invalid parameter value specified",
    2105: "Authorization failed",
    2200: "State sequence already ongoing",
}
MAX_PORTS_PER_REQUEST = 256  # the page's limit for one setPorts request
MAX_STEP_MILLIS = 65535  # the page's limit for one setStateSequence delay
MAX_SEQUENCE_STEPS = 1000
SETTABLE = ("usage", "direction", "name", "normalState", "state")
CIRCUITS = ("open", "closed")


@dataclass
class PortError(Exception):
    code: int
    why: str = ""
    details: dict[str, str] | None = None
    errors: list[PortError] = field(default_factory=list)

    @property
    def message(self) -> str:
        base = MESSAGES.get(self.code, "Error")
        return f"{base}: {self.why}" if self.why else base

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        if self.errors:
            out["errors"] = [e.body() for e in self.errors]
        return out


def _json(version: str, context: str | None, method: str | None, data: dict[str, Any] | None = None,
          error: PortError | None = None) -> Response:
    body: dict[str, Any] = {"apiVersion": version}
    if context is not None:
        body["context"] = context
    if method is not None:
        body["method"] = method
    if error is not None:
        body["error"] = error.body()
    else:
        body["data"] = data if data is not None else {}
    return Response(json.dumps(body), media_type="application/json")


def _other(circuit: str) -> str:
    return "open" if circuit == "closed" else "closed"


def _port_state(view: PortView) -> str:
    """getPorts reports open or closed: a cut loop reads open, a shorted one closed (the
    tampering itself is the SupervisedPort event)."""
    if view.circuit == "cut":
        return "open"
    if view.circuit == "short":
        return "closed"
    return view.circuit


def _port_index(service: IOService, raw: Any) -> int:
    """The index of a port id ("0", "1", ...; a JSON integer is accepted too)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise PortError(2104, "a port id is a string such as \"0\"", {"port": str(raw)})
    text_id = str(raw)
    if not re.fullmatch(r"0|[1-9]\d{0,2}", text_id) or int(text_id) >= len(service.specs):
        raise PortError(2104, f"there is no port {text_id!r}; ports are \"0\" to \"{len(service.specs) - 1}\"",
                        {"port": text_id, "propertyName": "port"})
    return int(text_id)


MethodHandler = Callable[[Any, Principal], Awaitable[dict[str, Any]]]


def _port_management(device: Device, service: IOService) -> None:
    params = device.params

    async def get_ports(args: Any, who: Principal) -> dict[str, Any]:
        views = service.views()
        data: dict[str, Any] = {"numberOfPorts": len(views)}
        if views:
            data["items"] = [{
                "port": str(v.index),
                "state": _port_state(v),
                "configurable": v.configurable,
                "usage": v.usage,
                "direction": v.direction,
                "name": v.name,
                "normalState": v.normal,
            } for v in views]
        return data

    def configure_port(index: int, pid: str, props: dict[str, Any], who: Principal) -> list[PortError]:
        """Apply one port's properties; returns the ones that failed (the rest are applied)."""
        view = service.view(index)
        g = f"IOPort.I{index}."
        errors: list[PortError] = []
        staged: dict[str, str] = {}
        staged_props: dict[str, str] = {}

        def fail(code: int, prop: str, why: str) -> None:
            errors.append(PortError(code, why, {"port": pid, "propertyName": prop}))

        def stage(prop: str, name: str, value: str, readonly_why: str = "") -> None:
            d = params.defs[name]
            if params.get(name) == value:
                return  # unchanged: nothing to do, whoever asks
            if d.write is None:
                fail(2104, prop, readonly_why or f"{prop} of port {pid} is read-only")
            elif who.role < d.write:
                fail(2105, prop, f"changing {prop} needs an account with the {d.write.label} role")
            elif reason := d.validate(value):
                fail(2104, prop, f"{prop} {reason}")
            else:
                staged[name] = value
                staged_props[name] = prop

        def string(prop: str, choices: tuple[str, ...] = ()) -> str | None:
            value = props[prop]
            if not isinstance(value, str) or (choices and value not in choices):
                fail(2104, prop, f"{prop} must be " + (" or ".join(choices) if choices else "a string"))
                return None
            return value

        direction = view.direction
        if "direction" in props and (value := string("direction", ("input", "output"))) is not None:
            stage("direction", g + "Direction", value,
                  f"port {pid} is not configurable: its direction is always {view.direction}")
            direction = staged.get(g + "Direction", direction)
        if "usage" in props and (value := string("usage")) is not None:
            stage("usage", g + "Usage", value)
        if "name" in props and (value := string("name")) is not None:
            stage("name", g + ("Input.Name" if direction == "input" else "Output.Name"), value)
        if "normalState" in props and (value := string("normalState", CIRCUITS)) is not None:
            stage("normalState", g + ("Input.Trig" if direction == "input" else "Output.Active"), _other(value))
        state = None
        if "state" in props and (value := string("state", CIRCUITS)) is not None:
            if direction != "output":
                fail(2104, "state", f"port {pid} is an input: only an output's state can be set")
            else:
                state = value
        for prop, current in (("configurable", view.configurable), ("readonly", False)):
            if prop in props and props[prop] != current:
                fail(2104, prop, f"{prop} is a read-only property")
        for prop in props:
            if prop not in (*SETTABLE, "configurable", "readonly"):
                fail(2104, prop, f"unknown property {prop!r}")

        # The configuration first (a new normal state before a new state), then the state.
        if staged:
            try:
                params.update(list(staged.items()), who.role, who.name)
            except ParamError as err:  # validated above, so this is not the caller's fault
                for name in staged:
                    fail(1100, staged_props[name], str(err))
        if state is not None:
            try:
                service.set_circuit(index, state, who.name)
            except IOError_ as err:
                fail(2104, "state", str(err))
        return errors

    async def set_ports(args: Any, who: Principal) -> dict[str, Any]:
        if isinstance(args, list):
            ports = args  # the `axis` library sends the list of ports as the params themselves
        elif isinstance(args, dict):
            if "ports" not in args:
                raise PortError(2103, "params.ports is required")
            ports = args["ports"]
        elif args is None:
            raise PortError(2103, "params.ports is required")
        else:
            raise PortError(2104, "params must be an object with a ports list")
        if not isinstance(ports, list):
            raise PortError(2104, "params.ports must be a list")
        if len(ports) > MAX_PORTS_PER_REQUEST:
            raise PortError(2104, f"at most {MAX_PORTS_PER_REQUEST} ports in one request")
        # Generic errors fail the whole request before anything is applied.
        parsed: list[tuple[str, int, dict[str, Any]]] = []
        for entry in ports:
            if not isinstance(entry, dict):
                raise PortError(2104, "each entry of params.ports must be an object")
            if "port" not in entry:
                raise PortError(2103, "each entry of params.ports needs a port")
            index = _port_index(service, entry["port"])
            parsed.append((str(entry["port"]), index, {k: v for k, v in entry.items() if k != "port"}))
        affected: list[str] = []
        errors: list[PortError] = []
        for pid, index, props in parsed:
            errors += configure_port(index, pid, props, who)
            if any(p in props for p in SETTABLE) and pid not in affected:
                affected.append(pid)
        if errors:
            head = errors[0]
            raise PortError(head.code, head.why, head.details, errors[1:])
        return {"ports": affected}

    async def set_state_sequence(args: Any, who: Principal) -> dict[str, Any]:
        if not isinstance(args, dict):
            raise PortError(2103 if args is None else 2104, "params must be an object with port and sequence")
        for key in ("port", "sequence"):
            if key not in args:
                raise PortError(2103, f"params.{key} is required")
        index = _port_index(service, args["port"])
        pid = str(args["port"])
        view = service.view(index)
        if view.direction != "output":
            raise PortError(2104, f"port {pid} is an input: a sequence needs an output port",
                            {"port": pid, "propertyName": "port"})
        sequence = args["sequence"]
        if not isinstance(sequence, list) or not sequence:
            raise PortError(2104, "sequence must be a non-empty list of {state, time} steps")
        if len(sequence) > MAX_SEQUENCE_STEPS:
            raise PortError(2104, f"at most {MAX_SEQUENCE_STEPS} steps in a sequence")
        steps: list[tuple[str, int]] = []
        for n, step in enumerate(sequence):
            if not isinstance(step, dict) or "state" not in step or "time" not in step:
                raise PortError(2104 if not isinstance(step, dict) else 2103,
                                f"sequence step {n} needs a state and a time")
            state, millis = step["state"], step["time"]
            if state not in CIRCUITS:
                raise PortError(2104, f"sequence step {n}: state must be open or closed")
            if isinstance(millis, bool) or not isinstance(millis, int) or not 0 <= millis <= MAX_STEP_MILLIS:
                raise PortError(2104, f"sequence step {n}: time must be 0 to {MAX_STEP_MILLIS} milliseconds")
            steps.append((state, millis))
        try:
            service.run_sequence(index, steps, who.name)
        except IOError_ as err:
            raise PortError(2200, str(err)) from None
        return {"port": pid}

    methods: dict[str, tuple[Role, MethodHandler]] = {
        "getPorts": (Role.VIEWER, get_ports),
        "setPorts": (Role.OPERATOR, set_ports),
        "setStateSequence": (Role.OPERATOR, set_state_sequence),
    }

    async def handle(request: Request, who: Principal) -> Response:
        latest = VERSIONS[-1]
        if request.method != "POST":
            return _json(latest, None, None, error=PortError(2101, "send the request as a POST with a JSON body"))
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
            return _json(latest, None, None, error=PortError(2101))
        if not isinstance(body, dict):
            return _json(latest, None, None, error=PortError(2101, "the body must be a JSON object"))
        method = body.get("method")
        context = body.get("context")
        if context is not None and not isinstance(context, str):
            return _json(latest, None, method if isinstance(method, str) else None,
                         error=PortError(2104, "context must be a string"))
        if method is None:
            return _json(latest, context, None, error=PortError(2103, "method is required"))
        if not isinstance(method, str):
            return _json(latest, context, None, error=PortError(2104, "method must be a string"))
        if method == "getSupportedVersions":
            return _json(latest, context, method, {"apiVersions": VERSIONS})
        version = body.get("apiVersion")
        if version is None:
            return _json(latest, context, method, error=PortError(2103, "apiVersion is required"))
        if not isinstance(version, str) or not supported_version(version, VERSIONS):
            return _json(latest, context, method,
                         error=PortError(2100, f"{version!r} is not one of {', '.join(VERSIONS)}"))
        entry = methods.get(method)
        if entry is None:
            return _json(version, context, method, error=PortError(2102, f"{method!r} is not a method of this API"))
        role, handler = entry
        refusal = refuse(request, who, role)
        if refusal is not None:
            return refusal
        try:
            return _json(version, context, method, await handler(body.get("params"), who))
        except PortError as err:
            return _json(version, context, method, error=err)
        except Exception:
            log.exception("portmanagement.cgi %s failed", method)
            device.logs.system(f"portmanagement.cgi {method} failed, see the service log", "error")
            return _json(version, context, method, error=PortError(1100))

    device.router.add(PORT_MANAGEMENT, handle, Role.VIEWER, methods=("GET", "POST"), kind="json",
                      method_roles={"getSupportedVersions": Role.VIEWER, **{m: r for m, (r, _) in methods.items()}})


# -- port.cgi (legacy, ports numbered from 1) ---------------------------------------------
ACTION = re.compile(r"(\d{1,3})?:([/\\](?:\d{1,8}[/\\])*)")
MAX_WAIT_MILLIS = 86_400_000


class PortCgiError(ValueError):
    pass


def _port_list(service: IOService, value: str, what: str) -> list[int]:
    numbers = []
    for part in value.split(","):
        part = part.strip()
        if not part.isdigit() or not part.isascii():
            raise PortCgiError(f"{what}={value}: ports are numbers separated by commas")
        number = int(part)
        if not 1 <= number <= len(service.specs):
            raise PortCgiError(f"{what}={value}: there is no port {number} (ports are 1 to {len(service.specs)})")
        numbers.append(number)
    return numbers


def _parse_action(service: IOService, value: str) -> tuple[int, list[tuple[bool, int]]]:
    """`[<port>]:<a>[<wait><a>...]` -> (index, [(active, milliseconds to wait after)])."""
    m = ACTION.fullmatch(value)
    if m is None:
        raise PortCgiError(f"action={value}: expected <port>:/ (active), <port>:\\ (inactive) "
                           "or a pulse such as 1:/300\\")
    if m.group(1) is None:  # no port: output 1, the first output port
        outputs = [v.index for v in service.views() if v.direction == "output"]
        if not outputs:
            raise PortCgiError(f"action={value}: this device has no output port")
        index = outputs[0]
    else:
        number = int(m.group(1))
        if not 1 <= number <= len(service.specs):
            raise PortCgiError(f"action={value}: there is no port {number} (ports are 1 to {len(service.specs)})")
        index = number - 1
    if service.view(index).direction != "output":
        raise PortCgiError(f"action={value}: port {index + 1} is an input, only outputs can be set")
    steps: list[tuple[bool, int]] = []
    for char, wait in re.findall(r"([/\\])(\d*)", m.group(2)):
        millis = int(wait) if wait else 0
        if millis > MAX_WAIT_MILLIS:
            raise PortCgiError(f"action={value}: a wait is at most {MAX_WAIT_MILLIS} ms")
        steps.append((char == "/", millis))
    return index, steps


def _port_cgi(device: Device, service: IOService) -> None:
    async def port_cgi(request: Request, who: Principal) -> Response:
        try:
            pairs = await form_args(request)
        except ValueError:
            return text("# Error: the arguments are not valid UTF-8 text\n")
        if not pairs:
            return text("# Error: no argument; use check, checkactive, checkdirection or action\n")
        plan: list[tuple[str, Any]] = []
        try:
            for key, value in pairs:
                if key in ("check", "checkactive", "checkdirection"):
                    plan.append((key, _port_list(service, value, key)))
                elif key == "action":
                    plan.append((key, _parse_action(service, value)))
                elif key == "monitor":
                    raise PortCgiError("monitor is not supported by this device")
                else:
                    raise PortCgiError(f"unknown argument {key!r}")
        except PortCgiError as err:
            return text(f"# Error: {err}\n")
        if any(key == "action" for key, _ in plan):
            refusal = refuse(request, who, Role.OPERATOR)
            if refusal is not None:
                return refusal
        lines: list[str] = []
        for key, value in plan:
            if key == "action":
                index, steps = value
                active, _ = steps[0]
                service.set_output(index, active, who.name)  # also ends a running sequence
                if len(steps) > 1:
                    normal = service.view(index).normal
                    service.run_sequence(index, [(_other(normal) if a else normal, ms) for a, ms in steps], who.name)
                continue
            for number in value:
                view = service.view(number - 1)
                if key == "check":
                    lines.append(f"port{number}={1 if _port_state(view) == 'closed' else 0}")
                elif key == "checkactive":
                    lines.append(f"port{number}={'active' if view.active else 'inactive'}")
                else:
                    lines.append(f"port{number}={view.direction}")
        return text("".join(line + "\n" for line in lines))

    device.router.add("/axis-cgi/io/port.cgi", port_cgi, Role.VIEWER, methods=("GET", "POST"))


# -- virtual inputs (XML) -----------------------------------------------------------------
VI_NS = "http://www.axis.com/vapix/http_cgi/virtualinput1"
VI_HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n'
           f'<VirtualInputResponse xmlns="{VI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           f'SchemaVersion="1.1" xsi:schemaLocation="{VI_NS} {VI_NS}_0.xsd">')
VI_ERRORS = {
    10: "Missing argument",
    20: "The specified virtual input does not exist",
    30: "The specified schema version is not supported",
    40: "Internal server error",
    50: "Invalid duration",
}
MAX_DURATION = 2_147_483_647


def _xml(inner: str) -> Response:
    return Response(f"{VI_HEAD}{inner}</VirtualInputResponse>\n", media_type="text/xml")


def _xml_error(code: int, why: str = "") -> Response:
    description = VI_ERRORS[code] + (f": {why}" if why else "")
    return _xml(f"<Error><GeneralError><ErrorCode>{code}</ErrorCode>"
                f"<ErrorDescription>{_escape(description)}</ErrorDescription></GeneralError></Error>")


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _virtual_inputs(device: Device, service: IOService) -> None:

    def make(active: bool) -> Callable[[Request, Principal], Awaitable[Response]]:
        element = "ActivateSuccess" if active else "DeactivateSuccess"

        async def handle(request: Request, who: Principal) -> Response:
            try:
                pairs = await form_args(request)
            except (ValueError, UnicodeDecodeError):
                return _xml_error(10, "the arguments could not be read")
            schema, port, duration = first(pairs, "schemaversion"), first(pairs, "port"), first(pairs, "duration")
            missing = [name for name, value in (("schemaversion", schema), ("port", port)) if value is None]
            if missing:
                return _xml_error(10, " and ".join(missing) + " required")
            if schema.strip() != "1":
                return _xml_error(30, f"schemaversion={schema}; the supported major version is 1")
            if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= VIRTUAL_INPUTS:
                return _xml_error(20, f"port={port}; virtual inputs are 1 to {VIRTUAL_INPUTS}")
            seconds = None
            if active and duration is not None:
                if not (duration.isascii() and duration.isdigit()) or int(duration) > MAX_DURATION:
                    return _xml_error(50, f"duration={duration}; a whole number of seconds, 0 or more")
                seconds = int(duration)
            try:
                changed = service.set_virtual(int(port), active, who.name, float(seconds or 0))
                if seconds == 0:  # activated, then deactivated at once
                    service.set_virtual(int(port), False, who.name)
            except IOError_ as err:
                return _xml_error(20, str(err))
            except Exception:
                log.exception("virtual input %s failed", port)
                return _xml_error(40)
            return _xml(f"<Success><{element}><StateChanged>{'true' if changed else 'false'}</StateChanged>"
                        f"</{element}></Success>")

        return handle

    async def schema_versions(request: Request, who: Principal) -> Response:
        return _xml("<Success><GetSchemaVersionsSuccess><SchemaVersion><MajorVersion>1</MajorVersion>"
                    "<MinorVersion>1</MinorVersion><Deprecated>false</Deprecated></SchemaVersion>"
                    "</GetSchemaVersionsSuccess></Success>")

    router = device.router
    router.add("/axis-cgi/virtualinput/activate.cgi", make(True), Role.OPERATOR, methods=("GET", "POST"), kind="xml")
    router.add("/axis-cgi/virtualinput/deactivate.cgi", make(False), Role.OPERATOR, methods=("GET", "POST"),
               kind="xml")
    router.add("/axis-cgi/virtualinput/getschemaversions.cgi", schema_versions, Role.OPERATOR,
               methods=("GET", "POST"), kind="xml")


def register(device: Device, service: IOService) -> None:

    _port_management(device, service)
    _port_cgi(device, service)
    _virtual_inputs(device, service)
    device.apis.append(Api("io-port-management", VERSIONS[-1], "I/O Port Management"))
