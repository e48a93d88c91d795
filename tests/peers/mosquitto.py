"""Peers for the MQTT tests: a real mosquitto broker (plain TCP with a password file, TLS with
a test CA, WebSocket) on free loopback ports, and an aiomqtt subscriber. No tests here."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import getpass
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
USER, PASSWORD = "vigil", "broker-secret-1"

needs_mosquitto = pytest.mark.skipif(not Path(MOSQUITTO).exists(),
                                     reason="mosquitto is not installed (make debs installs it)")


# -- certificates ----------------------------------------------------------------------------
@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path  # a CA that did not sign the broker's certificate


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _ca(common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_certs(folder: Path) -> Certs:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca("Vigil test CA")
    _, other = _ca("Some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    certs = Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "other-ca.pem")
    certs.ca.write_bytes(ca_cert.public_bytes(pem))
    certs.other_ca.write_bytes(other.public_bytes(pem))
    certs.cert.write_bytes(cert.public_bytes(pem))
    certs.key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return certs


# -- the broker ------------------------------------------------------------------------------
def wait_port(port: int, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


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
            wait_port(port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("mqtt-certs"))


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


async def eventually(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until `check()` is truthy; returns its value."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


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
