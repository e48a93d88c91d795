"""Encryption at rest of the onboard volume.

The key file and footage cipher on their own (wrong passwords, password changes that keep the
key, random access, decryption by OpenSSL); then a real recorder (`vigil run --test-cameras 1`)
that encrypts its RAID while recording: the files hold no readable footage, a `kill -9` and a
restart leave the volume unmounted and its recordings unreadable until the password is given,
and then the recordings made before play (ffprobe), recording resumes, and `vigil check`
finds index and footage in agreement."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, create_admin_live, start_live, wait_until
from tests.recording.live import iso_ms
from vigil.features.storage.service import STORAGE_SERVICE
from vigil.footage import atrest

PASSWORD = "disk-secret-1"
RAID_DISK = "RAID_DISK"


# -- the key file and the cipher ------------------------------------------------------------------
def test_key_unlocks_with_its_password_only_and_survives_a_password_change(tmp_path: Path) -> None:
    key = atrest.create_key(tmp_path, PASSWORD)
    assert atrest.is_encrypted(tmp_path) and len(key) == 32
    assert key not in (tmp_path / atrest.KEY_FILE).read_bytes()
    assert key.hex() not in (tmp_path / atrest.KEY_FILE).read_text()
    assert atrest.unlock(tmp_path, PASSWORD) == key
    for wrong in ("disk-secret-2", "", "d\u00efsk-secret-1"):
        with pytest.raises(atrest.WrongPassword):
            atrest.unlock(tmp_path, wrong)
    assert atrest.change_password(tmp_path, PASSWORD, "another-pass") == key
    assert atrest.unlock(tmp_path, "another-pass") == key
    with pytest.raises(atrest.WrongPassword):
        atrest.unlock(tmp_path, PASSWORD)
    with pytest.raises(atrest.WrongPassword):
        atrest.change_password(tmp_path, PASSWORD, "third-pass")
    assert atrest.unlock(tmp_path, "another-pass") == key  # a refused change changes nothing


@pytest.mark.parametrize("password,problem", [("short", "8 to 512"), ("x" * 513, "8 to 512"),
                                              ("pässwörd-long", "printable ASCII"), (None, "required")])
def test_passwords_a_volume_cannot_have(password, problem) -> None:
    assert problem in (atrest.password_problem(password) or "")


def test_any_range_decrypts_on_its_own_and_openssl_decrypts_a_file(tmp_path: Path) -> None:
    key = os.urandom(32)
    plain = os.urandom(100_003)
    cipher = atrest.FileCipher(key, "a.seg")
    stored = cipher.apply(plain, 0)
    assert stored != plain and len(stored) == len(plain)
    for start, end in ((0, 1), (5, 37), (16, 32), (99_990, 100_003), (1234, 70_001)):
        assert atrest.FileCipher(key, "a.seg").apply(stored[start:end], start) == plain[start:end]
    assert atrest.FileCipher(key, "b.seg").apply(plain, 0) != stored  # each file has its own stream
    if shutil.which("openssl"):
        (tmp_path / "a.seg").write_bytes(stored)
        subprocess.run(["openssl", "enc", "-d", "-aes-256-ctr", "-K", key.hex(), "-iv", cipher.iv.hex(),
                        "-in", str(tmp_path / "a.seg"), "-out", str(tmp_path / "a.mp4")], check=True)
        assert (tmp_path / "a.mp4").read_bytes() == plain


def test_the_keyring_reads_encrypted_files_and_refuses_while_locked(tmp_path: Path) -> None:
    volume = tmp_path / "vol"
    key = atrest.create_key(volume, PASSWORD)
    atrest.keyring.set(volume, key)
    try:
        name = atrest.keyring.file_name(volume / "cam", "1700000000000-rec-000001.mp4")
        assert name.endswith(atrest.ENCRYPTED_SUFFIX) and "1700000000000" not in name
        path = volume / "cam" / name
        path.parent.mkdir()
        plain = b"\x00\x00\x00\x10ftypisom" + bytes(range(256)) * 40
        path.write_bytes(atrest.keyring.cipher_for(path).apply(plain, 0))
        fd = atrest.open_footage(path)
        try:
            assert atrest.pread(fd, 12, 0) == plain[:12] and atrest.pread(fd, 100, 3000) == plain[3000:3100]
            assert not atrest.is_plain(fd)
            into = memoryview(bytearray(20_000))  # read into a buffer, decrypted in place, from any offset
            assert atrest.pread_into(fd, into[:100], 3007) == 100 and into[:100] == plain[3007:3107]
            assert atrest.pread_into(fd, into, 9) == len(plain) - 9 and into[:len(plain) - 9] == plain[9:]
        finally:
            atrest.close_footage(fd)
        atrest.keyring.set(volume, None)
        assert atrest.keyring.locked(path)
        with pytest.raises(atrest.VolumeLocked):
            atrest.open_footage(path)
        plain_file = tmp_path / "plain.mp4"
        plain_file.write_bytes(plain)
        fd = atrest.open_footage(plain_file)  # outside encrypted volumes nothing changes
        assert atrest.pread(fd, 12, 0) == plain[:12] and atrest.is_plain(fd)
        atrest.close_footage(fd)
    finally:
        atrest.keyring.forget(volume)


# -- a recorder that encrypts its disk ---------------------------------------------------------
def storage_call(client: httpx.Client, method: str, **params) -> dict:
    body = {"apiVersion": "1.0", "method": method, "params": params}
    return client.post("/axis-cgi/storage.cgi", content=json.dumps(body)).json()


def run_job(client: httpx.Client, method: str, **params) -> dict:
    reply = storage_call(client, method, **params)
    assert "error" not in reply, reply
    job_id = reply["data"]["job"]["jobId"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = storage_call(client, "getJob", jobId=job_id)["data"]["job"]
        if job["done"]:
            return job
        time.sleep(0.1)
    raise TimeoutError(f"{method} did not finish")


def volume(client: httpx.Client) -> dict:
    return next(v for v in storage_call(client, "getStatus")["data"]["volumes"] if v["diskId"] == RAID_DISK)


def query(data: Path, sql: str, args: tuple = ()) -> list[tuple]:
    with sqlite3.connect(f"file:{data / 'vigil.db'}?mode=ro", uri=True) as db:
        return db.execute(sql, args).fetchall()


def indexed_seconds(data: Path, recording: str) -> float:
    return query(data, "SELECT COALESCE(SUM(f.duration), 0) FROM fragments f JOIN segments s ON s.id=f.segment "
                       "WHERE s.recording=?", (recording,))[0][0]


def ongoing(data: Path) -> str | None:
    rows = query(data, "SELECT id FROM recordings WHERE kind='continuous' AND stop IS NULL AND volume IN "
                       "('RAID_DISK', 'default') ORDER BY start DESC")
    return rows[0][0] if rows else None


def export(client: httpx.Client, recording: str, start: float, stop: float) -> httpx.Response:
    return client.get("/axis-cgi/record/export/exportrecording.cgi",
                      params={"schemaversion": "1", "recordingid": recording, "diskid": "all",
                              "exportformat": "mp4", "starttime": iso_ms(start), "stoptime": iso_ms(stop)})


def ffprobe_frames(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames", "-of", "csv=p=0", str(path)], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip())


def readable_footage(data: bytes) -> list[str]:
    """Signs of MP4 or H.264 in stored bytes."""
    signs = [name for name in (b"ftyp", b"moov", b"moof", b"mdat", b"avcC", b"isom") if name in data]
    return [s.decode() for s in signs] + (["H.264 start codes"] if data.count(b"\x00\x00\x00\x01") > 3 else [])


@pytest.mark.skipif(not shutil.which("ffprobe"), reason="needs ffprobe")
def test_encrypted_raid_records_survives_kill_9_and_needs_its_password(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_live(data, "s3016", test_cameras=1)
    try:
        create_admin_live(server)
        with httpx.Client(base_url=server.http, auth=httpx.DigestAuth(*ADMIN), timeout=30) as admin:
            wait_until(lambda: ongoing(data) is not None, 30, "the test camera was not recorded")
            plain_recording = ongoing(data)

            # Bad input erases nothing.
            for params, code in (({"password": "short"}, 112), ({"diskId": "NetworkShare", "password": PASSWORD}, 113)):
                reply = storage_call(admin, "encrypt", **({"diskId": RAID_DISK} | params))
                assert reply["error"]["code"] == 1000 and "password" in reply["error"]["message"].lower() \
                    or "onboard" in reply["error"]["message"], (reply, code)
            assert storage_call(admin, "decrypt", diskId=RAID_DISK, password=PASSWORD)["error"]["message"] == \
                "RAID_DISK is not encrypted"
            assert query(data, "SELECT COUNT(*) FROM recordings WHERE id=?", (plain_recording,)) == [(1,)]

            job = run_job(admin, "encrypt", diskId=RAID_DISK, password=PASSWORD)
            assert job["result"] == "OK", job
            assert "recordings erased" in job["description"]
            assert query(data, "SELECT COUNT(*) FROM recordings WHERE id=?", (plain_recording,)) == [(0,)]
            assert volume(admin)["encrypted"] is True
            disk = ET.fromstring(admin.get("/axis-cgi/disks/list.cgi", params={"diskid": RAID_DISK}).text).find(
                ".//disk")
            assert disk.get("diskencrypted") == "true" and disk.get("status") == "OK"

            wait_until(lambda: ongoing(data) is not None and indexed_seconds(data, ongoing(data)) >= 4, 40,
                 "recording did not resume on the encrypted volume")
            first = ongoing(data)
            begin = query(data, "SELECT start FROM recordings WHERE id=?", (first,))[0][0]
            playable = export(admin, first, begin, begin + 3)
            assert playable.status_code == 200 and playable.content[4:8] == b"ftyp", playable.text[:300]
            (tmp_path / "before.mp4").write_bytes(playable.content)
            assert ffprobe_frames(tmp_path / "before.mp4") >= 30

            # Change password while recording: the same recording goes on.
            job = run_job(admin, "changePassword", diskId=RAID_DISK, oldPassword="wrong-password", newPassword="x" * 9)
            assert (job["result"], job["errorCode"]) == ("ERROR", 130), job
            grown = indexed_seconds(data, first)
            job = run_job(admin, "changePassword", diskId=RAID_DISK, oldPassword=PASSWORD, newPassword="new-secret-2")
            assert job["result"] == "OK", job
            wait_until(lambda: indexed_seconds(data, first) > grown + 1, 20, "recording stopped on a password change")
            assert ongoing(data) == first
            audit = admin.get("/axis-cgi/auditlog.cgi").text
            assert "encrypt RAID_DISK" in audit and "change the encryption password of RAID_DISK" in audit, audit

        files = [p for p in (data / "recordings").rglob("*") if p.is_file() and p.name != atrest.KEY_FILE]
        assert files and all(p.suffix == atrest.ENCRYPTED_SUFFIX for p in files)
        for file in files:
            assert readable_footage(file.read_bytes()) == [], file
        assert not any(first in p.name for p in files)  # names say nothing either
    finally:
        server.stop(signal.SIGKILL)  # power loss in the middle of recording

    server = start_live(data, "s3016", ports=(server.http_port, server.https_port, server.rtsp_port),
                        test_cameras=1)
    try:
        with httpx.Client(base_url=server.http, auth=httpx.DigestAuth(*ADMIN), timeout=30) as admin:
            view = volume(admin)
            assert (view["encrypted"], view["mounted"], view["recordingPossible"]) == (True, False, False), view
            assert "password" in view["problem"]
            time.sleep(2)
            assert ongoing(data) is None or indexed_seconds(data, ongoing(data)) == 0  # nothing recorded meanwhile
            locked = export(admin, first, begin, begin + 3)
            assert b"ftyp" not in locked.content[:16] and b"encrypted" in locked.content, locked.text[:300]

            reply = storage_call(admin, "mount", diskId=RAID_DISK)
            assert reply["error"]["code"] == 1000 and "password" in reply["error"]["message"], reply
            job = run_job(admin, "mount", diskId=RAID_DISK, password=PASSWORD)  # the old one no longer opens it
            assert (job["result"], job["errorCode"]) == ("ERROR", 130), job
            assert volume(admin)["mounted"] is False

            r = admin.get("/axis-cgi/disks/mount.cgi", params={"diskid": RAID_DISK, "action": "mount",
                                                               "pwd": "new-secret-2"})
            assert 'result="OK"' in r.text, r.text
            wait_until(lambda: volume(admin)["mounted"], 20, "the volume did not mount with its password")

            after = export(admin, first, begin, begin + 3)
            assert after.status_code == 200 and after.content == playable.content
            stop = query(data, "SELECT stop FROM recordings WHERE id=?", (first,))[0][0]
            assert stop is not None and stop - begin >= 5
            whole = export(admin, first, begin, stop)
            (tmp_path / "after.mp4").write_bytes(whole.content)
            assert ffprobe_frames(tmp_path / "after.mp4") >= 60
            wait_until(lambda: ongoing(data) not in (None, first) and indexed_seconds(data, ongoing(data)) >= 2, 40,
                 "recording did not resume after the password was given")
            log = admin.get("/axis-cgi/systemlog.cgi").text
            assert "RAID_DISK is encrypted: it stays unmounted" in log
    finally:
        server.stop()

    def vigil_check(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vigil", "check", "--data", str(data), *extra],
                              capture_output=True, text=True, timeout=120)

    locked = vigil_check("--no-repair")  # without the password: the stored bytes' checksums
    assert locked.returncode == 0 and "index and footage agree" in locked.stdout, locked.stdout + locked.stderr
    assert "on a locked encrypted volume" in locked.stdout
    (tmp_path / "pw").write_text("wrong-password\n")
    assert vigil_check("--no-repair", "--password-file", str(tmp_path / "pw")).returncode == 1
    (tmp_path / "pw").write_text("new-secret-2\n")
    full = vigil_check("--password-file", str(tmp_path / "pw"))
    assert full.returncode == 0, full.stdout + full.stderr
    assert "index and footage agree" in full.stdout and "locked" not in full.stdout, full.stdout
    assert int(full.stdout.split(" segments, ")[1].split(" fragments")[0]) >= 5  # all read through the key

    # A factory default keeps the disk and what the index knows of it; the encrypted disk waits
    # for its password again (the manual's "mount it manually after the recorder is reset").
    reset = subprocess.run([sys.executable, "-m", "vigil", "reset", "--hard", "--data", str(data)],
                           capture_output=True, text=True, timeout=60)
    assert reset.returncode == 0, reset.stderr
    server = start_live(data, "s3016")
    try:
        create_admin_live(server)  # the accounts went with the settings
        with httpx.Client(base_url=server.http, auth=httpx.DigestAuth(*ADMIN), timeout=30) as admin:
            view = volume(admin)
            assert (view["encrypted"], view["mounted"]) == (True, False), view
            job = run_job(admin, "mount", diskId=RAID_DISK, password="new-secret-2")
            assert job["result"] == "OK", job
            again = export(admin, first, begin, begin + 3)
            assert again.status_code == 200 and again.content == playable.content
    finally:
        server.stop()


# -- VAPIX disk encryption, in-process ------------------------------------------------------------
PROPS = "/axis-cgi/disks/properties"


def _disk(text: str) -> dict[str, str]:
    return dict(ET.fromstring(text).find(".//disk").attrib)


def _props_error(text: str) -> int | None:
    code = ET.fromstring(text).find(".//{*}ErrorCode")
    return int(code.text) if code is not None else None


async def _vapix_job(device, client, url: str, **params) -> dict[str, str]:
    r = await client.get(url, params=params)
    job = ET.fromstring(r.text).find("job")
    assert job.get("result") == "OK", r.text
    service = device.features[STORAGE_SERVICE]
    await service.jobs.wait(service.jobs.get(int(job.get("jobid"))))
    r = await client.get("/axis-cgi/disks/job.cgi", params={"jobid": job.get("jobid")})
    return dict(ET.fromstring(r.text).find("job").attrib)


async def test_vapix_enable_format_mount_change_passphrase_disable(tmp_path: Path) -> None:
    from tests.conftest import client_as
    from vigil.boot import build_device
    from vigil.core.clock import FakeClock
    from vigil.device import Ports

    def device():
        return build_device("s3016", tmp_path / "data", Ports(http=80, https=443), FakeClock(1_800_000_000.0))

    dev = device()
    try:
        async with client_as(dev, "admin") as admin, client_as(dev, "operator") as operator:
            list_raid = {"diskid": RAID_DISK}
            assert (await admin.get("/axis-cgi/disks/getcapabilities.cgi", params=list_raid)).text.count(
                'encryptionsupported="true"') == 1
            enable = {"schemaversion": "1", "diskid": RAID_DISK, "passphrase": PASSWORD}
            assert (await operator.get(f"{PROPS}/enablediskencryption.cgi", params=enable)).status_code == 403
            r = await admin.get(f"{PROPS}/enablediskencryption.cgi", params=enable)
            assert _props_error(r.text) == 160, r.text  # mounted
            await _vapix_job(dev, admin, "/axis-cgi/disks/mount.cgi", diskid=RAID_DISK, action="unmount")
            for params, code in (({"passphrase": "short"}, 110), ({"diskid": "NetworkShare"}, 100),
                                 ({"diskid": "nope"}, 50), ({"schemaversion": "9"}, 40)):
                r = await admin.get(f"{PROPS}/enablediskencryption.cgi", params=enable | params)
                assert _props_error(r.text) == code, (params, r.text)
            r = await admin.get(f"{PROPS}/enablediskencryption.cgi", params=enable)
            assert "GeneralSuccess" in r.text, r.text
            assert _props_error((await admin.get(f"{PROPS}/enablediskencryption.cgi", params=enable)).text) == 140
            disk = _disk((await admin.get("/axis-cgi/disks/list.cgi", params=list_raid)).text)
            assert (disk["diskencryptionenabled"], disk["diskencrypted"], disk["status"]) == \
                ("true", "false", "not encrypted")
    finally:
        await dev.features[STORAGE_SERVICE].jobs.close()
        dev.close()

    dev = device()  # a restart between enabling and formatting: the pending key is kept
    try:
        async with client_as(dev, "admin") as admin:
            job = await _vapix_job(dev, admin, "/axis-cgi/disks/format.cgi", diskid=RAID_DISK, filesystem="ext4")
            assert job["result"] == "OK", job
            disk = _disk((await admin.get("/axis-cgi/disks/list.cgi", params={"diskid": RAID_DISK})).text)
            assert (disk["diskencryptionenabled"], disk["diskencrypted"], disk["status"]) == ("true", "true", "OK")
            folder = dev.features[STORAGE_SERVICE].directory(RAID_DISK)
            assert atrest.unlock(folder, PASSWORD) and not (folder / ".vigil-volume-key.pending").exists()
            assert dev.store.get_kv("storage.pendingkeys") == "{}"

            change = {"schemaversion": "1", "diskid": RAID_DISK, "oldpassphrase": "not-the-one", "newpassphrase": "n3w-passphrase"}
            assert _props_error((await admin.get(f"{PROPS}/changediskpassphrase.cgi", params=change)).text) == 130
            r = await admin.get(f"{PROPS}/changediskpassphrase.cgi", params=change | {"newpassphrase": "x"})
            assert _props_error(r.text) == 120
            r = await admin.get(f"{PROPS}/changediskpassphrase.cgi", params=change | {"oldpassphrase": PASSWORD})
            assert "GeneralSuccess" in r.text, r.text
            assert atrest.unlock(folder, "n3w-passphrase")

            await _vapix_job(dev, admin, "/axis-cgi/disks/mount.cgi", diskid=RAID_DISK, action="unmount")
            assert _props_error((await admin.get(f"{PROPS}/changediskpassphrase.cgi", params=change)).text) == 150
            job = await _vapix_job(dev, admin, "/axis-cgi/disks/mount.cgi", diskid=RAID_DISK, action="mount",
                                   pwd="wrong-passphrase")
            assert job["result"] == "ERROR", job
            disk = _disk((await admin.get("/axis-cgi/disks/list.cgi", params={"diskid": RAID_DISK})).text)
            assert disk["status"] == "wrong passphrase"

            disable = {"schemaversion": "1", "diskid": RAID_DISK}
            assert "GeneralSuccess" in (await admin.get(f"{PROPS}/disablediskencryption.cgi", params=disable)).text
            disk = _disk((await admin.get("/axis-cgi/disks/list.cgi", params={"diskid": RAID_DISK})).text)
            assert (disk["diskencryptionenabled"], disk["diskencrypted"], disk["status"]) == \
                ("false", "true", "no passphrase")
            job = await _vapix_job(dev, admin, "/axis-cgi/disks/format.cgi", diskid=RAID_DISK, filesystem="ext4")
            assert job["result"] == "OK", job
            disk = _disk((await admin.get("/axis-cgi/disks/list.cgi", params={"diskid": RAID_DISK})).text)
            assert (disk["diskencryptionenabled"], disk["diskencrypted"], disk["status"]) == ("false", "false", "OK")
            assert not atrest.is_encrypted(folder)
            audit = dev.logs.text("audit")
            assert "enabled disk encryption of RAID_DISK" in audit and "disabled disk encryption of RAID_DISK" in audit
    finally:
        await dev.features[STORAGE_SERVICE].jobs.close()
        dev.close()
