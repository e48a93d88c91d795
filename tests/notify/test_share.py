"""Network share recipients against a real Samba server: the file lands in a folder of the share
atomically (no temporary file left, a second delivery replaces it), only its base name counts,
the folder is created, and every failure (no server, no share, refused login, read-only share,
a file where the folder should be) is a readable RecipientError."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from tests.conftest import free_port
from tests.peers.samba import PASSWORD, USER, Samba, needs_samba
from vigil.features.notify import delivery as notify
from vigil.features.notify.delivery import deliver
from vigil.features.notify.model import Message, Recipient, RecipientError

pytestmark = needs_samba


def share(samba: Samba, **changes: str) -> Recipient:
    settings = {"address": samba.address, "share": "footage", "username": USER, "password": PASSWORD, **changes}
    return Recipient("nas", "networkshare", settings)


async def test_share_atomic_write(samba: Samba) -> None:
    rcp = share(samba, folder="cams/cam1")
    folder = samba.share / "cams" / "cam1"
    data = os.urandom(1 << 20)
    await deliver(rcp, Message("s", "b", ("clip.mkv", data)))
    assert [p.name for p in folder.iterdir()] == ["clip.mkv"]  # the temporary file is gone
    assert (folder / "clip.mkv").read_bytes() == data
    await deliver(rcp, Message("s", "b", ("clip.mkv", b"replaced")))
    assert (folder / "clip.mkv").read_bytes() == b"replaced"
    await deliver(rcp, Message("Alarm", "Door", ("../../escape.txt", b"kept inside")))  # only the base name counts
    assert (folder / "escape.txt").read_bytes() == b"kept inside"
    await notify.test_recipient(rcp)
    assert len(list(folder.glob("vigil_test_*.txt"))) == 1
    assert not list(samba.share.rglob(".*")) and not list(samba.share.rglob("*.part"))
    await deliver(share(samba), Message("Alarm", "Door opened"))  # no folder: the share's top
    (note,) = samba.share.glob("notification_*.txt")
    assert note.read_text() == "Alarm\n\nDoor opened"


async def test_share_errors(samba: Samba) -> None:
    with pytest.raises(RecipientError, match=r"^Recipient 'nas': There is no share named 'nope' on 127\.0\.0\.1"):
        await deliver(share(samba, share="nope"), Message("s", "b"))
    with pytest.raises(RecipientError, match="refused the user name or password"):
        await deliver(share(samba, password="wrong"), Message("s", "b"))
    with pytest.raises(RecipientError, match=r"Cannot connect to 127\.0\.0\.1 port"):
        await deliver(share(samba, address=f"127.0.0.1:{free_port()}"), Message("s", "b"))
    (samba.share / "file").write_text("x")
    with pytest.raises(RecipientError, match="^Recipient 'nas': "):
        await deliver(share(samba, folder="file"), Message("s", "b", ("a.txt", b"a")))
    with pytest.raises(RecipientError, match="file name '..' cannot be used"):
        await deliver(share(samba), Message("s", "b", ("..", b"a")))
    assert sorted(p.name for p in samba.share.iterdir()) == ["file"]  # nothing else was written


async def test_share_permission_denied(samba: Samba) -> None:
    with pytest.raises(RecipientError, match="^Recipient 'nas': "):
        await deliver(share(samba, share="readonly"), Message("s", "b", ("a.txt", b"a")))
    assert not list((samba.dir / "readonly").iterdir())


async def test_a_hanging_target_does_not_delay_a_share(samba: Samba) -> None:
    held = []
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind(("127.0.0.1", 0))
    server = await asyncio.start_server(lambda r, w: (w.transport.pause_reading(), held.append(w)), sock=sock)
    try:
        slow = Recipient("slow", "tcp", {"host": "127.0.0.1", "port": str(sock.getsockname()[1])})
        slow_task = asyncio.create_task(deliver(slow, Message("s", "x" * 16_000_000), timeout=5.0))
        await deliver(share(samba), Message("s", "b", ("a.txt", b"a")), timeout=5)
        assert not slow_task.done() and (samba.share / "a.txt").read_bytes() == b"a"
        slow_task.cancel()
    finally:
        for writer in held:
            writer.close()
        server.close()
