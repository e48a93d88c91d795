"""The W401 manual's three examples end to end, driven only through the public API (SOAP at
/vapix/services and param.cgi) and the simulated hardware; and the `axis` client library
listing the event instances of a live W401."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, CONFORMANCE_HARNESS, create_admin_live, eventually, start_live
from tests.peers.servers import (
    NS,
    PORT_TOPIC,
    LoopClock,
    add_action,
    add_recipient,
    add_rule,
    call,
    item_filter,
    param_update,
    run_recipient_test,
    settle,
    smtp_server,
)
from vigil.device import Device
from vigil.hal.io import IO_HARDWARE

AXIS_VENV_PYTHON = Path("/tmp/vigil-axis-check-venv/bin/python")
AXIS_CHECK = CONFORMANCE_HARNESS.parent / "axis_check.py"


def io(device: Device):
    return device.hardware[IO_HARDWARE]


async def test_activate_a_lamp_when_the_window_is_opened(w401: Device, admin401: httpx.AsyncClient):
    # System > Accessories: port 1 "Window sensor", input, normal state closed circuit;
    # port 2 "Lamp", output, normal state open circuit.
    await param_update(admin401, **{"IOPort.I0.Input.Name": "Window sensor", "IOPort.I0.Direction": "input",
                                    "IOPort.I0.Input.Trig": "open",  # active when the loop opens
                                    "IOPort.I1.Direction": "output", "IOPort.I1.Output.Name": "Lamp",
                                    "IOPort.I1.Output.Active": "closed"})
    io(w401).set_input(0, "closed")  # the window is shut
    # Rule "Window sensor": digital input as trigger, "Toggle I/O while the rule is active", Lamp, Active.
    action = await add_action(admin401, "com.axis.action.unlimited.io.toggle", {"port": "1", "state": "high"},
                              "Lamp on")
    await add_rule(admin401, "Window sensor", action, start=(PORT_TOPIC, item_filter(port="1", state="1")))
    await settle()
    assert io(w401).output(1) == "open", "the lamp must be off while the window is shut"

    io(w401).set_input(0, "open")  # the window is opened
    await eventually(lambda: io(w401).output(1) == "closed", what="the lamp to light")
    await settle()
    assert io(w401).output(1) == "closed", "the lamp stays lit while the window is open"

    io(w401).set_input(0, "closed")
    await eventually(lambda: io(w401).output(1) == "open", what="the lamp to go off")

    # The rule reads back as it was written.
    rules = await call(admin401, "<aa:GetActionRules/>")
    rule = rules.find("aa:ActionRules/aa:ActionRule", NS)
    assert rule.findtext("aa:Name", namespaces=NS) == "Window sensor"
    assert rule.findtext("aa:StartEvent/wsnt:TopicExpression", namespaces=NS) == PORT_TOPIC
    assert rule.findtext("aa:StartEvent/wsnt:MessageContent", namespaces=NS) == item_filter(port="1", state="1")
    assert rule.findtext("aa:PrimaryAction", namespaces=NS) == str(action)


async def test_open_a_lock_when_a_button_is_pressed(w401: Device, admin401: httpx.AsyncClient):
    # Port 1 "Button", input, normal open circuit; port 9 (the relay, index 8) "Lock", normal open.
    await param_update(admin401, **{"IOPort.I0.Input.Name": "Button", "IOPort.I0.Input.Trig": "closed",
                                    "IOPort.I8.Output.Name": "Lock", "IOPort.I8.Output.Active": "closed"})
    # Rule "Open lock": digital input is active as trigger, "Toggle I/O once", Lock, Active, 10 s.
    action = await add_action(admin401, "com.axis.action.fixed.io.toggle",
                              {"port": "8", "state": "high", "duration": "10"}, "Open lock")
    await add_rule(admin401, "Open lock", action, start=(PORT_TOPIC, item_filter(port="1", state="1")))

    configs = await call(admin401, "<aa:GetActionConfigurations/>")
    stored = {p.get("Name"): p.get("Value") for p in configs.iterfind(
        "aa:ActionConfigurations/aa:ActionConfiguration/aa:Parameters/aa:Parameter", NS)}
    assert stored == {"port": "8", "state": "high", "duration": "10"}

    loop_clock = LoopClock()
    try:
        assert io(w401).output(8) == "open"
        io(w401).set_input(0, "closed")  # the button is pressed...
        await eventually(lambda: io(w401).output(8) == "closed", what="the lock to open")
        io(w401).set_input(0, "open")  # ...and released at once: the action runs its full time
        await loop_clock.advance(9.5)
        assert io(w401).output(8) == "closed", "the lock stays open for the configured 10 s"
        await loop_clock.advance(1.0)
        await eventually(lambda: io(w401).output(8) == "open", timeout=1, what="the lock to close after 10 s")
    finally:
        loop_clock.close()


async def test_detect_tampering_with_input_signal(w401: Device, admin401: httpx.AsyncClient):
    await param_update(admin401, **{"IOPort.I0.Input.Supervised": "yes"})
    with smtp_server() as mail:
        # System > Events > Recipients: an email recipient, tested, then saved.
        recipient = await add_recipient(admin401, "com.axis.recipient.smtp", {
            "email_to": "guard@example.com", "email_from": "w401@example.com", "host": "127.0.0.1",
            "port": str(mail.port), "login": "", "password": "", "pop_host": "", "pop_port": "", "pop_login": "",
            "pop_password": "", "qos": "0", "encryption": "none", "validate_server_cert": "0"}, "Guard mail")
        r = await run_recipient_test(admin401, recipient)
        assert r.status_code == 200, r.text
        assert len(mail.messages) == 1 and mail.messages[0][2]["Subject"] == "Vigil test message"

        # Rule: condition "Supervised input tampering is active" on port 1; send notification to email.
        action = await add_action(admin401, "com.axis.action.fixed.notification.smtp", {
            "recipient_id": str(recipient), "subject": "Tampering on input {source.port}",
            "message": "The supervised input {source.port} reads {data.state} at {time}."}, "Tamper mail")
        await add_rule(admin401, "Tampering", action,
                       conditions=(("tns1:Device/tnsaxis:IO/SupervisedPort", item_filter(port="1", tampered="1")),))
        await settle()
        assert len(mail.messages) == 1, "no mail while the loop is intact"

        io(w401).set_input(0, "cut")  # someone cuts the wire
        await eventually(lambda: len(mail.messages) == 2, what="the tamper mail")
        sender_address, to, message = mail.messages[1]
        assert sender_address == "w401@example.com" and to == ["guard@example.com"]
        assert message["Subject"] == "Tampering on input 1"
        assert re.search(r"input 1 reads cut at \d{4}-\d\d-\d\dT", message.get_payload(decode=True).decode())
        await w401.rules.drain()


@pytest.mark.skipif(not AXIS_VENV_PYTHON.exists(), reason="the axis conformance venv is not installed "
                                                          "(run /work/shared/conformance/run-axis-check once)")
def test_axis_library_lists_event_instances_of_a_live_w401(tmp_path: Path):
    server = start_live(tmp_path / "live", "w401")
    try:
        create_admin_live(server)
        result = subprocess.run([str(AXIS_VENV_PYTHON), str(AXIS_CHECK), "127.0.0.1", "--port", str(server.http_port),
                                 "--user", ADMIN[0], "--password", ADMIN[1]],
                                capture_output=True, text=True, timeout=120)
        lines = result.stdout.splitlines()
        assert "PASS event_instances" in lines, result.stdout + result.stderr
    finally:
        server.stop()
