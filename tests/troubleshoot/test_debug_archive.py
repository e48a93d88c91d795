"""The debug archive (debug.tgz) beyond the server report: the configuration with every secret
redacted, the process and system state, the device's software status and recent crash traces."""

from __future__ import annotations

import io
import json
import tarfile

import httpx

from vigil.core import crashes
from vigil.device import Device
from vigil.features.network.const import HTTP_PROXY_PASSWORD
from vigil.features.troubleshoot.diagnostics import REDACTED, redact

DEBUG = "/axis-cgi/debug/debug.tgz"
SECRET = "s3cr3t-proxy-pw"


async def test_the_archive_holds_redacted_configuration_state_and_crash_traces(admin: httpx.AsyncClient,
                                                                               device: Device) -> None:
    device.params.set_internal({HTTP_PROXY_PASSWORD: SECRET}, "test")
    device.store.set_kv("test.remote", json.dumps({"url": "ftp://example.invalid", "password": "kv-secret-1",
                                                   "nested": [{"apiToken": "kv-secret-2"}]}))
    device.store.set_kv("test.key", "-----BEGIN PRIVATE KEY-----\nkv-secret-3\n-----END PRIVATE KEY-----\n")
    with crashes.recorded(device.data):  # a crash of an earlier run, as `vigil run` records it
        pass
    (device.data / crashes.FOLDER / "crash_20261206_000000_1.txt").write_text("Traceback: boom in the recorder\n")
    reply = await admin.get(DEBUG)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/x-gzip"
    with tarfile.open(fileobj=io.BytesIO(reply.content), mode="r:gz") as archive:
        files = {m.name: archive.extractfile(m).read().decode() for m in archive.getmembers()}
    everything = "".join(files.values())
    for secret in (SECRET, "kv-secret-1", "kv-secret-2", "kv-secret-3", "pass1234"):
        assert secret not in everything, secret
    assert f"root.{HTTP_PROXY_PASSWORD}=******" in files["config/parameters.txt"]
    settings = json.loads(files["config/settings.json"])
    assert settings["test.remote"] == {"url": "ftp://example.invalid", "password": REDACTED,
                                       "nested": [{"apiToken": REDACTED}]}
    assert settings["test.key"] == REDACTED
    assert "root admin" in files["config/accounts.txt"]
    state = files["system/state.txt"]
    assert "Threads:" in state and "Thread MainThread:" in state and "Data folder" in state
    assert json.loads(files["system/software.json"])["activeFirmwareVersion"]
    assert files["crash/crash_20261206_000000_1.txt"] == "Traceback: boom in the recorder\n"


def test_redaction_keeps_what_is_not_secret() -> None:
    assert redact({"name": "cam", "port": 21, "key_id": None, "monkey": "x", "privateKey": "p", "psk": 5}) == {
        "name": "cam", "port": 21, "key_id": None, "monkey": "x", "privateKey": REDACTED, "psk": REDACTED}
