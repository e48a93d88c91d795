"""`/axis-cgi/io/port.cgi`: the legacy I/O port API, ports numbered from 1: `check`,
`checkactive`, `checkdirection` and `action=<n>:/300\\` style outputs and pulses, with
`# Error:` text replies.

`input.cgi` and `output.cgi` are not served: the I/O page calls them obsolete and says
products with configurable ports (the W401) must use `port.cgi`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.io.const import MAX_WAIT_MILLIS, PORT_CGI
from vigil.features.io.service import IO_SERVICE, IOService, opposite
from vigil.http.routing import Endpoint, refuse
from vigil.http.vapix import BadArguments, form_args, text

if TYPE_CHECKING:
    from vigil.device import Device

ACTION = re.compile(r"(\d{1,3})?:([/\\](?:\d{1,8}[/\\])*)")
PORT_NUMBER = re.compile(r"[0-9]{1,3}")  # ASCII digits, and few enough that int() never refuses them
CHECKS = ("check", "checkactive", "checkdirection")


class PortCgiError(ValueError):
    pass


def port_list(service: IOService, value: str, what: str) -> list[int]:
    """The port numbers of `check=1,2`-style arguments."""
    numbers = []
    shown = printable(value, 64)
    for part in value.split(","):
        part = part.strip()
        if not PORT_NUMBER.fullmatch(part):
            raise PortCgiError(f"{what}={shown}: ports are numbers from 1 to {len(service.specs)} "
                               "separated by commas")
        number = int(part)
        if not 1 <= number <= len(service.specs):
            raise PortCgiError(f"{what}={shown}: there is no port {number} (ports are 1 to {len(service.specs)})")
        numbers.append(number)
    return numbers


def parse_action(service: IOService, value: str) -> tuple[int, list[tuple[bool, int]]]:
    """`[<port>]:<a>[<wait><a>...]` -> (index, [(active, milliseconds to wait after)])."""
    shown = printable(value, 64)
    m = ACTION.fullmatch(value)
    if m is None:
        raise PortCgiError(f"action={shown}: expected <port>:/ (active), <port>:\\ (inactive) "
                           "or a pulse such as 1:/300\\")
    if m.group(1) is None:  # no port: output 1, the first output port
        outputs = [v.index for v in service.views() if v.direction == "output"]
        if not outputs:
            raise PortCgiError(f"action={shown}: this device has no output port")
        index = outputs[0]
    else:
        number = int(m.group(1))
        if not 1 <= number <= len(service.specs):
            raise PortCgiError(f"action={shown}: there is no port {number} (ports are 1 to {len(service.specs)})")
        index = number - 1
    if service.view(index).direction != "output":
        raise PortCgiError(f"action={shown}: port {index + 1} is an input, only outputs can be set")
    steps: list[tuple[bool, int]] = []
    for char, wait in re.findall(r"([/\\])(\d*)", m.group(2)):
        millis = int(wait) if wait else 0
        if millis > MAX_WAIT_MILLIS:
            raise PortCgiError(f"action={shown}: a wait is at most {MAX_WAIT_MILLIS} ms")
        steps.append((char == "/", millis))
    return index, steps


def plan(service: IOService, pairs: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    """Every argument checked before anything is done: (check kind, port numbers) or
    ("action", (index, steps))."""
    steps: list[tuple[str, Any]] = []
    for key, value in pairs:
        if key in CHECKS:
            steps.append((key, port_list(service, value, key)))
        elif key == "action":
            steps.append((key, parse_action(service, value)))
        elif key == "monitor":
            raise PortCgiError("monitor is not supported by this device")
        else:
            raise PortCgiError(f"unknown argument {printable(key, 64)!r}")
    return steps


async def port_cgi(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    service = device.features[IO_SERVICE]
    try:
        pairs = await form_args(request)
    except BadArguments:
        return text("# Error: the arguments are not valid UTF-8 text\n")
    if not pairs:
        return text("# Error: no argument; use check, checkactive, checkdirection or action\n")
    try:
        steps = plan(service, pairs)
    except PortCgiError as err:
        device.logs.system(f"port.cgi refused for {who.name}: {err}", "warning")
        return text(f"# Error: {err}\n")
    if any(key == "action" for key, _ in steps):
        refusal = refuse(request, who, Role.OPERATOR)
        if refusal is not None:
            return refusal
    lines: list[str] = []
    for key, value in steps:
        if key == "action":
            index, pulse = value
            active, _ = pulse[0]
            service.set_output(index, active, who.name)  # also ends a running sequence
            if len(pulse) > 1:
                normal = service.view(index).normal
                service.run_sequence(index, [(opposite(normal) if a else normal, ms) for a, ms in pulse], who.name)
            continue
        for number in value:
            view = service.view(number - 1)
            if key == "check":
                lines.append(f"port{number}={1 if view.reported == 'closed' else 0}")
            elif key == "checkactive":
                lines.append(f"port{number}={'active' if view.active else 'inactive'}")
            else:
                lines.append(f"port{number}={view.direction}")
    return text("".join(line + "\n" for line in lines))


ROUTES = (
    Endpoint(PORT_CGI, port_cgi, Role.VIEWER, methods=("GET", "POST")),
)
