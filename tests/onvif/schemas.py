"""The ONVIF schemas of the package (vigil/features/onvif/wsdl) as validators, and SOAP requests
built by hand (with or without a UsernameToken) for the in-process tests.

The device service and Media1 are checked with lxml (libxml2) against the onvif-zeep-async set;
Media2 and Profile M's event broker replies with `xmlschema` in XSD 1.1 mode against the newest
onvif/specs files (wsdl/specs), whose
content models libxml2 refuses as not deterministic (XSD 1.1 allows them)."""

from __future__ import annotations

import base64
import functools
import os
import warnings
from datetime import UTC, datetime
from pathlib import Path

import xmlschema
from lxml import etree

import vigil.features.onvif as onvif_package
from vigil.features.onvif.const import (
    PASSWORD_DIGEST,
    PASSWORD_TEXT,
    TDS,
    TEV,
    TMD,
    TR2,
    TRC,
    TRP,
    TRT,
    TSE,
    WSNT,
    WSSE,
    WSU,
)
from vigil.features.onvif.security import password_digest
from vigil.http.soap import SOAP12

WSDL = Path(onvif_package.__file__).parent / "wsdl"
XS = "http://www.w3.org/2001/XMLSchema"


@functools.cache
def schema(namespace: str) -> etree.XMLSchema:
    """The schema of the service `namespace` (the one embedded in its WSDL, with its imports)."""
    if namespace == WSNT:  # Renew, Unsubscribe: WS-BaseNotification's own elements
        return etree.XMLSchema(etree.parse(str(WSDL / "b-2.xsd")))
    name = {TDS: "devicemgmt.wsdl", TRT: "media.wsdl", TEV: "events.wsdl", TSE: "search.wsdl",
            TRC: "recording.wsdl", TRP: "replay.wsdl", TMD: "deviceio.wsdl"}[namespace]
    wsdl = etree.parse(str(WSDL / name))
    embedded = wsdl.find(f".//{{{XS}}}schema")
    assert embedded is not None
    return etree.XMLSchema(etree.fromstring(etree.tostring(embedded), base_url=str(WSDL / name)))


def body_of(reply: bytes) -> etree._Element:
    root = etree.fromstring(reply)
    body = root.find(f"{{{SOAP12}}}Body")
    assert body is not None, reply[:300]
    return body[0]


@functools.cache
def media2_schema() -> xmlschema.XMLSchema11:
    wsdl = WSDL / "specs" / "ver20" / "media" / "wsdl" / "media.wsdl"
    embedded = etree.parse(str(wsdl)).find(f".//{{{XS}}}schema")
    assert embedded is not None
    # The OASIS and W3C schemas the ONVIF schema imports by URL, from the package's copies; the
    # SOAP 1.2 envelope (only in RequestInfo, which no reply has) stays unresolved: lax.
    locations = {"http://docs.oasis-open.org/wsn/b-2": str(WSDL / "b-2.xsd"),
                 "http://www.w3.org/2005/05/xmlmime": str(WSDL / "xmlmime"),
                 "http://www.w3.org/2004/08/xop/include": str(WSDL / "include")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xmlschema.XMLSchemaImportWarning)
        return xmlschema.XMLSchema11(etree.tostring(embedded).decode(), base_url=str(wsdl.parent) + "/",
                                     locations=locations, allow="local", defuse="always", validation="lax")


# Profile M's event broker replies: only in the newest events WSDL (wsdl/specs/ver10/events).
BROKER_REPLIES = ("AddEventBrokerResponse", "GetEventBrokersResponse", "DeleteEventBrokerResponse")


@functools.cache
def events_schema() -> xmlschema.XMLSchema11:
    wsdl = WSDL / "specs" / "ver10" / "events" / "wsdl" / "event.wsdl"
    embedded = etree.parse(str(wsdl)).find(f".//{{{XS}}}schema")
    assert embedded is not None
    locations = {WSNT: str(WSDL / "b-2.xsd"), "http://docs.oasis-open.org/wsn/t-1": str(WSDL / "t-1.xsd"),
                 "http://www.w3.org/2005/08/addressing": str(WSDL / "ws-addr.xsd")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xmlschema.XMLSchemaImportWarning)
        return xmlschema.XMLSchema11(etree.tostring(embedded).decode(), base_url=str(wsdl.parent) + "/",
                                     locations=locations, allow="local", defuse="always")


def valid_element(element: etree._Element) -> str:
    """Validate an operation's reply element against its service's schema; returns its name."""
    namespace = etree.QName(element).namespace
    newer = {TR2: media2_schema, TEV: events_schema}.get(namespace)
    if newer is not None and (namespace == TR2 or etree.QName(element).localname in BROKER_REPLIES):
        errors = list(newer().iter_errors(etree.fromstring(etree.tostring(element))))
        if errors:
            raise AssertionError(f"{etree.QName(element).localname} does not validate: {errors[0]}")
        return etree.QName(element).localname
    validator = schema(namespace)
    if not validator.validate(etree.ElementTree(etree.fromstring(etree.tostring(element)))):
        raise AssertionError(f"{etree.QName(element).localname} does not validate: {validator.error_log}\n"
                             + etree.tostring(element, pretty_print=True).decode()[:3000])
    return etree.QName(element).localname


def assert_valid(reply: bytes) -> etree._Element:
    """The operation's reply, validated against its service's schema; returns it."""
    element = body_of(reply)
    valid_element(element)
    return element


def security(user: str, password: str, created: datetime | None = None, nonce: bytes | None = None,
             text: bool = False) -> str:
    created_text = (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = nonce if nonce is not None else os.urandom(16)
    if text:
        password_el = f'<wsse:Password Type="{PASSWORD_TEXT}">{password}</wsse:Password>'
    else:
        password_el = (f'<wsse:Password Type="{PASSWORD_DIGEST}">{password_digest(nonce, created_text, password)}'
                       "</wsse:Password>")
    return (f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}" s:mustUnderstand="1"><wsse:UsernameToken>'
            f"<wsse:Username>{user}</wsse:Username>{password_el}"
            f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce><wsu:Created>{created_text}</wsu:Created>"
            "</wsse:UsernameToken></wsse:Security>")


def request(operation: str, inner: str = "", namespace: str = TDS, header: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP12}" xmlns:tt="http://www.onvif.org/ver10/schema">'
            f"<s:Header>{header}</s:Header>"
            f'<s:Body><op:{operation} xmlns:op="{namespace}">{inner}</op:{operation}></s:Body></s:Envelope>').encode()
