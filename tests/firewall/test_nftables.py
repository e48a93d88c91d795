"""The Linux firewall backend for real: a `vigil run` process with VIGIL_HAL=linux inside a network
namespace of the test's own writes its rules as an nftables table there. From the other end of a
veth pair (another namespace) the test sees an allowed port answer and a blocked one not, a tested
rule set roll back when its time runs out, and the table go when the device stops. The API is
driven from inside the device's namespace (loopback, which the firewall always lets through)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, wait_until
from tests.network.netns import Lan, can_make_namespaces, inside, lan, run, wait_serving
from tests.peers.processes import stop_process

WHY_NOT = can_make_namespaces() or ("" if shutil.which("nft") else "nft (make debs installs nftables) is needed")
pytestmark = pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT or "ok")
HTTP_PORT, HTTPS_PORT, RTSP_PORT = 8080, 8443, 8554  # inside the device's namespace: nothing else listens there
ROOT = "/config/rest/firewall/v1"


@pytest.fixture
def network() -> Iterator[Lan]:
    with lan("f", "10.77.41") as net:
        run("ip", "-n", net.device_ns, "addr", "add", f"{net.prefix}.2/24", "dev", net.device_if)
        yield net


@pytest.fixture
def device(network: Lan, tmp_path: Path) -> Iterator[subprocess.Popen]:
    env = {**os.environ, "VIGIL_HAL": "linux", "PYTHONUNBUFFERED": "1"}
    env.pop("VIGIL_NET_INTERFACE", None)
    process = subprocess.Popen(
        ["ip", "netns", "exec", network.device_ns, sys.executable, "-m", "vigil", "run", "--profile", "s3016",
         "--data", str(tmp_path / "data"), "--host", "0.0.0.0", "--http-port", str(HTTP_PORT),
         "--https-port", str(HTTPS_PORT), "--rtsp-port", str(RTSP_PORT)],
        env=env, stdout=(tmp_path / "vigil.log").open("wb"), stderr=subprocess.STDOUT)
    yield process
    stop_process(process, 10)


def http(method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"http://127.0.0.1:{HTTP_PORT}{path}", timeout=10, **kw)


def api(method: str, path: str, data: Any = None) -> Any:
    r = http(method, ROOT + path, json=None if data is None else {"data": data}, auth=httpx.DigestAuth(*ADMIN))
    assert r.status_code == 200, r.text
    return r.json().get("data")


def reaches(address: str, port: int) -> bool:
    """Whether a TCP connection from the server's namespace to the device gets through (a
    dropped one goes unanswered: the connect times out)."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        try:
            sock.connect((address, port))
            return True
        except (TimeoutError, OSError):
            return False


def table(net: Lan) -> list[dict]:
    listed = json.loads(run("ip", "netns", "exec", net.device_ns, "nft", "-j", "list", "ruleset"))["nftables"]
    return [item for item in listed if "table" in item and item["table"]["name"] == "vigil"]


def test_nftables_rules_block_allow_and_roll_back(network: Lan, device: subprocess.Popen, tmp_path: Path) -> None:
    net = network
    device_address = f"{net.prefix}.2"
    with inside(net.device_ns) as call, inside(net.server_ns) as outside:
        wait_serving(call, device, tmp_path / "vigil.log", HTTP_PORT)
        call(http, "POST", "/axis-cgi/pwdgrp.cgi", data={
            "action": "add", "user": ADMIN[0], "pwd": ADMIN[1], "grp": "users", "sgrp": "admin:operator:viewer:ptz"})
        assert outside(reaches, device_address, HTTP_PORT) and outside(reaches, device_address, RTSP_PORT)
        assert table(net) == []  # off: no table

        call(api, "PATCH", "/activated", True)
        allow_http = {"ruleType": "FILTER", "ip": f"{net.prefix}.0/24", "tcpPort": HTTP_PORT,
                      "filter": {"policy": "ACCEPT"}}
        assert call(api, "POST", "/conf/setRules", {"rules": [allow_http], "defaultPolicy": "DROP",
                                                    "fallbackTime": 0}) is None
        assert len(table(net)) == 1
        assert outside(reaches, device_address, HTTP_PORT)
        assert not outside(reaches, device_address, RTSP_PORT)
        assert call(api, "GET", "/conf/rules/activeDefaultPolicy") == "DROP"

        # A test that blocks HTTP too: blocked while it lasts, back when its time runs out.
        call(api, "POST", "/conf/setRules", {"rules": [], "defaultPolicy": "DROP", "fallbackTime": 3})
        assert not outside(reaches, device_address, HTTP_PORT)
        wait_until(lambda: call(api, "GET", "/conf/rules/testTimeLeft") == 0
                   and call(api, "GET", "/conf/rules/pendingRules") == [], 15, "the test to roll back")
        # A connection attempt is one SYN and its retransmission: under load one may go unanswered.
        wait_until(lambda: outside(reaches, device_address, HTTP_PORT), 5, "HTTP to get through after the rollback")
        assert not outside(reaches, device_address, RTSP_PORT)

    stop_process(device, 10)
    assert table(net) == []  # the device's table goes with it
