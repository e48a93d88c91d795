"""The app platform: installed apps, their processes, licenses, accounts and the
AllowUnsigned setting.

Installing checks everything before it changes anything: the size, the signature (or that
unsigned apps are allowed), the archive (unpacked into a staging folder of its own), the
manifest and the executable. Only then does the new package replace an installed one of the
same name (its data folder stays); a refused package leaves the device as it was.

Files: `<data>/apps/<name>/package` (read-only to the app), `<data>/apps/<name>/data` (its own,
owned by its uid when the device runs as root). Each app gets an account of its own
(`app_<hash>`, the operator role, password sealed like every account's), handed to it in its
environment as VIGIL_DEVICE_URL, VIGIL_APP_USER and VIGIL_APP_PASSWORD; removing the app
removes the account. What an app writes to stdout/stderr goes to the system log under the
app's name (`systemlog.cgi?appname=`), at most LOG_BURST lines at once and LOG_RATE a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from lxml import etree

from vigil.core.accounts import AccountError
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.features.apps.const import (
    ALLOW_UNSIGNED_KEY,
    APP_UID_BASE,
    APPS_KEY,
    ERR_LICENSE_INVALID,
    ERR_LICENSED,
    ERR_NO_LICENSE,
    ERR_NOT_FOUND,
    ERR_NOT_RUNNING,
    ERR_RUNNING,
    ERR_SIGNATURE,
    ERR_START,
    ERR_TOO_MANY,
    ERR_UPLOAD,
    LICENSE_KEY,
    LOG_BURST,
    LOG_RATE,
    MAX_APPS,
    MAX_LICENSE,
    MAX_LOG_LINE,
    MAX_PACKAGE,
)
from vigil.features.apps.manifest import Manifest, ManifestError, parse
from vigil.features.apps.package import PackageError, split, unpack, verify
from vigil.features.apps.runner import AppProcess, Backoff, Isolation, Launch, State

if TYPE_CHECKING:
    from vigil.device import Device

APP_ROLE = Role.OPERATOR


class AppError(Exception):
    """A refused request; `code` is the Application API's error number."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Installed:
    manifest: Manifest
    signer: str  # "" when unsigned
    slot: int  # its uid is APP_UID_BASE + slot
    wanted: bool  # it should run (started, and not stopped since): started again at boot
    process: AppProcess | None = None

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def status(self) -> str:
        return self.process.state.status if self.process is not None else "Stopped"


class LogMeter:
    """A token bucket: how many of an app's output lines the system log takes."""

    def __init__(self) -> None:
        self.tokens = float(LOG_BURST)
        self.stamp = time.monotonic()
        self.dropped = 0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(LOG_BURST), self.tokens + (now - self.stamp) * LOG_RATE)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False


def account_name(app: str) -> str:
    return "app_" + hashlib.sha256(app.encode()).hexdigest()[:10]


class AppsService:
    def __init__(self, device: Device, trusted: Callable[[], list[x509.Certificate]],
                 backoff: Backoff | None = None, isolation: Isolation | None = None) -> None:
        self.device = device
        self.trusted = trusted
        self.backoff = backoff or Backoff()
        self._isolation = isolation
        self.root = device.data / "apps"
        self.root.mkdir(parents=True, exist_ok=True)
        self.apps: dict[str, Installed] = {}
        self._meters: dict[str, LogMeter] = {}
        self._lock = asyncio.Lock()
        self.running = False
        self._load()

    @property
    def isolation(self) -> Isolation:
        """How apps run here; probed when first needed, not while the device is being built."""
        if self._isolation is None:
            self._isolation = Isolation.detect()
        return self._isolation

    # -- stored state ----------------------------------------------------------------------
    def _load(self) -> None:
        stored = json.loads(self.device.store.get_kv(APPS_KEY) or "{}")
        for name, entry in stored.items():
            try:
                manifest = parse(json.dumps(entry["manifest"]).encode())
            except (ManifestError, KeyError) as err:
                self.device.logs.system(f"app {name}: its stored manifest is unusable ({err}); left out", "error")
                continue
            self.apps[name] = Installed(manifest, entry.get("signer", ""), int(entry["slot"]), bool(entry["wanted"]))
        for folder in self.root.iterdir():
            # An install cut short (its staging folder), or apps a factory default forgot: the
            # database says what is installed, and nothing else stays.
            if folder.name not in self.apps:
                shutil.rmtree(folder, ignore_errors=True)
                self.device.logs.system(f"removed {folder.name}: no installed app owns it", "info", "apps")

    def _save(self) -> None:
        self.device.store.set_kv(APPS_KEY, json.dumps({
            name: {"manifest": app.manifest.raw, "signer": app.signer, "slot": app.slot, "wanted": app.wanted}
            for name, app in self.apps.items()}))

    def get(self, name: str) -> Installed:
        app = self.apps.get(name)
        if app is None:
            raise AppError(f"no application named {name[:40]!r} is installed", ERR_NOT_FOUND)
        return app

    # -- AllowUnsigned ---------------------------------------------------------------------
    @property
    def allow_unsigned(self) -> bool:
        return self.device.store.get_kv(ALLOW_UNSIGNED_KEY) == "true"

    def set_allow_unsigned(self, allow: bool, actor: str) -> None:
        self.device.store.set_kv(ALLOW_UNSIGNED_KEY, "true" if allow else "false")
        self.device.logs.audit(actor, f"{'allowed' if allow else 'refused'} unsigned apps", "apps")

    # -- install and remove ----------------------------------------------------------------
    async def install(self, data: bytes, actor: str) -> Installed:
        async with self._lock:
            return await self._install(data, actor)

    async def _install(self, data: bytes, actor: str) -> Installed:
        if not data:
            raise AppError("the upload holds no package", ERR_UPLOAD)
        if len(data) > MAX_PACKAGE:
            raise AppError(f"the package is larger than {MAX_PACKAGE} bytes", ERR_UPLOAD)
        try:
            signed = split(data)
        except ValueError as err:
            raise AppError(str(err), ERR_SIGNATURE) from None
        signer = ""
        if signed.chain:
            try:
                signer = verify(signed, self.trusted(), self.device.clock.time())
            except ValueError as err:
                raise AppError(f"the package's signature is refused: {err}", ERR_SIGNATURE) from None
        elif not self.allow_unsigned:
            raise AppError("the package is not signed, and unsigned apps are not allowed "
                           "(config.cgi AllowUnsigned=true allows them)", ERR_SIGNATURE)
        staging = self.root / f".staging-{secrets.token_hex(6)}"  # made by the unpacking
        try:
            try:
                manifest = await asyncio.to_thread(unpack, signed.archive, staging)
            except PackageError as err:
                raise AppError(str(err), err.code) from None
            current = self.apps.get(manifest.name)
            if current is None and len(self.apps) >= MAX_APPS:
                raise AppError(f"at most {MAX_APPS} applications may be installed", ERR_TOO_MANY)
            if current is not None and current.process is not None:
                await current.process.stop()
            folder = self.root / manifest.name
            folder.mkdir(exist_ok=True)
            (folder / "data").mkdir(exist_ok=True)
            try:
                await asyncio.to_thread(_swap, staging, folder / "package")
            except AppError:
                if current is not None and current.wanted:
                    self._start(current)  # the old package is back: so is the app
                raise
        finally:
            if staging.exists():
                await asyncio.to_thread(shutil.rmtree, staging, True)
        slot = current.slot if current is not None else self._free_slot()
        await asyncio.to_thread(lambda: self.isolation)  # probed once, off the loop
        app = Installed(manifest, signer, slot, wanted=current.wanted if current is not None else False)
        self.apps[manifest.name] = app
        self._own_data(app)
        self._save()
        self.device.logs.audit(actor, f"installed app {manifest.name} {manifest.version} "
                               f"({'signed by ' + signer if signer else 'unsigned'})", "apps")
        if app.wanted:
            try:
                self._start(app)
            except AccountError as err:
                self.device.logs.system(f"app {app.name} cannot get its account: {err}", "error", "apps")
        return app

    def _free_slot(self) -> int:
        used = {a.slot for a in self.apps.values()}
        return next(i for i in range(1, MAX_APPS + 2) if i not in used)

    def _own_data(self, app: Installed) -> None:
        """The app's data folder is its own: owned by its uid where the device runs as root."""
        data = self.root / app.name / "data"
        if self.isolation.as_root:
            uid = APP_UID_BASE + app.slot
            for path in (data, *data.rglob("*")):
                os.lchown(path, uid, uid)
            data.chmod(0o700)
        (self.root / app.name).chmod(0o755)

    async def remove(self, name: str, actor: str) -> None:
        async with self._lock:
            app = self.get(name)
            if app.process is not None:
                await app.process.stop()
            del self.apps[name]
            self._save()
            with contextlib.suppress(AccountError):
                self.device.accounts.remove(account_name(name), actor)
            with self.device.store.transaction() as db:
                db.execute("DELETE FROM kv WHERE key=?", (LICENSE_KEY + name,))
            await asyncio.to_thread(shutil.rmtree, self.root / name, True)
            self.device.logs.audit(actor, f"removed app {name}", "apps")

    # -- running ---------------------------------------------------------------------------
    async def start(self, name: str, actor: str) -> None:
        app = self.get(name)
        if app.process is not None and app.process.wanted:
            raise AppError(f"{name} is running already", ERR_RUNNING)
        if app.manifest.run_mode == "never":
            raise AppError(f"{name} has the run mode never: the device does not run it", ERR_START)
        if app.manifest.licensed and self.license(name) is None:
            raise AppError(f"{name} needs a license key: install one first", ERR_START)
        try:
            self._start(app)
        except AccountError as err:
            raise AppError(f"{name} cannot get its account on the device: {err}", ERR_START) from None
        app.wanted = True
        self._save()
        self.device.logs.audit(actor, f"started app {name}", "apps")

    async def stop(self, name: str, actor: str) -> None:
        app = self.get(name)
        if app.process is None or not app.process.wanted:
            raise AppError(f"{name} is not running", ERR_NOT_RUNNING)
        app.wanted = False
        self._save()
        self.device.logs.audit(actor, f"stopped app {name}", "apps")
        await app.process.stop()

    async def restart(self, name: str, actor: str) -> None:
        app = self.get(name)
        if app.process is not None and app.process.wanted:
            await app.process.stop()
        await self.start(name, actor)

    def _start(self, app: Installed) -> None:
        if not self.running:
            return  # the device is not serving yet: `run` starts it
        app.process = AppProcess(self._launch(app), app.manifest.run_mode, self.isolation, self.backoff,
                                 on_output=lambda line, name=app.name: self._output(name, line),
                                 on_change=lambda state, what, name=app.name: self._changed(name, state, what))
        app.process.start()

    def _launch(self, app: Installed) -> Launch:
        user = account_name(app.name)
        if self.device.accounts.get(user) is None:
            self.device.accounts.add(user, secrets.token_urlsafe(24), APP_ROLE, False, f"app {app.name}"[:64],
                                     "apps")
        host = self.device.listening.host
        host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        env = {"VIGIL_APP_NAME": app.name, "VIGIL_DEVICE_URL": f"http://{host}:{self.device.listening.http}",
               "VIGIL_APP_USER": user, "VIGIL_APP_PASSWORD": self.device.accounts.password(user) or ""}
        folder = self.root / app.name
        return Launch(app.name, folder / "package", folder / "data", APP_UID_BASE + app.slot,
                      app.manifest.run_options, env)

    def _output(self, name: str, line: str) -> None:
        meter = self._meters.setdefault(name, LogMeter())
        if meter.take():
            if meter.dropped:
                self.device.logs.system(f"{meter.dropped} lines of output dropped (too many)", "warning", name)
                meter.dropped = 0
            self.device.logs.system(line[:MAX_LOG_LINE], "info", name)

    def _changed(self, name: str, state: State, what: str) -> None:
        severity = "warning" if state.crash_looping or (state.last_exit not in (None, 0) and "exited" in what) else "info"
        self.device.logs.system(f"app {name}: {what}", severity, name)
        if state.crash_looping and what.startswith("crash loop"):
            self.device.logs.system(f"app {name} keeps exiting; the device backs off before each restart",
                                    "error", "apps")

    async def run(self) -> None:
        """A device service: start the apps that were running, stop them all when the device stops."""
        isolation = await asyncio.to_thread(lambda: self.isolation)  # the probe runs bwrap: not on the loop
        self.running = True
        self.device.logs.system(isolation.describe(), "info", "apps")
        for app in self.apps.values():
            if app.wanted:
                try:
                    self._start(app)
                except AccountError as err:
                    self.device.logs.system(f"app {app.name} cannot get its account: {err}", "error", "apps")
        try:
            await asyncio.Event().wait()
        finally:
            self.running = False
            for app in self.apps.values():
                if app.process is not None:
                    await app.process.stop()

    # -- licenses --------------------------------------------------------------------------
    def license(self, name: str) -> str | None:
        return self.device.store.get_kv(LICENSE_KEY + name)

    def license_status(self, app: Installed) -> str:
        if not app.manifest.licensed:
            return "None"
        return "Valid" if self.license(app.name) is not None else "Missing"

    def add_license(self, name: str, key: bytes, actor: str) -> None:
        app = self.get(name)
        if self.license(name) is not None:
            raise AppError(f"{name} has a license key already", ERR_LICENSED)
        if not key or len(key) > MAX_LICENSE:
            raise AppError(f"a license key is 1 to {MAX_LICENSE} bytes of XML", ERR_LICENSE_INVALID)
        text = _license_text(key, app.name)
        self.device.store.set_kv(LICENSE_KEY + name, text)
        self.device.logs.audit(actor, f"installed a license key for app {name}", "apps")

    def remove_license(self, name: str, actor: str) -> None:
        self.get(name)
        if self.license(name) is None:
            raise AppError(f"{name} has no license key", ERR_NO_LICENSE)
        with self.device.store.transaction() as db:
            db.execute("DELETE FROM kv WHERE key=?", (LICENSE_KEY + name,))
        self.device.logs.audit(actor, f"removed the license key of app {name}", "apps")

    def describe(self, app: Installed) -> dict[str, Any]:
        """The page's view of one app."""
        state = app.process.state if app.process is not None else State()
        m = app.manifest
        return {"name": m.name, "niceName": m.friendly_name, "vendor": m.vendor, "version": m.version,
                "runMode": m.run_mode, "status": state.status, "message": state.message,
                "starts": state.starts, "crashLoop": state.crash_looping, "signed": bool(app.signer),
                "signer": app.signer, "license": self.license_status(app),
                "settingsPage": f"local/{m.name}/{m.setting_page}" if m.setting_page else "",
                "account": account_name(m.name)}


def _swap(new: Path, package: Path) -> None:
    """Put the unpacked `new` in place of the installed `package` (if any): the old one goes only
    once the new one is in; if that fails, the old one is put back."""
    old = package.with_name(".package-old")
    if old.exists():
        shutil.rmtree(old)
    if package.exists():
        package.rename(old)
    try:
        new.rename(package)
    except OSError as err:
        if old.exists():
            old.rename(package)
        raise AppError(f"the package cannot be put in place: {err}", ERR_UPLOAD) from None
    shutil.rmtree(old, ignore_errors=True)


def _license_text(key: bytes, app: str) -> str:
    """The license key as text: well-formed XML; one that names an application must name this one."""
    try:
        root = etree.fromstring(key, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as err:
        raise AppError(f"the license key is not XML: {err}", ERR_LICENSE_INVALID) from None
    named = root.get("application") or root.findtext(".//application")
    if named and named != app:
        raise AppError(f"the license key is for {named[:40]!r}, not for {app}", ERR_LICENSE_INVALID)
    return key.decode("utf-8", "replace")


KEY: Key[AppsService] = Key("apps")
