"""A real Samba server on 127.0.0.1 for network share tests: Debian's smbd in the foreground with a
generated smb.conf on a free port, share folders in a temporary directory, one user added with
smbpasswd (which needs root). Shares: `footage` (writable) and `readonly`. The `samba` fixture
serves every folder (tests/conftest.py loads this module as a plugin)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.processes import free_port, stop_process, wait_port

USER, PASSWORD = "root", "Sm6-Share!"
SMB_CONF = """[global]
  server role = standalone server
  smb ports = {port}
  interfaces = 127.0.0.1
  bind interfaces only = yes
  disable netbios = yes
  server services = -nbt
  passdb backend = tdbsam:{d}/private/passdb.tdb
  private dir = {d}/private
  lock directory = {d}/lock
  state directory = {d}/state
  cache directory = {d}/cache
  pid directory = {d}/pid
  ncalrpc dir = {d}/ncalrpc
  log file = {d}/log/smbd.log
  load printers = no
  printcap name = /dev/null
  disable spoolss = yes
  map to guest = never
[footage]
  path = {d}/share
  read only = no
  valid users = {user}
[readonly]
  path = {d}/readonly
  read only = yes
  valid users = {user}
"""

needs_samba = pytest.mark.skipif(shutil.which("smbd") is None or os.geteuid() != 0,
                                 reason="needs Debian's samba (smbd, smbpasswd) and root to add a Samba user")


class Samba:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="vigil-smbd-"))
        self.dir.chmod(0o755)
        for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc", "log", "share", "readonly"):
            (self.dir / sub).mkdir()
        self.port = free_port()
        self.conf = self.dir / "smb.conf"
        self.conf.write_text(SMB_CONF.format(port=self.port, d=self.dir, user=USER))
        subprocess.run(["smbpasswd", "-c", str(self.conf), "-s", "-a", USER], input=f"{PASSWORD}\n{PASSWORD}\n",
                       text=True, check=True, capture_output=True)
        self.process: subprocess.Popen | None = None

    @property
    def share(self) -> Path:
        """The folder behind the writable share `footage`."""
        return self.dir / "share"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Samba:
        # smbd signals its process group when it exits: give it a session of its own.
        self.process = subprocess.Popen(["smbd", "--foreground", "--no-process-group", "--debug-stdout", "-d", "0",
                                         "-s", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_port(self.port, 10, self.process)
        return self

    def stop(self) -> None:
        """The server goes away, its connections with it (the whole process group)."""
        stop_process(self.process, group=True)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def samba() -> Iterator[Samba]:
    server = Samba().start()
    yield server
    server.close()
