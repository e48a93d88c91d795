"""The MQTT client against a real mosquitto: connection and its status, failures with their
reasons, TLS, WebSocket, proxy, reconnection, connect/disconnect messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiomqtt

from tests.conftest import eventually, free_port
from tests.mqtt.conftest import configure, connected, mqtt
from tests.peers.mosquitto import PASSWORD, USER, Broker, client_params, needs_mosquitto, peer
from vigil.device import Device
from vigil.features.certificates.service import KEYSTORE
from vigil.features.mqtt import model
from vigil.features.mqtt.service import CLIENT_STATUS, MqttService

pytestmark = needs_mosquitto


async def failed(service: MqttService, timeout: float = 5.0) -> dict[str, Any]:
    await eventually(lambda: service.failure is not None, timeout, "a connection failure")
    return service.status()


async def test_connects_and_announces_itself(dev: Device, broker: Broker) -> None:
    prefix = f"axis/{dev.identity.serial}"
    async with peer(broker, f"{prefix}/#") as p:
        service = configure(dev, broker)
        await connected(service)
        status = service.status()
        assert status["state"] == "active" and status["connectionStatus"] == "connected"
        assert status["connectionState"] == "connected" and "failure" not in status
        hello = await p.next(f"{prefix}/event/connection")
        assert hello.retain is False  # a live delivery; the broker keeps the retained copy
        body = json.loads(hello.payload)
        assert body["serialNumber"] == dev.identity.serial and body["connected"] is True
        assert body["description"] == "Connected" and body["timestamp"].endswith("Z")
    # retained: a later subscriber gets it at once
    async with peer(broker, f"{prefix}/event/connection") as late:
        again = await late.next()
        assert again.retain and json.loads(again.payload)["connected"] is True
    # the status event
    assert dev.events.state(CLIENT_STATUS, {}) == {"connected": "1", "active": "1"}


async def test_deactivate_sends_the_disconnect_message(dev: Device, broker: Broker) -> None:
    prefix = f"axis/{dev.identity.serial}"
    async with peer(broker, f"{prefix}/event/connection") as p:
        service = configure(dev, broker)
        await connected(service)
        assert (await p.json())["connected"] is True
        service.set_active(False, "test")
        bye = await p.json()
        assert bye == {**bye, "connected": False, "description": "Disconnected"}
        await eventually(lambda: service.connection == "disconnected")
        assert service.status()["state"] == "inactive"
        assert dev.events.state(CLIENT_STATUS, {}) == {"connected": "0", "active": "0"}


async def test_custom_messages(dev: Device, broker: Broker) -> None:
    async with peer(broker, "cam1/#") as p:
        service = configure(dev, broker,
                            connectMessage={"useDefault": False, "topic": "cam1/status", "message": "online",
                                            "retain": False, "qos": 1},
                            disconnectMessage={"useDefault": False, "topic": "cam1/status", "message": "offline",
                                               "retain": False, "qos": 0})
        await connected(service)
        assert (await p.next("cam1/status")).payload == b"online"
        service.set_active(False, "test")
        assert (await p.next("cam1/status")).payload == b"offline"


async def test_wrong_credentials_fail_with_the_reason(dev: Device, broker: Broker) -> None:
    service = configure(dev, broker, password="wrong-password")
    status = await failed(service)
    assert status["state"] == "active" and status["connectionStatus"] == "disconnected"
    assert status["failure"]["reason"] == "auth", status
    assert "credentials" in status["failure"]["message"]
    assert any("MQTT" in e.message and "credentials" in e.message for e in dev.logs.entries("system"))


async def test_unreachable_broker_fails_and_keeps_trying(dev: Device, broker: Broker) -> None:
    closed = free_port()
    service = configure(dev, broker, server={"protocol": "tcp", "host": "127.0.0.1", "port": closed})
    status = await failed(service)
    assert status["failure"]["reason"] == "refused", status
    assert status["connectionState"] in ("failed", "connecting")
    # it retries with back-off, and connects once a broker is there
    await eventually(lambda: service.status().get("retryIn") is not None, 3, "a retry to be scheduled")
    # back-off: 0.2 s, then doubling
    await eventually(lambda: service.stats.attempts >= 3, 5, "three attempts")
    assert service._delay >= 0.4 and service.status()["statistics"]["connectAttempts"] >= 3
    assert service.stats.connects == 0
    configure(dev, broker)
    await connected(service)


async def test_unknown_host_is_a_dns_failure(dev: Device, broker: Broker) -> None:
    service = configure(dev, broker, server={"protocol": "tcp", "host": "no-such-broker.invalid", "port": 1883})
    status = await failed(service)
    assert status["failure"]["reason"] == "dns", status


async def test_no_auto_reconnect_stops_after_a_failure(dev: Device, broker: Broker) -> None:
    service = configure(dev, broker, password="wrong", autoReconnect=False)
    status = await failed(service)
    assert status["connectionState"] == "failed" and "retryIn" not in status
    await asyncio.sleep(0.5)
    assert service.connection == "failed"


def store_certificates(device: Device, *files: Path) -> None:
    """Put CA certificates into the device's keystore, each under its file's stem as alias."""
    for file in files:
        device.features[KEYSTORE].add_ca(file.stem, file.read_bytes(), "test")


async def test_tls_with_the_test_ca(dev: Device, broker: Broker, certs) -> None:
    store_certificates(dev, certs.ca, certs.other_ca)
    service = configure(dev, broker, server={"protocol": "ssl", "host": "127.0.0.1", "port": broker.tls},
                        ssl={"validateServerCert": True, "CACertID": certs.ca.stem})
    await connected(service)
    # the wrong CA: the certificate does not verify
    configure(dev, broker, server={"protocol": "ssl", "host": "127.0.0.1", "port": broker.tls},
              ssl={"validateServerCert": True, "CACertID": certs.other_ca.stem})
    status = await failed(service)
    assert status["failure"]["reason"] == "tls", status
    assert "certificate" in status["failure"]["message"].lower()
    # without validation it connects
    configure(dev, broker, server={"protocol": "ssl", "host": "127.0.0.1", "port": broker.tls},
              ssl={"validateServerCert": False})
    await connected(service)


async def test_tls_ca_from_the_certificate_store(dev: Device, broker: Broker, certs) -> None:
    dev.features[KEYSTORE].add_ca("testca", certs.ca.read_bytes(), "test")
    service = configure(dev, broker, server={"protocol": "ssl", "host": "localhost", "port": broker.tls},
                        ssl={"validateServerCert": True, "CACertID": "testca"})
    await connected(service)


async def test_plain_client_on_the_tls_port_fails(dev: Device, broker: Broker) -> None:
    service = configure(dev, broker, server={"protocol": "tcp", "host": "127.0.0.1", "port": broker.tls},
                        connectTimeout=2)
    status = await failed(service, 6)
    assert status["failure"]["reason"] in ("timeout", "lost", "network", "broker"), status


async def test_websocket(dev: Device, broker: Broker) -> None:
    async with peer(broker, "ws/#") as p:
        service = configure(dev, broker, server={"protocol": "ws", "host": "127.0.0.1", "port": broker.ws,
                                                 "basepath": "mqtt"},
                            connectMessage={"useDefault": False, "topic": "ws/hello", "message": "over websocket",
                                            "retain": False, "qos": 0})
        await connected(service)
        assert (await p.next("ws/hello")).payload == b"over websocket"


async def test_broker_restart_reconnects_and_keeps_subscriptions(dev: Device, broker: Broker) -> None:
    service = configure(dev, broker, cleanSession=False)
    service.configure_subscriptions(model.parse_subscriptions(
        {"mqttFilterList": [{"topicFilter": "door/state", "isStateData": True, "qos": 1}]}), "test")
    await connected(service)
    await asyncio.sleep(0.1)
    broker.restart()
    await eventually(lambda: service.connection != "connected", 5, "the loss to be noticed")
    assert service.status()["failure"]["reason"] == "lost"
    await connected(service, 10)
    assert service.stats.connects == 2
    async with peer(broker) as p:
        await p.client.publish("door/state", b"open", qos=1)
    source = {"mqtt-topic": "door/state", "device-prefix": "0"}
    await eventually(lambda: (dev.events.state("tnsaxis:MQTT/Message/Stateful", source) or {}).get("mqtt-payload")
                     == "open", 5, "the subscription to work after the restart")


async def test_http_proxy_tunnel(dev: Device, broker: Broker) -> None:
    """A minimal HTTP CONNECT proxy in the test: the client reaches the broker through it."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b"\r\n", 1)[0].decode())
        host, port = head.split(b" ")[1].decode().rsplit(":", 1)
        up_r, up_w = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        service = configure(dev, broker, httpProxy=f"http://127.0.0.1:{port}")
        await connected(service)
        assert seen == [f"CONNECT 127.0.0.1:{broker.tcp} HTTP/1.1"]
        # a proxy that is not there
        configure(dev, broker, httpProxy=f"http://127.0.0.1:{free_port()}")
        status = await failed(service)
        assert status["failure"]["reason"] == "proxy", status
    finally:
        server.close()


async def test_kept_password_and_audit(dev: Device, broker: Broker) -> None:
    service = configure(dev, broker, active=False)
    params = client_params(broker, keepExistingPassword=True)
    del params["password"]
    service.configure_client(model.parse_client(params, dev.identity.serial), None, "admin1")
    service.set_active(True, "admin1")
    await connected(service)
    audit = [e.message for e in dev.logs.entries("audit")]
    assert any("user=admin1 configured the MQTT client" in m for m in audit)
    assert any("user=admin1 activated the MQTT client" in m for m in audit)
    assert not any(PASSWORD in m for m in audit + [e.message for e in dev.logs.entries("system")])
    # the password is stored encrypted, never in clear
    assert PASSWORD not in json.dumps(dev.store.query("SELECT key, value FROM kv"))
    assert USER in dev.store.get_kv("mqtt.client")


async def test_a_stop_during_the_goodbye_stops_the_client(w401: Device, broker: Broker, monkeypatch) -> None:
    """The device stops (the loop is cancelled) while a session says goodbye to the broker: the
    loop ends instead of taking the cancellation for a lost connection and connecting again."""
    leaving, release = asyncio.Event(), asyncio.Event()
    close = aiomqtt.Client.__aexit__

    async def slow_goodbye(self: aiomqtt.Client, *exc: object) -> None:
        leaving.set()
        await release.wait()
        await close(self, *exc)

    monkeypatch.setattr(aiomqtt.Client, "__aexit__", slow_goodbye)
    service = configure(w401, broker)
    service.backoff_min = 0.2
    task = asyncio.create_task(service.run())
    try:
        await connected(service)
        configure(w401, broker, clientId="another")  # a change: the session ends with a goodbye
        await asyncio.wait_for(leaving.wait(), 5)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert task in done and task.cancelled(), "the client kept running after it was stopped"
    finally:
        release.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await w401.rules.close()


async def test_the_client_stops_when_a_library_swallows_the_cancellation(w401: Device, broker: Broker) -> None:
    """Python 3.11's wait_for (inside aiomqtt) can swallow a cancellation that races the end of
    a connect attempt; the client must stop all the same, or the device never stops."""
    service = mqtt(w401)
    service.backoff_min = 0.01
    attempts = 0

    async def swallowing_session() -> str:
        nonlocal attempts
        attempts += 1
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        return "failed"

    service._session = swallowing_session  # noqa: SLF001 - stands for the library's wait_for
    configure(w401, broker)
    task = asyncio.create_task(service.run())
    await eventually(lambda: attempts == 1, 5, "the first connect attempt")
    task.cancel()
    try:
        done, _ = await asyncio.wait({task}, timeout=5)
        assert task in done and task.cancelled(), "the client went on after its cancellation"
    finally:
        del service._session  # noqa: SLF001 - a stuck loop ends with the real session's next cancel
        task.cancel()
