"""Fixtures of the multicast controller tests: `served_on(host)`, a C1410 serving in this process
on `host` (its sink readable), and `send`, ffmpeg sending a sine as RTP (or SRTP) to a multicast
group through the interface of a local address, optionally inside a network namespace."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.conftest import ADMIN, add_account, free_port
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.multicast.const import API
from vigil.http.server import serve_device

_groups = itertools.count(1)


def new_group() -> str:
    """A group no other test of this run uses (tests of several workers differ by process id)."""
    return f"239.{77 + os.getpid() % 100}.{os.getpid() // 100 % 250}.{next(_groups)}"


async def listening(host: str, port: int, timeout: float = 20) -> None:
    """Until `host`:`port` accepts connections (tests.peers.processes waits on 127.0.0.1 only)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


@asynccontextmanager
async def served_on(data: Path, host: str) -> AsyncIterator[tuple[Device, httpx.AsyncClient]]:
    device = build_device("c1410", data, Ports(http=free_port(), https=free_port(), rtsp=free_port(), host=host),
                          Clock())
    add_account(device, *ADMIN, "admin")
    task = asyncio.create_task(serve_device(device))
    try:
        await listening(host, device.ports.http)
        async with httpx.AsyncClient(base_url=f"http://{host}:{device.ports.http}",
                                     auth=httpx.DigestAuth(*ADMIN)) as admin:
            r = await admin.patch(API + "/enabled", json={"data": True})
            assert r.status_code == 200, r.text
            yield device, admin
    finally:
        device.request_stop("shutdown")
        await asyncio.wait_for(task, 15)
        device.close()


# ffmpeg's encoder -> (payload type, sample rate sent, ffmpeg's largest packet: 20 ms of G.711 or L16)
SENT = {"pcm_mulaw": (0, 8000, 172), "pcm_alaw": (8, 8000, 172), "libopus": (111, 48000, 1472),
        "pcm_s16be": (96, 16000, 652)}


async def send(group: str, port: int, local: str, frequency: float, seconds: float, namespace: str = "",
               srtp_key: str = "", codec: str = "pcm_mulaw", rate: int = 0, channels: int = 1,
               payload_type: int = -1) -> asyncio.subprocess.Process:
    """ffmpeg sending a sine of `frequency` (at -18 dBFS) in real time for `seconds` to
    `group`:`port` from `local`, as `codec` (SENT: G.711, Opus, or L16 at 16 kHz mono; `rate`,
    `channels` and `payload_type` send another form)."""
    scheme, crypto = ("srtp", ["-srtp_out_suite", "AES_CM_128_HMAC_SHA1_80", "-srtp_out_params", srtp_key]) \
        if srtp_key else ("rtp", [])
    sent_type, sent_rate, packet = SENT[codec]
    rate, payload_type = rate or sent_rate, sent_type if payload_type < 0 else payload_type
    command = ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i",
               f"sine=frequency={frequency}:sample_rate={rate}:duration={seconds}", "-ac", str(channels), "-c:a", codec,
               "-payload_type", str(payload_type), "-f", "rtp", *crypto,
               f"{scheme}://{group}:{port}?localaddr={local}&ttl=1&pkt_size={packet}"]
    if namespace:
        command = ["ip", "netns", "exec", namespace, *command]
    return await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)


async def finished(proc: asyncio.subprocess.Process) -> None:
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()


