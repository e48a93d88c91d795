"""An app's `manifest.json`, the ACAP package description (schema 1.x and 2.x): what the device
reads from it, checked field by field. A manifest of another schema, with a field of the wrong
type or an unknown run mode is refused with the field's name in the message.

The parts read:
- `schemaVersion`: "1.x" or "2.x".
- `acapPackageConf.setup`: `appName` (also the executable's name at the package root),
  `friendlyName`, `vendor`, `vendorUrl`, `version`, `runMode` (never/once/respawn), `runOptions`.
- `acapPackageConf.configuration.settingPage`: the settings page under `/local/<appName>/`
  (a file of the package's `html/` folder).
- `acapPackageConf.configuration.reverseProxy`: `[{"apiPath", "target", "access"}]`; Vigil proxies
  `/local/<appName>/<apiPath>` to the app over a Unix socket, `target` `unix:<file>` naming the
  socket in the app's data folder (`$VIGIL_APP_DATA`), for callers of the role `access`.
- `acapPackageConf.copyProtection.method`: "none" (no license needed) or anything else (a
  license key must be installed: list.cgi says Missing until one is).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from vigil.core.roles import Role
from vigil.features.apps.const import APP_NAME, RUN_MODES

SCHEMA = re.compile(r"^[12]\.\d{1,2}(\.\d{1,2})?$")
VERSION = re.compile(r"^\d{1,4}(\.\d{1,4}){0,3}(-[A-Za-z0-9.]{1,20})?$")
API_PATH = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SOCKET = re.compile(r"^unix:[A-Za-z0-9_.-]{1,64}$")
ACCESS = {"admin": Role.ADMIN, "operator": Role.OPERATOR, "viewer": Role.VIEWER}
MAX_MANIFEST = 64 * 1024


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Proxy:
    api_path: str
    socket: str  # file name in the app's data folder
    access: Role


@dataclass(frozen=True)
class Manifest:
    schema: str
    name: str
    friendly_name: str
    vendor: str
    vendor_url: str
    version: str
    run_mode: str
    run_options: tuple[str, ...]
    setting_page: str
    proxies: tuple[Proxy, ...]
    licensed: bool  # copy protection: a license key is needed
    raw: dict[str, Any]


def _text(obj: dict[str, Any], key: str, where: str, required: bool = False, limit: int = 200) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise ManifestError(f"{where}.{key} is missing")
        return ""
    if not isinstance(value, str) or len(value) > limit or any(ord(c) < 32 for c in value):
        raise ManifestError(f"{where}.{key} must be a text of at most {limit} characters")
    return value


def _object(obj: dict[str, Any], key: str, where: str, required: bool = False) -> dict[str, Any]:
    value = obj.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ManifestError(f"{where}.{key} must be an object")
    return value


def parse(data: bytes) -> Manifest:
    if len(data) > MAX_MANIFEST:
        raise ManifestError(f"manifest.json is larger than {MAX_MANIFEST} bytes")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ManifestError(f"manifest.json is not JSON: {err}") from None
    if not isinstance(raw, dict):
        raise ManifestError("manifest.json must hold an object")
    schema = raw.get("schemaVersion")
    if not isinstance(schema, str) or not SCHEMA.match(schema):
        raise ManifestError(f"schemaVersion {str(schema)[:20]!r} is not supported (1.x or 2.x)")
    conf = _object(raw, "acapPackageConf", "manifest", required=True)
    setup = _object(conf, "setup", "acapPackageConf", required=True)
    where = "acapPackageConf.setup"
    name = _text(setup, "appName", where, required=True, limit=26)
    if not APP_NAME.match(name):
        raise ManifestError(f"{where}.appName must be a letter then letters, digits or underscores (at most 26)")
    version = _text(setup, "version", where, required=True, limit=40)
    if not VERSION.match(version):
        raise ManifestError(f"{where}.version {version!r} is not a version number")
    run_mode = _text(setup, "runMode", where, limit=20) or "never"
    if run_mode not in RUN_MODES:
        raise ManifestError(f"{where}.runMode must be one of {', '.join(RUN_MODES)}")
    run_options = _text(setup, "runOptions", where, limit=500)
    configuration = _object(conf, "configuration", "acapPackageConf")
    setting_page = _text(configuration, "settingPage", "acapPackageConf.configuration", limit=100)
    if setting_page and not API_PATH.match(setting_page):
        raise ManifestError("acapPackageConf.configuration.settingPage must be a file name")
    proxies = _proxies(configuration.get("reverseProxy"))
    protection = _object(conf, "copyProtection", "acapPackageConf")
    method = _text(protection, "method", "acapPackageConf.copyProtection", limit=40) or "none"
    return Manifest(schema, name, _text(setup, "friendlyName", where) or name,
                    _text(setup, "vendor", where, required=True), _text(setup, "vendorUrl", where), version,
                    run_mode, tuple(run_options.split()), setting_page, proxies, method != "none", raw)


def _proxies(value: Any) -> tuple[Proxy, ...]:
    where = "acapPackageConf.configuration.reverseProxy"
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 10:
        raise ManifestError(f"{where} must be a list of at most 10 entries")
    found: list[Proxy] = []
    for entry in value:
        if not isinstance(entry, dict):
            raise ManifestError(f"{where} entries must be objects")
        path = _text(entry, "apiPath", where, required=True, limit=64)
        target = _text(entry, "target", where, required=True, limit=80)
        access = _text(entry, "access", where, limit=20) or "admin"
        if not API_PATH.match(path):
            raise ManifestError(f"{where}.apiPath {path!r} must be one path segment")
        if not SOCKET.match(target):
            raise ManifestError(f"{where}.target must be unix:<socket file in the app's data folder>")
        if access not in ACCESS:
            raise ManifestError(f"{where}.access must be one of {', '.join(ACCESS)}")
        found.append(Proxy(path, target[5:], ACCESS[access]))
    return tuple(found)
