"""WS-Discovery messages without a network: what the responder answers, and that anything
else (other actions, malformed or hostile XML, types it does not have) gets no answer."""

from __future__ import annotations

from lxml import etree

from tests.conftest import make_device
from vigil.core.clock import FakeClock
from vigil.features.discovery.interfaces import Interface
from vigil.features.discovery.model import Facts
from vigil.features.discovery.wsdiscovery import (
    RFC3986,
    STRCMP0,
    Responder,
    Sequence,
    parse,
    parse_matches,
    probe_message,
    scope_matches,
)

NS = ('xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
      'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"')


def probe(body: str, extra_ns: str = "") -> bytes:
    return (f'<s:Envelope {NS} {extra_ns}><s:Header><a:MessageID>urn:uuid:1234</a:MessageID>'
            f'<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>'
            f'<s:Body><d:Probe>{body}</d:Probe></s:Body></s:Envelope>').encode()


def responder(tmp_path) -> Responder:
    device = make_device(tmp_path, FakeClock())
    facts = Facts.of(device.profile, device.identity)
    device.close()
    return Responder(facts, Interface("eth0", "192.0.2.10"), 8080, Sequence(7), 1, facts.scopes)


def test_a_probe_for_our_types_is_answered_with_everything_a_client_needs(tmp_path) -> None:
    r = responder(tmp_path)
    request = parse(probe('<d:Types>x:NetworkVideoTransmitter</d:Types>',
                          'xmlns:x="http://www.onvif.org/ver10/network/wsdl"'))
    assert request is not None
    reply = etree.fromstring(r.answer(request) or b"")
    text = etree.tostring(reply).decode()
    assert "urn:uuid:1234</a:RelatesTo>" in text
    assert 'InstanceId="7"' in text
    assert "http://192.0.2.10:8080/onvif/device_service" in text
    assert r.facts.endpoint in text
    empty = parse(probe(""))  # no types, no scopes: every device matches
    assert empty is not None and r.answer(empty) is not None


def test_no_answer_to_other_types_scopes_or_undeclared_prefixes(tmp_path) -> None:
    r = responder(tmp_path)
    other = parse(probe('<d:Types>p:Printer</d:Types>', 'xmlns:p="http://example.com/printers"'))
    assert other is not None and r.answer(other) is None
    assert parse(probe("<d:Types>nope:NetworkVideoTransmitter</d:Types>")) is None
    wrong_scope = parse(probe("<d:Scopes>onvif://www.onvif.org/hardware/S3008</d:Scopes>"))
    assert wrong_scope is not None and r.answer(wrong_scope) is None


def test_scope_rules() -> None:
    ours = "onvif://www.onvif.org/hardware/S3016"
    assert scope_matches("onvif://www.onvif.org", ours, RFC3986)
    assert scope_matches("ONVIF://WWW.ONVIF.ORG/hardware", ours, RFC3986)
    assert not scope_matches("onvif://www.onvif.org/hard", ours, RFC3986)  # whole segments only
    assert scope_matches(ours, ours, STRCMP0) and not scope_matches("onvif://www.onvif.org", ours, STRCMP0)
    assert not scope_matches(ours, ours, "http://example.com/some-other-rule")


def test_resolve_of_our_endpoint_only(tmp_path) -> None:
    r = responder(tmp_path)
    resolve = (f'<s:Envelope {NS}><s:Header><a:MessageID>urn:uuid:5</a:MessageID></s:Header><s:Body><d:Resolve>'
               f'<a:EndpointReference><a:Address>{{}}</a:Address></a:EndpointReference></d:Resolve></s:Body>'
               '</s:Envelope>')
    ours = parse(resolve.format(r.facts.endpoint).encode())
    theirs = parse(resolve.format("urn:uuid:00000000-0000-0000-0000-000000000000").encode())
    assert ours is not None and b"ResolveMatches" in (r.answer(ours) or b"")
    assert theirs is not None and r.answer(theirs) is None


def test_malformed_or_hostile_datagrams_are_dropped_and_counted(tmp_path) -> None:
    r = responder(tmp_path)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<x>&b;</x>')
    external = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    for data in (b"", b"\xff\xfe", b"<not-closed", bomb, external, b"<a/>" * 10, probe("").replace(b"<a:MessageID>urn:uuid:1234</a:MessageID>", b"")):
        r.received(data, ("192.0.2.99", 3702))
    assert r.ignored == 7


def test_the_recorders_probe_takes_only_the_answers_to_it(tmp_path) -> None:
    """Our own Responder's ProbeMatches to our probe is a camera found; an answer to another
    probe, malformed data and XAddrs that are not http(s) are not."""
    r = responder(tmp_path)
    message_id = "urn:uuid:5678"
    request = parse(probe_message(message_id))
    assert request is not None and request.types == {("http://www.onvif.org/ver10/network/wsdl",
                                                      "NetworkVideoTransmitter")}
    answer = r.answer(request) or b""
    (found,) = parse_matches(answer, message_id, "192.0.2.10")
    assert found.xaddrs == ("http://192.0.2.10:8080/onvif/device_service",) and found.endpoint == r.facts.endpoint
    assert found.scope("hardware") == "S3016" and found.scope("nothing") == ""
    assert parse_matches(answer, "urn:uuid:other", "192.0.2.10") == []
    assert parse_matches(b"<not-xml", message_id, "192.0.2.10") == []
    ftp = answer.replace(b"http://192.0.2.10:8080", b"ftp://192.0.2.10")
    assert parse_matches(ftp, message_id, "192.0.2.10") == []
