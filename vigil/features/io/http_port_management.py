"""`/axis-cgi/io/portmanagement.cgi`: the JSON I/O port management API (getPorts, setPorts,
setStateSequence, getSupportedVersions), port ids `"0"`.. as in `IOPort.I<n>`, with its own
error codes (2100 version, 2101 JSON, 2102 method, 2103 missing, 2104 invalid, 2105
authorization, 2200 sequence ongoing, 1100 internal) and setPorts' partial-failure replies."""

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
from vigil.features.io.const import (
    CIRCUITS,
    DIRECTION,
    INPUT_NAME,
    INPUT_TRIG,
    MAX_PORTS_PER_REQUEST,
    MAX_SEQUENCE_STEPS,
    MAX_STEP_MILLIS,
    OUTPUT_ACTIVE,
    OUTPUT_NAME,
    PORT_MANAGEMENT,
    PORT_MANAGEMENT_ERRORS,
    PORT_MANAGEMENT_VERSIONS,
    USAGE,
    port_group,
)
from vigil.features.io.service import IO_SERVICE, IOError_, IOService, opposite
from vigil.http.routing import Endpoint, refuse
from vigil.http.vapix import supported_version

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.io")
SETTABLE = ("usage", "direction", "name", "normalState", "state")
VERSIONS = PORT_MANAGEMENT_VERSIONS


@dataclass
class PortError(Exception):
    code: int
    why: str = ""
    details: dict[str, str] | None = None
    errors: list[PortError] = field(default_factory=list)

    @property
    def message(self) -> str:
        base = PORT_MANAGEMENT_ERRORS.get(self.code, "Error")
        return f"{base}: {self.why}" if self.why else base

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        if self.errors:
            out["errors"] = [e.body() for e in self.errors]
        return out


def reply(version: str, context: str | None, method: str | None, data: dict[str, Any] | None = None,
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
    return Response(json.dumps(body, allow_nan=False), media_type="application/json")


def port_index(service: IOService, raw: Any) -> int:
    """The index of a port id ("0", "1", ...; a JSON integer is accepted too)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise PortError(2104, "a port id is a string such as \"0\"", {"port": str(raw)[:32]})
    text_id = str(raw) if isinstance(raw, str) or abs(raw) < 10**6 else "(a very long number)"
    if not re.fullmatch(r"0|[1-9]\d{0,2}", text_id) or int(text_id) >= len(service.specs):
        raise PortError(2104, f"there is no port {text_id[:32]!r}; ports are \"0\" to \"{len(service.specs) - 1}\"",
                        {"port": text_id[:32], "propertyName": "port"})
    return int(text_id)


# -- the methods --------------------------------------------------------------------------
async def get_ports(service: IOService, args: Any, who: Principal) -> dict[str, Any]:
    views = service.views()
    data: dict[str, Any] = {"numberOfPorts": len(views)}
    if views:
        data["items"] = [{
            "port": str(v.index),
            "state": v.reported,
            "configurable": v.configurable,
            "usage": v.usage,
            "direction": v.direction,
            "name": v.name,
            "normalState": v.normal,
        } for v in views]
    return data


def configure_port(service: IOService, index: int, pid: str, props: dict[str, Any],
                   who: Principal) -> tuple[list[PortError], str | None]:
    """Apply one port's configuration; returns the properties that failed (the rest are
    applied) and the circuit the request sets the output to, if any, for `set_state`."""
    params = service.params
    view = service.view(index)
    g = port_group(index)
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
        stage("direction", g + DIRECTION, value,
              f"port {pid} is not configurable: its direction is always {view.direction}")
        direction = staged.get(g + DIRECTION, direction)
    if "usage" in props and (value := string("usage")) is not None:
        stage("usage", g + USAGE, value)
    if "name" in props and (value := string("name")) is not None:
        stage("name", g + (INPUT_NAME if direction == "input" else OUTPUT_NAME), value)
    if "normalState" in props and (value := string("normalState", CIRCUITS)) is not None:
        stage("normalState", g + (INPUT_TRIG if direction == "input" else OUTPUT_ACTIVE), opposite(value))
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
            fail(2104, prop, f"unknown property {prop!r:.66}")

    # The configuration now (a new normal state before a new state); the state once every
    # port of the request is configured, since a configuration change returns outputs to normal.
    if staged:
        try:
            params.update(list(staged.items()), who.role, who.name)
        except ParamError as err:  # validated above, so this is not the caller's fault
            for name in staged:
                fail(1100, staged_props[name], str(err))
    return errors, state


def set_state(service: IOService, index: int, pid: str, state: str, who: Principal) -> list[PortError]:
    try:
        service.set_circuit(index, state, who.name)
    except IOError_ as err:
        return [PortError(2104, str(err), {"port": pid, "propertyName": "state"})]
    return []


async def set_ports(service: IOService, args: Any, who: Principal) -> dict[str, Any]:
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
        index = port_index(service, entry["port"])
        parsed.append((str(index), index, {k: v for k, v in entry.items() if k != "port"}))
    affected: list[str] = []
    errors: list[PortError] = []
    states: list[tuple[int, str, str]] = []
    for pid, index, props in parsed:
        failed, state = configure_port(service, index, pid, props, who)
        errors += failed
        if state is not None:
            states.append((index, pid, state))
        if any(p in props for p in SETTABLE) and pid not in affected:
            affected.append(pid)
    for index, pid, state in states:
        errors += set_state(service, index, pid, state, who)
    if errors:
        head = errors[0]
        raise PortError(head.code, head.why, head.details, errors[1:])
    return {"ports": affected}


async def set_state_sequence(service: IOService, args: Any, who: Principal) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise PortError(2103 if args is None else 2104, "params must be an object with port and sequence")
    for key in ("port", "sequence"):
        if key not in args:
            raise PortError(2103, f"params.{key} is required")
    index = port_index(service, args["port"])
    pid = str(index)
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


Method = Callable[[IOService, Any, Principal], Awaitable[dict[str, Any]]]
METHODS: dict[str, tuple[Role, Method]] = {
    "getPorts": (Role.VIEWER, get_ports),
    "setPorts": (Role.OPERATOR, set_ports),
    "setStateSequence": (Role.OPERATOR, set_state_sequence),
}


# -- the endpoint -------------------------------------------------------------------------
async def port_management(request: Request, who: Principal) -> Response:
    """Reads the JSON envelope, checks the method's role, runs it; every error in the API's codes."""
    device: Device = request.app.state.device
    latest = VERSIONS[-1]
    if request.method != "POST":
        return reply(latest, None, None, error=PortError(2101, "send the request as a POST with a JSON body"))
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        return reply(latest, None, None, error=PortError(2101))
    if not isinstance(body, dict):
        return reply(latest, None, None, error=PortError(2101, "the body must be a JSON object"))
    method = body.get("method")
    context = body.get("context")
    if context is not None and not isinstance(context, str):
        return reply(latest, None, method if isinstance(method, str) else None,
                     error=PortError(2104, "context must be a string"))
    if method is None:
        return reply(latest, context, None, error=PortError(2103, "method is required"))
    if not isinstance(method, str):
        return reply(latest, context, None, error=PortError(2104, "method must be a string"))
    if method == "getSupportedVersions":
        return reply(latest, context, method, {"apiVersions": VERSIONS})
    version = body.get("apiVersion")
    if version is None:
        return reply(latest, context, method, error=PortError(2103, "apiVersion is required"))
    if not isinstance(version, str) or not supported_version(version, VERSIONS):
        return reply(latest, context, method,
                     error=PortError(2100, f"{version!r:.40} is not one of {', '.join(VERSIONS)}"))
    entry = METHODS.get(method)
    if entry is None:
        return reply(version, context, method, error=PortError(2102, f"{method!r:.66} is not a method of this API"))
    role, handler = entry
    refusal = refuse(request, who, role)
    if refusal is not None:
        return refusal
    try:
        return reply(version, context, method, await handler(device.features[IO_SERVICE], body.get("params"), who))
    except PortError as err:
        return reply(version, context, method, error=err)
    except Exception:
        log.exception("portmanagement.cgi %s failed", method)
        device.logs.system(f"portmanagement.cgi {method} failed, see the service log", "error")
        return reply(version, context, method, error=PortError(1100))


ROUTES = (
    Endpoint(PORT_MANAGEMENT, port_management, Role.VIEWER, methods=("GET", "POST"), kind="json",
             method_roles={"getSupportedVersions": Role.VIEWER, **{m: r for m, (r, _) in METHODS.items()}}),
)
