"""Connection tests from the device: /axis-cgi/pingtest.cgi?ip=<host> and
/axis-cgi/tcptest.cgi?address=<host>&port=<port>[&protocol=tcp|udp] (UDP is Vigil's addition,
for the manual's "TCP/UDP port" check). Text replies, the verdict on the first line: `got
response` or `no response`; `Test successful.` or `Test failed: <why>`. Errors are `Error: <why>`.

Administrator only: a device that tries any address for anyone is a scanner inside the network
it sits in."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.troubleshoot.const import PING_PATH, TCP_PATH
from vigil.features.troubleshoot.probes import PROTOCOLS, BadTarget, check_host, check_port, ping, port_check
from vigil.http.routing import Endpoint
from vigil.http.vapix import BadArguments, first, form_args, text


async def pingtest(request: Request, who: Principal) -> Response:
    try:
        host = check_host(first(await form_args(request), "ip"))
        result = await ping(host)
    except (BadArguments, BadTarget) as err:
        return text(f"Error: {err}\n")
    except OSError as err:
        return text(f"Error: {err}\n")
    request.app.state.device.logs.audit(who.name, f"pinged {host}: {result.text.splitlines()[0]}", "maintenance")
    return text(result.text)


async def tcptest(request: Request, who: Principal) -> Response:
    try:
        pairs = await form_args(request)
        host, port = check_host(first(pairs, "address")), check_port(first(pairs, "port"))
        protocol = (first(pairs, "protocol") or "tcp").lower()
        if protocol not in PROTOCOLS:
            raise BadTarget("the protocol is tcp or udp")
    except (BadArguments, BadTarget) as err:
        return text(f"Error: {err}\n")
    result = await port_check(host, port, protocol)
    request.app.state.device.logs.audit(who.name, f"checked port {port}/{protocol} of {host}: "
                                        f"{result.text.splitlines()[0]}", "maintenance")
    return text(result.text)


ROUTES = (
    Endpoint(PING_PATH, pingtest, Role.ADMIN),
    Endpoint(TCP_PATH, tcptest, Role.ADMIN),
)
