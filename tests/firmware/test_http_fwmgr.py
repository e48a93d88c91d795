"""firmwaremanagement.cgi and firmwareupgrade.cgi on an in-process device: every refusal with
its code (vapix.md §8), the settings kept, and the trial's commit, purge and rollback as the
device that booted the new slot sees them (the live restart is test_live.py)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import client_as, json_call, make_device
from tests.firmware.conftest import FWMGR, upgrade
from tests.release.signing import ReleaseKey
from vigil import __version__
from vigil.device import Device
from vigil.features.certificates.service import KEYSTORE
from vigil.features.firmware.service import FIRMWARE_SERVICE
from vigil.release.launcher import ENV_SLOT
from vigil.release.slots import Slots


@pytest.fixture
def trusting(device: Device, key: ReleaseKey) -> Device:
    """The device with the test release key as its custom signed OS certificate."""
    device.features[KEYSTORE].add_os_certificate(key.cert_pem, "test")
    return device


async def error_of(reply: httpx.Response) -> tuple[int, str]:
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "data" not in body, body
    return body["error"]["code"], body["error"]["message"]


async def test_status_discovery_and_roles(device: Device) -> None:
    async with client_as(device, "admin") as admin:
        status = await json_call(admin, FWMGR, "status")
        assert status["data"] == {"activeFirmwareVersion": __version__, "activeFirmwarePart": device.profile.hardware_id}
        versions = await json_call(admin, FWMGR, "getSupportedVersions")
        assert versions["data"] == {"apiVersions": ["1.0"]}
        apis = (await admin.post("/axis-cgi/apidiscovery.cgi", json={"apiVersion": "1.0", "method": "getApiList"})).json()
        assert any(a["id"] == "fwmgr" for a in apis["data"]["apiList"])
        assert device.params.get("Properties.FirmwareManagement.Version") == "1.3"
        for body, code in (({"apiVersion": "1.0", "method": "explode"}, 405), ({"apiVersion": "2.0", "method": "status"}, 417),
                           ({"apiVersion": "1.0", "method": "status", "params": {"x": "1"}}, 400)):
            assert (await error_of(await admin.post(FWMGR, json=body)))[0] == code
        assert (await error_of(await admin.post(FWMGR, json={"apiVersion": "1.0", "method": "upgrade"})))[0] == 400
    for role in ("operator", "viewer"):
        async with client_as(device, role) as other:
            assert (await other.post(FWMGR, json={"apiVersion": "1.0", "method": "status"})).status_code == 403


async def test_bad_releases_are_refused_with_their_codes_and_nothing_changes(trusting: Device, releases: dict[str, Path],
                                                                             tmp_path: Path) -> None:
    device = trusting
    device.params.set_internal({"Network.HostName": "kept-name"}, "test")
    v2 = releases["v2"].read_bytes()
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(v2[: len(v2) // 2])
    tampered = bytearray(v2)
    tampered[len(v2) // 2] ^= 0xFF
    async with client_as(device, "admin") as admin:
        cases = [
            (releases["stranger"].read_bytes(), None, 424, "unknown custom firmware certificate"),
            (releases["w401"].read_bytes(), None, 421, "not matching device"),
            (releases["old"].read_bytes(), None, 409, "older firmware version"),
            (cut.read_bytes(), None, 415, "truncated"),
            (bytes(tampered), None, 415, "invalid image"),
            (b"just some bytes", None, 415, "invalid image"),
            (v2, {"autoCommit": "sometimes"}, 400, "autoCommit"),
            (v2, {"autoRollback": "-5"}, 400, "autoRollback"),
            (v2, {"colour": "red"}, 400, "unknown parameter"),
        ]
        for package, params, code, text in cases:
            got = await error_of(await upgrade(admin, package, params))
            assert got[0] == code and text in got[1], (code, text, got)
        two_files = await admin.post(FWMGR, files=[("file", ("a.tgz", v2)), ("file", ("b.tgz", v2))])
        assert (await error_of(two_files))[0] == 400
        truncated = await admin.post(FWMGR, content=b"--xx\r\nContent-Disposition: form-data; name=\"json\"\r\n\r\n{",
                                     headers={"Content-Type": "multipart/form-data; boundary=xx"})
        assert (await error_of(truncated))[0] == 400
        huge = await admin.post(FWMGR, content=b"x", headers={"Content-Type": "multipart/form-data; boundary=xx",
                                                               "Content-Length": str(2**31)})
        assert (await error_of(huge))[0] == 415
        assert (await json_call(admin, FWMGR, "status"))["data"] == {
            "activeFirmwareVersion": __version__, "activeFirmwarePart": device.profile.hardware_id}
    assert not device.stopping.is_set()
    assert device.params.get("Network.HostName") == "kept-name"
    assert "software upgrade refused" in device.logs.text("system")
    assert not (device.data / "firmware" / "b").exists()


async def test_a_signature_is_mandatory(trusting: Device, releases: dict[str, Path], tmp_path: Path) -> None:
    from tests.release.test_package import rewrite
    from vigil.release.package import SIGNATURE

    unsigned = rewrite(releases["v2"], tmp_path / "u.tar", lambda n, d: None if n == SIGNATURE else d)
    async with client_as(trusting, "admin") as admin:
        code, message = await error_of(await upgrade(admin, unsigned.read_bytes()))
    assert code == 422 and "signature" in message


async def test_upgrade_then_the_trial_commit_purge_rollback_and_revocation(
        trusting: Device, releases: dict[str, Path], tmp_path: Path, clock, monkeypatch) -> None:
    device = trusting
    device.params.set_internal({"Network.HostName": "kept-name"}, "test")
    async with client_as(device, "admin") as admin:
        reply = await upgrade(admin, releases["v2"].read_bytes(), {"autoCommit": "never", "autoRollback": "30"})
        assert reply.json()["data"] == {"firmwareVersion": "0.2.0"}, reply.text
    assert device.stopping.is_set() and device.next_action == "reboot"  # the launcher boots slot b now
    device.close()
    monkeypatch.setenv(ENV_SLOT, "b")  # as the launcher starts the new slot's program
    booted = make_device(tmp_path, clock)  # the same data folder
    try:
        assert booted.params.get("Network.HostName") == "kept-name"
        firmware = booted.features[FIRMWARE_SERVICE]
        async with client_as(booted, "admin") as admin:
            status = (await json_call(admin, FWMGR, "status"))["data"]
            assert status["inactiveFirmwareVersion"] == __version__ and status["isCommited"] is False
            assert 29 * 60 < status["timeToRollback"] <= 30 * 60 and "pendingCommit" not in status
            assert (await error_of(await upgrade(admin, releases["v3"].read_bytes())))[0] == 412
            assert (await error_of(await admin.post(FWMGR, json={"apiVersion": "1.0", "method": "purge"})))[0] == 412
            await json_call(admin, FWMGR, "stopAuto")
            assert "timeToRollback" not in (await json_call(admin, FWMGR, "status"))["data"]
            firmware.busy = True  # another firmware request under way
            assert (await error_of(await upgrade(admin, releases["v3"].read_bytes())))[0] == 423
            firmware.busy = False
            commit = await json_call(admin, FWMGR, "commit")
            assert commit["data"] == {"firmwareVersion": __version__}  # this program's version (the slot's in life)
            assert (await json_call(admin, FWMGR, "status"))["data"]["isCommited"] is True
            code, message = await error_of(await upgrade(admin, releases["v3"].read_bytes()))
            assert code == 410 and "0.3.0" in message  # v2 revoked it
            # A refused upgrade purged the inactive slot (as on Axis devices): no rollback now.
            assert (await error_of(await admin.post(FWMGR, json={"apiVersion": "1.0", "method": "rollback"})))[0] == 404
            reply = await upgrade(admin, releases["old"].read_bytes(), {"factoryDefaultMode": "hard"})
            assert reply.json()["data"] == {"firmwareVersion": "0.0.9"}  # a downgrade with a hard factory default
        state = Slots(booted.data).load()
        assert state["active"] == "a" and state["trial"]["factoryDefault"] == "hard"
        assert state["trial"]["autoCommit"] == "boot"  # the defaults with a factory default (vapix.md §8)
        assert state["trial"]["rollbackAt"] is not None
        audit = booted.logs.text("audit")
        assert "committed the software" in audit and "upgraded the software to 0.0.9" in audit
    finally:
        booted.close()


async def test_purge_and_rollback_of_a_committed_device(trusting: Device, releases: dict[str, Path], tmp_path: Path,
                                                        clock, monkeypatch) -> None:
    async with client_as(trusting, "admin") as admin:
        reply = await upgrade(admin, releases["v2"].read_bytes(), {"autoCommit": "boot", "autoRollback": "never"},
                              browser=True)
        assert reply.json()["data"] == {"firmwareVersion": "0.2.0"}, reply.text
    trusting.close()
    monkeypatch.setenv(ENV_SLOT, "b")
    booted = make_device(tmp_path, clock)
    try:
        assert Slots(booted.data).load()["committed"] is True  # committed at boot
        async with client_as(booted, "admin") as admin:
            reply = await admin.post(FWMGR, json={"apiVersion": "1.0", "method": "rollback"})
            assert reply.json()["data"] == {}
            assert booted.next_action == "reboot"
            assert Slots(booted.data).load()["active"] == "a"
            await json_call(admin, FWMGR, "purge")
            assert Slots(booted.data).load()["slots"]["b"] is None and not (booted.data / "firmware" / "b").exists()
    finally:
        booted.close()


async def test_the_classic_firmwareupgrade_cgi(trusting: Device, releases: dict[str, Path]) -> None:
    async with client_as(trusting, "admin") as admin:
        bad = await admin.post("/axis-cgi/firmwareupgrade.cgi", files={"file": ("x.bin", b"nonsense")})
        assert bad.text.startswith("Error: ") and "damaged" in bad.text
        assert not trusting.stopping.is_set()
        good = await admin.post("/axis-cgi/firmwareupgrade.cgi?type=factorydefault",
                                files={"file": ("v2.tgz", releases["v2"].read_bytes())})
        assert good.text.startswith("OK"), good.text
    trial = Slots(trusting.data).load()["trial"]
    assert trial["factoryDefault"] == "soft" and trial["autoCommit"] == "started" and trial["rollbackAt"] is None
    assert trusting.next_action == "reboot"


async def test_an_oversized_upload_without_a_length_is_cut_off(trusting: Device, monkeypatch) -> None:
    from vigil.features.firmware import const

    monkeypatch.setattr(const, "MAX_PACKAGE", 64 * 1024)  # the real bound is 256 MiB

    async def chunks():
        yield b"--xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.tgz\"\r\n\r\n"
        for _ in range(64):
            yield bytes(8192)

    async with client_as(trusting, "admin") as admin:
        reply = await admin.post(FWMGR, content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=xx"})
    code, message = await error_of(reply)
    assert code == 415 and "larger than" in message
    assert not (trusting.data / "firmware" / "incoming" / "package").exists()


async def test_a_release_key_shipped_with_the_program_is_trusted(device: Device, key: ReleaseKey,
                                                                 releases: dict[str, Path], tmp_path: Path,
                                                                 monkeypatch) -> None:
    from vigil.features.firmware import checks

    async with client_as(device, "admin") as admin:
        assert (await error_of(await upgrade(admin, releases["v2"].read_bytes())))[0] == 424
        shipped = tmp_path / "keys"
        shipped.mkdir()
        (shipped / "release.pem").write_bytes(key.cert_pem)
        monkeypatch.setattr(checks, "BUILT_IN_KEYS", shipped)  # vigil/release/keys/ of a distributor's build
        reply = await upgrade(admin, releases["v2"].read_bytes())
    assert reply.json()["data"] == {"firmwareVersion": "0.2.0"}, reply.text
