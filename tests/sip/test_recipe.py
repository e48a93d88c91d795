"""The manual's W401 -> C1410 call recipe with two real `vigil run` processes: a rule of the
W401 on its virtual input 1 sends to a SIP recipient (the speaker's peer-to-peer address); the
speaker rings, answers automatically and its call state events (seen on its event stream,
/vapix/ws-data-stream) go active, then idle when the W401's call duration limit hangs up; its
SIP API's call list and history agree."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import ADMIN, create_admin_live, free_port, start_live
from tests.peers.servers import add_action, add_recipient, add_rule, item_filter

VIRTUAL_INPUT = "tns1:Device/tnsaxis:IO/VirtualInput"
CALL_STATE = "tnsaxis:Call/State"


async def sip(client: httpx.AsyncClient, method: str, **params: object) -> dict:
    reply = (await client.post("/axis-cgi/sip/sip.cgi", json={"apiVersion": "1.0", "method": method,
                                                              "params": params})).json()
    assert "error" not in reply, reply
    return reply["data"]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    speaker, w401 = start_live(tmp_path / "c1410", "c1410"), start_live(tmp_path / "w401", "w401")
    try:
        for live in (speaker, w401):
            live.wait_ready()
            create_admin_live(live)
        auth = httpx.DigestAuth(*ADMIN)
        async with httpx.AsyncClient(base_url=speaker.http, auth=auth, timeout=10) as at_speaker, \
                httpx.AsyncClient(base_url=w401.http, auth=auth, timeout=10) as at_w401:
            yield at_speaker, at_w401
    finally:
        for live in (speaker, w401):
            live.stop()


async def test_a_w401_rule_calls_the_speaker_which_answers(pair: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> None:
    at_speaker, at_w401 = pair
    port = free_port()
    rtp = (port + 2) & ~1 if port < 64000 else 20000
    await sip(at_speaker, "setSipConfiguration", enabled=True, sipPort=port, rtpPortStart=rtp)
    await sip(at_w401, "setSipConfiguration", maxCallDuration=2)
    recipient = await add_recipient(at_w401, "com.axis.recipient.sip",
                                    {"sip_uri": f"sip:vigil@127.0.0.1:{port}"}, "Speaker at the door")
    action = await add_action(at_w401, "com.axis.action.fixed.notification.sip", {"recipient_id": str(recipient)},
                              "call the speaker")
    await add_rule(at_w401, "door alarm calls", action,
                   start=(VIRTUAL_INPUT, item_filter(port="1", active="1")))
    token = (await at_speaker.get("/axis-cgi/wssession.cgi")).text
    stream = f"ws://{at_speaker.base_url.host}:{at_speaker.base_url.port}/vapix/ws-data-stream"
    async with connect(f"{stream}?sources=events&wssession={token}") as events:
        await events.send(json.dumps({"apiVersion": "1.0", "method": "events:configure", "params": {
            "eventFilterList": [{"topicFilter": CALL_STATE}]}}))
        while json.loads(await asyncio.wait_for(events.recv(), 10)).get("method") != "events:configure":
            pass  # subscribed before the call starts: none of its states is missed
        r = await at_w401.get("/axis-cgi/virtualinput/activate.cgi", params={"schemaversion": "1", "port": "1"})
        assert r.status_code == 200, r.text
        states: list[str] = []
        while states[-2:] != ["Active", "Idle"]:  # the call state events of the speaker, as a client sees them
            try:
                message = json.loads(await asyncio.wait_for(events.recv(), 15))
            except TimeoutError:
                raise AssertionError(f"call states so far: {states}; W401: {await sip(at_w401, 'getCalls')}") from None
            if message.get("method") == "events:notify":
                states.append(message["params"]["notification"]["message"]["data"]["CallState"])
        assert "Active" in states and states[-1] == "Idle", states

    (done,) = (await sip(at_speaker, "getCalls"))["history"]
    assert (done["direction"], done["accountId"], done["reason"]) == ("incoming", "p2p", "hung up by the far end")
    w401_calls = await sip(at_w401, "getCalls")
    assert [x["reason"] for x in w401_calls["history"]] == ["the call duration limit was reached"]
