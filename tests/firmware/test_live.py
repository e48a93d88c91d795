"""A real device (`vigil run`) upgraded to real newer builds of this tree: from the Maintenance
page in Chromium (upload progress, the trial state, Commit), it restarts into the new slot and is
committed; a broken build fails its health check and the device rolls back by
itself; `kill -9` during a trial brings it back on the old software; settings stay throughout."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from playwright.sync_api import expect

from tests.conftest import ADMIN, LiveDevice, create_admin_live, start_live, wait_until
from tests.firmware.conftest import FWMGR, upgrade
from tests.peers.browser import Session, chromium
from tests.release.signing import ReleaseKey, broken_tree, release
from tests.web.conftest import log_in, open_page
from vigil import __version__

AUTH = httpx.DigestAuth(*ADMIN)


def call(live: LiveDevice, method: str) -> dict:
    reply = httpx.post(live.http + FWMGR, json={"apiVersion": "1.0", "method": method}, auth=AUTH, timeout=10)
    return reply.json()


def status_of(live: LiveDevice) -> dict | None:
    try:
        return call(live, "status")["data"]
    except (httpx.TransportError, ValueError, KeyError):
        return None


def running(live: LiveDevice, version: str, timeout: float = 40) -> dict:
    """Wait until the device answers again, running `version`; its status."""
    seen: list[dict] = []

    def ready() -> bool:
        status = status_of(live)
        seen[:] = [status] if status else []
        return bool(status) and status["activeFirmwareVersion"] == version

    wait_until(ready, timeout, f"the device running {version} (last status {seen})")
    return seen[0]


def host_name(live: LiveDevice) -> str:
    reply = httpx.get(live.http + "/axis-cgi/param.cgi?action=list&group=Network.HostName", auth=AUTH, timeout=10)
    return reply.text.strip().split("=", 1)[1]


@pytest.fixture(scope="module")
def device(tmp_path_factory, key: ReleaseKey) -> Iterator[LiveDevice]:
    live = start_live(tmp_path_factory.mktemp("fw") / "data")
    create_admin_live(live)
    reply = httpx.post(live.http + "/config/rest/cert/v1/os_certificates", auth=AUTH, timeout=10,
                       json={"data": {"certificate": key.cert_pem.decode()}})
    assert reply.status_code == 200, reply.text
    reply = httpx.get(live.http + "/axis-cgi/param.cgi?action=update&Network.HostName=kept-over-upgrades",
                      auth=AUTH, timeout=10)
    assert reply.text.strip() == "OK", reply.text
    yield live
    live.stop()


@pytest.fixture(scope="module")
def v2(tmp_path_factory, key: ReleaseKey) -> Path:
    """A release of this tree as 0.2.0."""
    return release(tmp_path_factory.mktemp("v2") / "vigil-0.2.0.tar.gz", key, "0.2.0")


@pytest.mark.browser
def test_upgrade_from_the_maintenance_page_restarts_into_the_new_build_then_commit(device: LiveDevice,
                                                                                   v2: Path) -> None:
    package = v2
    with chromium() as browser:
        session = Session(browser)
        page = session.page
        log_in(page, device)
        open_page(page, "Maintenance")
        status = page.locator("#firmware-status")
        expect(status).to_contain_text(f"Running version{__version__}")
        expect(status).to_contain_text("StateCommitted")
        expect(page.locator("#firmware-commit")).to_be_hidden()
        page.locator("#firmware-file").set_input_files(str(package))
        page.locator("#firmware-autocommit").select_option("never")
        page.locator("#firmware-rollback-minutes").fill("5")
        page.get_by_role("button", name="Upgrade").click()
        expect(page.get_by_text("Version 0.2.0 is installed. Restarting into it")).to_be_visible()
        assert page.locator("#firmware-progress").get_attribute("value") == "1"  # the upload's progress went to the end
        expect(page.get_by_role("heading", name="Log in")).to_be_visible(timeout=60_000)  # the new process: log in again
        log_in(page, device)
        open_page(page, "Maintenance")
        expect(status).to_contain_text("Running version0.2.0")
        expect(status).to_contain_text(f"Previous version (rollback){__version__}")
        expect(status).to_contain_text("Not committed: on trial; rolls back in 5 min")
        page.locator("#firmware-commit").click()
        expect(page.get_by_text("Version 0.2.0 is committed")).to_be_visible()
        expect(status).to_contain_text("StateCommitted")
        session.close()
    assert status_of(device)["isCommited"] is True
    assert host_name(device) == "kept-over-upgrades"
    # The new build runs from its slot: a child of the launcher, its code in the data folder.
    child = psutil.Process(device.process.pid).children()[0]
    assert str(device.data / "firmware" / "b") in child.environ()["PYTHONPATH"]


def test_a_build_that_fails_its_health_check_rolls_back_by_itself(device: LiveDevice, key: ReleaseKey,
                                                                  tmp_path: Path) -> None:
    broken = release(tmp_path / "v3.tgz", key, "0.3.0", source=broken_tree(tmp_path / "tree")).read_bytes()
    reply = upgrade(httpx.Client(auth=AUTH, timeout=30, base_url=device.http), broken)
    assert reply.json()["data"] == {"firmwareVersion": "0.3.0"}, reply.text

    def rolled_back() -> bool:
        status = status_of(device)
        return bool(status) and "lastRollback" in status and status["activeFirmwareVersion"] == "0.2.0"

    wait_until(rolled_back, 40, "the device back on 0.2.0 after the broken build")
    status = status_of(device)
    assert status["lastRollback"]["from"] == "0.3.0" and "health check" in status["lastRollback"]["reason"]
    assert status["isCommited"] is True
    assert host_name(device) == "kept-over-upgrades"
    log = httpx.get(device.http + "/axis-cgi/systemlog.cgi", auth=AUTH, timeout=10).text
    assert "software rolled back from 0.3.0 to 0.2.0" in log


def test_kill_9_during_a_trial_boot_comes_back_on_the_old_build(device: LiveDevice, v2: Path) -> None:
    # The same build again (not older: allowed), so that the one that comes back must be the old slot's.
    reply = upgrade(httpx.Client(auth=AUTH, timeout=30, base_url=device.http), v2.read_bytes(), {"autoCommit": "never"})
    assert reply.json()["data"] == {"firmwareVersion": "0.2.0"}, reply.text
    launcher = psutil.Process(device.process.pid)  # the device became the launcher again (exec)
    trials: list[psutil.Process] = []

    def trial_booting() -> bool:
        trials[:] = [p for p in launcher.children() if "VIGIL_SUPERVISED" in p.environ()]
        return bool(trials)

    wait_until(trial_booting, 20, "the launcher booting the new build on trial")
    trial = trials[0]
    device.stop(signal.SIGKILL)  # power lost while the new build boots: the launcher and its child
    psutil.wait_procs([trial], timeout=10)
    assert not trial.is_running()
    again = start_live(device.data, ports=(device.http_port, device.https_port, device.rtsp_port))
    device.process = again.process  # the module's device is this process from now on
    status = running(device, "0.2.0")
    assert "cut off" in status["lastRollback"]["reason"] and status["lastRollback"]["from"] == "0.2.0"
    assert status["inactiveFirmwareVersion"] == "0.2.0"  # the slot it was cut off in
    assert host_name(device) == "kept-over-upgrades"
    state = json.loads((device.data / "firmware" / "state.json").read_text())
    assert state["trial"] is None and state["committed"] is True and state["active"] == "b"
