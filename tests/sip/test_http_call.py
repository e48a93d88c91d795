"""Axis's Call service API (`/vapix/call`) on the speaker, in the page's examples: the SIP
configuration read and set (JSON and simplified), a registered account added and its status,
a call placed to baresip, its status Calling/Active then Terminated, a VMS call, the codec priority list,
roles, and refusals with the API's faults."""

from __future__ import annotations

import httpx

from tests.conftest import client_as, eventually
from tests.peers.baresip import Baresip
from vigil.device import Device
from vigil.features.sip.service import SIP_SERVICE

PATH = "/vapix/call"


async def axcall(client: httpx.AsyncClient, command: str, **arguments: object) -> httpx.Response:
    return await client.post(PATH, json={f"axcall:{command}": arguments})


async def test_configuration_accounts_and_roles(phone: Device) -> None:
    async with client_as(phone, "admin") as admin, client_as(phone, "operator") as operator, \
            client_as(phone, "viewer") as viewer:
        config = (await axcall(admin, "GetSIPConfiguration")).json()["SIPConfiguration"]
        assert config["SIPEnabled"] is True and config["CallingTimeout"] == 60
        r = await axcall(admin, "SetSIPConfiguration", SIPConfiguration={"CallingTimeout": 30})
        assert r.status_code == 200 and r.json() == {}, r.text
        simple = await admin.get(PATH, params={"format": "simple", "action": "axcall:GetSIPConfiguration"})
        assert "SIPConfiguration_CallingTimeout=30" in simple.text.splitlines()
        r = await axcall(admin, "SetSIPConfiguration", SIPConfiguration={"STUNEnabled": True})
        assert r.status_code == 400 and "STUNEnabled" in r.json()["FaultReason"], r.text
        r = await axcall(admin, "SetSIPConfiguration", SIPConfiguration={"CallingTimeout": 601})
        assert r.status_code == 400 and r.json()["FaultSubCode"] == "ter:InvalidArgVal"

        added = await axcall(admin, "SetSIPAccount", SIPAccount={"UserId": "6001", "Password": "secure",
                                                                "Registrar": "127.0.0.1:9", "CallerId": "Door"})
        account_id = added.json()["SIPAccountId"]
        assert account_id == "sip_account_0"
        shown = (await axcall(operator, "GetSIPAccount", SIPAccountId=account_id)).json()["SIPAccount"]
        assert shown["UserId"] == "6001" and shown["Password"] is None and shown["CallerId"] == "Door"
        status = await admin.post(PATH, data={"format": "simple", "action": "axcall:GetSIPAccountStatus",
                                              "SIPAccountId": "p2p"})
        assert "SIPAccountStatus_StatusText=Does not register" in status.text.splitlines(), status.text
        r = await axcall(admin, "GetSIPAccountStatus", SIPAccountId="nope")
        assert r.status_code == 400 and r.json()["FaultSubCode"] == "ter:NotFound"

        assert (await axcall(operator, "SetSIPAccount", SIPAccount={"UserId": "x"})).status_code == 403
        assert (await axcall(viewer, "GetSIPAccounts")).status_code in (401, 403)
        r = await axcall(admin, "Nope")
        assert r.status_code == 400 and r.json()["FaultCode"] == "ter:ActionNotSupported"
        r = await admin.post(PATH, content=b"{not json")
        assert r.status_code == 400 and r.json()["Fault"] == "env:Sender"

        codecs = (await axcall(operator, "GetAudioCodecs")).json()["AudioCodec"]
        assert [(x["Name"], x["SampleRate"]) for x in codecs] == [("PCMU", 8000), ("PCMA", 8000), ("G722", 16000),
                                                                 ("OPUS", 48000)]
        r = await axcall(admin, "SetAudioCodecs", AudioCodec=[{"Name": "PCMA"}])
        assert r.status_code == 200, r.text
        assert [x["Name"] for x in (await axcall(operator, "GetAudioCodecs")).json()["AudioCodec"]] == ["PCMA"]
        assert any("changed the SIP configuration" in x.message for x in phone.logs.entries("audit"))


async def test_a_call_and_its_status(phone: Device, peer: Baresip) -> None:
    async with client_as(phone, "operator") as operator:
        r = await axcall(operator, "Call", To=peer.uri)
        assert r.status_code == 200, r.text
        call_id = r.json()["CallId"]

        async def state() -> str:
            return (await axcall(operator, "GetCallStatus", CallId=call_id)).json()["CallStatus"]["CallState"]

        seen = [await state()]
        await eventually(lambda: [x for x in phone.features[SIP_SERVICE].calls() if x.state == "active"], 5,
                         "the peer to answer")
        status = (await axcall(operator, "GetCallStatus", CallId=call_id)).json()["CallStatus"]
        assert seen[0] in ("Calling", "Active")
        assert (status["CallState"], status["CallStateReason"], status["Direction"], status["RemoteURI"]) == (
            "Active", "AcceptedByRemote", "Outgoing", peer.uri)
        assert (await axcall(operator, "TerminateCall", CallId=call_id)).status_code == 200
        ended = (await axcall(operator, "GetCallStatuses")).json()["CallStatus"]
        assert [(x["CallId"], x["CallState"], x["CallStateReason"]) for x in ended] == [
            (call_id, "Terminated", "Terminated")]
        r = await axcall(operator, "TerminateCall", CallId=call_id)
        assert r.status_code == 400 and r.json()["FaultSubCode"] == "ter:NotFound"
        vms = (await axcall(operator, "Call", To="VMS_CALL")).json()["CallId"]  # tests/sip/test_vms.py
        status = (await axcall(operator, "GetCallStatus", CallId=vms)).json()["CallStatus"]
        assert (status["CallType"], status["CallState"]) == ("VMS", "Calling")
        assert (await axcall(operator, "TerminateCall", CallId=vms)).status_code == 200
