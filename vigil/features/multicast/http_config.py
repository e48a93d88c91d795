"""VAPIX Audio Multicast Controller (`/config/rest/audio-multicast-ctrl/v1beta`, a Device
Configuration API): GET the root for everything (viewers: `enabled`, `sources`, `playing`, the
limits); PATCH `enabled` with `{"data": true|false}`; GET or PATCH `codec` (`{"data": "opus"}`: the
controller's audio codec, played by every source without its own); the `sources` collection: GET
lists, POST `{"data": {label, address, port, priority[, codec][, volume][, srtpKey]}}` (codec null
or left out: the controller's), GET, PATCH and
DELETE `sources/<id>` take one. Changes need an operator (as the Audio page's settings) and are
audited; a refusal is the API's error object and a warning in the system log."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.multicast import const as c
from vigil.features.multicast.model import Source, SourceError, check_codec
from vigil.features.multicast.service import MULTICAST_SERVICE, MulticastService
from vigil.http.config_rest import RestError, failure, request_data, sub_path, success
from vigil.http.routing import Endpoint


def shown(service: MulticastService, source: Source) -> dict[str, Any]:
    playing = service.playing
    return {**source.to_json(), "playing": playing is not None and playing.id == source.id,
            "arriving": service.arriving(source.id)}


def overview(service: MulticastService) -> dict[str, Any]:
    playing = service.playing
    return {"enabled": service.enabled, "codec": service.codec, "sources": [shown(service, s) for s in service.sources.values()],
            "playing": playing.id if playing else None, "maxSources": c.MAX_SOURCES,
            "codecs": list(c.CODECS), "priority": {"min": c.PRIORITY_MIN, "max": c.PRIORITY_MAX},
            "port": {"min": c.PORT_MIN, "max": c.PORT_MAX}, "srtp": ["AES_CM_128_HMAC_SHA1_80"]}


async def multicast_rest(request: Request, who: Principal) -> Response:
    device = request.app.state.device
    service = device.features[MULTICAST_SERVICE]
    path, method = sub_path(request, c.API), request.method
    try:
        if method != "GET" and who.role < Role.OPERATOR:
            raise RestError(403, "changing the multicast controller needs an operator")
        if path == [] and method == "GET":
            return success(overview(service))
        if path == ["enabled"]:
            if method == "PATCH":
                data = await request_data(request)
                if not isinstance(data, bool):
                    raise RestError(400, "enabled must be true or false")
                await service.set_enabled(data, who.name)
            elif method != "GET":
                raise RestError(405, "enabled takes GET and PATCH")
            return success(service.enabled)
        if path == ["codec"]:
            if method == "PATCH":
                await service.set_codec(check_codec(await request_data(request)), who.name)
            elif method != "GET":
                raise RestError(405, "codec takes GET and PATCH")
            return success(service.codec)
        if path == ["sources"]:
            if method == "POST":
                added = await service.add(await request_data(request), who.name)
                return success(shown(service, added), status=201)
            if method == "GET":
                return success([shown(service, s) for s in service.sources.values()])
            raise RestError(405, "sources takes GET and POST")
        if len(path) == 2 and path[0] == "sources":
            if method == "GET":
                return success(shown(service, service.get(path[1])))
            if method == "PATCH":
                return success(shown(service, await service.update(path[1], await request_data(request), who.name)))
            if method == "DELETE":
                await service.remove(path[1], who.name)
                return success()
            raise RestError(405, "a source takes GET, PATCH and DELETE")
        raise RestError(404, "No such entity")
    except (RestError, SourceError) as err:
        device.logs.system(f"Multicast controller request of {who.name} refused: {printable(str(err))}", "warning")
        return failure(err.status, str(err))


ROUTES = (
    Endpoint(c.API, multicast_rest, Role.VIEWER, methods=("GET",), kind="json", safe_get=True),
    Endpoint(c.API + "/{rest:path}", multicast_rest, Role.VIEWER, methods=("GET", "POST", "PATCH", "DELETE"),
             kind="json", safe_get=True),
)
