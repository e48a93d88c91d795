"""The SOAP layer's readers of request values: a whole number is a short run of ASCII digits,
and a fault quotes a refused value cut short."""

from __future__ import annotations

import pytest
from lxml import etree

from vigil.http.soap import SoapFault, int_of, whole_number


def request(value: str) -> etree._Element:
    body = etree.Element("Op")
    etree.SubElement(body, "Id").text = value
    return body


@pytest.mark.parametrize("value", ["9" * 4300, "9" * 10, "\u00b2", "\u0663", "1_0", "-1", "+1", "0x1", "1e3", ""])
def test_a_value_that_is_no_short_whole_number_is_a_sender_fault(value: str) -> None:
    with pytest.raises(SoapFault) as caught:
        int_of(request(value), "Id")
    fault = caught.value
    assert fault.code == "Sender" and fault.reason.startswith("Id must be a whole number, not ")
    assert len(fault.reason) < 100, fault.reason  # 4,300 digits were quoted whole
    assert fault.reason.endswith("…'") == (len(value) > 40)


def test_short_whole_numbers_are_read() -> None:
    assert int_of(request(" 42 "), "Id") == 42
    assert int_of(request("999999999"), "Id") == 999999999
    assert whole_number("0", "port") == 0
    with pytest.raises(SoapFault, match="the element Id is required"):
        int_of(etree.Element("Op"), "Id")


def test_a_fault_declares_the_prefix_of_its_subcodes() -> None:
    """`ter:NotAuthorized` sits in text only: its namespace must still be declared, or clients
    (zeep) cannot read the fault."""
    from vigil.http.soap import fault_response, sender

    for subcode in ("{http://www.onvif.org/ver10/error}NotAuthorized", "{urn:example:faults}Other"):
        body = fault_response(sender("no", subcode)).body
        root = etree.fromstring(body)
        value = root.find(".//{http://www.w3.org/2003/05/soap-envelope}Subcode/"
                          "{http://www.w3.org/2003/05/soap-envelope}Value")
        prefix, _, local = value.text.partition(":")
        assert value.nsmap[prefix] == etree.QName(subcode).namespace and local == etree.QName(subcode).localname
