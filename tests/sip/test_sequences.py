"""DTMF sequences with their descriptions (sip/sequences.py): the object form and the older bare
string are accepted and shown in one shape, accounts stored in the older form are read and stored
again in the new one, a bad list is refused naming the field with nothing stored changed, and the
DTMF event offers the sequences to rules by their descriptions (GetEventInstances' NiceName)."""

from __future__ import annotations

import json

from lxml import etree

from tests.conftest import client_as
from tests.peers.servers import call
from tests.sip.conftest import sip_call
from vigil.device import Device
from vigil.features.sip import const as c


def p2p(accounts: dict) -> dict:
    return next(a for a in accounts["data"]["accounts"] if a["id"] == c.P2P_ID)


async def test_sequences_are_stored_with_descriptions_and_offered_by_them(c1410: Device) -> None:
    async with client_as(c1410, "admin") as admin:
        reply = await sip_call(admin, "setSipAccount", id=c.P2P_ID, user="vigil",
                               dtmfSequences=[{"sequence": "1234#", "description": "Open the gate"}, "9"])
        assert "error" not in reply, reply
        shown = p2p(await sip_call(admin, "getSipAccounts"))["dtmfSequences"]
        assert shown == [{"sequence": "1234#", "description": "Open the gate"}, {"sequence": "9", "description": ""}]
        instances = etree.tostring(await call(admin, "<aev:GetEventInstances/>")).decode()
    assert 'NiceName="Open the gate (1234#)">1234#</aev:Value>' in instances
    topic = c1410.events.topic(c.DTMF)
    assert topic is not None
    sequence = next(i for i in topic.data if i.name == "Sequence")
    assert sequence.values == ("1234#", "9") and sequence.value_nice == ("Open the gate (1234#)", "9")
    assert "Description" in [i.name for i in topic.data]


async def test_bad_sequences_are_refused_naming_the_field_and_nothing_changes(c1410: Device) -> None:
    async with client_as(c1410, "admin") as admin:
        good = [{"sequence": "42", "description": "Lights"}]
        assert "error" not in await sip_call(admin, "setSipAccount", id=c.P2P_ID, user="vigil", dtmfSequences=good)
        before = c1410.store.get_kv(c.ACCOUNTS_KEY)
        for bad, message in (
                ([{"sequence": "12x"}], "dtmfSequences[0].sequence must be 1 to 16 of 0-9, A-D, # and *"),
                (["1", {"sequence": "2", "description": "x" * 65}], "dtmfSequences[1].description must be text"),
                ([{"sequence": "3", "description": "a\nb"}], "dtmfSequences[0].description"),
                ([{"sequence": "3", "colour": "red"}], "dtmfSequences[0] must be"),
                (["5", {"sequence": "5"}], "dtmfSequences[1].sequence 5 is listed twice"),
                ([str(n) for n in range(11)], "dtmfSequences must list at most 10"),
                ("1234", "dtmfSequences must list")):
            reply = await sip_call(admin, "setSipAccount", id=c.P2P_ID, user="vigil", dtmfSequences=bad)
            assert message in reply["error"]["message"], (bad, reply)
        assert c1410.store.get_kv(c.ACCOUNTS_KEY) == before
        assert p2p(await sip_call(admin, "getSipAccounts"))["dtmfSequences"] == good


async def test_sequences_stored_as_strings_are_migrated(c1410: Device) -> None:
    async with client_as(c1410, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipAccount", id=c.P2P_ID, user="vigil")
        stored = json.loads(c1410.store.get_kv(c.ACCOUNTS_KEY))
        stored[c.P2P_ID]["dtmfSequences"] = ["1234", "#9"]  # as accounts were stored before descriptions
        c1410.store.set_kv(c.ACCOUNTS_KEY, json.dumps(stored))
        shown = p2p(await sip_call(admin, "getSipAccounts"))["dtmfSequences"]
    assert shown == [{"sequence": "1234", "description": ""}, {"sequence": "#9", "description": ""}]
    assert json.loads(c1410.store.get_kv(c.ACCOUNTS_KEY))[c.P2P_ID]["dtmfSequences"] == shown
