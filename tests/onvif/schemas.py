"""The ONVIF schemas of the package (vigil/features/onvif/wsdl) as lxml validators, and SOAP
requests built by hand (with or without a UsernameToken) for the in-process tests."""

from __future__ import annotations

import base64
import functools
import os
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

import vigil.features.onvif as onvif_package
from vigil.features.onvif.const import PASSWORD_DIGEST, PASSWORD_TEXT, TDS, TRT, WSSE, WSU
from vigil.features.onvif.security import password_digest
from vigil.http.soap import SOAP12

WSDL = Path(onvif_package.__file__).parent / "wsdl"
XS = "http://www.w3.org/2001/XMLSchema"


@functools.cache
def schema(namespace: str) -> etree.XMLSchema:
    """The schema of the service `namespace` (the one embedded in its WSDL, with its imports)."""
    name = {TDS: "devicemgmt.wsdl", TRT: "media.wsdl"}[namespace]
    wsdl = etree.parse(str(WSDL / name))
    embedded = wsdl.find(f".//{{{XS}}}schema")
    assert embedded is not None
    return etree.XMLSchema(etree.fromstring(etree.tostring(embedded), base_url=str(WSDL / name)))


def body_of(reply: bytes) -> etree._Element:
    root = etree.fromstring(reply)
    body = root.find(f"{{{SOAP12}}}Body")
    assert body is not None, reply[:300]
    return body[0]


def valid_element(element: etree._Element) -> str:
    """Validate an operation's reply element against its service's schema; returns its name."""
    namespace = etree.QName(element).namespace
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
