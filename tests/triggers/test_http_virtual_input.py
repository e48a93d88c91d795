"""Virtual inputs: /axis-cgi/virtualinput/activate.cgi, deactivate.cgi, getschemaversions.cgi."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from lxml import etree

from tests.conftest import client_as
from vigil.device import Device
from vigil.features.triggers.service import VIRTUAL_INPUTS_SERVICE

BASE = "/axis-cgi/virtualinput/"
VIRTUAL = "tns1:Device/tnsaxis:IO/VirtualInput"
NS = {"v": "http://www.axis.com/vapix/http_cgi/virtualinput1"}


def parse(r: httpx.Response) -> etree._Element:
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(r.content)
    assert root.tag == f"{{{NS['v']}}}VirtualInputResponse"
    assert root.get("SchemaVersion") == "1.1"
    return root


def changed(r: httpx.Response, element: str) -> bool:
    root = parse(r)
    value = root.findtext(f"v:Success/v:{element}/v:StateChanged", namespaces=NS)
    assert value in ("true", "false"), r.text
    return value == "true"


def error(r: httpx.Response) -> tuple[int, str]:
    root = parse(r)
    code = root.findtext("v:Error/v:GeneralError/v:ErrorCode", namespaces=NS)
    assert code is not None, r.text
    return int(code), root.findtext("v:Error/v:GeneralError/v:ErrorDescription", namespaces=NS)


def state(dev: Device, port: int) -> str | None:
    data = dev.events.state(VIRTUAL, {"port": str(port)})
    return data["active"] if data else None


async def activate(client: httpx.AsyncClient, **args: str) -> httpx.Response:
    return await client.get(BASE + "activate.cgi", params={"schemaversion": "1", **args})


async def deactivate(client: httpx.AsyncClient, **args: str) -> httpx.Response:
    return await client.get(BASE + "deactivate.cgi", params={"schemaversion": "1", **args})


async def test_activate_and_deactivate(w401: Device, operator: httpx.AsyncClient) -> None:
    assert state(w401, 10) == "0"
    assert changed(await activate(operator, port="10"), "ActivateSuccess") is True
    assert state(w401, 10) == "1"
    assert w401.features[VIRTUAL_INPUTS_SERVICE].virtual(10) is True
    assert changed(await activate(operator, port="10"), "ActivateSuccess") is False
    assert changed(await deactivate(operator, port="10"), "DeactivateSuccess") is True
    assert state(w401, 10) == "0"
    assert changed(await deactivate(operator, port="10"), "DeactivateSuccess") is False
    assert changed(await activate(operator, port="32"), "ActivateSuccess") is True
    assert changed(await activate(operator, port="1"), "ActivateSuccess") is True


async def test_duration_deactivates_later(w401: Device, operator: httpx.AsyncClient) -> None:
    assert changed(await activate(operator, port="3", duration="1"), "ActivateSuccess") is True
    assert state(w401, 3) == "1"
    for _ in range(200):
        await asyncio.sleep(0.01)
        if state(w401, 3) == "0":
            break
    assert state(w401, 3) == "0"


async def test_duration_zero_pulses(w401: Device, operator: httpx.AsyncClient) -> None:
    seen: list[str] = []
    w401.events.subscribe(lambda e: seen.append(e.data["active"]) if e.topic == VIRTUAL else None)
    assert changed(await activate(operator, port="4", duration="0"), "ActivateSuccess") is True
    assert seen == ["1", "0"] and state(w401, 4) == "0"


@pytest.mark.parametrize("path, args, code", [
    ("activate.cgi", {"schemaversion": "1", "port": "0"}, 20),
    ("activate.cgi", {"schemaversion": "1", "port": "33"}, 20),
    ("activate.cgi", {"schemaversion": "1", "port": "abc"}, 20),
    ("activate.cgi", {"schemaversion": "1", "port": "-1"}, 20),
    ("deactivate.cgi", {"schemaversion": "1", "port": "33"}, 20),
    ("activate.cgi", {"schemaversion": "1"}, 10),
    ("activate.cgi", {"port": "1"}, 10),
    ("deactivate.cgi", {}, 10),
    ("activate.cgi", {"schemaversion": "2", "port": "1"}, 30),
    ("deactivate.cgi", {"schemaversion": "x", "port": "1"}, 30),
    ("activate.cgi", {"schemaversion": "1", "port": "1", "duration": "-1"}, 50),
    ("activate.cgi", {"schemaversion": "1", "port": "1", "duration": "soon"}, 50),
    ("activate.cgi", {"schemaversion": "1", "port": "1", "duration": "1.5"}, 50),
])
async def test_errors_change_nothing(w401: Device, operator: httpx.AsyncClient, path: str, args: dict[str, str],
                                     code: int) -> None:
    r = await operator.get(BASE + path, params=args)
    got, description = error(r)
    assert got == code, r.text
    assert description
    assert all(state(w401, n) == "0" for n in range(1, 33))


HUGE = "9" * 5000  # more digits than int() converts


@pytest.mark.parametrize("path, args, code", [
    ("activate.cgi", {"port": HUGE}, 20),
    ("deactivate.cgi", {"port": HUGE}, 20),
    ("activate.cgi", {"port": "1", "duration": HUGE}, 50),
    ("activate.cgi", {"port": "\u0661"}, 20),  # a digit, but not an ASCII one
    ("activate.cgi", {"port": "1", "duration": "2147483648"}, 50),
])
async def test_unreadable_numbers_get_a_virtual_input_error(w401: Device, operator: httpx.AsyncClient, path: str,
                                                            args: dict[str, str], code: int) -> None:
    r = await operator.get(BASE + path, params={"schemaversion": "1", **args})
    got, description = error(r)
    assert got == code, r.text[:300]
    assert len(description) < 200  # the value is cut short in the reply
    assert all(state(w401, n) == "0" for n in range(1, 33))
    assert "virtual input request of operator1 refused" in w401.logs.text("system")


async def test_viewer_may_not_use_virtual_inputs(w401: Device) -> None:
    async with client_as(w401, "viewer") as viewer:
        r = await activate(viewer, port="1")
        assert r.status_code == 403
    assert state(w401, 1) == "0"


async def test_schema_versions(operator: httpx.AsyncClient) -> None:
    root = parse(await operator.get(BASE + "getschemaversions.cgi"))
    versions = root.findall("v:Success/v:GetSchemaVersionsSuccess/v:SchemaVersion", namespaces=NS)
    assert [(v.findtext("v:MajorVersion", namespaces=NS), v.findtext("v:MinorVersion", namespaces=NS))
            for v in versions] == [("1", "1")]
