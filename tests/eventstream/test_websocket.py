"""VAPIX event streaming over WebSocket, against a real server on 127.0.0.1 with the
`websockets` client: the wssession token flow, authentication on the upgrade, filters,
and bad messages."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.conftest import ADMIN
from tests.eventstream.conftest import PORT_TOPIC, PULSE_TOPIC, VIEWER, Running

STREAM = "/vapix/ws-data-stream"


def ws_url(r: Running, query: str = "sources=events") -> str:
    return f"ws://127.0.0.1:{r.ports.http}{STREAM}?{query}"


async def token(r: Running, user: tuple[str, str] = VIEWER) -> str:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{r.ports.http}", auth=httpx.DigestAuth(*user)) as c:
        reply = await c.get("/axis-cgi/wssession.cgi")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    assert re.fullmatch(r"\d{19}", reply.text)
    return reply.text


def configure(*filters: dict, context: str | None = "test") -> str:
    body: dict = {"apiVersion": "1.0", "method": "events:configure", "params": {"eventFilterList": list(filters)}}
    if context is not None:
        body["context"] = context
    return json.dumps(body)


async def receive(ws: ClientConnection, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def notification(ws: ClientConnection, match=lambda n: True, timeout: float = 5.0) -> dict:
    """The next notification `match` accepts (the device has properties of its own)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await receive(ws, timeout)
            assert message["method"] == "events:notify", message
            if match(message["params"]["notification"]):
                return message


def port_is(port: str):
    return lambda n: n["topic"] == PORT_TOPIC and n["message"]["source"] == {"port": port}


async def refused(url: str, **kwargs) -> int:
    with pytest.raises(InvalidStatus) as err:
        async with connect(url, **kwargs):
            pass
    return err.value.response.status_code


# -- the token flow and filters ------------------------------------------------------------
async def test_token_configure_and_filters(running: Running) -> None:
    running.publish("45", "0")
    running.publish("46", "0")
    t = await token(running)
    async with connect(ws_url(running, f"sources=events&wssession={t}")) as ws:
        await ws.send(configure({"topicFilter": "tns1:Device/tnsaxis:IO/Port",
                                 "contentFilter": 'boolean(//SimpleItem[@Name="port" and @Value="45"])'}))
        assert await receive(ws) == {"apiVersion": "1.0", "context": "test", "method": "events:configure", "data": {}}
        first = await receive(ws)  # only port 45 matches; its state comes first
        assert first == {"apiVersion": "1.0", "method": "events:notify", "params": {"notification": {
            "topic": PORT_TOPIC, "timestamp": 1_700_000_000_000,
            "message": {"source": {"port": "45"}, "key": {}, "data": {"state": "0"}}}}}
        running.publish("46", "1")  # another port: filtered out by content
        running.device.events.publish(PULSE_TOPIC, {}, {"description": "x"})  # another topic
        running.clock.advance(1.5)
        running.publish("45", "1")
        second = await receive(ws)
        assert second["params"]["notification"]["message"]["data"] == {"state": "1"}
        assert second["params"]["notification"]["timestamp"] == 1_700_000_001_500
        with pytest.raises(TimeoutError):
            await receive(ws, 0.3)

        # A new configure replaces the filters; each matching filter is its own subscription.
        await ws.send(configure({"topicFilter": "onvif:Device/axis:SystemMessage//"}, {"topicFilter": "//."},
                                context=None))
        assert await receive(ws) == {"apiVersion": "1.0", "method": "events:configure", "data": {}}
        await notification(ws, port_is("46"))  # "//." brings every property again
        running.device.events.publish(PULSE_TOPIC, {}, {"description": "twice"})
        pulses = [await notification(ws, lambda n: n["topic"] == PULSE_TOPIC) for _ in range(2)]
        assert pulses[0] == pulses[1]
        assert pulses[0]["params"]["notification"]["message"] == {"source": {}, "key": {}, "data": {"description": "twice"}}


async def test_tokens_are_one_time_and_short_lived(running: Running) -> None:
    t = await token(running)
    async with connect(ws_url(running, f"sources=events&wssession={t}")):
        pass
    assert await refused(ws_url(running, f"sources=events&wssession={t}")) == 401  # used
    late = await token(running)
    running.clock.advance(16)
    assert await refused(ws_url(running, f"sources=events&wssession={late}")) == 401  # expired
    assert await refused(ws_url(running, "sources=events&wssession=1234567890123456789")) == 401  # never issued
    assert await refused(ws_url(running, "sources=events&wssession=")) == 401
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.ports.http}") as c:
        assert (await c.get("/axis-cgi/wssession.cgi")).status_code == 401


# -- authentication on the upgrade request --------------------------------------------------
async def test_basic_digest_cookie_on_upgrade(running: Running) -> None:
    # A filter without properties: a client that leaves many initial events unread stops reading
    # its socket (flow control) and then waits its whole close timeout for the server's close frame.
    quiet = configure({"topicFilter": PULSE_TOPIC})
    basic = "Basic " + base64.b64encode(f"{VIEWER[0]}:{VIEWER[1]}".encode()).decode()
    async with connect(ws_url(running), additional_headers={"Authorization": basic}) as ws:
        await ws.send(quiet)
        assert "data" in await receive(ws)

    # Digest: the 401 carries the challenge, the retry answers it.
    with pytest.raises(InvalidStatus) as err:
        async with connect(ws_url(running)):
            pass
    assert err.value.response.status_code == 401
    challenge = next(v for k, v in err.value.response.headers.raw_items()
                     if k.lower() == "www-authenticate" and "MD5" in v)
    realm = re.search(r'realm="([^"]+)"', challenge).group(1)
    nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
    uri = f"{STREAM}?sources=events"

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5(f"{ADMIN[0]}:{realm}:{ADMIN[1]}"), md5(f"GET:{uri}")
    digest = (f'Digest username="{ADMIN[0]}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5, '
              f'qop=auth, nc=00000001, cnonce="abc", response="{md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")}"')
    async with connect(ws_url(running), additional_headers={"Authorization": digest}) as ws:
        await ws.send(quiet)
        assert "data" in await receive(ws)

    # The browser's session cookie, from the same origin only.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.ports.http}") as c:
        login = await c.post("/vigil/session", json={"username": VIEWER[0], "password": VIEWER[1]})
        cookie = f"vigil_session={login.cookies['vigil_session']}"
    host = f"127.0.0.1:{running.ports.http}"
    async with connect(ws_url(running), additional_headers={"Cookie": cookie}, origin=f"http://{host}") as ws:
        await ws.send(quiet)
        assert "data" in await receive(ws)
    assert await refused(ws_url(running), additional_headers={"Cookie": cookie}, origin="http://evil.example") == 403

    wrong = "Basic " + base64.b64encode(b"viewer1:nope").decode()
    assert await refused(ws_url(running), additional_headers={"Authorization": wrong}) == 401
    assert await refused(ws_url(running, "sources=video"), additional_headers={"Authorization": basic}) == 400
    assert await refused(ws_url(running, ""), additional_headers={"Authorization": basic}) == 400


async def test_http_twin_and_discovery(running: Running) -> None:
    base = f"http://127.0.0.1:{running.ports.http}"
    async with httpx.AsyncClient(base_url=base) as anon:
        assert (await anon.get(STREAM)).status_code == 401
        body = {"apiVersion": "1.0", "method": "getApiList"}
        apis = (await anon.post("/axis-cgi/apidiscovery.cgi", json=body)).json()["data"]["apiList"]
        assert {"id": "event-streaming-over-websocket", "version": "1.0"}.items() <= next(
            a for a in apis if a["id"] == "event-streaming-over-websocket").items()
    async with httpx.AsyncClient(base_url=base, auth=httpx.DigestAuth(*VIEWER)) as viewer:
        reply = await viewer.get(STREAM)
        assert reply.status_code == 426 and reply.headers["upgrade"] == "websocket"


# -- bad messages --------------------------------------------------------------------------
BAD = [
    ("not json", 2101, None),
    ("[1, 2]", 2101, None),
    (json.dumps({"apiVersion": "1.0", "method": "events:subscribe", "params": {}}), 2102, "events:subscribe"),
    (json.dumps({"apiVersion": "1.0", "params": {}}), 2103, "events:configure"),
    (json.dumps({"method": "events:configure", "params": {"eventFilterList": [{}]}}), 2103, "events:configure"),
    (json.dumps({"apiVersion": "2.0", "method": "events:configure", "params": {}}), 2100, "events:configure"),
    (json.dumps({"apiVersion": "1.0", "method": "events:configure"}), 2103, "events:configure"),
    (json.dumps({"apiVersion": "1.0", "method": "events:configure", "params": []}), 2104, "events:configure"),
    (json.dumps({"apiVersion": "1.0", "method": "events:configure", "params": {}}), 2103, "events:configure"),
    (configure(), 2104, "events:configure"),
    (json.dumps({"apiVersion": "1.0", "method": "events:configure", "params": {"eventFilterList": "x"}}),
     2104, "events:configure"),
    (configure({}), 2104, "events:configure"),
    (configure("tns1:Device"), 2104, "events:configure"),
    (configure({"topicFilter": 5}), 2104, "events:configure"),
    (configure({"contentFilter": "boolean(//SimpleItem[@Name="}), 2104, "events:configure"),
    (configure({"contentFilter": "unknown-function(1)"}), 2104, "events:configure"),
    (configure({"contentFilter": "$undefined"}), 2104, "events:configure"),
    (configure(*[{"topicFilter": "//."}] * 101), 2104, "events:configure"),
    (configure({"topicFilter": "x" * 70000}), 2107, "events:configure"),
]


async def test_bad_messages(running: Running) -> None:
    running.publish("47", "1")
    basic = "Basic " + base64.b64encode(f"{VIEWER[0]}:{VIEWER[1]}".encode()).decode()
    async with connect(ws_url(running), additional_headers={"Authorization": basic}) as ws:
        for raw, code, method in BAD:
            await ws.send(raw)
            reply = await receive(ws)
            assert reply["error"]["code"] == code, (raw[:80], reply)
            assert reply["error"]["message"]
            assert reply["method"] == (method or "events:configure")
            assert "data" not in reply
        await ws.send(b"\xff\xfe binary garbage")
        assert (await receive(ws))["error"]["code"] == 2101
        # Nothing was subscribed by the bad requests; a good one still works on the same socket.
        with pytest.raises(TimeoutError):
            await receive(ws, 0.3)
        await ws.send(configure({"topicFilter": PORT_TOPIC,
                                 "contentFilter": 'boolean(//tt:SimpleItem[@Name="port" and @Value="47"]) and '
                                                  'boolean(//SimpleItem[@Name="state" and @Value="1"])'}))
        assert "data" in await receive(ws)
        assert (await notification(ws))["params"]["notification"]["message"]["source"] == {"port": "47"}
        running.publish("47", "0")  # state 0 no longer matches the content filter
        with pytest.raises(TimeoutError):
            await receive(ws, 0.3)


async def test_many_sockets_and_disconnects(running: Running) -> None:
    basic = "Basic " + base64.b64encode(f"{VIEWER[0]}:{VIEWER[1]}".encode()).decode()
    sockets = []
    for _ in range(10):
        ws = await connect(ws_url(running), additional_headers={"Authorization": basic})
        await ws.send(configure({"topicFilter": PULSE_TOPIC}))
        assert "data" in await receive(ws)
        sockets.append(ws)
    fanout = running.fanout
    assert len(fanout.listeners) == 10
    for ws in sockets[5:]:
        await ws.close()
    running.device.events.publish(PULSE_TOPIC, {}, {"description": "after"})
    for ws in sockets[:5]:
        assert (await notification(ws))["params"]["notification"]["message"]["data"] == {"description": "after"}
        await ws.close()
    for _ in range(50):
        if not fanout.listeners:
            break
        await asyncio.sleep(0.05)
    assert not fanout.listeners


async def test_deeply_nested_json_is_a_bad_message(running: Running) -> None:
    """Nesting too deep for the JSON reader closed the socket as an internal error (1011)."""
    basic = "Basic " + base64.b64encode(f"{VIEWER[0]}:{VIEWER[1]}".encode()).decode()
    async with connect(ws_url(running), additional_headers={"Authorization": basic}) as ws:
        await ws.send("[" * 30000 + "]" * 30000)
        reply = await receive(ws)
        assert reply["error"]["code"] == 2101, reply
        await ws.send(configure({"topicFilter": PORT_TOPIC}))
        assert "data" in await receive(ws)  # the same socket goes on
