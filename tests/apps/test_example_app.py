"""The repo's example app (apps/example) on a real `vigil run`: built and signed by the tests,
uploaded, started; it runs as its own user in the sandbox, reads the device's serial number
with the account the device gave it, and answers under /local/vigil_example/; Home Assistant's
`axis` library lists it; removing it removes its account."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.apps.conftest import EXAMPLE, Signing
from tests.conftest import ADMIN, create_admin_live, start_live, wait_until
from vigil.features.apps.package import build
from vigil.features.apps.service import account_name

AXIS_CLIENT = '''import asyncio, json, sys
import httpx
from axis.device import AxisDevice
from axis.models.configuration import Configuration


async def main(port, user, password):
    async with httpx.AsyncClient() as session:
        device = AxisDevice(Configuration(session, "127.0.0.1", port=int(port), username=user, password=password))
        await device.vapix.initialize()
        apps = device.vapix.applications
        print(json.dumps({"supported": apps.supported, "apps": {
            name: [a.nice_name, a.vendor, a.version, str(a.status), str(a.license_status), a.configuration_page]
            for name, a in apps.items()}}))

asyncio.run(main(*sys.argv[1:]))
'''


def test_the_example_app_end_to_end(tmp_path: Path, signing: Signing, axis_python: Path) -> None:
    live = start_live(tmp_path / "data", "s3016")
    try:
        create_admin_live(live)
        auth = httpx.DigestAuth(*ADMIN)
        with httpx.Client(base_url=live.http, auth=auth, timeout=30) as admin:
            r = admin.post("/config/rest/cert/v1/ca_certificates",
                           json={"data": {"alias": "app-vendor", "certificate": signing.ca_pem.decode()}})
            assert r.status_code == 200, r.text
            package = build(EXAMPLE, signing.key_pem, signing.chain_pem)
            r = admin.post("/axis-cgi/applications/upload.cgi",
                           files={"packfil": ("vigil_example.eap", package, "application/octet-stream")})
            assert r.text == "OK\n"
            assert admin.get("/axis-cgi/applications/control.cgi",
                             params={"action": "start", "package": "vigil_example"}).text == "OK\n"

            def status() -> dict | None:
                reply = admin.get("/local/vigil_example/status")
                return reply.json() if reply.status_code == 200 else None

            wait_until(status, 20, "the example app to answer under /local/")
            shown = status()
            serial = admin.get("/axis-cgi/param.cgi", params={"action": "list",
                                                              "group": "Properties.System.SerialNumber"})
            assert shown["serial"] == serial.text.strip().split("=", 1)[1] and shown["error"] == ""
            assert shown["caller"] == ADMIN[0] and shown["greeting"] == "hello"  # runOptions reach it
            assert shown["uid"] >= 64000  # its own user, not the device's root
            page = admin.get("/local/vigil_example/index.html")
            assert page.status_code == 200 and "Vigil example app" in page.text
            assert httpx.get(live.http + "/local/vigil_example/status").status_code == 401
            log = admin.get("/axis-cgi/systemlog.cgi", params={"appname": "vigil_example"}).text
            assert "status asked by root" in log

            script = tmp_path / "axis_apps.py"
            script.write_text(AXIS_CLIENT)
            out = subprocess.run([axis_python, script, str(live.http_port), *ADMIN], capture_output=True, text=True,
                                 timeout=60)
            assert out.returncode == 0, out.stderr
            assert json.loads(out.stdout.splitlines()[-1]) == {"supported": True, "apps": {"vigil_example": [
                "Vigil example app", "Vigil", "1.0.0", "Running", "None", "local/vigil_example/index.html"]}}

            assert admin.get("/axis-cgi/applications/control.cgi",
                             params={"action": "remove", "package": "vigil_example"}).text == "OK\n"
            users = admin.get("/axis-cgi/pwdgrp.cgi", params={"action": "get"}).text
            assert account_name("vigil_example") not in users
            assert admin.get("/local/vigil_example/status").status_code == 404
    finally:
        live.stop()
