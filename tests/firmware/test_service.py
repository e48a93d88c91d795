"""The trial as the firmware service runs it in the new build: the health check with its
automatic commit, a failed check rolling back, the rollback timer (stopped by stopAuto, ended
by a commit), and the factory default an upgrade asked for, taken once at the first boot."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.release.signing import ReleaseKey
from tests.release.test_slots import QuietLogs
from vigil.features.firmware.service import Firmware, UpgradeOptions
from vigil.release.launcher import ENV_SLOT
from vigil.release.package import public_key_der, signer_public_key
from vigil.release.slots import Slots


def on_trial(data: Path, key: ReleaseKey, package: Path, options: UpgradeOptions, monkeypatch,
             health: str | None = None) -> tuple[Firmware, list[str]]:
    """The firmware service of the new build's first boot after an upgrade with `options`;
    the actions it asked the device for."""
    async def check() -> str | None:
        return health

    def make() -> Firmware:
        return Firmware(data, "s3008", "part", QuietLogs(), lambda: [public_key_der(signer_public_key(key.cert_pem))],
                        asked.append, check)

    asked: list[str] = []
    before = make()
    upload = before.incoming()
    upload.write_bytes(package.read_bytes())
    asyncio.run(before.upgrade(upload, options, "test"))
    Slots(data, "0.1.0").boot(time.time())
    monkeypatch.setenv(ENV_SLOT, Slots(data).load()["active"])
    return make(), asked


async def test_started_commits_after_the_health_check(tmp_path: Path, key: ReleaseKey, releases, monkeypatch) -> None:
    fw, asked = await asyncio.to_thread(on_trial, tmp_path, key, releases["v2"], UpgradeOptions.parse(), monkeypatch)
    assert fw.status()["pendingCommit"] == "started"
    await fw.run()
    assert Slots(tmp_path).load()["committed"] is True and fw.trial() is None and asked == []


async def test_a_failed_health_check_rolls_back_and_reboots(tmp_path: Path, key: ReleaseKey, releases,
                                                          monkeypatch) -> None:
    fw, asked = await asyncio.to_thread(on_trial, tmp_path, key, releases["v2"], UpgradeOptions.parse(), monkeypatch,
                                        "it does not answer HTTP")
    await fw.run()
    state = Slots(tmp_path).load()
    assert asked == ["reboot"] and state["active"] == "a" and state["trial"] is None
    assert "failed its health check: it does not answer HTTP" in state["lastRollback"]["reason"]


async def test_the_rollback_timer_stop_auto_and_commit(tmp_path: Path, key: ReleaseKey, releases, monkeypatch) -> None:
    fw, asked = await asyncio.to_thread(on_trial, tmp_path, key, releases["v2"],
                                        UpgradeOptions.parse("none", "never", "1"), monkeypatch)
    runner = asyncio.create_task(fw.run())
    await asyncio.sleep(0)  # the health check passes; the timer waits for its minute
    fw.stop_auto_rollback("test")
    assert "timeToRollback" not in fw.status() and not runner.done()
    fw.commit("test")
    await asyncio.wait_for(runner, 5)  # the commit ends the trial, and the timer with it
    assert asked == [] and Slots(tmp_path).load()["committed"] is True

    fw2, asked2 = await asyncio.to_thread(on_trial, tmp_path / "2", key, releases["v2"],
                                          UpgradeOptions.parse("none", "never", "1"), monkeypatch)
    state = Slots(tmp_path / "2").load()
    state["trial"]["rollbackAt"] = time.time() + 0.2  # the minute is nearly over
    Slots(tmp_path / "2").save(state)
    await asyncio.wait_for(fw2.run(), 5)
    assert asked2 == ["reboot"] and "rollback time" in Slots(tmp_path / "2").load()["lastRollback"]["reason"]


def test_the_factory_default_an_upgrade_asked_for_is_taken_once(tmp_path: Path, key: ReleaseKey, releases,
                                                              monkeypatch) -> None:
    on_trial(tmp_path, key, releases["v2"], UpgradeOptions.parse("soft"), monkeypatch)
    assert Slots(tmp_path).load()["trial"]["autoCommit"] == "boot"  # the default with a factory default
    assert Slots(tmp_path).take_factory_default() == "soft"
    assert Slots(tmp_path).take_factory_default() == "none"


@pytest.mark.parametrize(("given", "expected"), [
    (("none", "default", "default"), ("started", 10)),
    (("hard", "default", "default"), ("boot", 10)),
    (("none", "never", "default"), ("never", None)),
    (("none", "default", "30"), ("never", 30)),
    (("none", "started", "never"), ("started", None)),
])
def test_the_upgrade_defaults_follow_vapix(given, expected) -> None:
    options = UpgradeOptions.parse(*given)
    assert (options.auto_commit, options.rollback_minutes) == expected
