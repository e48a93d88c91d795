"""SFTP recipients against a real asyncssh server: host key fingerprint pinning, temporary name then rename."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
import pytest_asyncio

from tests.peers.servers import SftpServer, sftp_server
from vigil.features.notify import delivery as notify
from vigil.features.notify.delivery import deliver
from vigil.features.notify.model import Message, Recipient, RecipientError

USER, PASSWORD = "alice", "sftp-secret"


@pytest_asyncio.fixture
async def sftp(tmp_path: Path) -> AsyncIterator[SftpServer]:
    root = tmp_path / "sftp"
    (root / "upload").mkdir(parents=True)
    async with sftp_server(root, USER, PASSWORD) as peer:
        yield peer


def recipient(peer: SftpServer, fingerprint: str, **extra: str) -> Recipient:
    return Recipient("sftp", "sftp", {"host": "127.0.0.1", "port": str(peer.port), "username": USER,
                                      "password": PASSWORD, "fingerprint": fingerprint, **extra})


async def test_md5_and_sha256_fingerprints_deliver(sftp: SftpServer) -> None:
    colons = ":".join(sftp.md5[i:i + 2] for i in range(0, 32, 2))
    data = bytes(range(256)) * 2000
    for n, fingerprint in enumerate((sftp.md5, colons.upper(), sftp.sha256, "SHA256:" + sftp.sha256)):
        await deliver(recipient(sftp, fingerprint, folder="/upload"), Message("s", "b", (f"f{n}.bin", data)))
    assert sorted(p.name for p in (sftp.root / "upload").iterdir()) == ["f0.bin", "f1.bin", "f2.bin", "f3.bin"]
    assert all(p.read_bytes() == data for p in (sftp.root / "upload").iterdir())


async def test_temporary_name_then_rename(sftp: SftpServer) -> None:
    await deliver(recipient(sftp, sftp.sha256, folder="upload"), Message("s", "b", ("snap.jpg", b"jpeg")))
    [(op1, opened), (op2, renamed)] = sftp.ops
    assert op1 == "open" and opened.startswith("upload/.snap.jpg.") and opened.endswith(".part")
    assert (op2, renamed) == ("posix_rename", f"{opened} -> upload/snap.jpg")
    assert [p.name for p in (sftp.root / "upload").iterdir()] == ["snap.jpg"]
    # replacing an existing file, and a plain upload without temporary name
    await deliver(recipient(sftp, sftp.sha256, folder="upload"), Message("s", "b", ("snap.jpg", b"jpeg2")))
    assert (sftp.root / "upload" / "snap.jpg").read_bytes() == b"jpeg2"
    sftp.ops.clear()
    await deliver(recipient(sftp, sftp.sha256, temporary_name="no"), Message("s", "b", ("direct.txt", b"d")))
    assert sftp.ops == [("open", "direct.txt")] and (sftp.root / "direct.txt").read_bytes() == b"d"


async def test_wrong_fingerprint_is_refused_before_login(sftp: SftpServer) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    for wrong in (hashlib.md5(other.public_data).hexdigest(), other.get_fingerprint("sha256")):
        with pytest.raises(RecipientError) as info:
            await deliver(recipient(sftp, wrong), Message("s", "b", ("x.txt", b"x")))
        text = str(info.value)
        assert "host key does not match the fingerprint entered, so the connection was refused" in text
        assert f"SHA256:{sftp.sha256}" in text and "ssh-ed25519" in text
    assert sftp.logins == []  # the password never reached the impostor
    assert list((sftp.root).rglob("x.txt")) == []


async def test_sftp_errors(sftp: SftpServer) -> None:
    with pytest.raises(RecipientError, match="^Recipient 'sftp': the SFTP server refused the user name or password"):
        await deliver(recipient(sftp, sftp.md5, password="bad"), Message("s", "b"))
    with pytest.raises(RecipientError, match="the folder 'nowhere' does not exist on the SFTP server"):
        await deliver(recipient(sftp, sftp.md5, folder="nowhere"), Message("s", "b"))


async def test_test_button_and_text_file(sftp: SftpServer) -> None:
    await notify.test_recipient(recipient(sftp, sftp.sha256, folder="upload"))
    await deliver(recipient(sftp, sftp.sha256, folder="upload"), Message("Alarm", "Fence"))
    names = sorted(p.name for p in (sftp.root / "upload").iterdir())
    assert len(names) == 2 and names[0].startswith("notification_") and names[1].startswith("vigil_test_")
    assert (sftp.root / "upload" / names[0]).read_text() == "Alarm\n\nFence"


async def test_closed_port_fails_fast(sftp: SftpServer) -> None:
    rcp = recipient(sftp, sftp.md5, port="1")
    t0 = time.monotonic()
    with pytest.raises(RecipientError, match=r"connection refused by 127\.0\.0\.1:1: no server is listening"):
        await deliver(rcp, Message("s", "b"))
    assert time.monotonic() - t0 < 2.0  # refused at once, not after the 15 s timeout


async def test_server_with_several_host_keys(tmp_path: Path) -> None:
    """The fingerprint may be of any of the server's keys: RSA is negotiated first, then the others."""
    rsa = asyncssh.generate_private_key("ssh-rsa", key_size=2048)
    ecdsa = asyncssh.generate_private_key("ecdsa-sha2-nistp256")
    ed = asyncssh.generate_private_key("ssh-ed25519")
    tried: list[str] = []

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            tried.append("login")
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return (username, password) == (USER, PASSWORD)

    server = await asyncssh.listen("127.0.0.1", 0, server_host_keys=[ed, ecdsa, rsa], server_factory=Server,
                                   sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(tmp_path)))
    port = str(server.sockets[0].getsockname()[1])
    settings = {"host": "127.0.0.1", "port": port, "username": USER, "password": PASSWORD}
    try:
        for n, key in enumerate((rsa, ecdsa, ed)):
            for algo in ("md5", "sha256"):
                rcp = Recipient("multi", "sftp", {**settings, "fingerprint": key.get_fingerprint(algo)})
                await deliver(rcp, Message("s", "b", (f"{n}-{algo}.txt", b"ok")))
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "0-md5.txt", "0-sha256.txt", "1-md5.txt", "1-sha256.txt", "2-md5.txt", "2-sha256.txt"]
        tried.clear()
        wrong = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
        with pytest.raises(RecipientError) as info:
            await deliver(Recipient("multi", "sftp", {**settings, "fingerprint": wrong}), Message("s", "b"))
        for key in (rsa, ecdsa, ed):
            assert key.get_fingerprint("sha256") in str(info.value)
        assert tried == []
    finally:
        server.close()
        await server.wait_closed()
