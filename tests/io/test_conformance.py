"""The `axis` client library (what Home Assistant uses) against a live `vigil run --profile w401`:
the conformance harness's I/O checks must pass."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN, CONFORMANCE_HARNESS, LiveDevice, create_admin_live, start_live

HARNESS = CONFORMANCE_HARNESS
LINE = re.compile(r"^(PASS|FAIL|SKIP) ([A-Za-z_]+)(?:\([^)]*\))?(?::\s*(.*))?$")


@pytest.fixture
def live_w401(tmp_path: Path) -> Iterator[LiveDevice]:
    server = start_live(tmp_path / "live-w401", "w401")
    yield server
    server.stop()


def parse(output: str) -> dict[str, tuple[str, str]]:
    results: dict[str, tuple[str, str]] = {}
    for line in output.splitlines():
        m = LINE.match(line.strip())
        if m:
            results[m.group(2)] = (m.group(1), m.group(3) or "")
    return results


def test_parse_harness_lines() -> None:
    got = parse("PASS connect\nPASS io_output_toggle(port 8)\nFAIL event_instances: GetEventInstances failed\n"
                "SKIP mqtt: mqtt-client not in API discovery\n3 passed, 1 failed\n")
    assert got == {"connect": ("PASS", ""), "io_output_toggle": ("PASS", ""),
                   "event_instances": ("FAIL", "GetEventInstances failed"),
                   "mqtt": ("SKIP", "mqtt-client not in API discovery")}


@pytest.mark.skipif(not HARNESS.exists(), reason="conformance harness not available")
def test_axis_library_reads_and_toggles_w401_ports(live_w401: LiveDevice) -> None:
    create_admin_live(live_w401)
    run = subprocess.run([str(HARNESS), "127.0.0.1", "--port", str(live_w401.http_port), "--user", ADMIN[0],
                          "--password", ADMIN[1], "--write"], capture_output=True, text=True, timeout=600)
    results = parse(run.stdout)
    if "connect" not in results:
        pytest.skip(f"the harness did not run: {run.stderr[-500:]}")
    report = run.stdout
    assert results["connect"][0] == "PASS", report
    assert results.get("io_ports", ("missing",))[0] == "PASS", report
    assert results.get("io_output_toggle", ("missing",))[0] == "PASS", report
    assert "io_output_toggle(port 8)" in report  # the relay, the only output of a fresh W401
