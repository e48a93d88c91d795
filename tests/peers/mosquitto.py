"""Peers for the MQTT tests: a real mosquitto broker (plain TCP with a password file, TLS with
a test CA, WebSocket) on free loopback ports, and an aiomqtt subscriber. No tests here; the
`broker` and `certs` fixtures serve every folder (tests/conftest.py loads this module as a plugin)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from tests.peers.certs import Certs, ca_signed
from tests.peers.processes import free_port, stop_process, wait_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
USER, PASSWORD = "vigil", "broker-secret-1"

needs_mosquitto = pytest.mark.skipif(not Path(MOSQUITTO).exists(),
                                     reason="mosquitto is not installed (make debs installs it)")


# -- the broker ------------------------------------------------------------------------------
class Broker:
    """mosquitto with three listeners, all requiring USER/PASSWORD: tcp, tls (test CA), websockets."""

    def __init__(self, folder: Path, certs: Certs) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.certs = certs
        self.tcp, self.tls, self.ws = free_port(), free_port(), free_port()
        self.process: subprocess.Popen | None = None
        passwd = folder / "passwd"
        subprocess.run([MOSQUITTO_PASSWD, "-b", "-c", str(passwd), USER, PASSWORD], check=True,
                       capture_output=True)
        passwd.chmod(0o600)
        auth = f"allow_anonymous false\npassword_file {passwd}\n"
        lines = ["per_listener_settings true", "persistence false", "log_dest stderr",
                 "log_type error", "log_type warning"]
        if os.geteuid() == 0:
            lines.append(f"user {getpass.getuser()}")  # else it drops to 'mosquitto', who cannot read tmp files
        lines += [f"listener {self.tcp} 127.0.0.1", auth,
                  f"listener {self.tls} 127.0.0.1", f"cafile {certs.ca}", f"certfile {certs.cert}",
                  f"keyfile {certs.key}", auth,
                  f"listener {self.ws} 127.0.0.1", "protocol websockets", auth]
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> Broker:
        with open(self.folder / "mosquitto.log", "ab") as log:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=log)
        for port in (self.tcp, self.tls, self.ws):
            wait_port(port, process=self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return ca_signed(tmp_path_factory.mktemp("mqtt-certs"))


@pytest.fixture
def broker(tmp_path: Path, certs: Certs) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (make debs installs it)")
    b = Broker(tmp_path / "broker", certs).start()
    yield b
    b.stop()


# -- a subscriber on the broker -----------------------------------------------------------------
@dataclass
class Peer:
    client: aiomqtt.Client
    messages: asyncio.Queue = field(default_factory=asyncio.Queue)

    async def next(self, topic: str | None = None, timeout: float = 5.0,
                   where: Callable[[aiomqtt.Message], bool] | None = None) -> aiomqtt.Message:
        """The next message (on `topic`, passing `where`); earlier other messages are skipped."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no MQTT message on {topic or 'any topic'} within {timeout} s")
            message = await asyncio.wait_for(self.messages.get(), left)
            if (topic is None or message.topic.value == topic) and (where is None or where(message)):
                return message

    async def json(self, topic: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        return json.loads((await self.next(topic, timeout)).payload)

    def clear(self) -> None:
        while not self.messages.empty():
            self.messages.get_nowait()


@contextlib.asynccontextmanager
async def peer(broker: Broker, *filters: str, name: str = "peer") -> AsyncIterator[Peer]:
    async with aiomqtt.Client("127.0.0.1", broker.tcp, username=USER, password=PASSWORD,
                              identifier=f"{name}-{os.getpid()}-{time.monotonic_ns()}") as client:
        p = Peer(client)
        for f in filters:
            await client.subscribe(f, qos=1)

        async def pump() -> None:
            async for message in client.messages:
                p.messages.put_nowait(message)

        task = asyncio.create_task(pump())
        try:
            yield p
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task


def client_params(broker: Broker, **changes: Any) -> dict[str, Any]:
    """configureClient params for the broker's plain TCP listener."""
    params: dict[str, Any] = {"server": {"protocol": "tcp", "host": "127.0.0.1", "port": broker.tcp},
                              "username": USER, "password": PASSWORD, "clientId": f"vigil-{time.monotonic_ns()}",
                              "keepAliveInterval": 10, "connectTimeout": 5, "cleanSession": True,
                              "autoReconnect": True,
                              "lastWillTestament": {"useDefault": True},
                              "connectMessage": {"useDefault": True},
                              "disconnectMessage": {"useDefault": True}}
    params.update(changes)
    return params
