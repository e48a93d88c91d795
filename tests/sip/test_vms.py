"""VMS calls (the "SIP or VMS" recipient's VMS part, VAPIX's `To: VMS_CALL`): on a served C1410
the call is announced (calling), a VMS answering by sending audio to transmit.cgi makes it
active, and stopping the audio ends it; from the W401's recipient, with no one to send it audio,
the call ends unanswered after the VMS call configuration's Timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from tests.conftest import ADMIN, client_as, eventually
from tests.peers.servers import add_recipient, run_recipient_test
from tests.sip.conftest import call_state
from tests.sip.test_recipient import SIP
from vigil.device import Device
from vigil.features.sip.service import SIP_SERVICE

CALL = "/vapix/call"


async def test_a_vms_answers_by_sending_audio_and_ends_it_by_stopping(served: Device) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.ports.http}", auth=httpx.DigestAuth(*ADMIN),
                                 timeout=20) as client:
        placed = await client.post(CALL, json={"axcall:Call": {"To": "VMS_CALL"}})
        call_id = placed.json()["CallId"]
        status = (await client.post(CALL, json={"axcall:GetCallStatus": {"CallId": call_id}})).json()["CallStatus"]
        assert (status["CallState"], status["CallType"]) == ("Calling", "VMS") and call_state(served) == "Calling"
        silence = bytes([0xFF]) * 800  # 100 ms of µ-law silence

        async def slowly() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield silence
                await asyncio.sleep(0.1)

        talk = asyncio.create_task(client.post("/axis-cgi/audio/transmit.cgi", content=slowly(),
                                               headers={"content-type": "audio/basic"}))
        await eventually(lambda: call_state(served) == "Active", 5, "the VMS's audio to answer the call")
        assert (await talk).status_code == 204
        await eventually(lambda: call_state(served) == "Idle", 5, "the end of the audio to end the call")
        status = (await client.post(CALL, json={"axcall:GetCallStatus": {"CallId": call_id}})).json()["CallStatus"]
        assert (status["CallState"], status["CallStateReason"]) == ("Terminated", "Terminated")
        assert served.features[SIP_SERVICE].history[-1]["reason"] == "the VMS stopped its audio"


async def test_the_w401s_vms_call_ends_unanswered(w401: Device) -> None:
    async with client_as(w401, "admin") as admin:
        reply = await admin.post(CALL, json={"axcall:SetVMSCallConfiguration": {"VMSCallConfiguration": {
            "Timeout": 1}}})
        assert reply.status_code == 200, reply.text
        rid = await add_recipient(admin, SIP, {"sip_uri": "VMS_CALL"}, "vms")
        assert (await run_recipient_test(admin, rid)).status_code == 200
    assert call_state(w401) == "Calling"
    service = w401.features[SIP_SERVICE]
    await eventually(lambda: service.history, 5, "the calling timeout")
    assert service.history[-1]["reason"] == "not answered in time" and call_state(w401) == "Idle"
