"""Network shares (SMB 2.1 / 3.x) through smbprotocol: the share settings, the connection test
the manuals' "Test connection" runs, and the file operations the uploader uses.

Recording to a share: segments are written, fsynced and indexed locally exactly like onboard
footage (the spool folder of the NetworkShare volume), and each sealed segment is copied to the
share in the device's own folder (`<folder>/<source>/<file>`), written under a temporary name,
checked by size and renamed. The local copy stays as the playback copy. So a crash or a lost
share never loses more than onboard recording would, the share's loss only delays the copy,
and playback and export read local files. All calls here block: run them in a thread.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import smbclient
from smbprotocol import Dialects
from smbprotocol.connection import Connection
from smbprotocol.exceptions import SMBAuthenticationError, SMBException, SMBOSError
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from vigil.features.storage.const import (
    BAD_SHARE_ID,
    CONNECT_ERROR,
    INVALID_VALUE,
    MOUNT_ERROR,
    NO_SUCH_HOST,
    READ_ERROR,
    WRITE_ERROR,
)
from vigil.features.storage.tool_jobs import StorageError

VERSIONS = {"auto": None, "2.1": Dialects.SMB_2_1_0, "3.0": Dialects.SMB_3_0_0, "3.02": Dialects.SMB_3_0_2,
            "3.1.1": Dialects.SMB_3_1_1}
DIALECT_NAMES = {Dialects.SMB_2_0_2: "2.0.2", Dialects.SMB_2_1_0: "2.1", Dialects.SMB_3_0_0: "3.0",
                 Dialects.SMB_3_0_2: "3.02", Dialects.SMB_3_1_1: "3.1.1"}
SHARE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$|^\[?[0-9A-Fa-f:]+\]?$")
PORT = re.compile(r"[0-9]{1,5}")  # ASCII digits only: str.isdigit() also takes "²", which int() refuses
TIMEOUT = 5.0
MASKED = "******"  # how a stored password is shown; sent back, it means "the stored one"


@dataclass
class ShareConfig:
    id: str
    nicename: str
    address: str  # host name or IPv4 address, optionally host:port
    share: str
    user: str = ""
    password: str = ""
    version: str = "auto"  # auto | 2.1 | 3.0 | 3.02 | 3.1.1

    @property
    def host(self) -> str:
        return self._split()[0]

    @property
    def port(self) -> int:
        return self._split()[1]

    def _split(self) -> tuple[str, int]:
        host, sep, port = self.address.rpartition(":")
        if sep and PORT.fullmatch(port) and ":" not in host:
            return host, int(port)
        return self.address.strip("[]"), 445

    def public(self) -> dict:
        data = asdict(self)
        data["password"] = MASKED if self.password else ""
        return data


def check_config(config: ShareConfig) -> ShareConfig:
    if not SHARE_ID.match(config.id):
        raise StorageError("A share id is 1 to 64 letters, digits or -", BAD_SHARE_ID)
    if not config.nicename or len(config.nicename) > 64:
        raise StorageError("A network share needs a name of 1 to 64 characters", INVALID_VALUE)
    host, port = config.host, config.port
    if not host or not HOST.match(host) or not 0 < port < 65536:
        raise StorageError("The address must be a host name or an IP address (optionally :port); "
                           "Windows SMB/CIFS names are not supported", INVALID_VALUE)
    if not config.share or len(config.share) > 80 or any(c in config.share for c in '\\/:*?"<>|'):
        raise StorageError("The network share is the name of the shared folder on the server, without slashes", INVALID_VALUE)
    if len(config.user) > 104 or len(config.password) > 256:
        raise StorageError("The user name or password is too long", INVALID_VALUE)
    if config.version not in VERSIONS:
        raise StorageError(f"SMB version must be one of {', '.join(VERSIONS)}", INVALID_VALUE)
    return config


def _unc(host: str, share: str, *parts: str) -> str:
    return "\\\\" + "\\".join([host, share, *[p.replace("/", "\\") for p in parts if p]])


class SmbShare:
    """One connection and session to a share, with the device's folder on it."""

    def __init__(self, config: ShareConfig, folder: str) -> None:
        self.config = config
        self.folder = folder
        self._cache: dict[str, Connection] = {}
        self._connection: Connection | None = None
        self.dialect = ""

    @property
    def _kwargs(self) -> dict:
        return {"port": self.config.port, "connection_cache": self._cache, "username": self.config.user or None,
                "password": self.config.password or None}

    def path(self, *parts: str) -> str:
        return _unc(self.config.host, self.config.share, self.folder, *parts)

    # -- connecting ---------------------------------------------------------------------
    def connect(self) -> None:
        """Resolve, connect, negotiate, log in and open the device's folder; StorageError with
        the network share API's code on failure."""
        host, port = self.config.host, self.config.port
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise StorageError(f"No such host name: {host}", NO_SUCH_HOST) from None
        try:
            with socket.create_connection((host, port), timeout=TIMEOUT):
                pass
        except OSError as err:
            raise StorageError(f"Cannot connect to {host} port {port}: {err.strerror or err}", CONNECT_ERROR) from None
        connection = Connection(uuid.uuid4(), host, port, require_signing=True)
        try:
            connection.connect(dialect=VERSIONS[self.config.version], timeout=TIMEOUT)
        except Exception as err:  # noqa: BLE001 - smbprotocol raises many kinds
            connection.disconnect(close=True) if connection.transport.connected else None
            version = self.config.version
            raise StorageError(f"The server does not speak SMB {version}" if version != "auto"
                               else f"SMB negotiation failed: {err}", MOUNT_ERROR) from None
        self.dialect = DIALECT_NAMES.get(connection.dialect, hex(connection.dialect))
        session = Session(connection, self.config.user or None, self.config.password or None,
                          require_encryption=connection.dialect >= Dialects.SMB_3_0_0, auth_protocol="ntlm")
        try:
            session.connect()
        except (SMBAuthenticationError, SMBException) as err:
            connection.disconnect(close=True)
            text = str(err)
            if "LOGON_FAILURE" in text or "logon" in text.lower() or isinstance(err, SMBAuthenticationError):
                raise StorageError("The server refused the user name or password (logon failure)", MOUNT_ERROR) \
                    from None
            raise StorageError(f"Could not log in to the share: {text}", MOUNT_ERROR) from None
        # The tree connect is ours (not smbclient's): a missing share is an error at once, where
        # smbclient would go on to ask the server for a DFS referral and wait for ever.
        tree = TreeConnect(session, _unc(host, self.config.share))
        try:
            tree.connect()
        except (SMBException, OSError) as err:
            connection.disconnect(close=True)
            text = str(err)
            if "BAD_NETWORK_NAME" in text:
                raise StorageError(f"There is no share named {self.config.share!r} on {host}", MOUNT_ERROR) from None
            if "ACCESS_DENIED" in text:
                raise StorageError(f"The user may not use the share {self.config.share!r}", MOUNT_ERROR) from None
            raise StorageError(f"Cannot open the share: {text}", MOUNT_ERROR) from None
        self._connection = connection
        self._cache[f"{host.lower()}:{port}"] = connection
        try:
            smbclient.makedirs(self.path(), exist_ok=True, **self._kwargs)
        except (SMBException, OSError) as err:
            self.close()
            text = str(err)
            if "BAD_NETWORK_NAME" in text:
                raise StorageError(f"There is no share named {self.config.share!r} on {host}", MOUNT_ERROR) from None
            if "ACCESS_DENIED" in text:
                raise StorageError(f"The user may not write to {self.config.share!r}", WRITE_ERROR) from None
            raise StorageError(f"Cannot open the share: {text}", MOUNT_ERROR) from None

    def close(self) -> None:
        connection, self._connection = self._connection, None
        self._cache.clear()
        if connection is not None:
            with contextlib.suppress(Exception):  # it is going away anyway
                connection.disconnect(close=True)

    @property
    def connected(self) -> bool:
        return self._connection is not None and self._connection.transport.connected

    # -- file operations ----------------------------------------------------------------
    def probe(self) -> None:
        """A cheap round trip: raises when the share is gone."""
        if not self.connected:
            raise OSError("not connected")
        smbclient.stat(self.path(), **self._kwargs)

    def put(self, local: Path, rel: str) -> int:
        """Copy a local file to `<folder>/<rel>`: a temporary name first, then renamed."""
        directory = posixpath.dirname(rel)
        if directory:
            smbclient.makedirs(self.path(directory), exist_ok=True, **self._kwargs)
        part = rel + ".part"
        size = 0
        with open(local, "rb") as src, smbclient.open_file(self.path(part), mode="wb", **self._kwargs) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
                size += len(chunk)
        if smbclient.stat(self.path(part), **self._kwargs).st_size != size:
            raise OSError(f"{rel}: the share holds a different size than was written")
        smbclient.replace(self.path(part), self.path(rel), **self._kwargs)
        return size

    def remove(self, rel: str) -> None:
        try:
            smbclient.remove(self.path(rel), **self._kwargs)
        except SMBOSError as err:
            if "OBJECT_NAME_NOT_FOUND" not in str(err) and "OBJECT_PATH_NOT_FOUND" not in str(err):
                raise

    def listing(self) -> dict[str, int]:
        """Every file in the device's folder: relative path -> bytes."""
        out: dict[str, int] = {}
        stack = [""]
        while stack:
            rel = stack.pop()
            for entry in smbclient.scandir(self.path(rel), **self._kwargs):
                child = posixpath.join(rel, entry.name) if rel else entry.name
                if entry.is_dir():
                    stack.append(child)
                else:  # from the listing itself: entry.stat() would reconnect on port 445
                    out[child] = entry.smb_info.end_of_file
        return out

    def clear(self, progress: Callable[[float], None] = lambda p: None) -> int:
        """Format: delete everything in the device's folder; other devices' folders stay."""
        files = self.listing()
        for n, rel in enumerate(sorted(files), 1):
            self.remove(rel)
            progress(80 * n / max(1, len(files)))
        for entry in list(smbclient.scandir(self.path(), **self._kwargs)):
            if entry.is_dir():
                self._rmtree(entry.name)
        progress(100)
        return len(files)

    def _rmtree(self, rel: str) -> None:
        for entry in list(smbclient.scandir(self.path(rel), **self._kwargs)):
            child = posixpath.join(rel, entry.name)
            if entry.is_dir():
                self._rmtree(child)
            else:
                smbclient.remove(self.path(child), **self._kwargs)
        smbclient.rmdir(self.path(rel), **self._kwargs)

    def space(self) -> tuple[int, int]:
        """(total, free) bytes of the share's file system."""
        result = smbclient.stat_volume(_unc(self.config.host, self.config.share), **self._kwargs)
        return result.total_size, result.caller_available_size


def test_share(config: ShareConfig, folder: str, progress: Callable[[float, str], None]) -> str:
    """The manuals' "Test connection": connect, log in, write a file, read it back, delete it."""
    share = SmbShare(config, folder)
    progress(10, "connecting")
    try:
        share.connect()
        progress(50, f"connected with SMB {share.dialect}; writing a test file")
        probe = f".vigil-test-{uuid.uuid4().hex[:8]}"
        payload = uuid.uuid4().bytes * 64
        try:
            with smbclient.open_file(share.path(probe), mode="wb", **share._kwargs) as f:
                f.write(payload)
        except (SMBException, OSError) as err:
            raise StorageError(f"Problem writing to the share: {err}", WRITE_ERROR) from None
        progress(75, "reading the test file back")
        try:
            with smbclient.open_file(share.path(probe), mode="rb", **share._kwargs) as f:
                back = f.read()
            smbclient.remove(share.path(probe), **share._kwargs)
        except (SMBException, OSError) as err:
            raise StorageError(f"Problem reading data written to the share: {err}", READ_ERROR) from None
        if back != payload:
            raise StorageError("The data read back from the share differs from what was written", READ_ERROR)
        total, free = share.space()
        return f"The share works (SMB {share.dialect}, {free // 1_000_000_000} GB free of {total // 1_000_000_000} GB)"
    finally:
        share.close()
