"""The simulated firewall in a running device (`vigil run`): its own HTTP, HTTPS and RTSP listeners
drop what the rules drop, for clients on other loopback addresses (127.0.0.2, 127.0.0.3); a
tested rule set rolls back by itself when its time runs out; and a device killed during a test
(kill -9) comes back on the confirmed rules."""

from __future__ import annotations

import signal
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, LiveDevice, create_admin_live, start_live, wait_until

ROOT = "/config/rest/firewall/v1"
ADMIN_IN = {"ruleType": "FILTER", "ip": "127.0.0.1", "filter": {"policy": "ACCEPT"}}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDevice]:
    live = start_live(Path(tmp_path_factory.mktemp("firewall")) / "data")
    create_admin_live(live)
    yield live
    live.stop()


@pytest.fixture
def device(shared: LiveDevice) -> Iterator[LiveDevice]:
    """The module's device, back to no firewall after each test."""
    yield shared
    api(shared, "PATCH", "/activated", False)
    api(shared, "POST", "/conf/setRules", {"rules": [], "defaultPolicy": "ACCEPT", "fallbackTime": 0})


def api(live: LiveDevice, method: str, path: str, data: Any = None) -> Any:
    r = httpx.request(method, live.http + ROOT + path, json=None if data is None else {"data": data},
                      auth=httpx.DigestAuth(*ADMIN), timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "success", r.text
    return r.json().get("data")


def answered(source: str, port: int, request: bytes) -> bool:
    """Whether a connection from `source` to 127.0.0.1:`port` gets an answer to `request`."""
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.bind((source, 0))
        try:
            sock.connect(("127.0.0.1", port))
            sock.sendall(request)
            return bool(sock.recv(64))
        except (ConnectionResetError, BrokenPipeError):
            return False


def http_answers(source: str, live: LiveDevice) -> bool:
    return answered(source, live.http_port, b"GET /vigil/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


def https_answers(source: str, live: LiveDevice) -> bool:
    """Whether an HTTPS request from `source` is answered (the TLS handshake comes first: the
    listener sees the connection once it is done)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", live.https_port))
        try:
            with context.wrap_socket(sock) as tls:
                tls.sendall(b"GET /vigil/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return bool(tls.recv(64))
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return False


def rtsp_answers(source: str, live: LiveDevice) -> bool:
    return answered(source, live.rtsp_port, b"OPTIONS rtsp://127.0.0.1/ RTSP/1.0\r\nCSeq: 1\r\n\r\n")


def test_the_listeners_drop_what_the_rules_drop(device: LiveDevice) -> None:
    assert http_answers("127.0.0.2", device) and rtsp_answers("127.0.0.2", device)
    api(device, "PATCH", "/activated", True)
    let_in_3 = {"ruleType": "FILTER", "ipRange": {"start": "127.0.0.3", "end": "127.0.0.3"},
                "tcpPort": device.http_port, "filter": {"policy": "ACCEPT"}}
    api(device, "POST", "/conf/setRules", {"rules": [ADMIN_IN, let_in_3], "defaultPolicy": "DROP", "fallbackTime": 0})
    assert not http_answers("127.0.0.2", device) and not rtsp_answers("127.0.0.2", device)
    assert not https_answers("127.0.0.2", device)
    assert http_answers("127.0.0.3", device) and not rtsp_answers("127.0.0.3", device)
    assert not https_answers("127.0.0.3", device) and https_answers("127.0.0.1", device)
    assert http_answers("127.0.0.1", device) and rtsp_answers("127.0.0.1", device)
    api(device, "PATCH", "/activated", False)
    assert http_answers("127.0.0.2", device) and rtsp_answers("127.0.0.2", device)


def test_a_test_rolls_back_when_its_time_runs_out(device: LiveDevice) -> None:
    api(device, "PATCH", "/activated", True)
    api(device, "POST", "/conf/setRules", {"rules": [ADMIN_IN], "defaultPolicy": "DROP", "fallbackTime": 2})
    assert not http_answers("127.0.0.2", device)
    assert api(device, "GET", "/conf/rules/pendingDefaultPolicy") == "DROP"
    wait_until(lambda: api(device, "GET", "/conf/rules/testTimeLeft") == 0
               and api(device, "GET", "/conf/rules/pendingRules") == [], 10, "the test to roll back")
    assert http_answers("127.0.0.2", device) and rtsp_answers("127.0.0.2", device)


def test_a_device_killed_during_a_test_comes_back_on_the_confirmed_rules(tmp_path: Path) -> None:
    device = start_live(tmp_path / "data")
    again = None
    try:
        create_admin_live(device)
        api(device, "PATCH", "/activated", True)
        deny_2 = {"ruleType": "FILTER", "ip": "127.0.0.2", "filter": {"policy": "DROP"}}
        api(device, "POST", "/conf/setRules", {"rules": [deny_2], "defaultPolicy": "ACCEPT", "fallbackTime": 0})
        api(device, "POST", "/conf/setRules", {"rules": [ADMIN_IN], "defaultPolicy": "DROP", "fallbackTime": 300})
        assert not http_answers("127.0.0.3", device)
        device.stop(signal.SIGKILL)
        again = start_live(device.data, ports=(device.http_port, device.https_port, device.rtsp_port))
        rules = api(again, "GET", "/conf/rules")
        assert rules["pendingRules"] == [] and rules["activeRules"][0]["ip"] == "127.0.0.2"
        assert http_answers("127.0.0.3", again) and not http_answers("127.0.0.2", again)
    finally:
        device.stop(signal.SIGKILL)
        if again is not None:
            again.stop()
