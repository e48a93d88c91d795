"""The Call service API's DTMF events, triggers and configurations (`/vapix/call`): the page's
"Set up a DTMF event" example, then baresip enters the sequence and the DTMF event fires with the
event's name (a rule picked by that name ends the call); a Get in the simplified form; refusals
with the page's faults, each leaving what is stored unchanged."""

from __future__ import annotations

import httpx

from tests.conftest import client_as, eventually
from tests.peers.baresip import Baresip
from tests.sip.conftest import add_rule, call_state, key_in, sip_call
from tests.sip.test_http_call import PATH, axcall
from vigil.core.rules import Condition
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE


def _fault(reply: httpx.Response) -> tuple[int, str, str]:
    body = reply.json()
    return reply.status_code, body["FaultCode"], body["FaultSubCode"]


async def test_the_pages_dtmf_event_example_fires_on_the_peers_digits(phone: Device, peer: Baresip) -> None:
    async with client_as(phone, "admin") as admin, client_as(phone, "operator") as operator:
        event = (await axcall(admin, "SetDTMFEvent", DTMFEvent={"Name": "OpenDoorEvent"})).json()["DTMFEventId"]
        trigger = await axcall(admin, "SetDTMFTrigger", DTMFTrigger={"DTMFSequence": "#1234#", "DTMFEventId": event})
        trigger_id = trigger.json()["DTMFTriggerId"]
        configured = await axcall(admin, "SetDTMFConfiguration",
                                  DTMFConfiguration={"Name": "Door", "DTMFTriggerId": [trigger_id], "RFC2976": False})
        configuration = configured.json()["DTMFConfigurationId"]
        linked = await axcall(admin, "SetSIPAccount", SIPAccount={"Id": c.P2P_ID, "DTMFConfigurationId": configuration})
        assert linked.status_code == 200, linked.text
        assert (await axcall(operator, "GetSIPAccount", SIPAccountId=c.P2P_ID)).json()["SIPAccount"][
            "DTMFConfigurationId"] == configuration
        assert (await axcall(operator, "GetDTMFConfiguration", DTMFConfigurationId=configuration)).json() == {
            "DTMFConfiguration": {"Id": configuration, "Name": "Door", "DTMFTriggerId": [trigger_id],
                                  "RFC2833": True, "RFC2976": False}}
        simple = await operator.get(PATH, params={"format": "simple", "action": "axcall:GetDTMFTrigger",
                                                  "DTMFTriggerId": trigger_id})
        assert simple.text.splitlines() == [f"DTMFTrigger_Id={trigger_id}", "DTMFTrigger_DTMFSequence=#1234#",
                                            f"DTMFTrigger_DTMFEventId={event}"], simple.text
        account = next(a for a in (await sip_call(operator, "getSipAccounts"))["data"]["accounts"]
                       if a["id"] == c.P2P_ID)  # the SIP API shows the sequences the configuration gives
        assert account["dtmfSequences"] == [{"sequence": "#1234#", "description": "OpenDoorEvent"}]
        assert account["dtmfProtocols"] == ["rtp"]
    audit = phone.logs.text("audit")
    for done in (f"set the DTMF event(s) {event}", f"set the DTMF trigger(s) {trigger_id}",
                 f"set the DTMF configuration(s) {configuration}", f"changed the SIP account {c.P2P_ID}"):
        assert done in audit
    item = next(i for i in phone.events.topic(c.DTMF).data if i.name == "Sequence")  # as the Events page offers it
    add_rule(phone, "door", c.ACTION_HANGUP, {}, Condition(c.DTMF, (("Sequence", item.values[
        item.value_nice.index("OpenDoorEvent (#1234#)")]),)))
    described: list[str] = []
    phone.events.subscribe(lambda e: described.append(e.data.get("Description", "")) if e.topic == c.DTMF else None)
    await key_in(phone, peer, "#1234#")
    await eventually(lambda: call_state(phone) == "Idle", 5, "the door rule to end the call")
    service = phone.features[SIP_SERVICE]
    assert service.history[-1]["reason"] == "hung up" and service.history[-1]["dtmf"] == "#1234#"
    assert described[-1] == "OpenDoorEvent"


async def test_refused_dtmf_requests_change_nothing(phone: Device) -> None:
    async with client_as(phone, "admin") as admin, client_as(phone, "operator") as operator:
        events = await axcall(admin, "SetDTMFEvents", DTMFEvent=[{"Id": "a", "Name": "Event A"},
                                                                 {"Id": "b", "Name": "Event B"}])
        assert events.json() == {"DTMFEventId": ["a", "b"]}, events.text
        triggers = await axcall(admin, "SetDTMFTriggers", DTMFTrigger=[
            {"Id": "one", "DTMFSequence": "1234", "DTMFEventId": "a"},
            {"Id": "two", "DTMFSequence": "5678", "DTMFEventId": "b"}])
        assert triggers.status_code == 200, triggers.text
        assert (await axcall(admin, "SetDTMFConfiguration", DTMFConfiguration={
            "Id": "full", "Name": "Full Access", "DTMFTriggerId": ["one", "two"]})).status_code == 200
        assert (await axcall(admin, "SetSIPAccount", SIPAccount={"Id": c.P2P_ID, "DTMFConfigurationId": "full"}
                             )).status_code == 200
        stored = [(await axcall(operator, f"Get{kind}s")).json() for kind in ("DTMFEvent", "DTMFTrigger",
                                                                              "DTMFConfiguration")]
        audit = phone.logs.text("audit")

        # the page's example: 1234 cannot trigger Event B in a new trigger...
        r = await axcall(admin, "SetDTMFTrigger", DTMFTrigger={"DTMFSequence": "1234", "DTMFEventId": "b"})
        assert _fault(r) == (400, "ter:InvalidArgVal", "ter:InvalidArgVal") and "one" in r.json()["FaultReason"]
        refusals = [
            ("SetDTMFTrigger", {"DTMFTrigger": {"DTMFSequence": "99", "DTMFEventId": "nope"}}, "ter:InvalidArgVal"),
            ("SetDTMFTrigger", {"DTMFTrigger": {"DTMFSequence": "12x", "DTMFEventId": "a"}}, "ter:InvalidArgVal"),
            ("SetDTMFTrigger", {"DTMFTrigger": {"DTMFSequence": "99"}}, "ter:InvalidArgs"),
            ("SetDTMFEvent", {"DTMFEvent": {"Name": "x", "Colour": "red"}}, "ter:InvalidArgVal"),
            ("SetDTMFEvent", {"DTMFEvent": {"Name": ""}}, "ter:InvalidArgs"),
            ("SetDTMFEvents", {"DTMFEvent": [{"Id": "c", "Name": "Event C"}, {"Name": 5.5}]}, "ter:InvalidArgVal"),
            ("SetDTMFConfiguration", {"DTMFConfiguration": {"Name": "L", "DTMFTriggerId": ["nope"]}},
             "ter:InvalidArgVal"),
            ("SetDTMFConfiguration", {"DTMFConfiguration": {"Name": "L", "DTMFTriggerId": ["one"], "RFC2833": "yes"}},
             "ter:InvalidArgVal"),
            ("GetDTMFEvent", {"DTMFEventId": "nope"}, "ter:NotFound"),
            ("SetSIPAccount", {"SIPAccount": {"Id": c.P2P_ID, "DTMFConfigurationId": "nope"}}, "ter:InvalidArgVal"),
        ]
        for command, arguments, subcode in refusals:
            r = await axcall(admin, command, **arguments)
            assert r.status_code == 400 and r.json()["FaultSubCode"] == subcode, (command, r.text)
        for kind, used_by in (("DTMFEvent", "a"), ("DTMFTrigger", "one"), ("DTMFConfiguration", "full")):
            r = await axcall(admin, f"Remove{kind}", **{f"{kind}Id": used_by})  # in use: kept
            assert _fault(r) == (400, "ter:Action", "ter:Failure"), r.text
        reply = await sip_call(admin, "setSipAccount", id=c.P2P_ID, dtmfSequences=["7"])
        assert "DTMF configuration full" in reply["error"]["message"], reply
        assert (await axcall(operator, "SetDTMFEvent", DTMFEvent={"Name": "x"})).status_code == 403
        assert (await axcall(operator, "RemoveDTMFTrigger", DTMFTriggerId="one")).status_code == 403
        assert [(await axcall(operator, f"Get{kind}s")).json() for kind in ("DTMFEvent", "DTMFTrigger",
                                                                            "DTMFConfiguration")] == stored
        assert phone.logs.text("audit") == audit

        # ...but the trigger of 1234 may be changed to emit Event B (the simplified form keeps 0 in front)
        r = await admin.post(PATH, data={"format": "simple", "action": "axcall:SetDTMFTrigger",
                                         "DTMFTrigger_Id": "one", "DTMFTrigger_DTMFSequence": "01234",
                                         "DTMFTrigger_DTMFEventId": "b"})
        assert r.text == "DTMFTriggerId=one\n", r.text
        shown = (await axcall(operator, "GetDTMFTriggers", DTMFTriggerId=["one", "gone"])).json()
        assert shown == {"DTMFTrigger": [{"Id": "one", "DTMFSequence": "01234", "DTMFEventId": "b"}]}
        sequences = phone.features[SIP_SERVICE].store.accounts()[c.P2P_ID]["dtmfSequences"]
        assert sequences == [{"sequence": "01234", "description": "Event B"},
                             {"sequence": "5678", "description": "Event B"}]
        item = next(i for i in phone.events.topic(c.DTMF).data if i.name == "Sequence")  # offered to rules anew
        assert item.value_nice == ("Event B (01234)", "Event B (5678)")
        assert (await axcall(admin, "RemoveDTMFEvents", DTMFEventId=["a", "gone"])).json() == {}
        assert [x["Id"] for x in (await axcall(operator, "GetDTMFEvents")).json()["DTMFEvent"]] == ["b"]
        assert "removed the DTMF event(s) a" in phone.logs.text("audit")
