"""The VAPIX Application API on an in-process S3016: upload (both field names), signatures and
AllowUnsigned, bad packages refused with nothing lost, control, run modes, crash loops backed
off and reported, licenses, the app log, roles."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest

from tests.apps.conftest import QUICK, Signing, make_app, serving
from tests.conftest import ADMIN, add_account, client_as, eventually
from vigil.device import Device
from vigil.features.apps.package import build, sign
from vigil.features.apps.service import AppsService, account_name
from vigil.features.certificates.service import KEYSTORE

BASE = "/axis-cgi/applications"


async def upload(client: httpx.AsyncClient, package: bytes, field: str = "packfil") -> str:
    r = await client.post(f"{BASE}/upload.cgi", files={field: ("app.eap", package, "application/octet-stream")})
    assert r.status_code == 200
    return r.text


async def control(client: httpx.AsyncClient, action: str, name: str) -> str:
    r = await client.get(f"{BASE}/control.cgi", params={"action": action, "package": name})
    assert r.status_code == 200
    return r.text


def sleeper(tmp_path: Path, name: str = "sleeper", run_mode: str = "respawn", version: str = "1.0.0") -> bytes:
    folder = make_app(tmp_path / f"{name}-{version}", name, 'echo "hello from $VIGIL_APP_NAME as $(id -u)"\n'
                      "exec sleep 60", run_mode)
    data = json.loads((folder / "manifest.json").read_text())
    data["acapPackageConf"]["setup"]["version"] = version
    (folder / "manifest.json").write_text(json.dumps(data))
    return build(folder)


def raw_tar(*members: tuple[str, bytes, bytes]) -> bytes:
    """A gzip tar of (name, type, content) members, for packages no honest builder makes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as t:
        for name, kind, content in members:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mode = kind, len(content) if kind == tarfile.REGTYPE else 0, 0o755
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/shadow"
            t.addfile(info, io.BytesIO(content) if kind == tarfile.REGTYPE else None)
    return out.getvalue()


async def test_unsigned_refused_until_allowed_then_installs_runs_logs_and_goes(
        device: Device, platform: AppsService, admin: httpx.AsyncClient, tmp_path: Path) -> None:
    package = sleeper(tmp_path)
    assert (await upload(admin, package)).startswith("Error: 12 ")
    assert platform.apps == {}
    r = await admin.get(f"{BASE}/config.cgi", params={"action": "get", "name": "AllowUnsigned"})
    assert 'name="AllowUnsigned" value="false"' in r.text
    r = await admin.get(f"{BASE}/config.cgi", params={"action": "set", "name": "AllowUnsigned", "value": "true"})
    assert r.text.startswith('<reply result="ok">')
    assert "allowed unsigned apps" in device.logs.text("audit")
    assert await upload(admin, package, field="file") == "OK\n"  # the API page's field name
    r = await admin.post(f"{BASE}/list.cgi", content=b"", headers={"Content-Type": "text/xml"})
    assert 'Name="sleeper"' in r.text and 'Status="Stopped"' in r.text and 'License="None"' in r.text

    assert await control(admin, "start", "sleeper") == "OK\n"
    await eventually(lambda: platform.apps["sleeper"].status == "Running", what="the app to run")
    assert (await control(admin, "start", "sleeper")).startswith("Error: 6 ")
    log = await eventually(lambda: device.logs.text("system", "hello from sleeper"), what="the app's output")
    assert f"as {64000 + platform.apps['sleeper'].slot}" in log  # its own uid: the tests run as root
    r = await admin.get("/axis-cgi/systemlog.cgi", params={"appname": "sleeper"})
    assert "hello from sleeper" in r.text and "started (pid" in r.text
    assert device.accounts.get(account_name("sleeper")) is not None  # its own account

    assert await control(admin, "restart", "sleeper") == "OK\n"
    await eventually(lambda: platform.apps["sleeper"].process.state.starts == 1
                     and platform.apps["sleeper"].status == "Running", what="the restart")
    assert await control(admin, "stop", "sleeper") == "OK\n"
    assert platform.apps["sleeper"].status == "Stopped"
    assert (await control(admin, "stop", "sleeper")).startswith("Error: 7 ")
    assert await control(admin, "remove", "sleeper") == "OK\n"
    assert platform.apps == {} and not (device.data / "apps" / "sleeper").exists()
    assert device.accounts.get(account_name("sleeper")) is None
    assert (await control(admin, "start", "sleeper")).startswith("Error: 4 ")
    audit = device.logs.text("audit")
    assert "installed app sleeper 1.0.0 (unsigned)" in audit and "removed app sleeper" in audit


async def test_signed_packages_verify_against_the_devices_ca_certificates(
        device: Device, platform: AppsService, admin: httpx.AsyncClient, tmp_path: Path, signing: Signing) -> None:
    archive = sleeper(tmp_path)
    signed = sign(archive, signing.key_pem, signing.chain_pem)
    text = await upload(admin, signed)
    assert text.startswith("Error: 12 ") and "not trusted" in text  # the CA is not on the device yet
    device.features[KEYSTORE].add_ca("apps", signing.ca_pem, "test")
    tampered = bytearray(signed)
    tampered[100] ^= 1
    assert "does not match" in await upload(admin, bytes(tampered))
    assert "not trusted" in await upload(admin, sign(archive, signing.other_key_pem, signing.other_chain_pem))
    assert platform.apps == {}
    assert await upload(admin, signed) == "OK\n"  # unsigned apps are still refused; this one is signed
    assert "signed by CN=Vigil test app vendor" in device.logs.text("audit")


async def test_bad_packages_are_refused_and_the_installed_app_stays(
        device: Device, platform: AppsService, admin: httpx.AsyncClient, tmp_path: Path) -> None:
    platform.set_allow_unsigned(True, "test")
    assert await upload(admin, sleeper(tmp_path)) == "OK\n"
    await control(admin, "start", "sleeper")
    await eventually(lambda: platform.apps["sleeper"].status == "Running", what="the app to run")
    good = sleeper(tmp_path, version="2.0.0")
    manifest = (tmp_path / "sleeper-1.0.0" / "manifest.json").read_bytes()
    bad = {
        "cut short": (good[: len(good) // 2], "Error: 10 "),
        "traversal": (raw_tar(("manifest.json", tarfile.REGTYPE, manifest), ("../../escape", tarfile.REGTYPE, b"x")),
                      "a file outside its folder"),
        "symlink": (raw_tar(("manifest.json", tarfile.REGTYPE, manifest), ("sleeper", tarfile.SYMTYPE, b"")),
                    "links are not allowed"),
        "device file": (raw_tar(("manifest.json", tarfile.REGTYPE, manifest), ("sleeper", tarfile.CHRTYPE, b"")),
                        "special file"),
        "wrong schema": (raw_tar(("manifest.json", tarfile.REGTYPE, b'{"schemaVersion": "9.0"}'),),
                         "schemaVersion '9.0' is not supported"),
        "bad run mode": (raw_tar(("manifest.json", tarfile.REGTYPE,
                                  manifest.replace(b'"respawn"', b'"always"'))), "runMode must be one of"),
        "no executable": (raw_tar(("manifest.json", tarfile.REGTYPE, manifest)), "no executable file sleeper"),
        "empty": (b"", "Error: 1 "),
    }
    for what, (package, expected) in bad.items():
        assert expected in await upload(admin, package), what
    r = await admin.post(f"{BASE}/upload.cgi", content=b"--x\r\n", headers={
        "Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(65 * 1024 * 1024)})
    assert r.text.startswith("Error: 1 ") and "larger than" in r.text
    assert "Error: 1 " in (await admin.post(f"{BASE}/upload.cgi", files={"other": ("a", good)})).text
    assert not (device.data / "escape").exists() and not (tmp_path.parent / "escape").exists()
    assert [p.name for p in (device.data / "apps").iterdir()] == ["sleeper"]  # no staging folder left
    app = platform.apps["sleeper"]
    assert app.manifest.version == "1.0.0" and app.status == "Running"  # nothing lost
    assert "app upload refused" in device.logs.text("system")
    assert await upload(admin, good) == "OK\n"  # an upgrade: the app runs again, new version
    await eventually(lambda: platform.apps["sleeper"].status == "Running"
                     and platform.apps["sleeper"].manifest.version == "2.0.0", what="the upgraded app to run")


async def test_a_crash_loop_is_backed_off_and_reported(
        device: Device, platform: AppsService, admin: httpx.AsyncClient, tmp_path: Path) -> None:
    platform.set_allow_unsigned(True, "test")
    assert await upload(admin, build(make_app(tmp_path / "c", "crasher", "echo dying; exit 3"))) == "OK\n"
    await control(admin, "start", "crasher")
    process = platform.apps["crasher"].process
    await eventually(lambda: process.state.crash_looping, what="the crash loop to be noticed")
    assert process.state.last_exit == 3 and process.state.quick_exits >= 3
    assert platform.backoff.delay(3) == 2 * platform.backoff.delay(2) == 4 * platform.backoff.delay(1)
    assert "keeps exiting; the device backs off" in device.logs.text("system")
    r = await admin.get("/vigil/apps")
    shown = r.json()["apps"][0]
    assert shown["crashLoop"] is True and "restarting in" in shown["message"]
    assert await control(admin, "stop", "crasher") == "OK\n"  # a backing-off app stops too
    assert platform.apps["crasher"].status == "Stopped"


async def test_run_modes_once_and_never(device: Device, platform: AppsService, admin: httpx.AsyncClient,
                                        tmp_path: Path) -> None:
    platform.set_allow_unsigned(True, "test")
    await upload(admin, build(make_app(tmp_path / "o", "oneshot", "echo once done", "once")))
    await upload(admin, build(make_app(tmp_path / "n", "library", "exit 0", "never")))
    assert await control(admin, "start", "oneshot") == "OK\n"
    await eventually(lambda: "exited with status 0" in platform.apps["oneshot"].process.state.message,
                     what="the one-shot app to finish")
    assert platform.apps["oneshot"].process.state.starts == 1
    assert "run mode never" in await control(admin, "start", "library")


async def test_licenses(device: Device, platform: AppsService, admin: httpx.AsyncClient, tmp_path: Path) -> None:
    platform.set_allow_unsigned(True, "test")
    folder = make_app(tmp_path / "l", "licensed", "exec sleep 60", copyProtection={"method": "axis"})
    await upload(admin, build(folder))
    assert "needs a license key" in await control(admin, "start", "licensed")
    lic = f"{BASE}/license.cgi?action=uploadlicensekey&package=licensed"
    key = b'<license application="licensed"><key>abc</key></license>'
    assert "Error: 31 " in (await admin.post(lic, files={"fileData": ("k.xml", b"<not xml", "text/xml")})).text
    assert "Error: 31 " in (await admin.post(lic, files={"fileData": ("k.xml", key.replace(b'"licensed"', b'"x"'),
                                                                       "text/xml")})).text
    assert (await admin.post(lic, files={"fileData": ("k.xml", key, "text/xml")})).text == "OK\n"
    assert (await admin.post(lic, files={"licenseKey": ("k.xml", key, "text/xml")})).text.startswith("Error: 30 ")
    r = await admin.post(f"{BASE}/list.cgi")
    assert 'License="Valid"' in r.text
    assert await control(admin, "start", "licensed") == "OK\n"
    remove = f"{BASE}/license.cgi?action=removelicensekey&package=licensed"
    assert (await admin.get(remove)).text == "OK\n"
    assert (await admin.get(remove)).text.startswith("Error: 32 ")
    assert 'License="Missing"' in (await admin.post(f"{BASE}/list.cgi")).text
    assert "installed a license key for app licensed" in device.logs.text("audit")


@pytest.mark.parametrize("role", ["viewer", "operator"])
async def test_only_administrators_change_apps(device: Device, platform: AppsService, role: str,
                                               tmp_path: Path) -> None:
    async with client_as(device, role) as client:
        assert (await client.post(f"{BASE}/list.cgi")).status_code == 200
        for path in ("upload.cgi", "control.cgi?action=start&package=x", "config.cgi?action=get&name=AllowUnsigned",
                     "license.cgi?action=removelicensekey&package=x"):
            assert (await client.post(f"{BASE}/{path}")).status_code == 403, path
        assert (await client.get("/local/x/index.html")).status_code == 404


async def test_a_running_app_runs_again_after_the_device_restarts(device: Device, tmp_path: Path) -> None:
    add_account(device, *ADMIN, "admin")
    async with serving(AppsService(device, lambda: [], QUICK)) as first:
        first.set_allow_unsigned(True, "test")
        await first.install(sleeper(tmp_path), "test")
        await first.install(sleeper(tmp_path, "idle"), "test")
        await first.start("sleeper", "test")
        await eventually(lambda: first.apps["sleeper"].status == "Running", what="the app to run")
    assert first.apps["sleeper"].status == "Stopped"  # the device stopped: its apps stopped with it
    async with serving(AppsService(device, lambda: [], QUICK)) as again:  # the device's next start
        await eventually(lambda: again.apps["sleeper"].status == "Running", what="the app to run again")
        assert again.apps["idle"].status == "Stopped" and again.apps["idle"].process is None


async def test_folders_no_installed_app_owns_go_at_start(device: Device, tmp_path: Path) -> None:
    """An install cut short by a kill -9 leaves its staging folder; a factory default empties the
    database but not the folder: the next start removes both, and keeps the installed app."""
    add_account(device, *ADMIN, "admin")
    first = AppsService(device, lambda: [], QUICK)
    first.set_allow_unsigned(True, "test")
    await first.install(sleeper(tmp_path), "test")
    (device.data / "apps" / ".staging-0123456789ab" / "html").mkdir(parents=True)
    (device.data / "apps" / "forgotten" / "data").mkdir(parents=True)
    AppsService(device, lambda: [], QUICK)
    assert sorted(p.name for p in (device.data / "apps").iterdir()) == ["sleeper"]
    assert (device.data / "apps" / "sleeper" / "package" / "sleeper").is_file()
    assert "removed forgotten: no installed app owns it" in device.logs.text("system")
