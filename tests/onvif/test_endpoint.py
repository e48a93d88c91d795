"""The ONVIF endpoints' edges: HTTP Digest with ONVIF accounts, the pages' session, ONVIF off
until the first ONVIF account, bad input answered with SOAP faults (the service keeps
answering), and the W401 and C1410 answering the device service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import ADMIN, asgi_client, eventually, make_device
from tests.onvif.conftest import ONVIF_USERS, Soap, add_onvif_accounts
from tests.onvif.schemas import assert_valid, request, security
from vigil.core.clock import FakeClock
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.io.service import IO_SERVICE
from vigil.features.onvif.const import DEVICE_PATH, EVENTS_PATH, TDS, TRT, TSE, TT
from vigil.http.soap import SOAP12

NS = {"tds": TDS, "tt": TT}
SOAP = {"Content-Type": "application/soap+xml; charset=utf-8"}


async def test_http_digest_with_an_onvif_account(soap: Soap):
    body = request("GetDeviceInformation")
    async with asgi_client(soap.device, httpx.DigestAuth(*ONVIF_USERS["User"])) as c:
        r = await c.post(DEVICE_PATH, content=body, headers=SOAP)
        assert r.status_code == 200, r.text
        assert_valid(r.content)
        r = await c.post(DEVICE_PATH, content=request("GetUsers"), headers=SOAP)
        assert r.status_code == 400 and "ter:NotAuthorized" in r.text  # a User may not read the users
    async with asgi_client(soap.device, httpx.DigestAuth(*ADMIN)) as c:  # a VAPIX account only
        r = await c.post(DEVICE_PATH, content=body, headers=SOAP)
        assert r.status_code == 400 and "not an ONVIF account" in r.text
    async with asgi_client(soap.device, httpx.DigestAuth(ONVIF_USERS["User"][0], "wrong")) as c:
        r = await c.post(DEVICE_PATH, content=body, headers=SOAP)
        assert r.status_code == 401  # Digest refused by the guard: challenged again


async def test_onvif_is_off_until_the_first_onvif_account(device: Device):
    device.accounts.add(*ADMIN, Role.ADMIN, True, "", "test")
    async with asgi_client(device) as page:
        assert (await page.post("/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})).status_code == 200
        pages = {**SOAP, "X-Requested-With": "XMLHttpRequest"}
        users = assert_valid((await page.post(DEVICE_PATH, content=request("GetUsers"), headers=pages)).content)
        assert len(users) == 0 and not device.accounts.onvif_enabled
        create = ("<op:User><tt:Username>first</tt:Username><tt:Password>First123</tt:Password>"
                  "<tt:UserLevel>Administrator</tt:UserLevel></op:User>")
        assert_valid((await page.post(DEVICE_PATH, content=request("CreateUsers", create), headers=pages)).content)
        assert device.accounts.onvif_enabled and device.accounts.get("first").role == Role.ADMIN
        # Without the pages' proof the cookie does not count: anonymous, so challenged.
        r = await page.post(DEVICE_PATH, content=request("GetUsers"), headers={**SOAP, "Sec-Fetch-Site": "cross-site"})
        assert r.status_code in (401, 403)


BAD_BODIES = {
    "malformed": b"<s:Envelope xmlns:s='" + SOAP12.encode() + b"'><s:Body><x>",
    "doctype": (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b"<s:Envelope xmlns:s='" + SOAP12.encode() + b"'><s:Body><t:GetUsers xmlns:t='" + TDS.encode()
                + b"'>&e;</t:GetUsers></s:Body></s:Envelope>"),
    "billion-laughs": (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
                       b"<s:Envelope xmlns:s='" + SOAP12.encode() + b"'><s:Body>&b;</s:Body></s:Envelope>"),
    "wrong-envelope": b"<s:Envelope xmlns:s='urn:not-soap'><s:Body/></s:Envelope>",
    "unknown-operation": request("NoSuchOperation"),
    "wrong-namespace": request("GetDeviceInformation", namespace="http://www.onvif.org/ver20/media/wsdl"),
    "empty": b"",
    "not-xml": b"\x00\x01\x02 nothing",
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
async def test_bad_input_is_a_soap_fault_and_the_service_goes_on(soap: Soap, name: str):
    before = [(a.name, a.role, a.onvif) for a in soap.device.accounts.all()]
    r = await soap.client.post(DEVICE_PATH, content=BAD_BODIES[name], headers=SOAP)
    assert r.status_code in (400, 500) and "Fault" in r.text, r.text
    assert "root:" not in r.text and "aaaaaaaaaa" not in r.text
    assert "Internal error" not in r.text
    assert [(a.name, a.role, a.onvif) for a in soap.device.accounts.all()] == before
    assert (await soap("GetSystemDateAndTime")).status_code == 200


async def test_reboot_and_factory_default_stop_the_device_after_the_reply(soap: Soap):
    assert_valid((await soap("SystemReboot", as_level="Administrator")).content)
    await _stopped(soap.device, "restart")
    soap.device.stopping.clear()
    bad = await soap("SetSystemFactoryDefault", "<op:FactoryDefault>Medium</op:FactoryDefault>", as_level="Administrator")
    assert bad.status_code == 400 and "InvalidArgVal" in bad.text
    assert_valid((await soap("SetSystemFactoryDefault", "<op:FactoryDefault>Soft</op:FactoryDefault>",
                             as_level="Administrator")).content)
    await _stopped(soap.device, "factory-default")


async def test_discovery_mode_and_scopes_set(soap: Soap):
    assert_valid((await soap("SetDiscoveryMode", "<op:DiscoveryMode>NonDiscoverable</op:DiscoveryMode>",
                             as_level="Administrator")).content)
    assert soap.device.params.get("WebService.DiscoveryMode.Discoverable") == "no"
    scopes = "<op:Scopes>onvif://www.onvif.org/location/a</op:Scopes><op:Scopes>onvif://www.onvif.org/name/b</op:Scopes>"
    assert_valid((await soap("SetScopes", scopes, as_level="Administrator")).content)
    assert soap.device.params.get("WebService.DiscoveryMode.Scopes") == \
        "onvif://www.onvif.org/location/a onvif://www.onvif.org/name/b"
    assert "user=onvifadmin set root.WebService.DiscoveryMode.Scopes=onvif://www.onvif.org/location/a" in \
        soap.device.logs.text("audit", "Scopes")


@pytest.fixture
async def w401_soap(tmp_path) -> AsyncIterator[Soap]:
    device = make_device(tmp_path, FakeClock(), "w401")
    add_onvif_accounts(device)
    async with asgi_client(device) as c:
        yield Soap(c, device)
    device.close()


async def test_w401_relay_outputs(w401_soap: Soap):
    relays = assert_valid((await w401_soap("GetRelayOutputs", as_level="User")).content)
    tokens = [r.get("token") for r in relays]
    io = w401_soap.device.features[IO_SERVICE]
    assert tokens == [str(v.index) for v in io.views() if v.direction == "output"] and tokens
    token = tokens[0]
    state = f"<op:RelayOutputToken>{token}</op:RelayOutputToken><op:LogicalState>active</op:LogicalState>"
    assert_valid((await w401_soap("SetRelayOutputState", state, as_level="Operator")).content)
    assert io.view(int(token)).active
    r = await w401_soap("SetRelayOutputState", state.replace(f">{token}<", ">99<"), as_level="Operator")
    assert r.status_code == 400 and "RelayToken" in r.text
    info = assert_valid((await w401_soap("GetDeviceInformation", as_level="User")).content)
    assert info.findtext("tds:Model", namespaces=NS) == "W401"
    services = assert_valid((await w401_soap("GetServices", "<op:IncludeCapability>true</op:IncludeCapability>")).content)
    assert [s.findtext("tds:Namespace", namespaces=NS) for s in services] == \
        [TDS, "http://www.onvif.org/ver10/events/wsdl"]  # no media on an I/O device


async def test_c1410_answers_the_device_service(tmp_path):
    device = make_device(tmp_path, FakeClock(), "c1410")
    add_onvif_accounts(device)
    try:
        async with asgi_client(device) as c:
            soap = Soap(c, device)
            info = assert_valid((await soap("GetDeviceInformation", as_level="User")).content)
            assert info.findtext("tds:Model", namespaces=NS) == "C1410"
            assert_valid((await soap("GetCapabilities", "<op:Category>All</op:Category>")).content)
            r = await soap("GetCapabilities", "<op:Category>PTZ</op:Category>")
            assert r.status_code == 500 and "NoSuchService" in r.text
            media = assert_valid((await soap("GetCapabilities", "<op:Category>Media</op:Category>")).content)
            assert media.findtext("tds:Capabilities/tt:Media/tt:XAddr", namespaces=NS).endswith("/onvif/media_service")
            # the speaker's audio profile (tests/onvif/test_audio.py); no search without recordings
            assert (await c.post("/onvif/media_service", content=request("GetProfiles", "", TRT), headers=SOAP)).status_code == 401
            assert (await c.post("/onvif/search_service", content=request("GetRecordingSummary", "", TSE),
                                 headers=SOAP)).status_code == 404
            # and the event service
            events = "http://www.onvif.org/ver10/events/wsdl"
            assert_valid((await soap("GetEventProperties", "", events, as_level="User", path=EVENTS_PATH)).content)
            created = assert_valid((await soap("CreatePullPointSubscription", "", events, as_level="User",
                                               path=EVENTS_PATH)).content)
            address = created.findtext(".//{http://www.w3.org/2005/08/addressing}Address")
            pulled = assert_valid((await soap("PullMessages", "<op:Timeout>PT0S</op:Timeout><op:MessageLimit>500"
                                              "</op:MessageLimit>", events, as_level="User",
                                              path=address.removeprefix("http://127.0.0.1:80"))).content)
            assert len(pulled.findall("{http://docs.oasis-open.org/wsn/b-2}NotificationMessage")) > 0
    finally:
        device.close()


async def _stopped(device: Device, action: str) -> None:
    await eventually(device.stopping.is_set, 5, f"the device to stop for {action}")
    assert device.next_action == action


async def test_guessing_ws_security_passwords_blocks_the_address(soap: Soap):
    """Wrong UsernameTokens count as failed logins: past System.BruteForce.WindowFailures the
    address is refused, the right password too."""
    limit = soap.device.params.get_int("System.BruteForce.WindowFailures")
    for _ in range(limit + 1):
        r = await soap("GetDeviceInformation", header=_wrong_token(soap))
        assert r.status_code in (400, 403)
    r = await soap("GetDeviceInformation", as_level="User")
    assert r.status_code == 403 and "too many failed logins" in r.text
    assert "blocked 127.0.0.1" in soap.device.logs.text("access", "blocked")


def _wrong_token(soap: Soap) -> str:
    return security(ONVIF_USERS["User"][0], "guess", created=datetime.fromtimestamp(soap.device.clock.time(), UTC))
