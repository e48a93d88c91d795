"""The C1410 manual's door story end to end, with real peers: the speaker registers to a PBX
(Kamailio, digest), a softphone (baresip) registered there calls it and is heard at the
speaker, and the code 1234 entered on the softphone's keypad fires the speaker's rule, whose
HTTP notification opens the door: the relay of a W401 served on loopback (io/port.cgi, Digest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN, client_as, eventually, serving
from tests.peers.baresip import start_baresip
from tests.peers.kamailio import PASSWORD, Kamailio, start_kamailio
from tests.playback.conftest import sink
from tests.sip.conftest import call_state, sip_call
from vigil.core.roles import Role
from vigil.core.rules import Condition, Rule
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency
from vigil.hal.io import IO_HARDWARE

DOOR_CODE = "1234"


@pytest.fixture
def registrar(tmp_path: Path) -> Iterator[Kamailio]:
    server = start_kamailio(tmp_path / "kamailio")
    yield server
    server.stop()



async def test_a_softphone_calls_through_the_pbx_is_heard_and_opens_the_w401_door_with_a_code(
        registrar: Kamailio, phone: Device, tmp_path: Path) -> None:
    async with serving("w401", tmp_path / "w401") as w401:
        w401.accounts.add(*ADMIN, Role.ADMIN, True, "", "test")
        relay = w401.hardware[IO_HARDWARE]
        assert relay.output(8) == "open"  # the door is locked
        async with client_as(phone, "admin") as admin:
            reply = await sip_call(admin, "setSipAccount", id="pbx", user="door", domain="127.0.0.1",
                                   password=PASSWORD, registrar=registrar.address, autoAnswer=True,
                                   dtmfSequences=[DOOR_CODE])
            assert "error" not in reply, reply
        action = phone.rules.add_action("open the door", "com.axis.action.fixed.notification.http", {
            "message": "", "parameters": "action=9:/", "method": "", "http_headers": "", "body": "",
            "upload_url": f"http://127.0.0.1:{w401.ports.http}/axis-cgi/io/port.cgi", "login": ADMIN[0],
            "password": ADMIN[1], "proxy_host": "", "proxy_port": "", "proxy_login": "", "proxy_password": "",
            "qos": "0"}, "test")
        phone.rules.add_rule(Rule(0, "door code", True, action.id, (), Condition(
            c.DTMF, (("AccountId", "pbx"), ("Sequence", DOOR_CODE)))), "test")
        await eventually(lambda: phone.features[SIP_SERVICE].status.get("pbx", {}).get("state") == "registered",
                         5, "the registration at the PBX")
        softphone = start_baresip(tmp_path / "softphone", account="visitor",
                                  extra=f";auth_pass={PASSWORD};outbound=sip:{registrar.address}")
        try:
            assert (await softphone.command("dial", f"sip:door@{registrar.address}"))["ok"]
            await eventually(lambda: call_state(phone) == "Active", 8, "the call through the PBX")
            speaker = sink(phone)
            await eventually(lambda: len(audible(speaker.sink_samples(), -40.0)) > RATE // 4, 8,
                             "the softphone's voice")
            assert abs(dominant_frequency(audible(speaker.sink_samples(), -40.0)[-RATE // 4:]) - 1000) < 30
            for digit in "9" + DOOR_CODE[:-1]:  # a wrong digit first: only the whole code opens
                assert (await softphone.command("sndcode", digit))["ok"]
            await eventually(lambda: phone.features[SIP_SERVICE].calls()[0].digits.endswith(DOOR_CODE[:-1]), 5,
                             "the first digits")
            assert relay.output(8) == "open"
            assert (await softphone.command("sndcode", DOOR_CODE[-1]))["ok"]
            await eventually(lambda: relay.output(8) == "closed", 8, "the door to open")
            await softphone.command("hangup")
            await eventually(lambda: call_state(phone) == "Idle", 5, "the end of the call")
        finally:
            softphone.stop()
