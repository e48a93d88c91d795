"""UPnP against real SSDP clients in the peers' namespace (async-upnp-client's `upnp-client`):
an M-SEARCH finds the Axis basic-service announcement, its LOCATION serves the description
Home Assistant reads, NOTIFYs say alive and byebye; turned off, nothing answers a search and the
description is gone."""

from __future__ import annotations

import asyncio
import json
import subprocess
import xml.etree.ElementTree as ET

import httpx

from tests.discovery.conftest import Served, until
from tests.peers.lan import VENV_BIN, Lan, needs_lan
from tests.peers.processes import stop_process

pytestmark = needs_lan
BASIC = "urn:axis-com:service:BasicService:1"
UPNP = "{urn:schemas-upnp-org:device-1-0}"


def search(lan: Lan, target: str) -> list[dict]:
    out = lan.run(str(VENV_BIN / "upnp-client"), "--timeout", "3", "search", "--search_target", target,
                  "--target", "239.255.255.250", "--bind", lan.peer_address)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


async def test_a_search_finds_the_basic_service_and_its_description(served: Served) -> None:
    serial = served.device.identity.serial
    answers = await until(lambda: search(served.lan, BASIC), 20, "an answer to M-SEARCH")
    answer = answers[0]
    assert answer["ST"] == BASIC
    assert answer["USN"] == f"uuid:Upnp-BasicDevice-1_0-{serial}::{BASIC}"
    assert answer["LOCATION"] == f"{served.base}/rootdesc1.xml"
    assert {a["ST"] for a in await until(lambda: search(served.lan, "upnp:rootdevice"), 20, "rootdevice")} \
        == {"upnp:rootdevice"}
    async with httpx.AsyncClient() as anyone:  # UPnP clients fetch the description without credentials
        r = await anyone.get(answer["LOCATION"])
        scpd = await anyone.get(f"{served.base}/scpd_basic.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    device = ET.fromstring(r.content).find(f"{UPNP}device")
    assert device is not None
    fields = {child.tag.removeprefix(UPNP): (child.text or "") for child in device}
    assert fields["deviceType"] == "urn:schemas-upnp-org:device:Basic:1"
    assert fields["friendlyName"] == f"Vigil S3016 - {serial}"
    assert fields["serialNumber"] == serial
    assert fields["UDN"] == f"uuid:Upnp-BasicDevice-1_0-{serial}"
    assert fields["presentationURL"] == f"{served.base}/"
    service = device.find(f"{UPNP}serviceList/{UPNP}service")
    assert service is not None and service.findtext(f"{UPNP}serviceType") == BASIC
    assert service.findtext(f"{UPNP}SCPDURL") == "/scpd_basic.xml"
    assert scpd.status_code == 200 and b"<scpd" in scpd.content


async def test_the_name_changes_at_once_and_turned_off_nothing_answers(served: Served) -> None:
    listener = subprocess.Popen(served.lan.command(str(VENV_BIN / "upnp-client"), "advertisements", "--bind",
                                                   served.lan.peer_address),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        await until(lambda: search(served.lan, BASIC), 20, "an answer to M-SEARCH")
        await served.set(**{"Network.UPnP.FriendlyName": "Gate recorder"})
        r = await served.admin.get("/rootdesc1.xml")
        assert b"<friendlyName>Gate recorder</friendlyName>" in r.content
        await served.set(**{"Network.UPnP.Enabled": "no"})
        assert await asyncio.to_thread(search, served.lan, "ssdp:all") == []
        async with httpx.AsyncClient() as anyone:
            assert (await anyone.get(f"{served.base}/rootdesc1.xml")).status_code == 404
        assert served.discovery.status()["upnp"] == {"state": "off"}
    finally:
        stop_process(listener)
    notices = [json.loads(line) for line in (listener.stdout.read() if listener.stdout else "").splitlines()
               if line.startswith("{")]
    kinds = {(n.get("NTS"), n.get("NT")) for n in notices}
    assert ("ssdp:alive", "upnp:rootdevice") in kinds  # the name change announced the device anew
    assert ("ssdp:byebye", BASIC) in kinds and ("ssdp:byebye", "upnp:rootdevice") in kinds
