"""The launcher `vigil run` is, watching a trial: a new build that dies at once is rolled back
and noted in the crash traces, and the old software starts."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import wait_until
from tests.peers.processes import free_port, stop_process
from tests.release.signing import crashing_tree, release, release_key
from tests.release.test_slots import firmware
from vigil import __version__
from vigil.core import crashes
from vigil.features.firmware.service import UpgradeOptions


def test_a_trial_build_that_dies_is_rolled_back_and_noted(tmp_path: Path) -> None:
    key = release_key()
    package = release(tmp_path / "v9.tgz", key, "9.0.0", source=crashing_tree(tmp_path / "tree"))
    data = tmp_path / "data"
    fw = firmware(data, key)
    upload = fw.incoming()
    upload.write_bytes(package.read_bytes())
    asyncio.run(fw.upgrade(upload, UpgradeOptions.parse("none", "never", "never"), "test"))
    state_file = data / "firmware" / "state.json"
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--profile", "w401", "--data", str(data),
                                "--host", "127.0.0.1", "--http-port", str(port), "--https-port", str(free_port()),
                                "--rtsp-port", str(free_port()), "--ssh-port", str(free_port())],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: json.loads(state_file.read_text()).get("lastRollback") is not None, 30,
                   "the launcher rolling the dead build back")
    finally:
        stop_process(process, 10, signal.SIGTERM)
    state = json.loads(state_file.read_text())
    assert state["active"] == "a" and state["trial"] is None and state["committed"] is True
    assert "9.0.0 stopped with status 3 before it was committed" in state["lastRollback"]["reason"]
    traces = crashes.recent(data)
    assert any("on trial" in text and "status 3" in text for text in traces.values()), traces
    assert state["slots"]["a"]["version"] == __version__
