"""A camera's events over VAPIX event streaming (WebSocket `/vapix/ws-data-stream`, as Axis
devices and Vigil offer it): a one-time token from wssession.cgi (HTTP Digest), then
`events:configure` for every topic, then `events:notify` messages until the connection ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from vigil.features.cameraevents.model import CameraEventsError, Received

TOKEN_PATH = "/axis-cgi/wssession.cgi"
STREAM_PATH = "/vapix/ws-data-stream"
MAX_MESSAGE = 1 << 20


async def offers_vapix(http: httpx.AsyncClient, base: str) -> bool:
    """Whether the camera at `base` hands out event stream tokens (CameraEventsError when it
    refuses the credentials or cannot be reached)."""
    reply = await _get(http, base + TOKEN_PATH)
    return reply.status_code == 200


async def _get(http: httpx.AsyncClient, url: str) -> httpx.Response:
    try:
        reply = await http.get(url)
    except httpx.HTTPError as err:
        raise CameraEventsError(f"cannot reach {urlsplit(url).netloc}: {err or type(err).__name__}") from None
    except httpx.InvalidURL as err:
        raise CameraEventsError(f"not a usable address: {err}") from None
    if reply.status_code in (401, 403):
        raise CameraEventsError("the camera refused the user name or password")
    return reply


async def follow(http: httpx.AsyncClient, base: str, received: Callable[[Received], None],
                 opened: Callable[[], None]) -> None:
    """Receive the camera's events until the stream ends (CameraEventsError saying why)."""
    reply = await _get(http, base + TOKEN_PATH)
    if reply.status_code != 200:
        raise CameraEventsError(f"wssession.cgi answered HTTP {reply.status_code}")
    token = reply.text.strip()
    parts = urlsplit(base)
    url = urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, STREAM_PATH,
                      f"sources=events&wssession={token}", ""))
    configure = {"apiVersion": "1.0", "context": "vigil", "method": "events:configure",
                 "params": {"eventFilterList": [{"topicFilter": "//."}]}}
    try:
        async with connect(url, max_size=MAX_MESSAGE, open_timeout=10) as socket:
            await socket.send(json.dumps(configure))
            async for message in socket:
                try:
                    body = json.loads(message)
                except ValueError:
                    continue
                if not isinstance(body, dict):
                    continue
                if "error" in body:
                    error = body["error"] if isinstance(body["error"], dict) else {}
                    raise CameraEventsError(f"the camera refused the event subscription: {error.get('message')}")
                if body.get("method") == "events:configure":
                    opened()
                elif body.get("method") == "events:notify":
                    event = parse_notification(body)
                    if event is not None:
                        received(event)
    except (OSError, InvalidURI, InvalidHandshake) as err:
        raise CameraEventsError(f"the event stream could not be opened: {err}") from None
    except WebSocketException as err:
        raise CameraEventsError(f"the event stream ended: {err}") from None
    raise CameraEventsError("the camera closed the event stream")


def parse_notification(body: dict) -> Received | None:
    notification = body.get("params", {}).get("notification") if isinstance(body.get("params"), dict) else None
    if not isinstance(notification, dict) or not isinstance(notification.get("topic"), str):
        return None
    message = notification.get("message") if isinstance(notification.get("message"), dict) else {}

    def items(name: str) -> dict[str, str]:
        value = message.get(name)
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    # VAPIX says nothing of property states: an event with data is taken as a state change.
    data = items("data")
    return Received(notification["topic"], items("source"), data, "Changed" if data else "")
