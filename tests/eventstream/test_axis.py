"""The `axis` library (v60, the client Home Assistant's Axis integration is built on) reading
the RTSP event stream, in its own venv: against an in-process device whose events the test
publishes, and against a live `vigil run --profile w401` whose I/O ports report their state."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from tests.conftest import ADMIN, create_admin_live, start_live
from tests.eventstream.conftest import PORT_TOPIC, Running

CLIENT = '''"""Drive a Vigil RTSP event stream with the `axis` library (v60). Prints one JSON line per
signal and per event; stops at the first event of topic STOP_TOPIC whose id and state
(* for any) match, or after TIMEOUT seconds."""
import asyncio
import json
import sys

import axis.rtsp
import httpx
from axis.device import AxisDevice
from axis.models.configuration import Configuration


async def main(host, port, user, password, stop_topic, stop_id, stop_state, timeout):
    axis.rtsp.RTSP_PORT = port  # v60 hard-codes 554
    done = asyncio.Event()
    async with httpx.AsyncClient() as session:
        device = AxisDevice(Configuration(session, host, username=user, password=password))

        def on_signal(signal):
            print(json.dumps({"signal": str(signal)}), flush=True)

        def on_event(event):
            print(json.dumps({"topic": event.topic, "id": event.id, "state": event.state,
                              "operation": str(event.operation), "tripped": event.is_tripped}), flush=True)
            if event.topic == stop_topic and event.id == stop_id and stop_state in ("*", event.state):
                done.set()

        device.stream.connection_status_callback.append(on_signal)
        device.event.subscribe(on_event)
        device.enable_events()
        device.stream.start()
        try:
            await asyncio.wait_for(done.wait(), timeout)
        except TimeoutError:
            print(json.dumps({"timeout": True}), flush=True)
        finally:
            device.stream.stop()
            await asyncio.sleep(0.2)


asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7],
                 float(sys.argv[8])))
'''


def client_script(tmp_path: Path) -> Path:
    path = tmp_path / "axis_rtsp_client.py"
    path.write_text(CLIENT)
    return path


async def test_axis_library_gets_port_events(running: Running, axis_python: Path, tmp_path: Path) -> None:
    running.publish("48", "0")
    proc = await asyncio.create_subprocess_exec(
        axis_python, client_script(tmp_path), "127.0.0.1", str(running.ports.rtsp), *ADMIN,
        PORT_TOPIC, "48", "1", "20", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    lines: list[dict] = []
    try:
        async with asyncio.timeout(30):
            while raw := await proc.stdout.readline():
                line = json.loads(raw)
                lines.append(line)
                if line.get("id") == "48" and line.get("operation") == "Initialized":
                    running.publish("48", "1")  # now that it plays, a change
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    err = (await proc.stderr.read()).decode()
    assert {"signal": "playing"} in lines, (lines, err)
    ours = [line for line in lines if line.get("topic") == PORT_TOPIC and line.get("id") == "48"]
    assert ours == [
        {"topic": PORT_TOPIC, "id": "48", "state": "0", "operation": "Initialized", "tripped": False},
        {"topic": PORT_TOPIC, "id": "48", "state": "1", "operation": "Changed", "tripped": True},
    ], (lines, err)
    assert {"timeout": True} not in lines
    # The client tore its session down on stop.
    for _ in range(50):
        if not running.rtsp.sessions:
            break
        await asyncio.sleep(0.05)
    assert not running.rtsp.sessions


def test_axis_library_against_live_w401(tmp_path: Path, axis_python: Path) -> None:
    live = start_live(tmp_path / "w401", "w401")
    try:
        create_admin_live(live)
        out = subprocess.run([axis_python, client_script(tmp_path), "127.0.0.1", str(live.rtsp_port), *ADMIN,
                              PORT_TOPIC, "1", "*", "20"], capture_output=True, text=True, timeout=60)
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        assert {"signal": "playing"} in lines, (out.stdout, out.stderr)
        ports = [line for line in lines if line.get("topic") == PORT_TOPIC]
        assert ports and ports[0]["id"] == "1" and ports[0]["operation"] == "Initialized", lines
        assert {"timeout": True} not in lines
    finally:
        live.stop()
