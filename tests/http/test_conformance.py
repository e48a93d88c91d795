"""The third-party `axis` client (what Home Assistant uses) against a live device, over HTTP
and HTTPS, through the shared conformance harness."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ADMIN, CONFORMANCE_HARNESS, create_admin_live, start_live

HARNESS = CONFORMANCE_HARNESS
# The RTSP checks: this run does not give the harness the device's RTSP port, and a recorder has
# no I/O topics the `axis` library parses (tests/eventstream/test_axis.py runs them on a W401).
LATER = re.compile(r"^rtsp_.*$")
RESULT = re.compile(r"^(PASS|FAIL|SKIP) ([^:]+?)(?:\(.*\))?(?::.*)?$")

pytestmark = pytest.mark.skipif(not HARNESS.exists() or not shutil.which("bash"),
                                reason="the shared conformance harness is not available")


def run_harness(port: int, https: bool) -> tuple[dict[str, str], str]:
    cmd = [str(HARNESS), "127.0.0.1", "--port", str(port), "--user", ADMIN[0], "--password", ADMIN[1], "--write"]
    if https:
        cmd.append("--https")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    output = done.stdout + done.stderr
    results: dict[str, str] = {}
    for line in done.stdout.splitlines():
        m = RESULT.match(line.strip())
        if m:
            results[m.group(2).strip()] = m.group(1)
    assert re.search(r"^\d+ passed, \d+ failed$", done.stdout, re.M), output
    return results, output


def test_axis_client_conformance(tmp_path):
    server = start_live(tmp_path / "data")
    try:
        create_admin_live(server)
        for https, port in ((False, server.http_port), (True, server.https_port)):
            results, output = run_harness(port, https)
            assert results.get("connect") == "PASS", output
            unexpected = [name for name, verdict in results.items() if verdict == "FAIL" and not LATER.match(name)]
            assert not unexpected, output
            for name in ("api_discovery", "device_identity", "basic_device_info", "param_properties", "param_brand",
                         "param_list_all", "users_pwdgrp", "usergroup_cgi", "users_create_modify_delete",
                         "stream_profiles", "event_instances", "mqtt_get_client_status",
                         "mqtt_get_event_publication_config"):
                assert results.get(name) == "PASS", f"{name} over {'https' if https else 'http'}:\n{output}"
    finally:
        server.stop()
