"""The A/B slots (vigil.release.slots) with the firmware service's upgrade: a process killed
(`kill -9`) at every step of an upgrade comes back on a working slot, and the boot decisions
the launcher takes (roll back a cut-off trial, keep one that rebooted cleanly, honour the
rollback time, never boot a damaged slot)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.release.signing import launcher_tree, release, release_key
from vigil import __version__
from vigil.core.archive import extract
from vigil.features.firmware.service import Firmware, UpgradeOptions
from vigil.release import slots as slots_module
from vigil.release.package import public_key_der, sha256_file, signer_public_key, verify
from vigil.release.slots import FOLDER, STEPS, Slots

NEW = "0.2.0"


class QuietLogs:
    def system(self, *args, **kwargs) -> None:
        pass

    audit = system


@pytest.fixture(scope="module")
def key():
    return release_key()


@pytest.fixture(scope="module")
def package(tmp_path_factory, key) -> Path:
    tree = launcher_tree(tmp_path_factory.mktemp("tree"))
    return release(tmp_path_factory.mktemp("rel") / "v2.tar.gz", key, NEW, source=tree)


def firmware(data: Path, key) -> Firmware:
    async def healthy() -> None:
        return None

    return Firmware(data, "s3008", "part", QuietLogs(), lambda: [public_key_der(signer_public_key(key.cert_pem))],
                    lambda action: None, healthy)


def upgrade_then_boot(data: Path, package: Path, key) -> None:
    """What a device and its launcher do: the upload, the upgrade, the trial boot, the health check."""
    fw = firmware(data, key)
    upload = fw.incoming()
    upload.write_bytes(package.read_bytes())
    asyncio.run(fw.upgrade(upload, UpgradeOptions.parse("none", "never", "never"), "test"))
    Slots(data, __version__).boot(time.time())
    Slots(data).mark_healthy()


def killed_at(step: str, data: Path, package: Path, key) -> None:
    """Run the upgrade in a child process that is killed with SIGKILL at `step`."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            def die(at: str) -> None:
                if at == step:
                    os.kill(os.getpid(), signal.SIGKILL)

            slots_module.CHECKPOINT = die
            upgrade_then_boot(data, package, key)
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"not killed at {step}: {status}"


def runs(boot_path: Path | None) -> str:
    """The version a slot's program reports when started (the installed program for None)."""
    env = {**os.environ, "PYTHONPATH": str(boot_path)} if boot_path else dict(os.environ)
    done = subprocess.run([sys.executable, "-P", "-c", "import vigil.release.launcher, vigil; print(vigil.__version__)"],
                          env=env, capture_output=True, text=True, timeout=30, cwd="/")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("step", STEPS)
def test_kill_9_at_each_step_of_an_upgrade_comes_back_on_a_working_slot(tmp_path: Path, package: Path, key,
                                                                         step: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    killed_at(step, data, package, key)
    boot, rolled_back = Slots(data, __version__).boot(time.time())  # the device starts again
    # Killed before the switch: the old software, untouched; at the switch: the new one's first
    # trial boot; during its trial boot (before it was committed): rolled back to the old one.
    expected = {"switched": NEW}.get(step, __version__)
    assert boot.version == expected, (step, boot)
    assert runs(boot.path) == expected
    assert (rolled_back is not None) == (step in ("trial-boot", "healthy"))
    root = data / FOLDER
    assert not (root / "incoming").exists() and not (root / "staging").exists()
    state = Slots(data).load()
    for name in ("a", "b"):  # no half-installed slot folder stays, and the named ones are whole
        slot = state["slots"][name]
        assert (root / name).exists() == bool(slot and slot["path"]), (step, name, state)
    if boot.path is not None:  # the slot holds the release's files as signed
        folder = tmp_path / "check"
        manifest = verify(folder, extract(package, folder), [public_key_der(signer_public_key(key.cert_pem))])
        assert all(sha256_file(boot.path / name) == digest for name, digest in manifest.files.items())


def test_a_trial_that_reboots_cleanly_after_its_health_check_is_kept(tmp_path: Path, package: Path, key) -> None:
    data = tmp_path / "data"
    upgrade_then_boot(data, package, key)
    boot, rolled_back = Slots(data, __version__).boot(time.time(), clean=True)
    assert boot.version == NEW and boot.trial and rolled_back is None
    assert Slots(data).load()["trial"]["attempts"] == 2
    boot, rolled_back = Slots(data, __version__).boot(time.time(), clean=True)  # not healthy in between
    assert boot.version == __version__ and not boot.trial and "cut off" in rolled_back


def test_a_trial_whose_rollback_time_passed_while_off_is_rolled_back(tmp_path: Path, package: Path, key) -> None:
    data = tmp_path / "data"
    fw = firmware(data, key)
    upload = fw.incoming()
    upload.write_bytes(package.read_bytes())
    asyncio.run(fw.upgrade(upload, UpgradeOptions.parse("none", "default", "default"), "test"))
    trial = Slots(data).load()["trial"]
    assert trial["autoCommit"] == "started" and trial["rollbackAt"] == pytest.approx(time.time() + 600, abs=30)
    boot, rolled_back = Slots(data, __version__).boot(trial["rollbackAt"] + 1)
    assert boot.version == __version__ and "rollback time" in rolled_back
    assert Slots(data).load()["lastRollback"]["from"] == NEW


def test_a_damaged_slot_is_never_booted(tmp_path: Path, package: Path, key) -> None:
    data = tmp_path / "data"
    upgrade_then_boot(data, package, key)
    Slots(data).commit()
    boot, _ = Slots(data, __version__).boot(time.time())
    assert boot.version == NEW and boot.path is not None and not boot.trial
    (boot.path / "vigil" / "__init__.py").unlink()  # the disk lost the slot's files
    boot, _ = Slots(data, __version__).boot(time.time())
    assert boot.path is None and boot.version == __version__
