"""io/portmanagement.cgi on a W401 (I0..I7 configurable, supervisable; I8 a relay), with the
simulated hardware and the events each change puts on the bus."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import asgi_client, client_as, make_device
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.hal.io import IO_HARDWARE

URL = "/axis-cgi/io/portmanagement.cgi"
PORT = "tns1:Device/tnsaxis:IO/Port"
DIGITAL_INPUT = "tns1:Device/Trigger/DigitalInput"
RELAY = "tns1:Device/Trigger/Relay"
SUPERVISED = "tns1:Device/tnsaxis:IO/SupervisedPort"


async def call(client: httpx.AsyncClient, method: str, params: Any = None, version: str | None = "1.0",
               context: str | None = "ctx") -> dict[str, Any]:
    body: dict[str, Any] = {"method": method}
    if version is not None:
        body["apiVersion"] = version
    if context is not None:
        body["context"] = context
    if params is not None:
        body["params"] = params
    r = await client.post(URL, json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


async def ports(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    reply = await call(client, "getPorts")
    return {p["port"]: p for p in reply["data"]["items"]}


def io_params(dev: Device) -> dict[str, str]:
    return {n: dev.params.get(n) for n in dev.params.names() if n.startswith("IOPort.")}


def error_code(reply: dict[str, Any]) -> int:
    assert "data" not in reply, reply
    return reply["error"]["code"]


# -- getPorts / getSupportedVersions ------------------------------------------------------
async def test_get_ports_lists_every_port_in_the_documented_shape(viewer: httpx.AsyncClient) -> None:
    reply = await call(viewer, "getPorts")
    assert reply["apiVersion"] == "1.0" and reply["context"] == "ctx" and reply["method"] == "getPorts"
    data = reply["data"]
    assert data["numberOfPorts"] == 9 == len(data["items"])
    first, relay = data["items"][0], data["items"][8]
    assert first == {"port": "0", "state": "open", "configurable": True, "usage": "", "direction": "input",
                     "name": "I/O 1", "normalState": "open"}
    assert relay == {"port": "8", "state": "open", "configurable": False, "usage": "Relay", "direction": "output",
                     "name": "Relay", "normalState": "open"}
    assert all(isinstance(p["port"], str) and "readonly" not in p for p in data["items"])


async def test_get_ports_follows_the_hardware(w401: Device, viewer: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    hw.set_input(2, "closed")
    assert (await ports(viewer))["2"]["state"] == "closed"
    # Unsupervised, a cut loop is just open.
    hw.set_input(2, "cut")
    assert (await ports(viewer))["2"]["state"] == "open"


async def test_supported_versions_and_discovery(admin: httpx.AsyncClient) -> None:
    reply = await call(admin, "getSupportedVersions", version=None)
    assert reply["data"] == {"apiVersions": ["1.0"]}
    assert reply["method"] == "getSupportedVersions" and reply["context"] == "ctx" and "apiVersion" in reply
    r = await admin.post("/axis-cgi/apidiscovery.cgi", json={"apiVersion": "1.0", "method": "getApiList"})
    listed = {a["id"]: a["version"] for a in r.json()["data"]["apiList"]}
    assert listed["io-port-management"] == "1.0"


async def test_the_s3016_without_io_has_no_port_management(tmp_path: Path, clock: FakeClock) -> None:
    dev = make_device(tmp_path, clock, "s3016")
    try:
        if dev.profile.hardware.io_ports:
            pytest.skip("this profile has I/O")
        async with client_as(dev, "admin") as c:
            assert (await c.post(URL, json={"apiVersion": "1.0", "method": "getPorts"})).status_code == 404
            assert (await c.get("/axis-cgi/io/port.cgi?check=1")).status_code == 404
    finally:
        dev.close()


# -- setPorts: state ----------------------------------------------------------------------
async def test_set_relay_state_as_the_axis_library_sends_it(w401: Device, operator: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    # The `axis` library puts the list of ports directly in params.
    reply = await call(operator, "setPorts", [{"port": "8", "state": "closed"}], context="Axis library")
    assert reply["data"] == {"ports": ["8"]} and reply["context"] == "Axis library"
    assert hw.output(8) == "closed"
    assert w401.events.state(PORT, {"port": "9"}) == {"state": "1"}
    assert w401.events.state(RELAY, {"RelayToken": "8"}) == {"LogicalState": "active"}
    assert (await ports(operator))["8"]["state"] == "closed"
    # The documented form: params.ports.
    reply = await call(operator, "setPorts", {"ports": [{"port": "8", "state": "open"}]})
    assert reply["data"] == {"ports": ["8"]}
    assert hw.output(8) == "open"
    assert w401.events.state(PORT, {"port": "9"}) == {"state": "0"}
    assert w401.events.state(RELAY, {"RelayToken": "8"}) == {"LogicalState": "inactive"}


async def test_a_port_without_properties_is_not_listed(operator: httpx.AsyncClient) -> None:
    reply = await call(operator, "setPorts", {"ports": [{"port": "8"}, {"port": "0"}]})
    assert reply["data"] == {"ports": []}


async def test_setting_an_input_state_fails_and_changes_nothing(w401: Device, admin: httpx.AsyncClient) -> None:
    before = io_params(w401)
    reply = await call(admin, "setPorts", {"ports": [{"port": "0", "state": "closed"}]})
    assert reply["error"] == {
        "code": 2104, "message": reply["error"]["message"], "details": {"port": "0", "propertyName": "state"}}
    assert "input" in reply["error"]["message"]
    assert w401.hardware[IO_HARDWARE].output(0) == "open"
    assert io_params(w401) == before


# -- setPorts: configuration and roles ----------------------------------------------------
async def test_admin_configures_a_port_and_its_events_follow(w401: Device, admin: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    reply = await call(admin, "setPorts", {"ports": [
        {"port": "1", "direction": "output", "name": "Door", "usage": "Door", "normalState": "open",
         "state": "closed"}]})
    assert reply["data"] == {"ports": ["1"]}
    p = w401.params.get
    assert p("IOPort.I1.Direction") == "output" and p("IOPort.I1.Output.Name") == "Door"
    assert p("IOPort.I1.Usage") == "Door" and p("IOPort.I1.Output.Active") == "closed"
    assert p("IOPort.I1.Input.Name") == "I/O 2"  # the input's name is kept for later
    assert hw.output(1) == "closed"
    got = (await ports(admin))["1"]
    assert got == {"port": "1", "state": "closed", "configurable": True, "usage": "Door", "direction": "output",
                   "name": "Door", "normalState": "open"}
    assert w401.events.state(PORT, {"port": "2"}) == {"state": "1"}
    assert w401.events.state(RELAY, {"RelayToken": "1"}) == {"LogicalState": "active"}
    assert w401.events.state(DIGITAL_INPUT, {"InputToken": "1"}) is None  # no longer an input


async def test_input_normal_state_and_digital_input_events(w401: Device, admin: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    hw.set_input(0, "closed")  # normal state open: closing the loop activates the input
    assert w401.events.state(PORT, {"port": "1"}) == {"state": "1"}
    assert w401.events.state(DIGITAL_INPUT, {"InputToken": "0"}) == {"LogicalState": "true"}
    reply = await call(admin, "setPorts", {"ports": [{"port": "0", "normalState": "closed"}]})
    assert reply["data"] == {"ports": ["0"]}
    assert w401.params.get("IOPort.I0.Input.Trig") == "open"
    assert w401.events.state(PORT, {"port": "1"}) == {"state": "0"}
    assert w401.events.state(DIGITAL_INPUT, {"InputToken": "0"}) == {"LogicalState": "false"}
    hw.set_input(0, "open")
    assert w401.events.state(DIGITAL_INPUT, {"InputToken": "0"}) == {"LogicalState": "true"}


async def test_output_normal_state_change_keeps_the_logical_state(w401: Device, admin: httpx.AsyncClient) -> None:
    """The page's table: old (normal open, state closed) -> new (normal closed, state open)."""
    hw = w401.hardware[IO_HARDWARE]
    await call(admin, "setPorts", {"ports": [{"port": "8", "state": "closed"}]})
    seen: list[dict[str, str]] = []
    w401.events.subscribe(lambda e: seen.append(dict(e.data)) if e.topic == PORT and e.source["port"] == "9"
                          else None)
    reply = await call(admin, "setPorts", {"ports": [{"port": "8", "normalState": "closed"}]})
    assert reply["data"] == {"ports": ["8"]}
    assert hw.output(8) == "open"
    got = (await ports(admin))["8"]
    assert (got["state"], got["normalState"]) == ("open", "closed")
    assert w401.events.state(PORT, {"port": "9"}) == {"state": "1"}
    assert seen == []  # no glitch: the port stayed active throughout


async def test_operator_may_set_state_but_not_configuration(w401: Device, operator: httpx.AsyncClient) -> None:
    before = io_params(w401)
    reply = await call(operator, "setPorts", {"ports": [{"port": "0", "direction": "output"},
                                                        {"port": "8", "state": "closed", "name": "Siren"}]})
    err = reply["error"]
    assert err["code"] == 2105 and err["details"] == {"port": "0", "propertyName": "direction"}
    assert [(e["code"], e["details"]) for e in err["errors"]] == [(2105, {"port": "8", "propertyName": "name"})]
    assert io_params(w401) == before  # no configuration changed...
    assert w401.hardware[IO_HARDWARE].output(8) == "closed"  # ...but the state, which an operator may set, did
    # Echoing unchanged values back is not a change, so an operator may send them.
    port8 = (await ports(operator))["8"]
    reply = await call(operator, "setPorts", {"ports": [{**port8, "state": "open"}]})
    assert reply["data"] == {"ports": ["8"]}
    assert w401.hardware[IO_HARDWARE].output(8) == "open"


async def test_viewer_cannot_set_ports_or_sequences(w401: Device, viewer: httpx.AsyncClient) -> None:
    r = await viewer.post(URL, json={"apiVersion": "1.0", "method": "setPorts",
                                     "params": {"ports": [{"port": "8", "state": "closed"}]}})
    assert r.status_code == 403
    r = await viewer.post(URL, json={"apiVersion": "1.0", "method": "setStateSequence",
                                     "params": {"port": "8", "sequence": [{"state": "closed", "time": 0}]}})
    assert r.status_code == 403
    assert w401.hardware[IO_HARDWARE].output(8) == "open"
    async with asgi_client(w401) as anonymous:
        assert (await anonymous.post(URL, json={"apiVersion": "1.0", "method": "getPorts"})).status_code == 401


async def test_direction_of_a_non_configurable_port_is_refused(w401: Device, admin: httpx.AsyncClient) -> None:
    before = io_params(w401)
    reply = await call(admin, "setPorts", {"ports": [{"port": "8", "direction": "input"}]})
    assert error_code(reply) == 2104
    assert reply["error"]["details"] == {"port": "8", "propertyName": "direction"}
    assert "not configurable" in reply["error"]["message"]
    assert io_params(w401) == before
    # The same direction is no change and is accepted.
    assert (await call(admin, "setPorts", {"ports": [{"port": "8", "direction": "output"}]}))["data"] == {
        "ports": ["8"]}


async def test_partial_failure_applies_the_rest(w401: Device, admin: httpx.AsyncClient) -> None:
    reply = await call(admin, "setPorts", {"ports": [
        {"port": "0", "direction": "sideways", "name": "Front door"},
        {"port": "8", "state": "closed"},
        {"port": "2", "normalState": "ajar", "usage": "Window"}]})
    err = reply["error"]
    assert err["code"] == 2104 and err["details"] == {"port": "0", "propertyName": "direction"}
    assert [e["details"] for e in err["errors"]] == [{"port": "2", "propertyName": "normalState"}]
    p = w401.params.get
    assert p("IOPort.I0.Direction") == "input" and p("IOPort.I0.Input.Name") == "Front door"
    assert p("IOPort.I2.Usage") == "Window" and p("IOPort.I2.Input.Trig") == "closed"
    assert w401.hardware[IO_HARDWARE].output(8) == "closed"


@pytest.mark.parametrize("params, code", [
    (None, 2103),
    ({}, 2103),
    ({"ports": "8"}, 2104),
    ({"ports": [{"state": "closed"}]}, 2103),
    ({"ports": [{"port": "8", "state": "closed"}, {"port": "99", "state": "closed"}]}, 2104),
    ({"ports": [{"port": "8", "state": "closed"}, {"port": "-1", "state": "closed"}]}, 2104),
    ({"ports": [{"port": "8", "state": "closed"}, "8"]}, 2104),
    ({"ports": [{"port": True, "state": "closed"}]}, 2104),
    ({"ports": [{"port": "08", "state": "closed"}]}, 2104),
    ({"ports": [{"port": " 8", "state": "closed"}]}, 2104),
    ("ports", 2104),
])
async def test_generic_set_ports_errors_fail_the_whole_request(w401: Device, admin: httpx.AsyncClient,
                                                               params: Any, code: int) -> None:
    before = io_params(w401)
    reply = await call(admin, "setPorts", params)
    assert error_code(reply) == code, reply
    assert reply["method"] == "setPorts" and reply["context"] == "ctx"
    assert w401.hardware[IO_HARDWARE].output(8) == "open"
    assert io_params(w401) == before


async def test_unknown_port_names_it(admin: httpx.AsyncClient) -> None:
    reply = await call(admin, "setPorts", {"ports": [{"port": "42", "name": "x"}]})
    assert reply["error"]["details"] == {"port": "42", "propertyName": "port"}
    assert "there is no port" in reply["error"]["message"]


async def test_bad_property_values(w401: Device, admin: httpx.AsyncClient) -> None:
    before = io_params(w401)
    reply = await call(admin, "setPorts", {"ports": [{"port": "3", "name": 5, "state": "on", "colour": "red",
                                                      "configurable": False, "usage": "x" * 65}]})
    err = reply["error"]
    props = [err["details"]["propertyName"]] + [e["details"]["propertyName"] for e in err["errors"]]
    assert sorted(props) == ["colour", "configurable", "name", "state", "usage"]
    assert all(c == 2104 for c in [err["code"]] + [e["code"] for e in err["errors"]])
    assert io_params(w401) == before


# -- setStateSequence ---------------------------------------------------------------------
async def test_state_sequence_runs_once_and_the_last_state_stays(w401: Device, operator: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    seen: list[str] = []
    w401.events.subscribe(lambda e: seen.append(e.data["state"]) if e.topic == PORT and e.source["port"] == "9"
                          else None)
    reply = await call(operator, "setStateSequence", {"port": "8", "sequence": [
        {"state": "closed", "time": 30}, {"state": "open", "time": 30}, {"state": "closed", "time": 0}]})
    assert reply["data"] == {"port": "8"}
    # A second sequence while the first runs is refused.
    again = await call(operator, "setStateSequence", {"port": "8", "sequence": [{"state": "open", "time": 0}]})
    assert error_code(again) == 2200
    for _ in range(100):
        await asyncio.sleep(0.01)
        if len(seen) == 3:
            break
    assert seen == ["1", "0", "1"]
    assert hw.output(8) == "closed"
    assert (await call(operator, "setStateSequence", {"port": "8", "sequence": [{"state": "open", "time": 0}]}
                       ))["data"] == {"port": "8"}
    await asyncio.sleep(0.01)
    assert hw.output(8) == "open"


async def test_changing_normal_state_cancels_a_sequence(w401: Device, admin: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    await call(admin, "setStateSequence", {"port": "8", "sequence": [
        {"state": "closed", "time": 40}, {"state": "open", "time": 40}, {"state": "closed", "time": 0}]})
    await asyncio.sleep(0.005)
    assert hw.output(8) == "closed"
    await call(admin, "setPorts", {"ports": [{"port": "8", "normalState": "closed"}]})
    assert hw.output(8) == "open"  # still active, with the new normal state
    await asyncio.sleep(0.15)
    assert hw.output(8) == "open"  # the rest of the sequence (ending closed) never ran
    assert w401.events.state(PORT, {"port": "9"}) == {"state": "1"}
    # A new sequence may start at once.
    reply = await call(admin, "setStateSequence", {"port": "8", "sequence": [{"state": "closed", "time": 0}]})
    assert reply["data"] == {"port": "8"}


@pytest.mark.parametrize("params, code", [
    (None, 2103),
    ({"port": "8"}, 2103),
    ({"sequence": [{"state": "open", "time": 0}]}, 2103),
    ({"port": "0", "sequence": [{"state": "open", "time": 0}]}, 2104),  # an input
    ({"port": "9", "sequence": [{"state": "open", "time": 0}]}, 2104),
    ({"port": "8", "sequence": []}, 2104),
    ({"port": "8", "sequence": "open"}, 2104),
    ({"port": "8", "sequence": [{"state": "open"}]}, 2103),
    ({"port": "8", "sequence": [{"state": "on", "time": 0}]}, 2104),
    ({"port": "8", "sequence": [{"state": "open", "time": -1}]}, 2104),
    ({"port": "8", "sequence": [{"state": "open", "time": 65536}]}, 2104),
    ({"port": "8", "sequence": [{"state": "open", "time": "10"}]}, 2104),
    ({"port": "8", "sequence": [{"state": "closed", "time": 0}, 7]}, 2104),
])
async def test_bad_sequences_change_nothing(w401: Device, operator: httpx.AsyncClient, params: Any,
                                            code: int) -> None:
    reply = await call(operator, "setStateSequence", params)
    assert error_code(reply) == code, reply
    await asyncio.sleep(0.01)
    assert w401.hardware[IO_HARDWARE].output(8) == "open"
    assert w401.events.state(PORT, {"port": "9"}) == {"state": "0"}


# -- the request envelope -----------------------------------------------------------------
async def test_malformed_requests(admin: httpx.AsyncClient) -> None:
    async def raw(content: bytes) -> dict[str, Any]:
        r = await admin.post(URL, content=content, headers={"Content-Type": "application/json"})
        assert r.status_code == 200
        return r.json()

    assert error_code(await raw(b"{not json")) == 2101
    assert error_code(await raw(b"[1, 2]")) == 2101
    assert error_code(await raw(b"\xff\xfe")) == 2101
    assert error_code(await raw(b"[" * 100_000 + b"]" * 100_000)) == 2101
    assert error_code(await raw(b'{"apiVersion": "1.0"}')) == 2103
    reply = await raw(b'{"method": "getPorts", "context": "c"}')
    assert error_code(reply) == 2103 and reply["context"] == "c" and reply["method"] == "getPorts"
    assert error_code(await raw(b'{"apiVersion": "2.0", "method": "getPorts"}')) == 2100
    assert error_code(await raw(b'{"apiVersion": "1.9", "method": "getPorts"}')) == 2100
    assert error_code(await raw(b'{"apiVersion": 1, "method": "getPorts"}')) == 2100
    reply = await raw(b'{"apiVersion": "1.0", "method": "rebootPorts"}')
    assert error_code(reply) == 2102 and reply["method"] == "rebootPorts"
    assert error_code(await raw(b'{"apiVersion": "1.0", "method": 5}')) == 2104
    assert error_code(await raw(b'{"apiVersion": "1.0", "method": "getPorts", "context": 5}')) == 2104
    r = await admin.get(URL)
    assert r.status_code == 200 and r.json()["error"]["code"] == 2101


async def test_a_state_set_during_a_sequence_is_overridden_by_its_next_step(w401: Device,
                                                                           operator: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    await call(operator, "setStateSequence", {"port": "8", "sequence": [
        {"state": "closed", "time": 40}, {"state": "closed", "time": 0}]})
    await asyncio.sleep(0.005)
    assert (await call(operator, "setPorts", {"ports": [{"port": "8", "state": "open"}]}))["data"] == {
        "ports": ["8"]}
    assert hw.output(8) == "open"
    await asyncio.sleep(0.08)
    assert hw.output(8) == "closed"  # the page: the sequence goes on and overrides the state
