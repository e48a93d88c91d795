"""image.cgi: a JPEG snapshot of a recorded camera (its latest key frame, snapshot.py).

    GET /axis-cgi/jpg/image.cgi[?camera=N][&resolution=WxH][&compression=0..100]

`camera` is numbered as the live relay numbers the cameras (1-based, `Sources.numbered`;
default 1). `resolution` scales the picture down (or keeps its size); `compression` sets the
JPEG quality as VAPIX does (higher: smaller, coarser). The other image arguments of VAPIX
(rotation, text overlays, palette, square pixels...) need the camera to encode for us: they
are refused, not ignored. Errors are VAPIX's image error text (`<!-- message -->`) with an
HTTP status, so that an <img> or a client shows a failure instead of a broken picture: 400
for a bad argument, 404 for no such camera, 503 while the camera has sent no key frame yet.
"""

from __future__ import annotations

import re
from email.utils import formatdate
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.recording.recorder import RECORDING_SERVICE, RecordingService
from vigil.features.recording.snapshot import DEFAULT_COMPRESSION, JpegOptions, NoKeyFrame, SnapshotFailed
from vigil.http.routing import Endpoint
from vigil.http.vapix import BadArguments, form_args

if TYPE_CHECKING:
    from vigil.device import Device

IMAGE_PATH = "/axis-cgi/jpg/image.cgi"
ACCEPTED = ("camera", "resolution", "compression")
MIN_SIZE = 16
_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")


class SnapshotRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def image_error(status: int, message: str) -> Response:
    return Response(f"<!-- {message} -->\n", status_code=status, media_type="text/plain; charset=utf-8")


def options_for(args: list[tuple[str, str]], size: tuple[int, int]) -> JpegOptions:
    """The JPEG the arguments ask for, of a picture of `size`."""
    values: dict[str, str] = {}
    for key, value in args:
        if key not in ACCEPTED:
            raise SnapshotRefused(400, f"Argument {key[:32]!r} is not supported: the recorder relays what the "
                                       "camera sends and takes only camera, resolution and compression")
        if key in values:
            raise SnapshotRefused(400, f"Argument {key!r} is given twice")
        values[key] = value
    compression = values.get("compression", str(DEFAULT_COMPRESSION))
    if not (compression.isascii() and compression.isdigit() and len(compression) <= 3 and int(compression) <= 100):
        raise SnapshotRefused(400, f"Invalid compression {compression[:16]!r}: 0 to 100")
    width = height = None
    if "resolution" in values:
        match = _SIZE.fullmatch(values["resolution"])
        if match is None:
            raise SnapshotRefused(400, f"Invalid resolution {values['resolution'][:32]!r}: give WIDTHxHEIGHT")
        width, height = int(match.group(1)), int(match.group(2))
        if (width, height) == size:
            width = height = None
        elif not (MIN_SIZE <= width <= size[0] and MIN_SIZE <= height <= size[1]):
            raise SnapshotRefused(400, f"Resolution {width}x{height} is not available: the camera sends "
                                       f"{size[0]}x{size[1]}, and a snapshot is that size or smaller")
        elif width % 2 or height % 2:
            raise SnapshotRefused(400, f"Resolution {width}x{height} is not available: width and height are even")
    return JpegOptions(width, height, int(compression))


async def image(request: Request, who: Principal) -> Response:
    service: RecordingService = request.app.state.device.features[RECORDING_SERVICE]
    try:
        args = await form_args(request)
    except BadArguments as err:
        return image_error(400, str(err))
    camera = next((v for k, v in args if k == "camera"), "1")
    numbered = service.sources.numbered()
    try:
        if not (camera.isascii() and camera.isdigit() and len(camera) <= 4 and 1 <= int(camera) <= len(numbered)):
            raise SnapshotRefused(404, f"Camera {camera[:16]} not available: the cameras are 1 to {len(numbered)}")
        source = numbered[int(camera) - 1]
        size = service.snapshots.size(source.id)
        if size is None:
            raise NoKeyFrame(source.id)
        options = options_for(args, size)
        jpeg, frame = await service.snapshots.jpeg(source.id, options)
    except SnapshotRefused as err:
        return image_error(err.status, str(err))
    except NoKeyFrame:
        return image_error(503, f"Camera {camera} has sent no key frame yet: no image to show")
    except SnapshotFailed as err:
        request.app.state.device.logs.system(f"snapshot of camera {camera} failed: {err}", "warning")
        return image_error(503, f"Camera {camera}: {err}")
    return Response(jpeg, media_type="image/jpeg", headers={
        "Cache-Control": "no-cache",
        "Last-Modified": formatdate(frame.arrived, usegmt=True),
    })


ROUTES = (
    # safe_get: a page shows it in an <img>, which sends no same-origin proof on plain HTTP.
    Endpoint(IMAGE_PATH, image, Role.VIEWER, methods=("GET",), safe_get=True),
)


def register(device: Device) -> None:
    device.router.include(ROUTES)
