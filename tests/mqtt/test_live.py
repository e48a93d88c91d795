"""MQTT with real `vigil run` processes and a real mosquitto: the Last Will after a kill -9,
the W401 manual's acceptance scenario with two devices, and the `axis` client library's
conformance checks for MQTT."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, CONFORMANCE_HARNESS, LiveDevice, create_admin_live, eventually, start_live
from tests.peers.mosquitto import PASSWORD, USER, Broker, needs_mosquitto, peer
from vigil.boot import build_device
from vigil.core.rules import Condition, Rule
from vigil.features.mqtt import model
from vigil.features.mqtt.service import ACTION, MQTT_SERVICE, STATEFUL

pytestmark = needs_mosquitto
CLIENT = "/axis-cgi/mqtt/client.cgi"
BRIDGE = "/axis-cgi/mqtt/event.cgi"
CONFORMANCE = CONFORMANCE_HARNESS
PORT_TOPIC = "tns1:Device/tnsaxis:IO/Port"


def api(server: LiveDevice, path: str, method: str, params: dict | None = None,
        version: str = "1.0") -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": version, "method": method}
    if params is not None:
        body["params"] = params
    r = httpx.post(server.http + path, json=body, auth=httpx.DigestAuth(*ADMIN), timeout=10)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert "error" not in reply, reply
    return reply["data"]


def broker_params(broker: Broker, client_id: str) -> dict[str, Any]:
    return {"server": {"protocol": "tcp", "host": "127.0.0.1", "port": broker.tcp}, "username": USER,
            "password": PASSWORD, "clientId": client_id, "keepAliveInterval": 10, "connectTimeout": 5,
            "cleanSession": True, "autoReconnect": True,
            "lastWillTestament": {"useDefault": True}, "connectMessage": {"useDefault": True}}


async def wait_connected(server: LiveDevice, timeout: float = 10.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        status = await asyncio.to_thread(api, server, CLIENT, "getClientStatus")
        if status["status"]["connectionStatus"] == "connected":
            return status
        if time.monotonic() > end:
            raise AssertionError(f"not connected: {status['status']}")
        await asyncio.sleep(0.1)


def sim_io(server: LiveDevice) -> dict[int, dict[str, Any]]:
    r = httpx.get(server.http + "/vigil/sim/io", auth=httpx.DigestAuth(*ADMIN), timeout=10)
    assert r.status_code == 200, r.text
    return {p["port"]: p for p in r.json()["ports"]}


async def test_kill_9_delivers_the_last_will(tmp_path: Path, broker: Broker) -> None:
    server = start_live(tmp_path / "dev")
    try:
        create_admin_live(server)
        api(server, CLIENT, "configureClient", broker_params(broker, "lwt-test"))
        api(server, CLIENT, "activateClient", {})
        status = await wait_connected(server)
        topic = status["config"]["deviceTopicPrefix"] + "/event/connection"
        serial = status["config"]["deviceTopicPrefix"].split("/")[-1]
        async with peer(broker, topic) as p:
            hello = await p.json(topic)
            assert hello["connected"] is True and hello["serialNumber"] == serial
            server.process.kill()  # kill -9: no goodbye, the broker speaks for the device
            server.process.wait(5)
            will = await p.next(topic, timeout=5)
        body = json.loads(will.payload)
        assert body == {"serialNumber": serial, "connected": False, "description": "Connection Lost",
                        "timestamp": None}
        async with peer(broker, topic) as late:  # and it is retained
            again = await late.next(topic)
            assert again.retain and json.loads(again.payload)["connected"] is False
        # started again, the device is still active and reconnects by itself
        server = start_live(tmp_path / "dev")
        status = await wait_connected(server)
        assert status["status"]["state"] == "active"
    finally:
        server.stop()


def seed_camera(data: Path, broker: Broker) -> None:
    """Device A (the manual's camera): MQTT client set up, and two rules: Motion On / Off."""
    device = build_device("w401", data)
    try:
        service = device.features[MQTT_SERVICE]
        params = broker_params(broker, "Camera 1")
        service.configure_client(model.parse_client(params, device.identity.serial), PASSWORD, "test")
        service.set_active(True, "test")
        motion = Condition(PORT_TOPIC, (("port", "1"),))
        on = device.rules.add_action("Motion on", ACTION, {"Topic": "Motion", "Payload": "On", "QoS": "1"}, "t")
        off = device.rules.add_action("Motion off", ACTION, {"Topic": "Motion", "Payload": "Off", "QoS": "1"}, "t")
        device.rules.add_rule(Rule(0, "Motion detected", True, on.id, (motion,)), "t")
        device.rules.add_rule(Rule(0, "No motion", True, off.id, (Condition(motion.topic, motion.items, True),)),
                              "t")
    finally:
        device.close()


def seed_activation_kit(data: Path) -> None:
    """Device B (the W401): I/O 1 an output, and the rule MQTT > Stateful Motion = On ->
    Toggle I/O while the rule is active. Its MQTT client is set up over HTTP later."""
    device = build_device("w401", data)
    try:
        device.params.set_internal({"IOPort.I0.Direction": "output"})
        hold = device.rules.add_action("I/O 1", "com.axis.action.unlimited.io.toggle",
                                       {"port": "0", "state": "high"}, "t")
        device.rules.add_rule(Rule(0, "Motion detected", True, hold.id,
                                   (Condition(STATEFUL, (("mqtt-topic", "Motion"), ("mqtt-payload", "On"))),)),
                              "t")
    finally:
        device.close()


async def test_w401_activation_over_mqtt(tmp_path: Path, broker: Broker) -> None:
    """W401 manual: "Activate the Body Worn Activation Kit over MQTT when camera detects motion"."""
    seed_camera(tmp_path / "camera", broker)
    seed_activation_kit(tmp_path / "kit")
    server_list: list[LiveDevice] = []
    started = await asyncio.gather(asyncio.to_thread(start_live, tmp_path / "camera", "w401"),
                                   asyncio.to_thread(start_live, tmp_path / "kit", "w401"), return_exceptions=True)
    for server in started:
        if isinstance(server, LiveDevice):
            server_list.append(server)
    if len(server_list) < 2:
        for server in server_list:
            server.stop()
        raise next(s for s in started if isinstance(s, BaseException))
    camera, kit = started
    try:
        for server in (camera, kit):
            create_admin_live(server)
        api(kit, CLIENT, "configureClient", broker_params(broker, "Port 1"))
        api(kit, CLIENT, "activateClient", {})
        api(kit, BRIDGE, "configureMqttSubscription",
            {"mqttFilterList": [{"topicFilter": "Motion", "isStateData": True, "qos": 1}]}, "1.1")
        await wait_connected(camera)
        await wait_connected(kit)
        assert sim_io(kit)[0]["direction"] == "output" and not sim_io(kit)[0]["active"]
        async with peer(broker, "Motion") as p:
            # motion: the camera's input goes active -> "On" -> the kit holds I/O 1 active
            r = httpx.post(camera.http + "/vigil/sim/io", json={"port": 0, "circuit": "closed"},
                           auth=httpx.DigestAuth(*ADMIN), timeout=10)
            assert r.status_code == 200 and sim_io(camera)[0]["active"], r.text
            assert (await p.next("Motion", where=lambda m: m.payload == b"On")).payload == b"On"
            await eventually(lambda: sim_io(kit)[0]["active"], 5, "the kit's I/O 1 to go active")
            await asyncio.sleep(0.3)
            assert sim_io(kit)[0]["active"]  # held while the payload is On
            # no motion: "Off" -> the rule ends -> I/O 1 back to inactive
            httpx.post(camera.http + "/vigil/sim/io", json={"port": 0, "circuit": "open"},
                       auth=httpx.DigestAuth(*ADMIN), timeout=10)
            await p.next("Motion", where=lambda m: m.payload == b"Off")
            await eventually(lambda: not sim_io(kit)[0]["active"], 5, "the kit's I/O 1 to go inactive")
    finally:
        camera.stop()
        kit.stop()


@pytest.mark.skipif(not CONFORMANCE.exists(), reason="shared/conformance is not beside the work tree")
async def test_axis_client_library_conformance(tmp_path: Path, broker: Broker) -> None:
    server = start_live(tmp_path / "dev")
    try:
        create_admin_live(server)
        api(server, CLIENT, "configureClient", broker_params(broker, "conformance"))
        api(server, CLIENT, "activateClient", {})
        api(server, BRIDGE, "configureEventPublication", {"eventFilterList": [{"topicFilter": "//."}]})
        await wait_connected(server)
        run = await asyncio.to_thread(
            subprocess.run, [str(CONFORMANCE), "127.0.0.1", "--port", str(server.http_port), "--user", ADMIN[0],
                             "--password", ADMIN[1]], capture_output=True, text=True, timeout=300)
        lines = run.stdout.splitlines()
        if not any(line.startswith(("PASS", "FAIL", "SKIP")) for line in lines):
            pytest.skip(f"the conformance harness could not run: {run.stderr[-500:]}")
        for check in ("connect", "mqtt_get_client_status", "mqtt_get_event_publication_config"):
            assert f"PASS {check}" in lines, run.stdout
    finally:
        server.stop()
