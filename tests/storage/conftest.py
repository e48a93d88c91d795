"""Fixtures of the storage tests: an S3016 on simulated drives (`dev`), calls to its JSON
storage API, indexed footage written as the recorder writes it, and a plain TCP listener that
records who connects to it and what they send."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_device
from tests.peers.servers import listening
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.storage.service import STORAGE_SERVICE, StorageService
from vigil.footage.writer import Checksum


@pytest.fixture
async def dev(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Device]:
    device = make_device(tmp_path, clock, "s3016")
    yield device
    await device.features[STORAGE_SERVICE].jobs.close()
    device.close()


def storage(device: Device) -> StorageService:
    return device.features[STORAGE_SERVICE]


async def call(client: httpx.AsyncClient, method: str, **params) -> dict:
    """A storage.cgi call; the JSON reply."""
    body = {"apiVersion": "1.0", "context": "t", "method": method, "params": params}
    return (await client.post("/axis-cgi/storage.cgi", json=body)).json()


def xml(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, (response.status_code, response.text)
    return ET.fromstring(response.text)


def fragment(payload: int) -> bytes:
    return struct.pack(">I", 8 + payload) + b"moof" + bytes(range(256)) * (payload // 256) + b"\x01" * (payload % 256)


def fake_footage(device: Device, volume: str, source: str = "c1", segments: int = 2, start: float = 1_700_000_000.0,
                 fragments: int = 2, payload: int = 4000) -> list[Path]:
    """Indexed footage as the recorder writes it: a recording, sealed segments of moof fragments."""
    folder = storage(device).directory(volume) / source
    folder.mkdir(parents=True, exist_ok=True)
    rid = f"rec_{volume}_{source}_{int(start)}"
    files = []
    with device.store.transaction() as db:
        db.execute("INSERT INTO recordings(id, source, volume, kind, start, stop) VALUES(?,?,?,?,?,?)",
                   (rid, source, volume, "continuous", start, start + segments * fragments))
    for n in range(segments):
        seg_start = start + n * fragments
        init = struct.pack(">I", 16) + b"ftypisom" + b"\0" * 4
        body = [fragment(payload) for _ in range(fragments)]
        data = init + b"".join(body)
        path = folder / f"{int(seg_start * 1000)}-{n:06d}.mp4"
        path.write_bytes(data)
        files.append(path)
        with device.store.transaction() as db:
            cur = db.execute("INSERT INTO segments(recording, path, start, stop, bytes, init_size, checksum, sealed) "
                             "VALUES(?,?,?,?,?,?,?,1)", (rid, str(path), seg_start, seg_start + fragments, len(data),
                                                         len(init), Checksum(data).hexdigest()))
            offset = len(init)
            for k, piece in enumerate(body):
                db.execute("INSERT INTO fragments(segment, offset, size, start, duration, frames, key) "
                           "VALUES(?,?,?,?,?,?,1)", (cur.lastrowid, offset, len(piece), seg_start + k, 1.0, 15))
                offset += len(piece)
    return files


def rows(device: Device, volume: str) -> int:
    return device.store.query("SELECT COUNT(*) FROM segments s JOIN recordings r ON r.id=s.recording "
                              "WHERE r.volume=?", (volume,))[0][0]


def audit(device: Device) -> list[str]:
    device.logs.flush()
    return [m for (m,) in device.store.query("SELECT message FROM log WHERE kind='audit' ORDER BY id")]


@dataclass
class Listener:
    """A TCP port that records the first bytes of each connection, then closes it (an SMB
    client gives up at once instead of waiting for a negotiation answer)."""

    port: int = 0
    received: list[bytes] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    sink = Listener()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sink.connected.set()
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            async with asyncio.timeout(2):
                sink.received.append(await reader.read(4096))
        writer.close()

    async with listening(handle) as sink.port:
        yield sink
