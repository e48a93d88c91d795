"""onvif-util (Debian onvif-tools, libonvif: a C client) in the peers' namespace: it discovers
the recorder with WS-Discovery, logs in with an ONVIF media account and reads its profiles and
the RTSP URI of a camera, which is the live relay at the address the client reached."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discovery.conftest import Served, serve_on
from tests.onvif.conftest import ONVIF_USERS
from tests.peers.lan import Lan, needs_lan
from vigil.core.clock import Clock
from vigil.core.roles import Role
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source

pytestmark = [needs_lan, pytest.mark.skipif(shutil.which("onvif-util") is None,
                                            reason="onvif-util is not installed (make debs: onvif-tools)")]


@pytest.fixture
async def recorder(tmp_path: Path, lan: Lan) -> AsyncIterator[Served]:
    # The real clock: libonvif signs with the host's time and does not follow the device's.
    async with serve_on(lan, tmp_path / "data", clock=Clock()) as served:
        user, password = ONVIF_USERS["User"]
        served.device.accounts.add(user, password, Role.VIEWER, False, "", "test", onvif=True)
        sources = served.device.features[RECORDING_SERVICE].sources
        for sid, name in (("gate", "Gate"), ("yard", "Yard")):
            sources.put(Source(sid, name, f"rtsp://192.0.2.1/{sid}", enabled=False), "test")
        yield served


def onvif_util(served: Served, *args: str, commands: str = "") -> str:
    done = subprocess.run(served.lan.command("onvif-util", *args), input=commands, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_onvif_util_discovers_logs_in_and_reads_profiles(recorder: Served) -> None:
    address = recorder.lan.device_address
    listing = await asyncio.to_thread(onvif_util, recorder, "-a")
    assert "Found 1 cameras" in listing and f"{address} " in listing and "(Vigil S3016)" in listing, listing
    user, password = ONVIF_USERS["User"]
    session = await asyncio.to_thread(onvif_util, recorder, "-u", user, "-p", password, address,
                                      commands="get profiles\nget rtsp 1\nquit\n")
    assert "successfully connected to host" in session and f"serial: {recorder.device.identity.serial}" in session
    assert "Token 0: profile_1" in session and "Token 1: profile_2" in session, session
    assert f"rtsp://{address}:{recorder.device.ports.rtsp}/axis-media/media.amp?camera=2" in session, session
