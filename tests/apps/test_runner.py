"""How an app is started: the sandbox's command line for each isolation the machine allows,
the fallback without root and without bubblewrap (really run), and the backoff's waits."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from tests.apps.conftest import QUICK, make_app, serving
from tests.conftest import ADMIN, add_account, eventually
from vigil.device import Device
from vigil.features.apps.package import build
from vigil.features.apps.runner import SETPRIV, AppProcess, Backoff, Isolation, Launch
from vigil.features.apps.service import AppsService


def launch(tmp_path: Path) -> Launch:
    return Launch("demo", tmp_path / "package", tmp_path / "data", 64003, ("--x", "1"), {"VIGIL_APP_USER": "app_x"})


def test_in_the_sandbox_as_root_the_app_drops_to_its_own_uid(tmp_path: Path) -> None:
    argv, env = launch(tmp_path).command(Isolation(as_root=True, bwrap="/usr/bin/bwrap"))
    assert argv[0] == "/usr/bin/bwrap" and "--die-with-parent" in argv and "--unshare-pid" in argv
    assert argv[argv.index("--ro-bind", argv.index("/proc")) + 1:][:2] == [str(tmp_path / "package"), "/app"]
    assert argv[argv.index("--bind") + 1:argv.index("--bind") + 3] == [str(tmp_path / "data"), "/data"]
    drop = argv.index(SETPRIV)
    assert argv[drop:drop + 5] == [SETPRIV, "--reuid", "64003", "--regid", "64003"]
    assert "--no-new-privs" in argv and argv[-3:] == ["/app/demo", "--x", "1"]
    assert env["VIGIL_APP_DATA"] == "/data" and env["VIGIL_APP_USER"] == "app_x"


def test_without_root_the_sandbox_runs_as_the_devices_user(tmp_path: Path) -> None:
    argv, _ = launch(tmp_path).command(Isolation(as_root=False, bwrap="/usr/bin/bwrap"))
    assert SETPRIV not in argv and argv[-3:] == ["/app/demo", "--x", "1"]


def test_without_a_sandbox_the_app_runs_from_its_folder(tmp_path: Path) -> None:
    argv, env = launch(tmp_path).command(Isolation(as_root=False, bwrap=None))
    assert argv == [str(tmp_path / "package" / "demo"), "--x", "1"]
    assert env["VIGIL_APP_DATA"] == str(tmp_path / "data")
    assert "the device's own user" in Isolation(False, None).describe()
    assert "without a sandbox" in Isolation(False, None).describe()


def test_backoff_doubles_up_to_its_limit() -> None:
    backoff = Backoff(first=1.0, limit=5.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


async def test_the_fallback_really_runs_the_app(device: Device, tmp_path: Path) -> None:
    add_account(device, *ADMIN, "admin")  # an app's account needs an administrator on the device
    service = AppsService(device, lambda: [], QUICK, Isolation(as_root=False, bwrap=None))
    async with serving(service):
        service.set_allow_unsigned(True, "test")
        await service.install(build(make_app(tmp_path / "f", "plain", 'echo "data in $VIGIL_APP_DATA"; '
                                                                        "exec sleep 60")), "test")
        await service.start("plain", "test")
        await eventually(lambda: device.logs.text("system", "data in "), what="the app's output")
        assert str(device.data / "apps" / "plain" / "data") in device.logs.text("system", "data in ")
        assert "the device's own user" in device.logs.text("system", "each app runs as")
    assert service.apps["plain"].status == "Stopped"  # the device stopping stops its apps


def processes_of(uid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            uids = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
            if int(uids.split()[1]) == uid:
                found.append(int(status.parent.name))
    return found


@pytest.mark.skipif(not Isolation.detect().bwrap or not Isolation.detect().as_root, reason="needs root and bwrap")
async def test_an_app_stopped_while_its_sandbox_starts_leaves_nothing_behind(tmp_path: Path) -> None:
    package = make_app(tmp_path / "package", "quick", "exec sleep 60")
    (tmp_path / "data").mkdir()
    uid = 64099
    os.chown(tmp_path / "data", uid, uid)
    for settle in (0, 0.001, 0.005, 0.02, 0.1):  # before, while and after bwrap sets the sandbox up
        process = AppProcess(Launch("quick", package, tmp_path / "data", uid, (), {}), "respawn", Isolation.detect(),
                             Backoff(), on_output=lambda line: None, on_change=lambda state, what: None)
        process.start()
        await asyncio.sleep(settle)
        await asyncio.wait_for(process.stop(), 3)  # the grace is 5 s: nothing waits it out
        assert process.state.status == "Stopped"
        await eventually(lambda: not processes_of(uid), 3, f"the app's processes to go (settle {settle})")
