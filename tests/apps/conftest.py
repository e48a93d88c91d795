"""Fixtures of the app platform's tests: app folders made on the spot (`make_app`), the repo's
example app, and a signing CA with a signer it issued (`signing`)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import eventually
from vigil.device import Device
from vigil.features.apps.runner import Backoff
from vigil.features.apps.service import KEY, AppsService

QUICK = Backoff(first=0.05, limit=0.4, reset=5.0, crash_loop=3)
EXAMPLE = Path(__file__).resolve().parents[2] / "apps" / "example"
PEM = serialization.Encoding.PEM


def manifest(name: str, run_mode: str = "respawn", **setup: object) -> dict:
    return {"schemaVersion": "1.3", "acapPackageConf": {
        "setup": {"appName": name, "vendor": "Tests", "version": "1.0.0", "runMode": run_mode, **setup}}}


def make_app(folder: Path, name: str, script: str, run_mode: str = "respawn", **extra: object) -> Path:
    """An app folder: manifest.json and an executable shell script `name`."""
    folder.mkdir(parents=True, exist_ok=True)
    data = manifest(name, run_mode)
    data["acapPackageConf"].update(extra)
    (folder / "manifest.json").write_text(json.dumps(data))
    executable = folder / name
    executable.write_text("#!/bin/sh\n" + script + "\n")
    executable.chmod(0o755)
    return folder


@dataclass(frozen=True)
class Signing:
    ca_pem: bytes  # install this on the device as a CA certificate
    key_pem: bytes  # the signer's key
    chain_pem: bytes  # the signer's certificate
    other_key_pem: bytes  # a key the device does not know, with its self-signed certificate
    other_chain_pem: bytes


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: ec.EllipticCurvePrivateKey,
          ca: bool) -> x509.Certificate:
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (x509.CertificateBuilder().subject_name(name)
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650 * 2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.fixture(scope="session")
def signing() -> Signing:
    ca_key, signer_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert("Vigil test app CA", ca_key, "Vigil test app CA", ca_key, True)
    signer = _cert("Vigil test app vendor", signer_key, "Vigil test app CA", ca_key, False)
    other = _cert("Someone else", other_key, "Someone else", other_key, False)
    return Signing(ca.public_bytes(PEM), _key_pem(signer_key), signer.public_bytes(PEM),
                   _key_pem(other_key), other.public_bytes(PEM))


@contextlib.asynccontextmanager
async def serving(service: AppsService) -> AsyncIterator[AppsService]:
    """The app platform serving (its `run` going, as while the device runs), then stopped."""
    task = asyncio.get_running_loop().create_task(service.run())
    try:
        await eventually(lambda: service.running, what="the app platform to serve")
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def platform(device: Device) -> AsyncIterator[AppsService]:
    """The S3016's app platform, serving, with quick backoff."""
    service = device.features[KEY]
    service.backoff = QUICK
    async with serving(service):
        yield service
