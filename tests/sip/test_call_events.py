"""The Call service's call events as a VMS sees them, on a served C1410's event stream
(/vapix/ws-data-stream, subscribed to `tnsaxis:Call/State` and `tnsaxis:Call/StateChange`): an
incoming SIP call from baresip (Initiated, AcceptedByDevice, Terminated; Ringing, Active, Idle; Denied
when incoming calls are not allowed)
a VMS call answered by audio sent to transmit.cgi (Initiated, AcceptedByRemote, Terminated) and audio
sent without a call (an incoming VMS call: AcceptedByDevice, Terminated);
the VMSCallConfiguration (`/vapix/call`): Enabled false refuses VMS calls, a threshold decides
which streams answer, Timeout ends an unanswered call with NoAnswer, and bad input gets the
page's faults with nothing stored; the event declarations list both topics with their nice names."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import ADMIN, client_as, eventually, free_port
from tests.peers.baresip import Baresip
from tests.peers.servers import EV, NS, call
from tests.sip.conftest import call_state
from vigil.core.events import NAMESPACES as TOPIC_NS
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE

CALL = "/vapix/call"
SILENCE = bytes([0xFF]) * 800  # 100 ms of µ-law silence


async def axcall(client: httpx.AsyncClient, command: str, **arguments: object) -> httpx.Response:
    return await client.post(CALL, json={f"axcall:{command}": arguments})


async def vms_config(client: httpx.AsyncClient) -> dict:
    reply = await axcall(client, "GetVMSCallConfiguration")
    assert reply.status_code == 200, reply.text
    return reply.json()["VMSCallConfiguration"]


@pytest.fixture
async def admin(served: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.ports.http}", auth=httpx.DigestAuth(*ADMIN),
                                 timeout=20) as client:
        yield client


async def subscribe(client: httpx.AsyncClient) -> ClientConnection:
    """The device's event stream, subscribed to the two call topics (their current state read)."""
    token = (await client.get("/axis-cgi/wssession.cgi")).text
    events = await connect(f"ws://127.0.0.1:{client.base_url.port}/vapix/ws-data-stream?sources=events"
                           f"&wssession={token}")
    await events.send(json.dumps({"apiVersion": "1.0", "method": "events:configure", "params": {
        "eventFilterList": [{"topicFilter": c.CALL_STATE}, {"topicFilter": c.CALL_STATE_CHANGE}]}}))
    while json.loads(await asyncio.wait_for(events.recv(), 10)).get("method") != "events:configure":
        pass
    return events


async def until_idle(events: ClientConnection) -> tuple[list[str], list[dict]]:
    """The CallState values and the StateChange data a subscriber sees until the device is Idle after a call."""
    states: list[str] = []
    changes: list[dict] = []
    while not (len(states) > 1 and states[-1] == "Idle"):
        message = json.loads(await asyncio.wait_for(events.recv(), 10))
        if message.get("method") != "events:notify":
            continue
        notification = message["params"]["notification"]
        data, source = notification["message"]["data"], notification["message"]["source"]
        assert source == {"Source": "NetworkSpeaker"}, notification
        if notification["topic"] == c.CALL_STATE:
            states.append(data["CallState"])
        else:
            changes.append(data)
    return states, changes


async def talk(client: httpx.AsyncClient, tenths: int) -> httpx.Response:
    async def slowly() -> AsyncIterator[bytes]:
        for _ in range(tenths):
            yield SILENCE
            await asyncio.sleep(0.1)

    return await client.post("/axis-cgi/audio/transmit.cgi", content=slowly(), headers={"content-type": "audio/basic"})


async def test_a_subscriber_sees_an_incoming_sip_call(served: Device, admin: httpx.AsyncClient,
                                                      peer: Baresip) -> None:
    port = free_port()
    reply = (await admin.post("/axis-cgi/sip/sip.cgi", json={"apiVersion": "1.0", "method": "setSipConfiguration",
                                                             "params": {"enabled": True, "sipPort": port,
                                                                        "rtpPortStart": (port + 2) & ~1 if port < 64000
                                                                        else 20000}})).json()
    assert "error" not in reply, reply
    service = served.features[SIP_SERVICE]
    await eventually(lambda: service.agent is not None, 5, "SIP to listen")
    events = await subscribe(admin)
    try:
        assert (await peer.command("dial", f"sip:vigil@127.0.0.1:{port}"))["ok"]
        await eventually(lambda: call_state(served) == "Active", 5, "the call to be answered")
        await peer.command("hangup")
        states, changes = await until_idle(events)
        reply = (await admin.post("/axis-cgi/sip/sip.cgi", json={"apiVersion": "1.0", "method": "setSipConfiguration",
                                                                 "params": {"allowIncoming": False}})).json()
        assert "error" not in reply, reply
        assert (await peer.command("dial", f"sip:vigil@127.0.0.1:{port}"))["ok"]
        while (message := json.loads(await asyncio.wait_for(events.recv(), 10))).get("method") != "events:notify":
            pass
        denied = message["params"]["notification"]
    finally:
        await events.close()
    assert (denied["topic"], denied["message"]["data"]["Reason"]) == (c.CALL_STATE_CHANGE, "Denied")
    assert "127.0.0.1" in denied["message"]["data"]["RemoteURI"] and call_state(served) == "Idle"
    assert states == ["Idle", "Ringing", "Active", "Idle"]  # the first: the state as subscribed
    done = service.history[-1]
    assert [x["Reason"] for x in changes] == ["Initiated", "AcceptedByDevice", "Terminated"]
    assert {(x["CallId"], x["DeviceURI"]) for x in changes} == {(done["id"], "sip:127.0.0.1")}
    assert all(x["RemoteURI"] == done["remote"] and "127.0.0.1" in x["RemoteURI"] for x in changes)


async def test_a_vms_call_answered_by_transmit_audio(served: Device, admin: httpx.AsyncClient) -> None:
    events = await subscribe(admin)
    try:
        call_id = (await axcall(admin, "Call", To="VMS_CALL")).json()["CallId"]
        await eventually(lambda: call_state(served) == "Calling", 5, "the call")
        assert (await talk(admin, 6)).status_code == 204
        states, changes = await until_idle(events)
        assert (await talk(admin, 4)).status_code == 204  # audio without a call: the VMS calls the device
        incoming_states, incoming = await until_idle(events)
    finally:
        await events.close()
    assert states == ["Idle", "Calling", "Active", "Idle"]
    assert [(x["Reason"], x["CallId"], x["RemoteURI"]) for x in changes] == [
        ("Initiated", call_id, "VMS_CALL"), ("AcceptedByRemote", call_id, "VMS_CALL"),
        ("Terminated", call_id, "VMS_CALL")]
    assert incoming_states == ["Active", "Idle"] and [x["Reason"] for x in incoming] == ["AcceptedByDevice", "Terminated"]
    status = (await axcall(admin, "GetCallStatus", CallId=incoming[0]["CallId"])).json()["CallStatus"]
    assert (status["Direction"], status["CallType"], status["CallState"]) == ("Incoming", "VMS", "Terminated")


async def test_the_vms_call_configuration_takes_effect(served: Device, admin: httpx.AsyncClient) -> None:
    assert await vms_config(admin) == {"Enabled": True, "AudioFromDeviceToNetworkStreams": 0,
                                       "AudioFromNetworkToDeviceStreams": 1, "VideoFromDeviceToNetworkStreams": 0,
                                       "Timeout": 30}
    service = served.features[SIP_SERVICE]
    # Enabled false: VMS_CALL is refused with the Call command's fault, and audio makes no call
    r = await admin.get(CALL, params={"format": "simple", "action": "axcall:SetVMSCallConfiguration",
                                      "VMSCallConfiguration_Enabled": "false"})
    assert r.status_code == 200, r.text
    r = await axcall(admin, "Call", To="VMS_CALL")
    assert r.status_code == 400 and (r.json()["FaultCode"], r.json()["FaultSubCode"]) == ("ter:Action", "ter:Failure")
    assert "disabled" in r.json()["FaultReason"] and service.history == []
    # only the microphone's streams answer (a negative threshold: not used), transmit.cgi's audio does not
    r = await admin.get(CALL, params={"format": "simple", "action": "axcall:SetVMSCallConfiguration",
                                      "VMSCallConfiguration_Enabled": "true",
                                      "VMSCallConfiguration_AudioFromNetworkToDeviceStreams": "-1",
                                      "VMSCallConfiguration_AudioFromDeviceToNetworkStreams": "1"})
    assert r.status_code == 200, r.text
    call_id = (await axcall(admin, "Call", To="VMS_CALL")).json()["CallId"]
    assert (await talk(admin, 5)).status_code == 204 and call_state(served) == "Calling"
    async with admin.stream("GET", "/axis-cgi/audio/receive.cgi") as listening:
        assert listening.status_code == 200
        await eventually(lambda: call_state(served) == "Active", 5, "the microphone's listener to answer")
    await eventually(lambda: call_state(served) == "Idle", 5, "the end of the stream to end the call")
    status = (await axcall(admin, "GetCallStatus", CallId=call_id)).json()["CallStatus"]
    assert (status["CallState"], status["CallStateReason"]) == ("Terminated", "Terminated")
    # Timeout: an unanswered call ends with NoAnswer
    r = await axcall(admin, "SetVMSCallConfiguration", VMSCallConfiguration={"Timeout": 1})
    assert r.status_code == 200, r.text
    call_id = (await axcall(admin, "Call", To="VMS_CALL")).json()["CallId"]
    await eventually(lambda: call_state(served) == "Idle", 5, "the timeout")
    status = (await axcall(admin, "GetCallStatus", CallId=call_id)).json()["CallStatus"]
    assert (status["CallState"], status["CallStateReason"]) == ("Terminated", "NoAnswer")
    assert sum("changed the VMS call configuration" in x.message for x in served.logs.entries("audit")) == 3


@pytest.mark.parametrize("given", [
    {"Enabled": "yes"}, {"Timeout": -5}, {"Timeout": 0}, {"Timeout": "30"}, {"Timeout": 1.5},
    {"AudioFromDeviceToNetworkStreams": True}, {"AudioFromNetworkToDeviceStreams": 2},
    {"VideoFromDeviceToNetworkStreams": 1}, {"Unknown": 1}])
async def test_bad_vms_configurations_are_refused(c1410: Device, given: dict) -> None:
    async with client_as(c1410, "admin") as admin:
        before = await vms_config(admin)
        r = await axcall(admin, "SetVMSCallConfiguration", VMSCallConfiguration=given)
        assert r.status_code == 400, r.text
        assert (r.json()["Fault"], r.json()["FaultCode"], r.json()["FaultSubCode"]) == (
            "env:Sender", "ter:InvalidArgVal", "ter:InvalidArgVal")
        assert await vms_config(admin) == before
    assert not any("VMS call configuration" in x.message for x in c1410.logs.entries("audit"))


async def test_vms_configuration_input_and_roles(c1410: Device) -> None:
    async with client_as(c1410, "admin") as admin, client_as(c1410, "operator") as operator:
        r = await admin.get(CALL, params={"format": "simple", "action": "axcall:SetVMSCallConfiguration",
                                          "VMSCallConfiguration_Timeout": "-1"})
        assert r.status_code == 400 and "Timeout" in r.text
        r = await axcall(admin, "SetVMSCallConfiguration")
        assert r.status_code == 400 and r.json()["FaultCode"] == "ter:InvalidArgs"
        r = await axcall(operator, "SetVMSCallConfiguration", VMSCallConfiguration={"Enabled": False})
        assert r.status_code == 403
        assert (await vms_config(operator))["Enabled"] is True
        simple = await operator.get(CALL, params={"format": "simple", "action": "axcall:GetVMSCallConfiguration"})
        assert "VMSCallConfiguration_Timeout=30" in simple.text.splitlines()


async def test_event_instances_declare_the_call_topics(c1410: Device) -> None:
    async with client_as(c1410, "viewer") as viewer:
        topics = (await call(viewer, "<aev:GetEventInstances/>")).find("wstop:TopicSet", NS)
    axis = TOPIC_NS["tnsaxis"]
    state, change = (topics.find(f"{{{axis}}}Call/{name}") for name in ("State", "StateChange"))
    assert (state.get(f"{{{EV}}}NiceName"), change.get(f"{{{EV}}}NiceName")) == ("State", "StateChange")
    assert state.find("aev:MessageInstance", NS).get(f"{{{EV}}}isProperty") == "true"
    assert change.find("aev:MessageInstance", NS).get(f"{{{EV}}}isProperty") is None
    for topic in (state, change):
        (source,) = topic.iterfind("aev:MessageInstance/aev:SourceInstance/aev:SimpleItemInstance", NS)
        assert (source.get("Name"), [v.text for v in source.iterfind("aev:Value", NS)]) == ("Source", ["NetworkSpeaker"])
    (item,) = state.iterfind("aev:MessageInstance/aev:DataInstance/aev:SimpleItemInstance", NS)
    assert (item.get("Name"), item.get("isPropertyState")) == ("CallState", "true")
    assert [v.text for v in item.iterfind("aev:Value", NS)] == ["Idle", "Calling", "Ringing", "Active"]
    items = list(change.iterfind("aev:MessageInstance/aev:DataInstance/aev:SimpleItemInstance", NS))
    assert [(x.get("Name"), x.get(f"{{{EV}}}NiceName")) for x in items] == [
        ("Reason", "Reason"), ("CallId", "CallId"), ("RemoteURI", "RemoteURI"), ("DeviceURI", "DeviceURI")]
    assert [v.text for v in items[0].iterfind("aev:Value", NS)] == [
        "Initiated", "NoAnswer", "Busy", "Denied", "Failed", "AcceptedByRemote", "AcceptedByDevice", "Terminated"]
    assert topics.find(f"{{{TOPIC_NS['tns1']}}}Device/{{{axis}}}SIP/CallState") is None  # Vigil's own is gone
