"""The Firewall configuration API (Device Configuration framework): `/config/rest/firewall/v1`.

- `GET .../v1` (everything), `GET|PATCH .../v1/activated` (`{"data": true}`),
- `GET .../v1/conf/rules` and its properties `activeRules`, `activeDefaultPolicy`, `pendingRules`,
  `pendingDefaultPolicy`, `testTimeLeft`,
- `POST .../v1/conf/setRules` (`{"data": {"rules": [...], "defaultPolicy": "ACCEPT", "fallbackTime": 300}}`;
  fallbackTime 0 applies them at once, more tests them for that many seconds; left out: 300),
  `POST .../v1/conf/confirmRules` and `.../v1/conf/clearPendingRules` (the test's rollback, now).

Replies are `{"status": "success", "data": ...}` or, with HTTP 400, `{"status": "error", "error":
{"code": 103, "message": ...}}` in the API's codes (100 address, 101 address range, 103 request,
104 port range). Administrators only. The "pending" rules are those under test (enforced while
the test lasts), the "active" ones those confirmed, as the manual's Security page shows them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.firewall.const import API_ROOT, DEFAULT_TEST_SECONDS, ERR_INVALID_REQUEST
from vigil.features.firewall.model import RuleError, parse_ruleset, rule_json
from vigil.features.firewall.service import FIREWALL_SERVICE, FirewallService
from vigil.hal.firewall import Packet, incoming
from vigil.http.routing import Endpoint, client_address

log = logging.getLogger("vigil.firewall")


def success(data: Any = None) -> Response:
    body: dict[str, Any] = {"status": "success"}
    if data is not None:
        body["data"] = data
    return Response(json.dumps(body), media_type="application/json")


def failure(code: int, message: str, status: int = 400) -> Response:
    return Response(json.dumps({"status": "error", "error": {"code": code, "message": message}}), status_code=status,
                    media_type="application/json")


def service_of(request: Request) -> FirewallService:
    return request.app.state.device.features[FIREWALL_SERVICE]


def client_of(request: Request) -> Packet | None:
    """The connection of the client asking, as the rules see it (None: not over IP)."""
    server = request.scope.get("server")
    if not server:
        return None
    port = server[1] or (443 if request.url.scheme == "https" else 80)  # no port: the scheme's own
    try:
        return incoming(client_address(request), int(port))
    except ValueError:
        return None


def rules_json(service: FirewallService) -> dict[str, Any]:
    pending = service.pending
    return {
        "activeRules": [rule_json(r) for r in service.active.rules],
        "activeDefaultPolicy": service.active.default_policy,
        "pendingRules": [rule_json(r) for r in pending.rules] if pending else [],
        "pendingDefaultPolicy": pending.default_policy if pending else None,
        "testTimeLeft": service.time_left(),
    }


async def read_data(request: Request) -> Any:
    """The request's `data` member; RuleError when the body is no JSON object with one."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RuleError(ERR_INVALID_REQUEST, "the request body is not JSON") from None
    if not isinstance(body, dict) or "data" not in body:
        raise RuleError(ERR_INVALID_REQUEST, 'the request body is a JSON object with "data"')
    return body["data"]


def refused(request: Request, who: Principal, err: RuleError) -> Response:
    log.info("firewall change by %s refused: %s", who.name, err.message)
    request.app.state.device.logs.system(f"Firewall change by {who.name} refused: {err.message}", "notice")
    return failure(err.code, err.message)


# -- handlers ---------------------------------------------------------------------------------
async def get_all(request: Request, who: Principal) -> Response:
    service = service_of(request)
    return success({"activated": service.activated, "conf": {"rules": rules_json(service)}})


async def activated(request: Request, who: Principal) -> Response:
    service = service_of(request)
    if request.method == "GET":
        return success(service.activated)
    try:
        on = await read_data(request)
        if not isinstance(on, bool):
            raise RuleError(ERR_INVALID_REQUEST, "activated is true or false")
        service.set_activated(on, client_of(request), who.name)
    except RuleError as err:
        return refused(request, who, err)
    return success()


async def conf(request: Request, who: Principal) -> Response:
    return success({"rules": rules_json(service_of(request))})


async def rules(request: Request, who: Principal) -> Response:
    return success(rules_json(service_of(request)))


async def rules_property(request: Request, who: Principal) -> Response:
    name = request.path_params["name"]
    everything = rules_json(service_of(request))
    if name not in everything:
        return failure(ERR_INVALID_REQUEST, f"firewall.v1.conf.rules has no property {name[:64]!r}", 404)
    return success(everything[name])


async def set_rules(request: Request, who: Principal) -> Response:
    service = service_of(request)
    try:
        data = await read_data(request)
        if not isinstance(data, dict):
            raise RuleError(ERR_INVALID_REQUEST, "data is an object with rules, defaultPolicy and fallbackTime")
        unknown = set(data) - {"rules", "defaultPolicy", "fallbackTime"}
        if unknown:
            raise RuleError(ERR_INVALID_REQUEST, f"unknown member {sorted(unknown)[0]!r}")
        fallback = data.get("fallbackTime", DEFAULT_TEST_SECONDS)
        if isinstance(fallback, bool) or not isinstance(fallback, int):
            raise RuleError(ERR_INVALID_REQUEST, "fallbackTime is a whole number of seconds")
        ruleset = parse_ruleset(data.get("rules"), data.get("defaultPolicy"))
        service.set_rules(ruleset, fallback, client_of(request), who.name)
    except RuleError as err:
        return refused(request, who, err)
    return success()


async def confirm_rules(request: Request, who: Principal) -> Response:
    try:
        await read_data(request)
        service_of(request).confirm(who.name)
    except RuleError as err:
        return refused(request, who, err)
    return success()


async def clear_pending_rules(request: Request, who: Principal) -> Response:
    try:
        await read_data(request)
        service_of(request).roll_back(who.name, "rolled back by hand")
    except RuleError as err:
        return refused(request, who, err)
    return success()


def _endpoint(path: str, handler: Any, *methods: str) -> Endpoint:
    return Endpoint(API_ROOT + path, handler, Role.ADMIN, methods=methods, kind="json")


ROUTES = (
    _endpoint("", get_all, "GET"),
    _endpoint("/activated", activated, "GET", "PATCH"),
    _endpoint("/conf", conf, "GET"),
    _endpoint("/conf/rules", rules, "GET"),
    _endpoint("/conf/rules/{name}", rules_property, "GET"),
    _endpoint("/conf/setRules", set_rules, "POST"),
    _endpoint("/conf/confirmRules", confirm_rules, "POST"),
    _endpoint("/conf/clearPendingRules", clear_pending_rules, "POST"),
)
