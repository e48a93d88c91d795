"""A client that hangs up in the middle of its request body is no error of the device (probe
finding 21): logged at info level without a traceback, not as `ERROR request ... failed`."""

from __future__ import annotations

import base64
import logging

import pytest

from tests.conftest import ADMIN, add_account
from vigil.device import Device
from vigil.http.app import create_app


async def call_and_hang_up(device: Device, method: str, path: str, headers: dict[str, str], first: bytes) -> list:
    """Run one request through the application whose client sends `first` and then disconnects."""
    app = device.__dict__.setdefault("_test_app", create_app(device))
    events = [{"type": "http.request", "body": first, "more_body": True}, {"type": "http.disconnect"}]
    sent: list = []

    async def receive() -> dict:
        return events.pop(0) if events else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(("path", "content_type"), [
    ("/axis-cgi/param.cgi", "application/x-www-form-urlencoded"),
    ("/axis-cgi/basicdeviceinfo.cgi", "application/json"),
    ("/vapix/services", "application/soap+xml"),
])
async def test_client_gone_mid_body_is_not_an_error(device: Device, caplog: pytest.LogCaptureFixture,
                                                    path: str, content_type: str) -> None:
    add_account(device, *ADMIN, "admin", ptz=True)
    basic = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    headers = {"host": "127.0.0.1", "authorization": f"Basic {basic}", "content-type": content_type,
               "content-length": "100000"}
    with caplog.at_level(logging.DEBUG, logger="vigil"):
        await call_and_hang_up(device, "POST", path, headers, b"action=list&gro")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    assert f"client 127.0.0.1 went away during POST {path}" in caplog.text
    device.logs.flush()
    assert "failed" not in device.logs.text("system")
