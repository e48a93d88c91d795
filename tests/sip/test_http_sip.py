"""The SIP API: roles (viewers read nothing, operators read and call, administrators change),
every change audited, bad settings and accounts refused with the field named and nothing
stored, the peer-to-peer account always there and not removable, passwords never shown."""

from __future__ import annotations

from tests.conftest import client_as, free_port
from tests.sip.conftest import sip_call
from vigil.device import Device
from vigil.features.sip import const as c


async def test_roles(phone: Device) -> None:
    async with client_as(phone, "viewer") as viewer:
        refused = await viewer.post(c.CGI_PATH, json={"apiVersion": "1.0", "method": "getSipAccounts"})
        assert refused.status_code == 403
    async with client_as(phone, "operator") as operator:
        assert "error" not in await sip_call(operator, "getSipConfiguration")
        refused = await operator.post(c.CGI_PATH, json={"apiVersion": "1.0", "method": "setSipConfiguration",
                                                        "params": {"allowIncoming": False}})
        assert refused.status_code == 403
        assert "error" not in await sip_call(operator, "getCalls")


async def test_changes_are_checked_and_audited(phone: Device) -> None:
    async with client_as(phone, "admin") as admin:
        before = (await sip_call(admin, "getSipConfiguration"))["data"]
        for bad, field in (({"sipPort": 80}, "sipPort"), ({"codecPriority": ["g729"]}, "codecPriority"),
                           ({"codecPriority": [{}]}, "codecPriority"),
                           ({"incomingCallDuration": 601}, "incomingCallDuration"), ({"volume": 1}, "volume"),
                           ({"rtpPortStart": 4001}, "rtpPortStart"), ({"tlsPort": before["sipPort"]}, "tlsPort"),
                           ({"tlsPort": 70000}, "tlsPort"), ({"registrationRetry": 0}, "registrationRetry"),
                           ({"failbackSeconds": "5"}, "failbackSeconds")):
            reply = await sip_call(admin, "setSipConfiguration", **bad)
            assert reply["error"]["code"] == 4004 and field in reply["error"]["message"], reply
        assert (await sip_call(admin, "getSipConfiguration"))["data"] == before
        bad_account = await sip_call(admin, "setSipAccount", id="pbx", user="door")
        assert "needs a registrar" in bad_account["error"]["message"]
        assert (await sip_call(admin, "setSipAccount", id="Bad Id", user="x", registrar="pbx"))["error"]
        for bad, field in (({"dtmfSequences": ["12x"]}, "dtmfSequences"), ({"transport": "sctp"}, "transport"),
                           ({"tlsVersion": "1.0"}, "tlsVersion"),
                           ({"tlsVersion": 1.2}, "tlsVersion"), ({"sips": True}, "sips needs transport tls"),
                           ({"verifyServer": "yes"}, "verifyServer"), ({"proxies": "pbx"}, "proxies"),
                           ({"proxies": ["a:1"] * 6}, "proxies"), ({"proxies": ["pbx:0"]}, "proxies"),
                           ({"secondaryRegistrar": "bad host"}, "secondaryRegistrar"),
                           ({"registrar": "pbx:99999"}, "registrar"), ({"mediaEncryption": "zrtp"}, "mediaEncryption")):
            reply = await sip_call(admin, "setSipAccount", **{"id": "pbx", "user": "door", "registrar": "pbx", **bad})
            assert field in reply["error"]["message"], reply
        assert "error" not in await sip_call(admin, "setSipConfiguration", maxCallDuration=120)
        wideband = await sip_call(admin, "setSipConfiguration", codecPriority=["opus", "g722"])
        assert wideband["data"]["codecPriority"] == ["opus", "g722"]
        assert "error" not in await sip_call(admin, "setSipAccount", id="pbx", user="door", registrar="127.0.0.1:9",
                                             password="pw")
        removed = await sip_call(admin, "removeSipAccount", id=c.P2P_ID)
        assert "cannot be removed" in removed["error"]["message"]
        assert "no account" in (await sip_call(admin, "removeSipAccount", id="nope"))["error"]["message"]
        assert "error" not in await sip_call(admin, "removeSipAccount", id="pbx")
        unknown_call = await sip_call(admin, "hangup", callId="42")
        assert "no call 42" in unknown_call["error"]["message"]
        port = free_port()
        while before["rtpPortStart"] <= port < before["rtpPortStart"] + 1000:  # refused among the RTP ports
            port = free_port()
        assert "error" not in await sip_call(admin, "setSipConfiguration", enabled=True, sipPort=port)
        unknown_account = await sip_call(admin, "call", uri="sip:a@127.0.0.1", accountId={"x": 1})
        assert "no account" in unknown_account["error"]["message"]
        bad_uri = await sip_call(admin, "call", uri="tel:123")
        assert "SIP URI" in bad_uri["error"]["message"]
        in_clear = await sip_call(admin, "call", uri="sips:a@127.0.0.1")
        assert "needs an account whose transport is tls" in in_clear["error"]["message"]
    audit = phone.logs.text("audit")
    for line in ("changed the SIP settings: maxCallDuration", "added the SIP account pbx",
                 "removed the SIP account pbx"):
        assert line in audit
