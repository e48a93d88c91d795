"""streamprofile.cgi in process: list, create, update and remove as the VAPIX page shows them,
all-or-nothing requests, its error codes, roles, the audit log, API discovery, and what a
profile may hold on a device without cameras (the W401: the event stream's parameters only)."""

from __future__ import annotations

import json
import subprocess

import httpx

from tests.conftest import ADMIN, asgi_client, client_as, create_admin_live, json_call, start_live
from vigil.device import Device

PATH = "/axis-cgi/streamprofile.cgi"


async def call(client: httpx.AsyncClient, method: str, params: dict | None = None) -> dict:
    return await json_call(client, PATH, method, params)


def profile(name: str, parameters: str, description: str = "") -> dict:
    return {"name": name, "description": description, "parameters": parameters}


async def test_create_list_update_remove(device: Device, admin: httpx.AsyncClient) -> None:
    assert (await call(admin, "list", {"streamProfileName": []}))["data"] == {"streamProfile": [], "maxProfiles": 26}
    created = await call(admin, "create", {"streamProfile": [profile("cam2", "camera=2", "Second camera"),
                                                             profile("meta", "camera=1&event=on")]})
    assert created["data"] == {}
    listed = (await call(admin, "list", {"streamProfileName": []}))["data"]["streamProfile"]
    assert listed == [profile("cam2", "camera=2", "Second camera"), profile("meta", "camera=1&event=on")]
    one = (await call(admin, "list", {"streamProfileName": [{"name": "meta"}]}))["data"]["streamProfile"]
    assert [p["name"] for p in one] == ["meta"]
    await call(admin, "update", {"streamProfile": [{"name": "cam2", "parameters": "camera=2&videocodec=h264"}]})
    assert device.params.get("StreamProfile.S0.Parameters") == "camera=2&videocodec=h264"
    assert device.params.get("StreamProfile.S0.Description") == "Second camera"  # not given: kept
    await call(admin, "remove", {"streamProfileName": [{"name": "cam2"}]})
    assert [p["name"] for p in (await call(admin, "list", {}))["data"]["streamProfile"]] == ["meta"]
    audit = (await admin.get("/axis-cgi/auditlog.cgi")).text
    for line in ("set root.StreamProfile.S0.Name=cam2", "set root.StreamProfile.S0.Parameters=camera=2&videocodec=h264",
                 "set root.StreamProfile.S0.Name=", "set root.StreamProfile.S1.Parameters=camera=1&event=on"):
        assert line in audit, line
    discovered = (await admin.post("/axis-cgi/apidiscovery.cgi", json={"apiVersion": "1.0", "method": "getApiList"}))
    assert {"id": "stream-profiles", "version": "1.0"}.items() <= next(
        a for a in discovered.json()["data"]["apiList"] if a["id"] == "stream-profiles").items()


async def test_errors_and_all_or_nothing(device: Device, admin: httpx.AsyncClient) -> None:
    await call(admin, "create", {"streamProfile": [profile("one", "camera=1")]})
    cases = [
        ("create", {"streamProfile": [profile("two", "camera=2"), profile("one", "camera=2")]}, 2002),  # exists
        ("create", {"streamProfile": [profile("x", "camera=1"), profile("x", "camera=2")]}, 2002),
        ("create", {"streamProfile": [profile("ok", "camera=1"), profile("bad", "fps=10")]}, 2004),
        ("create", {"streamProfile": [profile("bad name", "camera=1")]}, 2004),
        ("create", {"streamProfile": [{"description": "no name"}]}, 2003),
        ("create", {}, 2003),
        ("create", {"streamProfile": "one"}, 2001),
        ("update", {"streamProfile": [{"name": "none", "parameters": "camera=1"}]}, 2006),
        ("update", {"streamProfile": [{"name": "one", "parameters": "resolution=640x480"}]}, 2004),
        ("update", {"streamProfile": [{"name": "one", "parameters": 5}]}, 2001),
        ("remove", {"streamProfileName": [{"name": "one"}, {"name": "none"}]}, 2006),
        ("list", {"streamProfileName": [{"name": "none"}]}, 2006),
        ("rename", {}, 2005),
    ]
    for method, params, code in cases:
        reply = await call(admin, method, params)
        assert reply.get("error", {}).get("code") == code, (method, params, reply)
    assert [p["name"] for p in (await call(admin, "list", {}))["data"]["streamProfile"]] == ["one"]
    assert device.params.get("StreamProfile.S0.Parameters") == "camera=1"
    r = await admin.post(PATH, json={"apiVersion": "2.0", "method": "list"})
    assert r.json()["error"]["code"] == 2000


async def test_roles(device: Device, admin: httpx.AsyncClient) -> None:
    await call(admin, "create", {"streamProfile": [profile("one", "camera=1")]})
    async with client_as(device, "viewer") as viewer:
        assert [p["name"] for p in (await call(viewer, "list", {}))["data"]["streamProfile"]] == ["one"]
        r = await viewer.post(PATH, json={"apiVersion": "1.0", "method": "create",
                                          "params": {"streamProfile": [profile("two", "camera=1")]}})
        assert r.status_code == 403
    async with client_as(device, "operator") as operator:
        await call(operator, "create", {"streamProfile": [profile("two", "camera=2")]})
        await call(operator, "remove", {"streamProfileName": [{"name": "one"}]})
    async with asgi_client(device) as anonymous:
        assert (await anonymous.post(PATH, json={"apiVersion": "1.0", "method": "list"})).status_code == 401


async def test_a_device_without_cameras_takes_the_event_stream_parameters(admin401: httpx.AsyncClient) -> None:
    await call(admin401, "create", {"streamProfile": [profile("events", "event=on&eventtopic=onvif:Device//.")]})
    reply = await call(admin401, "create", {"streamProfile": [profile("video", "camera=1")]})
    assert reply["error"]["code"] == 2004 and "camera is not a stream parameter of this device" in \
        reply["error"]["message"]


AXIS_CLIENT = '''import asyncio, json, sys
import httpx
from axis.device import AxisDevice
from axis.models.configuration import Configuration


async def main(port, user, password):
    async with httpx.AsyncClient() as session:
        device = AxisDevice(Configuration(session, "127.0.0.1", port=int(port), username=user, password=password))
        await device.vapix.initialize()
        print(json.dumps({"supported": device.vapix.stream_profiles.supported,
                          "profiles": [[p.name, p.description, p.parameters]
                                       for p in device.vapix.streaming_profiles]}))

asyncio.run(main(*sys.argv[1:]))
'''


def test_the_axis_library_lists_the_stream_profiles(tmp_path, axis_python) -> None:
    """Home Assistant's Axis integration offers the stream profiles the `axis` library lists."""
    live = start_live(tmp_path / "data", "s3016")
    try:
        create_admin_live(live)
        auth = httpx.DigestAuth(*ADMIN)
        r = httpx.post(f"{live.http}{PATH}", auth=auth, json={"apiVersion": "1.0", "method": "create", "params": {
            "streamProfile": [profile("hass", "camera=1&videocodec=h264", "For Home Assistant")]}})
        assert r.json()["data"] == {}, r.text
        script = tmp_path / "axis_profiles.py"
        script.write_text(AXIS_CLIENT)
        out = subprocess.run([axis_python, script, str(live.http_port), *ADMIN], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout.splitlines()[-1]) == {
            "supported": True, "profiles": [["hass", "For Home Assistant", "camera=1&videocodec=h264"]]}
    finally:
        live.stop()
