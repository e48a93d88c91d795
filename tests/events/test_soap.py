"""The SOAP layer of /vapix/services: versions, faults for bad envelopes, operation dispatch
and the role of each operation."""

from __future__ import annotations

import httpx
from lxml import etree

from tests.conftest import client_as
from tests.peers.servers import (
    AA,
    EV,
    SERVICES,
    SOAP11,
    SOAP12,
    call,
    envelope,
    fault,
    parse_fault,
    post,
)
from vigil.features.events.http_soap import EVENT_SERVICES
from vigil.http import soap


async def test_soap12_reply_and_content_type(admin):
    r = await post(admin, "<aa:GetActionRules/>")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/soap+xml; charset=utf-8"
    doc = etree.fromstring(r.content)
    assert doc.tag == f"{{{SOAP12}}}Envelope"
    assert doc[0][0].tag == f"{{{AA}}}GetActionRulesResponse"
    assert doc.nsmap["SOAP-ENV"] == SOAP12  # the prefix clients expect


async def test_soap11_request_gets_soap11_reply(admin):
    r = await post(admin, "<aa:GetActionRules/>", version="1.1", action=f"{AA}/GetActionRules")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    doc = etree.fromstring(r.content)
    assert doc.tag == f"{{{SOAP11}}}Envelope"
    result = await call(admin, "<aa:GetActionTemplates/>", version="1.1")
    assert result.tag == f"{{{AA}}}GetActionTemplatesResponse"


async def test_soap11_fault(admin):
    f = await fault(admin, "<aa:RemoveActionRule><aa:RuleID>77</aa:RuleID></aa:RemoveActionRule>", version="1.1")
    assert f.status == 500  # SOAP 1.1 over HTTP answers every fault with 500
    assert f.code == "SOAP-ENV:Client"
    assert "Unknown rule 77" in f.reason


async def test_operation_with_default_namespace_and_action_in_content_type(admin):
    body = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>'
            b'<GetActionTemplates xmlns="http://www.axis.com/vapix/ws/action1"/></s:Body></s:Envelope>')
    r = await admin.post(SERVICES, content=body, headers={
        "Content-Type": f'application/soap+xml; action="{AA}/GetActionTemplates"; charset=utf-8'})
    assert r.status_code == 200
    assert b"GetActionTemplatesResponse" in r.content


async def test_malformed_xml_is_a_sender_fault(admin):
    r = await post(admin, b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body>")
    f = parse_fault(r)
    assert f.status == 400 and f.code == "SOAP-ENV:Sender"
    assert f.reason.startswith("Malformed XML")


async def test_empty_and_non_soap_bodies(admin):
    assert (await fault(admin, b"")).reason.startswith("The request body is empty")
    f = await fault(admin, b"<GetEventInstances/>")
    assert f.code == "SOAP-ENV:Sender" and "not a SOAP Envelope" in f.reason
    f = await fault(admin, f'<s:Envelope xmlns:s="{SOAP12}"><s:Body/></s:Envelope>'.encode())
    assert "Body is empty" in f.reason
    f = await fault(admin, f'<s:Envelope xmlns:s="{SOAP12}"/>'.encode())
    assert "no Body" in f.reason


async def test_wrong_envelope_namespace_is_a_version_mismatch(admin):
    r = await post(admin, b'<s:Envelope xmlns:s="urn:not-soap"><s:Body><x/></s:Body></s:Envelope>')
    f = parse_fault(r)
    assert f.code == "SOAP-ENV:VersionMismatch" and f.status == 500
    assert SOAP12 in f.reason


async def test_dtd_is_refused(admin):
    body = (b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            b'<GetActionRules xmlns="http://www.axis.com/vapix/ws/action1">&b;</GetActionRules></s:Body></s:Envelope>')
    f = await fault(admin, body)
    assert f.code == "SOAP-ENV:Sender" and "DTD" in f.reason


async def test_unknown_operation_and_wrong_namespace(admin):
    f = await fault(admin, "<aa:FlyToTheMoon/>")
    assert f.code == "SOAP-ENV:Sender" and "FlyToTheMoon" in f.reason and "not supported" in f.reason
    # GetEventInstances belongs to event1, not action1.
    f = await fault(admin, "<aa:GetEventInstances/>")
    assert f.code == "SOAP-ENV:Sender"
    assert f"GetEventInstances belongs to namespace {EV}" in f.reason


async def test_must_understand_header(admin):
    body = (f'<s:Envelope xmlns:s="{SOAP12}"><s:Header><x:Secret xmlns:x="urn:x" s:mustUnderstand="true"/>'
            f'</s:Header><s:Body><GetActionRules xmlns="{AA}"/></s:Body></s:Envelope>').encode()
    f = await fault(admin, body)
    assert f.code == "SOAP-ENV:MustUnderstand"
    # Addressing headers are harmless and accepted.
    body = (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>'
            f'<a:Action s:mustUnderstand="1">{AA}/GetActionRules</a:Action></s:Header>'
            f'<s:Body><GetActionRules xmlns="{AA}"/></s:Body></s:Envelope>').encode()
    assert (await post(admin, body)).status_code == 200


async def test_missing_arguments_are_sender_faults(admin):
    f = await fault(admin, "<aa:RemoveActionRule/>")
    assert f.code == "SOAP-ENV:Sender" and "RuleID is required" in f.reason
    f = await fault(admin, "<aa:RemoveActionRule><aa:RuleID>one</aa:RuleID></aa:RemoveActionRule>")
    assert "whole number" in f.reason


async def test_get_is_not_allowed(admin):
    r = await admin.get(SERVICES)
    assert r.status_code == 405


async def test_roles_per_operation(device):
    async with client_as(device, "viewer") as viewer, client_as(device, "operator") as operator:
        assert (await post(viewer, "<aev:GetEventInstances/>")).status_code == 200
        assert (await post(viewer, "<aa:GetActionRules/>")).status_code == 403
        assert (await post(operator, "<aa:GetActionRules/>")).status_code == 200
        assert (await post(operator, "<aa:GetRecipientConfigurations/>")).status_code == 200
        assert (await post(operator, "<aev:GetScheduledEvents/>")).status_code == 200
        r = await post(operator, "<aa:RemoveActionRule><aa:RuleID>1</aa:RuleID></aa:RemoveActionRule>")
        assert r.status_code == 403
        r = await post(operator, "<aev:RemoveScheduledEvent><aev:EventID>x</aev:EventID></aev:RemoveScheduledEvent>")
        assert r.status_code == 403
    log = device.logs.text("access")
    assert "refused /vapix/services: needs operator" in log
    assert "refused /vapix/services: needs admin" in log


async def test_anonymous_is_challenged(device, anon):
    from tests.conftest import add_account

    add_account(device, "root", "pass1234", "admin")
    r = await post(anon, "<aev:GetEventInstances/>")
    assert r.status_code == 401
    assert "Digest" in r.headers.get("www-authenticate", "")


async def test_endpoint_declares_viewer_as_minimum(device):
    endpoint = next(e for e in device.router.endpoints if e.path == SERVICES)
    assert endpoint.role.label == "viewer"
    assert endpoint.methods == ("POST",)


def test_envelope_builder_declares_prefixes_once():
    el = soap.element("aa:Answer")
    soap.element("tns1:Device", parent=el)
    soap.element("Port", parent=el)
    xml = soap.envelope([el])
    assert xml.count(b"xmlns:aa=") == 1 and b"<Port/>" in xml
    doc = etree.fromstring(xml)
    assert doc[0][0][1].tag == "Port"  # unqualified stays unqualified


async def test_internal_errors_become_receiver_faults(admin, device, monkeypatch):
    services = device.features[EVENT_SERVICES]

    async def broken(msg, who):
        raise RuntimeError("boom")

    monkeypatch.setitem(services.soap.operations, (AA, "GetActionRules"), soap.SoapOperation(
        services.soap.operations[(AA, "GetActionRules")].role, broken))
    f = await fault(admin, "<aa:GetActionRules/>")
    assert f.status == 500 and f.code == "SOAP-ENV:Receiver"
    assert "Internal error" in f.reason and "boom" not in f.reason


async def test_large_body_refused(admin: httpx.AsyncClient):
    f = await fault(admin, envelope("<aa:GetActionRules>" + "x" * (soap.MAX_BODY + 10) + "</aa:GetActionRules>"))
    assert "larger than" in f.reason
