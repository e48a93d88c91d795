"""The VAPIX Audio Multicast Controller API on an in-process C1410: sources added, listed,
changed and removed by operators (viewers read only), every change audited, the SRTP key
sealed in the store and never shown, and bad input refused with the API's error object."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import client_as, make_device
from tests.peers.servers import call
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.multicast import const as c

KEY = base64.b64encode(bytes(range(30))).decode()
GOOD = {"label": "Paging", "address": "239.1.2.3", "port": 5004, "codec": "pcmu", "priority": 5}


async def test_sources_are_added_listed_changed_and_removed(c1410: Device):
    async with client_as(c1410, "operator") as op:
        r = await op.post(c.API + "/sources", json={"data": {**GOOD, "srtpKey": KEY, "volume": 80}})
        assert r.status_code == 201, r.text
        added = r.json()["data"]
        assert added == {"id": "1", "label": "Paging", "address": "239.1.2.3", "port": 5004, "codec": "pcmu",
                         "priority": 5, "volume": 80, "srtp": True, "playing": False, "arriving": False}
        r = await op.patch(c.API + "/sources/1", json={"data": {"priority": 8, "codec": "pcma"}})
        assert r.json()["data"]["priority"] == 8 and r.json()["data"]["codec"] == "pcma"
        assert r.json()["data"]["srtp"] is True  # the key stays when not sent
        r = await op.patch(c.API + "/enabled", json={"data": True})
        assert r.json() == {"status": "success", "data": True}
    async with client_as(c1410, "viewer") as viewer:
        overview = (await viewer.get(c.API)).json()["data"]
        assert overview["enabled"] is True and [s["priority"] for s in overview["sources"]] == [8]
        assert overview["playing"] is None and overview["maxSources"] == c.MAX_SOURCES
        r = await viewer.delete(c.API + "/sources/1")
        assert r.status_code == 403 and r.json()["status"] == "error"
    stored = c1410.store.get_kv(c.KV_SETTINGS) or ""
    assert KEY not in stored and json.loads(stored)["sources"][0]["srtp_key"].startswith("\x01sealed:")
    async with client_as(c1410, "operator") as op:
        assert (await op.delete(c.API + "/sources/1")).json() == {"status": "success"}
        assert (await op.get(c.API + "/sources")).json()["data"] == []
        assert (await op.get(c.API + "/sources/1")).status_code == 404
    audit = c1410.logs.text("audit")
    for line in ("added the multicast source 1 (Paging, 239.1.2.3:5004, pcmu, priority 5)",
                 "changed the multicast source 1 (Paging): codec, priority",
                 "turned the multicast controller on", "removed the multicast source 1 (Paging)"):
        assert line in audit


@pytest.mark.parametrize(("change", "message"), [
    ({"address": "10.1.2.3"}, "is not a multicast address"),
    ({"address": "224.0.0.5"}, "reserved for routing protocols"),
    ({"address": "not-an-address"}, "is not an IPv4 address"),
    ({"port": 80}, "port must be a whole number from 1024 to 65535"),
    ({"port": 70000}, "port must be a whole number from 1024 to 65535"),
    ({"codec": "mp3"}, "codec mp3 is not supported: use one of pcmu, pcma"),
    ({"priority": 0}, "priority must be a whole number from 1 to 10"),
    ({"priority": 11}, "priority must be a whole number from 1 to 10"),
    ({"volume": 101}, "volume must be a whole number from 0 to 100"),
    ({"srtpKey": "c2hvcnQ="}, "srtpKey must be an AES_CM_128_HMAC_SHA1_80 master key and salt"),
    ({"label": ""}, "label must be text"),
    ({"colour": "red"}, "unknown property colour"),
])
async def test_bad_sources_are_refused_clearly(c1410: Device, change: dict, message: str):
    async with client_as(c1410, "operator") as op:
        r = await op.post(c.API + "/sources", json={"data": {**GOOD, **change}})
        assert r.status_code == 400 and message in r.json()["error"]["message"], r.text
        assert (await op.get(c.API + "/sources")).json()["data"] == []
    assert "Multicast controller request of operator1 refused" in c1410.logs.text("system")


async def test_labels_and_groups_are_unique_and_the_count_is_bounded(c1410: Device):
    async with client_as(c1410, "admin") as admin:
        assert (await admin.post(c.API + "/sources", json={"data": GOOD})).status_code == 201
        r = await admin.post(c.API + "/sources", json={"data": {**GOOD, "port": 5006}})
        assert r.status_code == 409 and "the label Paging is used by source 1" in r.text
        r = await admin.post(c.API + "/sources", json={"data": {**GOOD, "label": "Other"}})
        assert r.status_code == 409 and "already receives 239.1.2.3 port 5004" in r.text
        for n in range(2, c.MAX_SOURCES + 1):
            r = await admin.post(c.API + "/sources", json={"data": {**GOOD, "label": f"S{n}", "port": 5004 + 2 * n}})
            assert r.status_code == 201, r.text
        r = await admin.post(c.API + "/sources", json={"data": {**GOOD, "label": "One too many", "port": 6000}})
        assert r.status_code == 409 and f"has {c.MAX_SOURCES} sources" in r.text
        r = await admin.patch(c.API + "/enabled", json={"data": "yes"})
        assert r.status_code == 400 and "enabled must be true or false" in r.text
        r = await admin.post(c.API + "/sources", content=b"{not json")
        assert r.status_code == 400


async def test_sources_survive_a_restart(tmp_path: Path, clock: FakeClock):
    device = make_device(tmp_path, clock, "c1410")
    async with client_as(device, "operator") as op:
        await op.post(c.API + "/sources", json={"data": {**GOOD, "srtpKey": KEY}})
    device.close()
    again = make_device(tmp_path, clock, "c1410")
    try:
        async with client_as(again, "viewer") as viewer:
            sources = (await viewer.get(c.API + "/sources")).json()["data"]
        assert [(s["label"], s["srtp"]) for s in sources] == [("Paging", True)]
    finally:
        again.close()


async def test_the_event_is_an_event_instance(c1410: Device):
    async with client_as(c1410, "operator") as op:
        source = (await op.post(c.API + "/sources", json={"data": GOOD})).json()["data"]["id"]
    async with client_as(c1410, "admin") as admin:
        instances = etree.tostring(await call(admin, "<aev:GetEventInstances/>")).decode()
    assert "MulticastController" in instances and 'NiceName="Multicast stream playing"' in instances
    topic = c1410.events.topic(c.PLAYING)
    assert topic is not None and topic.stateful
    assert c1410.events.state(c.PLAYING, {"Source": source}) == {"Playing": "0", "Label": "Paging"}
