"""manifest.json: what the device takes from it, and manifests it refuses with the field named."""

from __future__ import annotations

import json

import pytest

from tests.apps.conftest import EXAMPLE, manifest
from vigil.core.roles import Role
from vigil.features.apps.manifest import ManifestError, parse


def test_the_example_apps_manifest() -> None:
    m = parse((EXAMPLE / "manifest.json").read_bytes())
    assert (m.name, m.version, m.run_mode, m.run_options, m.setting_page, m.licensed) == (
        "vigil_example", "1.0.0", "respawn", ("--greeting", "hello"), "index.html", False)
    assert [(p.api_path, p.socket, p.access) for p in m.proxies] == [("status", "example.sock", Role.VIEWER)]


def with_conf(**conf: object) -> bytes:
    data = manifest("app")
    data["acapPackageConf"].update(conf)
    return json.dumps(data).encode()


@pytest.mark.parametrize("data,field", [
    (b"not json", "not JSON"),
    (b"[]", "must hold an object"),
    (json.dumps({**manifest("app"), "schemaVersion": "3.0"}).encode(), "schemaVersion"),
    (json.dumps({"schemaVersion": "1.3"}).encode(), "acapPackageConf must be an object"),
    (json.dumps(manifest("9app")).encode(), "appName"),
    (json.dumps(manifest("app", version="one")).encode(), "version 'one' is not a version number"),
    (json.dumps(manifest("app", vendor=7)).encode(), "setup.vendor must be a text"),
    (json.dumps(manifest("app", run_mode="always")).encode(), "runMode must be one of never, once, respawn"),
    (with_conf(configuration={"settingPage": "../x.html"}), "settingPage must be a file name"),
    (with_conf(configuration={"reverseProxy": [{"apiPath": "a/b", "target": "unix:s"}]}), "apiPath"),
    (with_conf(configuration={"reverseProxy": [{"apiPath": "a", "target": "http://localhost:1"}]}), "target"),
    (with_conf(configuration={"reverseProxy": [{"apiPath": "a", "target": "unix:s", "access": "root"}]}),
     "access must be one of"),
    (with_conf(copyProtection="axis"), "copyProtection must be an object"),
])
def test_bad_manifests_are_refused_naming_the_field(data: bytes, field: str) -> None:
    with pytest.raises(ManifestError, match=field):
        parse(data)
