"""FTP recipients against real servers: aioftp (passive) and pyftpdlib (active mode, PORT)."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path, PurePosixPath

import pytest
import pytest_asyncio

from tests.peers.servers import FtpServer, ftp_server
from vigil.features.notify import delivery as notify
from vigil.features.notify.delivery import deliver
from vigil.features.notify.model import Message, Recipient, RecipientError

USER, PASSWORD = "alice", "ftp-secret"


@pytest_asyncio.fixture
async def ftp(tmp_path: Path) -> AsyncIterator[tuple[int, Path, FtpServer]]:
    home = tmp_path / "ftp"
    (home / "incoming").mkdir(parents=True)
    (home / "readonly").mkdir()
    async with ftp_server(home, USER, PASSWORD, readonly=("/readonly",)) as server:
        yield server.port, home, server


def recipient(port: int, **extra: str) -> Recipient:
    return Recipient("ftp", "ftp", {"host": "127.0.0.1", "port": str(port), "username": USER, "password": PASSWORD,
                                    **extra})


async def test_passive_upload_temp_name_then_rename(ftp) -> None:  # noqa: ANN001
    port, home, server = ftp
    data = bytes(range(256)) * 4000  # 1 MB
    await deliver(recipient(port, folder="/incoming"), Message("s", "b", ("cam1_0001.jpg", data)))
    assert [p.name for p in (home / "incoming").iterdir()] == ["cam1_0001.jpg"]  # no temporary file remains
    assert (home / "incoming" / "cam1_0001.jpg").read_bytes() == data
    [(stor, tmp), (rnfr, src), (rnto, dst)] = server.log
    assert (stor, rnfr, rnto) == ("STOR", "RNFR", "RNTO")
    assert tmp == src != "cam1_0001.jpg" and PurePosixPath(tmp).name.startswith(".cam1_0001.jpg.")
    assert dst == "cam1_0001.jpg"


async def test_replaces_existing_file_and_plain_names(ftp) -> None:  # noqa: ANN001
    port, home, server = ftp
    (home / "incoming" / "same.txt").write_text("old")
    await deliver(recipient(port, folder="incoming"), Message("s", "b", ("same.txt", b"new")))
    assert (home / "incoming" / "same.txt").read_bytes() == b"new"
    assert sorted(p.name for p in (home / "incoming").iterdir()) == ["same.txt"]
    server.log.clear()
    await deliver(recipient(port, temporary_name="no"), Message("Alarm", "Door opened"))  # no attachment
    [(stor, name)] = server.log
    assert stor == "STOR" and name.startswith("notification_") and name.endswith(".txt")
    assert (home / name).read_text() == "Alarm\n\nDoor opened"


async def test_test_button(ftp) -> None:  # noqa: ANN001
    port, home, _ = ftp
    await notify.test_recipient(recipient(port, folder="incoming"))
    [f] = list((home / "incoming").iterdir())
    assert f.name.startswith("vigil_test_") and b"test message" in f.read_bytes()


async def test_ftp_errors(ftp) -> None:  # noqa: ANN001
    port, home, _ = ftp
    msg = Message("s", "b", ("a.txt", b"x"))
    with pytest.raises(RecipientError, match=r"^Recipient 'ftp': the FTP server refused the user name or password"):
        await deliver(recipient(port, password="wrong"), msg)
    with pytest.raises(RecipientError, match="folder '/nowhere' does not exist on the FTP server"):
        await deliver(recipient(port, folder="/nowhere"), msg)
    with pytest.raises(RecipientError, match="refused the upload of 'a.txt'"):
        await deliver(recipient(port, folder="/readonly"), msg)
    assert list((home / "readonly").iterdir()) == []


async def test_closed_port_fails_fast(ftp) -> None:  # noqa: ANN001
    port, _, server = ftp
    server.server.close()
    await server.server.wait_closed()
    t0 = time.monotonic()
    with pytest.raises(RecipientError, match="connection refused by 127.0.0.1:.*no server is listening"):
        await deliver(recipient(port), Message("s", "b"))
    assert time.monotonic() - t0 < 2.0  # refused at once, not after the 15 s timeout


@pytest.fixture
def pyftpd(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    """pyftpdlib in a thread: it supports active mode (PORT/EPRT), which aioftp's server does not."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    home = tmp_path / "pyftpd"
    home.mkdir()
    commands: list[str] = []
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmwMT")

    class Handler(FTPHandler):
        def pre_process_command(self, line, cmd, arg):  # noqa: ANN001, ANN201
            commands.append(cmd)
            return super().pre_process_command(line, cmd, arg)

    Handler.authorizer = authorizer
    Handler.log_prefix = "pyftpd"
    server = FTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05}, daemon=True)
    thread.start()
    yield server.address[1], home, commands
    server.close_all()
    thread.join(5)


@pytest.mark.filterwarnings("ignore:The (asyncore|asynchat) module is deprecated:DeprecationWarning")
async def test_active_mode_with_pyftpdlib(pyftpd) -> None:  # noqa: ANN001
    port, home, commands = pyftpd
    data = b"active " * 10000
    await deliver(recipient(port, passive="no"), Message("s", "b", ("act.bin", data)))
    assert [p.name for p in home.iterdir()] == ["act.bin"] and (home / "act.bin").read_bytes() == data
    assert "PORT" in commands and "PASV" not in commands and "EPSV" not in commands
    assert commands.index("STOR") < commands.index("RNFR") < commands.index("RNTO")
    commands.clear()
    await deliver(recipient(port), Message("s", "b", ("pas.bin", b"passive")))  # and passive against pyftpdlib
    assert "EPSV" in commands and (home / "pas.bin").read_bytes() == b"passive"

