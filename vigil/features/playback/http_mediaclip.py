"""VAPIX Media clip API: /axis-cgi/mediaclip.cgi (operators: upload, list, play, stop, update,
remove, download), /axis-cgi/playclip.cgi and /axis-cgi/stopclip.cgi (viewers: play and stop).
Replies are text/plain `OK` and what was done (`playing=<clip>`, `uploaded=<clip>` ...), or 400
with `Error: <why>`; a download is the clip file as it was uploaded.

Arguments are read from the query only, also on POST: an HTTP recipient that POSTs its message
to a play link (the manual's "Play audio when a camera detects motion") plays the clip."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import ParamError, printable
from vigil.core.roles import Role
from vigil.features.playback import const as c
from vigil.features.playback.clips import ClipLimit, ClipNotFound
from vigil.features.playback.decode import ClipError
from vigil.features.playback.player import SpeakerBusy
from vigil.features.playback.service import PLAYBACK_SERVICE, PlayArgumentError, parse_repeat, parse_volume
from vigil.http.routing import Endpoint, client_address
from vigil.http.vapix import text

if TYPE_CHECKING:
    from vigil.device import Device

ACTIONS = ("play", "stop", "upload", "remove", "update", "download", "list")
MEDIA_TYPES = {"au": "audio/basic", "wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/ogg", "ogg": "audio/ogg"}
MULTIPART_SLACK = 64 * 1024  # the form's boundaries and headers around the file


class UploadError(ValueError):
    pass


def ok(what: str) -> Response:
    return text(f"OK\n{what}\n")


def error(device: Device, who: Principal, request: Request, why: str) -> Response:
    device.logs.system(f"{request.url.path} of {who.name} from {client_address(request)} refused: {printable(why)}",
                       "warning")
    return text(f"Error: {why}\n", status=400)


def query(request: Request) -> dict[str, str]:
    try:
        pairs = parse_qsl(request.scope.get("query_string", b"").decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise PlayArgumentError("the query is not UTF-8 text") from None
    args: dict[str, str] = {}
    for key, value in pairs:
        if key in args:
            raise PlayArgumentError(f"{printable(key)} is given twice")
        args[key] = value
    return args


def check_output(args: dict[str, str]) -> None:
    """The device has one audio device (0) with one output (0); audiooutput (deprecated) counts from 1."""
    if "audiooutput" in args and ("audiodeviceid" in args or "audiooutputid" in args):
        raise PlayArgumentError("audiooutput and audiodeviceid/audiooutputid cannot be used together")
    if args.get("audiooutput", "1") != "1":
        raise PlayArgumentError("audiooutput must be 1: the device has one audio output")
    if ("audiodeviceid" in args) != ("audiooutputid" in args):
        raise PlayArgumentError("audiodeviceid and audiooutputid go together")
    if args.get("audiodeviceid", "0") != "0" or args.get("audiooutputid", "0") != "0":
        raise PlayArgumentError("there is no such audio output: the device has audio device 0 with output 0")


async def play(device: Device, who: Principal, args: dict[str, str]) -> Response:
    service = device.features[PLAYBACK_SERVICE]
    clip = service.clips.get(args.get("clip"))
    volume, repeat = parse_volume(args.get("volume")), parse_repeat(args.get("repeat"))
    check_output(args)
    await service.play([clip], volume, repeat, who.name)
    return ok(f"playing={clip.id}")


async def read_upload(request: Request) -> tuple[bytes, str]:
    """The file of a multipart/form-data upload and its file name, read with a bound: a body
    larger than the largest clip is refused before it is all read."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UploadError("upload the clip as multipart/form-data (RFC 1867)")
    limit = c.MAX_UPLOAD + MULTIPART_SLACK
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise ClipLimit(f"the file is larger than {c.MAX_UPLOAD_MB} MB (MediaClip.MaxUploadSize)")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise ClipLimit(f"the file is larger than {c.MAX_UPLOAD_MB} MB (MediaClip.MaxUploadSize)")
    raw = bytes(body)

    async def replay() -> dict:
        return {"type": "http.request", "body": raw, "more_body": False}
    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    except Exception as err:  # python-multipart's and Starlette's parse errors have no common base
        raise UploadError(f"the multipart body cannot be read: {printable(str(err))}") from None
    files = [value for _, value in form.multi_items() if not isinstance(value, str)]
    if not files:
        raise UploadError("the form holds no file")
    upload = files[0]
    data = await upload.read()
    await form.close()
    return data, upload.filename or ""


async def upload(request: Request, device: Device, who: Principal, args: dict[str, str]) -> Response:
    if request.method != "POST":
        raise UploadError("upload with POST")
    if args.get("media") != "audio":
        raise UploadError("media=audio is required: the device stores audio clips")
    data, filename = await read_upload(request)
    name = args.get("name") or filename.rsplit(".", 1)[0] or "Clip"
    service = device.features[PLAYBACK_SERVICE]
    clip, info = service.clips.add(data, name, who.role, who.name)
    device.logs.audit(who.name, f"uploaded audio clip {clip.id} ({printable(clip.name)}: {info.format}, "
                                f"{info.seconds:.1f} s)", "mediaclip")
    return ok(f"uploaded={clip.id}")


async def mediaclip(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    service = device.features[PLAYBACK_SERVICE]
    try:
        args = query(request)
        action = args.get("action")
        if action not in ACTIONS:
            raise PlayArgumentError(f"action must be one of {', '.join(ACTIONS)}")
        if action != "upload" and request.method != "GET":
            raise PlayArgumentError(f"action={action} takes GET")
        if action == "play":
            return await play(device, who, args)
        if action == "stop":
            await service.stop()
            return ok("stopping")
        if action == "upload":
            return await upload(request, device, who, args)
        if action == "list":
            return text("".join(f"{clip.id}={clip.name}\n" for clip in service.clips.clips()))
        clip = service.clips.get(args.get("clip"))
        if action == "download":
            return Response(clip.path.read_bytes(), media_type=MEDIA_TYPES[clip.path.suffix[1:]],
                            headers={"Content-Disposition": f'attachment; filename="clip{clip.id}{clip.path.suffix}"'})
        if action == "update":
            if "name" not in args:
                raise PlayArgumentError("name is required to update a clip")
            service.clips.rename(clip, args["name"], who.role, who.name)
            return ok(f"updated={clip.id}")
        if service.player.playing_clip == clip.id:
            await service.stop()
        service.clips.remove(clip, who.role, who.name)
        return ok(f"removed={clip.id}")
    except (PlayArgumentError, ClipNotFound, ClipError, ClipLimit, UploadError, ParamError, SpeakerBusy) as err:
        return error(device, who, request, str(err))


async def playclip(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    try:
        return await play(device, who, query(request))
    except (PlayArgumentError, ClipNotFound, SpeakerBusy) as err:
        return error(device, who, request, str(err))


async def stopclip(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    await device.features[PLAYBACK_SERVICE].stop()
    return ok("stopping")


ROUTES = (
    Endpoint(c.MEDIACLIP, mediaclip, Role.OPERATOR),
    Endpoint(c.PLAYCLIP, playclip, Role.VIEWER),
    Endpoint(c.STOPCLIP, stopclip, Role.VIEWER),
)
