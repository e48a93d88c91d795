"""SSH: turned on and off by the VAPIX SSH API and by `Network.SSH.Enabled`, SSH accounts through
SSH Management (/config/rest/ssh/v2), and what an SSH client gets: the restricted shell, with
asyncssh and with OpenSSH's `ssh`."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat

import asyncssh
import pytest

from tests.conftest import ADMIN, client_as, eventually
from tests.peers.processes import port_open
from tests.ssh.conftest import ssh_device
from vigil.features.ssh.const import HOST_KEY, USERS_KEY
from vigil.features.ssh.service import SSH_SERVICE

CGI = "/axis-cgi/ssh.cgi"
USERS = "/config/rest/ssh/v2/users"
PARAM = "/axis-cgi/param.cgi"


def port(device) -> int:
    return device.ports.ssh


async def turn_on(device) -> None:
    async with client_as(device, "admin") as admin:
        r = await admin.post(CGI, json={"apiVersion": "1.0", "context": "c", "method": "setSshConfiguration",
                                        "params": {"enabled": True}})
        assert r.json() == {"apiVersion": "1.0", "context": "c", "method": "setSshConfiguration", "data": {}}
    await eventually(lambda: port_open(port(device)), 10, "the SSH server listening")


async def add_user(device, name: str = "maint", password: str = "Maint-pass1", comment: str = "Service") -> None:
    async with client_as(device, "admin") as admin:
        r = await admin.post(USERS, json={"data": {"username": name, "password": password, "comment": comment}})
        assert r.status_code == 201 and r.json() == {"status": "success"}, r.text


def connect(device, user: str = "maint", password: str = "Maint-pass1"):
    return asyncssh.connect("127.0.0.1", port(device), username=user, password=password, known_hosts=None,
                            client_keys=None, agent_path=None)


async def test_ssh_follows_the_api_and_the_parameter(device):
    assert not port_open(port(device))  # off by default
    await turn_on(device)
    async with client_as(device, "admin") as admin:
        r = await admin.post(CGI, json={"apiVersion": "1.0", "method": "getSshInfo"})
        assert r.json()["data"] == {"enabled": True}
        r = await admin.get(PARAM, params={"action": "list", "group": "Network.SSH.Enabled"})
        assert r.text.strip() == "root.Network.SSH.Enabled=yes"
        r = await admin.get(PARAM, params={"action": "update", "Network.SSH.Enabled": "no"})
        assert r.text == "OK\r\n"
    await eventually(lambda: not port_open(port(device)), 10, "the SSH server closed")
    async with client_as(device, "admin") as admin:
        r = await admin.post(CGI, json={"apiVersion": "1.0", "method": "getSshInfo"})
        assert r.json()["data"] == {"enabled": False}
        for params, code in (({}, 4003), ({"enabled": "yes"}, 4004), ({"enabled": True, "port": 2}, 4004)):
            r = await admin.post(CGI, json={"apiVersion": "1.0", "method": "setSshConfiguration", "params": params})
            assert r.json()["error"]["code"] == code, params
        r = await admin.post(CGI, json={"apiVersion": "9.0", "method": "getSshInfo"})
        assert r.json()["error"]["code"] == 4001
    async with client_as(device, "operator") as operator:
        assert (await operator.post(CGI, json={"apiVersion": "1.0", "method": "getSshInfo"})).status_code == 403
    audit = device.logs.text("audit")
    assert "set root.Network.SSH.Enabled=yes" in audit and "set root.Network.SSH.Enabled=no" in audit


async def test_ssh_accounts_are_kept_sealed_and_bad_input_changes_nothing(device):
    await add_user(device)
    async with client_as(device, "admin") as admin:
        listed = (await admin.get(USERS)).json()["data"]
        assert listed == [{"username": "root", "comment": "The device's root account"},
                          {"username": "maint", "comment": "Service"}]
        assert (await admin.get(USERS + "/maint")).json()["data"] == {"username": "maint", "comment": "Service"}
        before = device.store.get_kv(USERS_KEY)
        for body, status, why in (
            ({"username": "Bad Name", "password": "x"}, 400, "lowercase"),
            ({"username": "maint", "password": "x"}, 409, "exists"),
            ({"username": "root", "password": "x"}, 409, "exists"),
            ({"username": "new", "password": ""}, 400, "password"),
            ({"username": "new", "password": "tab\there"}, 400, "printable"),
            ({"username": "new", "password": "ok", "comment": "a:b"}, 400, "colon"),
            ({"username": "new"}, 400, "required"),
        ):
            r = await admin.post(USERS, json={"data": body})
            assert r.status_code == status and why in r.json()["error"]["message"], (body, r.text)
        r = await admin.delete(USERS + "/root")
        assert r.status_code == 400 and "root account cannot be deleted" in r.json()["error"]["message"]
        assert (await admin.delete(USERS + "/ghost")).status_code == 404
        assert (await admin.patch(USERS + "/maint", json={"data": {"username": "other"}})).status_code == 400
        assert device.store.get_kv(USERS_KEY) == before
        r = await admin.patch(USERS + "/maint", json={"data": {"password": "New-pass2", "comment": "Night shift"}})
        assert r.json() == {"status": "success"}
    stored = device.store.get_kv(USERS_KEY)
    assert "New-pass2" not in stored and "Maint-pass1" not in stored and "sealed" in stored
    assert "Maint-pass1" not in device.logs.text("audit") and "added the SSH account maint" in device.logs.text("audit")
    async with client_as(device, "operator") as operator:
        assert (await operator.get(USERS)).status_code == 403
    async with client_as(device, "admin") as admin:
        assert (await admin.delete(USERS + "/maint")).json() == {"status": "success"}
        assert [u["username"] for u in (await admin.get(USERS)).json()["data"]] == ["root"]


async def test_the_restricted_shell_over_asyncssh(device):
    await add_user(device)
    await turn_on(device)
    async with connect(device) as conn:
        status = await conn.run("status")
        assert status.exit_status == 0 and "Product: Vigil S3016 Recorder" in status.stdout
        assert "Serial number: " + device.identity.serial in status.stdout
        param = await conn.run("param Network.SSH")
        assert param.stdout == "root.Network.SSH.Enabled=yes\n"
        secret = await conn.run("param Network.Proxy.HTTPPassword")
        assert "******" in secret.stdout
        logs = await conn.run("logs audit 3")
        assert logs.exit_status == 0 and "ran 'param" in logs.stdout
        unknown = await conn.run("sh -c id")
        assert unknown.exit_status == 127 and "command not found" in unknown.stdout
        assert (await conn.run("logs nonsense")).exit_status == 2
        # An interactive session without a terminal: commands line by line.
        process = await conn.create_process()
        process.stdin.write("help\nexit\n")
        out = await process.stdout.read()
        assert "restart" in out and "vigil> " in out
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection("127.0.0.1", 80)  # no port forwarding
        with pytest.raises((asyncssh.ChannelOpenError, asyncssh.SFTPError)):  # no SFTP
            async with conn.start_sftp_client():
                pass
    # The device's root account logs in with its own password; wrong passwords do not.
    async with connect(device, ADMIN[0], ADMIN[1]) as conn:
        assert (await conn.run("status")).exit_status == 0
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(device, "maint", "wrong"):
            pass
    assert "SSH login failed for maint" in device.logs.text("access")
    assert "user=maint logged in over SSH from 127.0.0.1" in device.logs.text("audit")


async def test_restart_from_the_shell_restarts_the_device(device):
    await add_user(device)
    await turn_on(device)
    async with connect(device) as conn:
        result = await conn.run("restart")
        assert result.stdout == "Restarting.\n"
    await eventually(lambda: device.stopping.is_set(), 5, "the device stopping")
    assert device.next_action == "restart"


async def test_repeated_failures_block_the_address(device):
    await add_user(device)
    await turn_on(device)
    async with client_as(device, "admin") as admin:
        await admin.get(PARAM, params={"action": "update", "System.BruteForce.WindowFailures": "2"})
    for _ in range(3):
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(device, "maint", "guess"):
                pass
    with pytest.raises((asyncssh.PermissionDenied, asyncssh.ConnectionLost, asyncssh.DisconnectError, OSError)):
        async with connect(device):  # the right password, from a blocked address
            pass


async def test_the_host_key_is_kept_sealed_over_restarts(tmp_path):
    data = tmp_path / "data"
    first = ssh_device(data, 0)
    key = first.features[SSH_SERVICE].host_key().export_public_key()
    assert "PRIVATE KEY" not in first.store.get_kv(HOST_KEY)
    first.close()
    again = ssh_device(data, 0)
    try:
        assert again.features[SSH_SERVICE].host_key().export_public_key() == key
        again.store.set_kv(HOST_KEY, again.vault.seal("damaged"))  # e.g. sealed under an earlier key
        assert again.features[SSH_SERVICE].host_key().export_public_key() != key
    finally:
        again.close()


@pytest.mark.skipif(shutil.which("ssh") is None, reason="OpenSSH's ssh client is not installed (openssh-client)")
async def test_openssh_client_logs_in_and_runs_a_command(device, tmp_path):
    await add_user(device)
    await turn_on(device)
    host_key = device.features[SSH_SERVICE].host_key().export_public_key().decode().strip()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port(device)} {host_key}\n")
    askpass = tmp_path / "askpass.sh"
    askpass.write_text("#!/bin/sh\necho 'Maint-pass1'\n")
    askpass.chmod(stat.S_IRWXU)
    process = await asyncio.create_subprocess_exec(
        "ssh", "-p", str(port(device)), "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
        "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no", "-o", "BatchMode=no",
        "-o", "NumberOfPasswordPrompts=1", "-F", "/dev/null", "maint@127.0.0.1", "status",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"})
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert "Product: Vigil S3016 Recorder" in out.decode()


async def test_turning_ssh_off_or_deleting_the_account_ends_its_sessions(device):
    await add_user(device)
    await add_user(device, "other", "Other-pass1")
    await turn_on(device)
    async with connect(device) as mine, connect(device, "other", "Other-pass1") as theirs:
        async with client_as(device, "admin") as admin:
            assert (await admin.delete(USERS + "/maint")).json() == {"status": "success"}
        await asyncio.wait_for(mine.wait_closed(), 10)
        assert (await theirs.run("status")).exit_status == 0  # another account's session goes on
        async with client_as(device, "admin") as admin:
            await admin.get(PARAM, params={"action": "update", "Network.SSH.Enabled": "no"})
        await asyncio.wait_for(theirs.wait_closed(), 10)
