"""VAPIX Device Configuration: the OpenID Connect Setup API (`/config/rest/oidcsetup/v1`) and
the Client credential grants API (`/config/rest/oauth-ccgrant/v1beta`). GET reads an entity or
a property (never the client secret), PATCH sets one; administrators only. A value the API's
data types refuse, or a provider that does not answer when OpenID is enabled, is an error and
nothing is kept."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.oidc.config import CCG_TREE, SETUP_TREE, ConfigError, node_at, shown
from vigil.features.oidc.const import BAD_REQUEST, CCG_PATH, NOT_FOUND, SETUP_PATH
from vigil.features.oidc.service import OIDC_SERVICE
from vigil.http.config_rest import RestError, failure, request_data, sub_path, success
from vigil.http.routing import Endpoint


def _read(tree: dict[str, Any], values: dict[str, Any], path: list[str]) -> Any:
    node = node_at(tree, path)
    if isinstance(node, dict):
        return shown(node, values)
    if node.secret:
        raise LookupError("/".join(path))  # set only: never read back
    return values[path[-1]]


async def _entity(request: Request, who: Principal, root: str, tree: dict[str, Any], ccg: bool) -> Response:
    service = request.app.state.device.features[OIDC_SERVICE]
    path = sub_path(request, root)
    try:
        if request.method == "GET":
            return success(_read(tree, service.ccg if ccg else service.setup, path))
        data = await request_data(request)
        update = service.update_ccg if ccg else service.update_setup
        await update(path, data, who.name)
        return success()
    except LookupError as err:
        return failure(NOT_FOUND, f"No such entity or property: {str(err)[:80]}")
    except ConfigError as err:
        return failure(BAD_REQUEST, str(err))
    except RestError as err:
        return failure(err.status, str(err))


async def oidc_setup(request: Request, who: Principal) -> Response:
    return await _entity(request, who, SETUP_PATH, SETUP_TREE, ccg=False)


async def ccg_setup(request: Request, who: Principal) -> Response:
    return await _entity(request, who, CCG_PATH, CCG_TREE, ccg=True)


ROUTES = tuple(
    Endpoint(path, handler, Role.ADMIN, methods=("GET", "PATCH"), kind="json")
    for root, handler in ((SETUP_PATH, oidc_setup), (CCG_PATH, ccg_setup))
    for path in (root, root + "/{rest:path}")
)
