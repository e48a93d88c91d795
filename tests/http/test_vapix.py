"""JSON replies are standard JSON, and no JSON API method fails with an internal error when a
request gives NaN, Infinity or 1e999 (which Python's JSON reader turns into floats): every
method refuses them where they enter, with its own error."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROLE_USERS, add_account
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.http.app import create_app
from vigil.http.vapix import JsonCall, json_reply

VIGIL = Path(__file__).resolve().parents[2] / "vigil"
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e999", "-1e400")
INTERNAL_CODES = {8000, 1100}  # the router's internal error; port management's and event streaming's


def strict(text: str) -> object:
    """Parse as standard JSON: NaN and Infinity are no JSON numbers."""
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in a JSON reply")
    return json.loads(text, parse_constant=refuse)


def test_a_json_reply_is_standard_json() -> None:
    call = JsonCall("1.0", "c", "m", {})
    assert strict(json_reply(call, {"seconds": 1.5}).body.decode()) == {
        "apiVersion": "1.0", "context": "c", "method": "m", "data": {"seconds": 1.5}}
    for value in (math.nan, math.inf, -math.inf):  # was written as NaN / Infinity
        with pytest.raises(ValueError):
            json_reply(call, {"seconds": value})


def parameter_names() -> list[str]:
    """Every name the JSON API handlers could read: the string literals of the HTTP modules and
    the models they validate with."""
    names: set[str] = set()
    for path in [*VIGIL.glob("features/*/http_*.py"), *VIGIL.glob("features/*/model.py"),
                 VIGIL / "features/recording/sources.py", VIGIL / "features/recording/export_jobs.py"]:
        names |= set(re.findall(r"""["']([A-Za-z_][A-Za-z0-9_]{0,40})["']""", path.read_text()))
    return sorted(names)


def bodies(method: str, version: str, names: list[str]) -> list[str]:
    """Requests giving a non-finite number for every name, also inside an object and a list."""
    out = []
    for number in NON_FINITE:
        flat = "{" + ",".join(f'"{n}":{number}' for n in names) + "}"
        # The nested form leaves `timeout` out; findCameras would then search for cameras for its
        # default 3 s: it asks for the shortest search there (the other forms refuse at once).
        shortest = ',"timeout":0.5' if "timeout" not in names[:60] else ""
        nested = "{" + ",".join(f'"{n}":{flat}' for n in names[:60]) + shortest + "}"
        for params in (flat, nested, "{" + ",".join(f'"{n}":[{number}]' for n in names) + "}"):
            out.append(f'{{"apiVersion":"{version}","context":"x","method":"{method}","params":{params}}}')
    return out


@pytest.mark.parametrize("profile", ["s3016", "w401", "c1410"])
async def test_no_json_method_fails_on_non_finite_numbers(tmp_path: Path, profile: str) -> None:
    device = build_device(profile, tmp_path / "data", clock=FakeClock())
    try:
        add_account(device, *ROLE_USERS["admin"], "admin", ptz=True)
        app = create_app(device)
        names = parameter_names()
        apis = [e for e in device.router.endpoints if e.method_roles]
        assert len(apis) >= 5
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)),
                                     base_url="http://127.0.0.1", auth=httpx.BasicAuth(*ROLE_USERS["admin"]),
                                     timeout=10) as admin:
            for endpoint in apis:
                versions = strict((await admin.post(endpoint.path, json={"method": "getSupportedVersions"})).text)
                version = versions["data"]["apiVersions"][-1]
                for method in endpoint.method_roles:
                    for body in bodies(method, version, names):
                        r = await admin.post(endpoint.path, content=body, headers={"Content-Type": "application/json"})
                        assert r.status_code < 500, (endpoint.path, method, r.status_code, r.text[:200])
                        reply = strict(r.text)
                        code = reply.get("error", {}).get("code") if isinstance(reply, dict) else None
                        assert code not in INTERNAL_CODES, (endpoint.path, method, reply)
        device.logs.flush()
        assert "failed" not in device.logs.text("system"), device.logs.text("system")[-2000:]
    finally:
        device.close()
