"""The export and playback CGIs in-process: arguments that are not UTF-8 get the API's own XML
error (the router would answer a text error that a client of an XML API cannot read)."""

from __future__ import annotations

import pytest

from tests.conftest import client_as
from vigil.device import Device


@pytest.mark.parametrize("path", ["/axis-cgi/record/export/exportrecording.cgi",
                                  "/axis-cgi/record/export/properties.cgi",
                                  "/axis-cgi/record/export/getjobstatus.cgi",
                                  "/axis-cgi/record/export/download.cgi"])
async def test_export_cgis_answer_undecodable_arguments_with_a_general_error(device: Device, path: str) -> None:
    async with client_as(device, "operator") as operator:
        r = await operator.get(f"{path}?schemaversion=1&recordingid=%ff&jobid=1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert "<ErrorCode>20</ErrorCode>" in r.text and "not UTF-8" in r.text


async def test_play_cgi_answers_undecodable_arguments_with_its_xml_error(device: Device) -> None:
    async with client_as(device, "viewer") as viewer:
        r = await viewer.get("/axis-cgi/record/play.cgi?recordingid=%ff")
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/xml")
    assert '<error code="20"' in r.text and "not UTF-8" in r.text
