"""The legacy io/port.cgi (ports numbered from 1) and supervised inputs on a W401."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import asgi_client, eventually
from vigil.device import Device
from vigil.hal.io import IO_HARDWARE

URL = "/axis-cgi/io/port.cgi"
PORT = "tns1:Device/tnsaxis:IO/Port"
DIGITAL_INPUT = "tns1:Device/Trigger/DigitalInput"
RELAY = "tns1:Device/Trigger/Relay"
SUPERVISED = "tns1:Device/tnsaxis:IO/SupervisedPort"


def relay_states(dev: Device) -> list[str]:
    seen: list[str] = []
    dev.events.subscribe(lambda e: seen.append(e.data["state"]) if e.topic == PORT and e.source["port"] == "9"
                         else None)
    return seen


# -- checks -------------------------------------------------------------------------------
async def test_check_checkactive_checkdirection(w401: Device, viewer: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    hw.set_input(1, "closed")
    r = await viewer.get(URL, params={"check": "1,2,9"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.text == "port1=0\nport2=1\nport9=0\n"
    r = await viewer.get(URL, params={"checkactive": "1,2,9"})
    assert r.text == "port1=inactive\nport2=active\nport9=inactive\n"
    r = await viewer.get(URL, params={"checkdirection": "1,9"})
    assert r.text == "port1=input\nport9=output\n"
    # checkactive follows the normal state (Input.Trig): a trigger on open makes port 1 active.
    w401.params.set_internal({"IOPort.I0.Input.Trig": "open"})
    assert (await viewer.get(URL, params={"checkactive": "1"})).text == "port1=active\n"


async def test_anonymous_is_challenged(w401: Device) -> None:
    async with asgi_client(w401) as anonymous:
        assert (await anonymous.get(URL, params={"check": "1"})).status_code == 401


# -- actions ------------------------------------------------------------------------------
async def test_activate_and_deactivate_the_relay(w401: Device, operator: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    r = await operator.get(URL, params={"action": "9:/"})
    assert r.status_code == 200 and r.text == ""  # the page: the body is empty for action
    assert hw.output(8) == "closed"
    assert w401.events.state(PORT, {"port": "9"}) == {"state": "1"}
    assert w401.events.state(RELAY, {"RelayToken": "8"}) == {"LogicalState": "active"}
    assert (await operator.get(URL, params={"checkactive": "9"})).text == "port9=active\n"
    # The `axis` library's percent-encoded form.
    r = await operator.get(URL + "?action=9%3A%5C")
    assert r.status_code == 200
    assert hw.output(8) == "open"
    assert w401.events.state(RELAY, {"RelayToken": "8"}) == {"LogicalState": "inactive"}


async def test_active_follows_output_active_setting(w401: Device, operator: httpx.AsyncClient) -> None:
    w401.params.set_internal({"IOPort.I8.Output.Active": "open"})  # active = open circuit
    hw = w401.hardware[IO_HARDWARE]
    await operator.get(URL, params={"action": "9:/"})
    assert hw.output(8) == "open"
    await operator.get(URL, params={"action": "9:\\"})
    assert hw.output(8) == "closed"


async def test_a_pulse_returns_to_inactive(w401: Device, operator: httpx.AsyncClient) -> None:
    seen = relay_states(w401)
    r = await operator.get(URL, params={"action": "9:/30\\"})
    assert r.status_code == 200 and r.text == ""
    assert w401.hardware[IO_HARDWARE].output(8) == "closed"
    await eventually(lambda: seen == ["1", "0"])
    assert w401.hardware[IO_HARDWARE].output(8) == "open"


async def test_two_pulses(w401: Device, operator: httpx.AsyncClient) -> None:
    seen = relay_states(w401)
    await operator.get(URL + "?action=9%3A%2F20%5C20%2F20%5C")
    await eventually(lambda: seen == ["1", "0", "1", "0"])


async def test_a_new_action_ends_a_running_pulse(w401: Device, operator: httpx.AsyncClient) -> None:
    await operator.get(URL, params={"action": "9:/40\\"})
    await operator.get(URL, params={"action": "9:/"})
    await asyncio.sleep(0.08)
    assert w401.hardware[IO_HARDWARE].output(8) == "closed"  # the pulse's return to inactive was cancelled


async def test_omitted_port_is_the_first_output(w401: Device, operator: httpx.AsyncClient) -> None:
    await operator.get(URL, params={"action": ":/"})
    assert w401.hardware[IO_HARDWARE].output(8) == "closed"
    w401.params.set_internal({"IOPort.I4.Direction": "output"})
    await operator.get(URL, params={"action": ":/"})
    assert w401.hardware[IO_HARDWARE].output(4) == "closed"


async def test_a_configured_output_port(w401: Device, operator: httpx.AsyncClient) -> None:
    w401.params.set_internal({"IOPort.I2.Direction": "output"})
    await operator.get(URL, params={"action": "3:/"})
    assert w401.hardware[IO_HARDWARE].output(2) == "closed"
    assert w401.events.state(PORT, {"port": "3"}) == {"state": "1"}
    assert w401.events.state(RELAY, {"RelayToken": "2"}) == {"LogicalState": "active"}


async def test_viewer_cannot_set_outputs(w401: Device, viewer: httpx.AsyncClient) -> None:
    r = await viewer.get(URL, params={"action": "9:/"})
    assert r.status_code == 403
    r = await viewer.get(URL, params={"check": "9", "action": "9:/"})
    assert r.status_code == 403
    assert w401.hardware[IO_HARDWARE].output(8) == "open"
    assert w401.events.state(PORT, {"port": "9"}) == {"state": "0"}


@pytest.mark.parametrize("query", [
    {"action": "abc"},
    {"action": "99:/"},
    {"action": "0:/"},
    {"action": "1:/"},  # port 1 is an input
    {"action": "9:/300"},  # a wait must be followed by an action
    {"action": "9/"},
    {"action": "9:"},
    {"action": "9:x"},
    {"action": ""},
    {"action": "9:/999999999\\"},
    {"check": "0"},
    {"check": "10"},
    {"check": "a,b"},
    {"checkactive": ""},
    {"frobnicate": "1"},
    {"monitor": "9"},
    {},
])
async def test_garbage_is_refused_and_changes_nothing(w401: Device, operator: httpx.AsyncClient,
                                                      query: dict[str, str]) -> None:
    r = await operator.get(URL, params={**query})
    assert r.status_code == 200
    assert r.text.startswith("# Error: ") and r.text.endswith("\n"), r.text
    await asyncio.sleep(0.01)
    assert [w401.hardware[IO_HARDWARE].output(i) for i in range(9)] == ["open"] * 9
    assert w401.events.state(PORT, {"port": "9"}) == {"state": "0"}


HUGE = "9" * 5000  # more digits than int() converts


@pytest.mark.parametrize("key", ["check", "checkactive", "checkdirection"])
@pytest.mark.parametrize("value", [HUGE, "1," + HUGE, "\u0661", "1\r\nport2=1"])
async def test_unreadable_port_numbers_get_a_port_cgi_error(w401: Device, viewer: httpx.AsyncClient,
                                                            key: str, value: str) -> None:
    r = await viewer.get(URL, params={key: value})
    assert r.status_code == 200
    assert r.text.startswith(f"# Error: {key}=") and "ports are numbers from 1 to 9" in r.text, r.text[:200]
    assert r.text.count("\n") == 1 and len(r.text) < 300  # one line, the value cut short
    assert "Internal error" not in r.text
    assert f"port.cgi refused for viewer1: {key}=" in w401.logs.text("system")


async def test_a_bad_argument_stops_the_whole_request(w401: Device, operator: httpx.AsyncClient) -> None:
    r = await operator.get(URL + "?action=9%3A%2F&check=77")
    assert r.text.startswith("# Error: ") and "77" in r.text
    assert w401.hardware[IO_HARDWARE].output(8) == "open"


# -- supervised inputs --------------------------------------------------------------------
async def test_supervised_input_reports_tampering(w401: Device, viewer: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    hw.set_input(0, "cut")
    assert w401.events.state(SUPERVISED, {"port": "1"}) is None  # not supervised: cut reads open
    assert w401.events.state(PORT, {"port": "1"}) == {"state": "0"}
    w401.params.set_internal({"IOPort.I0.Input.Supervised": "yes"})
    assert w401.events.state(SUPERVISED, {"port": "1"}) == {"state": "cut", "tampered": "1"}
    assert (await viewer.get(URL, params={"check": "1", "checkactive": "1"})).text == "port1=0\nport1=inactive\n"
    hw.set_input(0, "short")
    assert w401.events.state(SUPERVISED, {"port": "1"}) == {"state": "short", "tampered": "1"}
    assert w401.events.state(PORT, {"port": "1"}) == {"state": "0"}  # tampered is neither active nor inactive
    r = await viewer.post("/axis-cgi/io/portmanagement.cgi", json={"apiVersion": "1.0", "method": "getPorts"})
    assert r.json()["data"]["items"][0]["state"] == "closed"
    hw.set_input(0, "closed")
    assert w401.events.state(SUPERVISED, {"port": "1"}) == {"state": "closed", "tampered": "0"}
    assert w401.events.state(PORT, {"port": "1"}) == {"state": "1"}
    assert w401.events.state(DIGITAL_INPUT, {"InputToken": "0"}) == {"LogicalState": "true"}
    # Turning supervision off removes the SupervisedPort property.
    w401.params.set_internal({"IOPort.I0.Input.Supervised": "no"})
    assert w401.events.state(SUPERVISED, {"port": "1"}) is None
