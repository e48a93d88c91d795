"""SFTP recipients: the file is stored over SSH with a password login, the server's host key
pinned to the configured fingerprint before the password is sent."""

from __future__ import annotations

import contextlib
import posixpath

from vigil.core.proxies import Proxies, open_tunnel
from vigil.features.notify.model import Message, RecipientError
from vigil.features.notify.transports.common import file_for, target, temp_name


def _host_key_algorithms(excluded: set[bytes]) -> list[str]:
    """Host key algorithms in the manual's order of preference: RSA, ECDSA, ED25519, then the rest."""
    from asyncssh.public_key import get_default_public_key_algs

    def rank(alg: bytes) -> int:
        name = alg.decode()
        for i, family in enumerate(("rsa", "ecdsa", "ed25519", "ed448")):
            if name.startswith(("ssh-" + family, family)):
                return i
        return 9

    algs = [a for a in get_default_public_key_algs() if a not in excluded]
    return [a.decode() for a in sorted(algs, key=rank)]


async def _sftp_connect(settings: dict[str, str], timeout: float, proxies: Proxies):  # noqa: ANN202
    """Connect and log in, pinning the server's host key to the configured fingerprint.

    The key is checked before any password is sent. A server may have several host keys (RSA,
    ECDSA, ED25519) and the fingerprint may be of any of them: when the key offered does not
    match, the connection is tried again without that key type, until one matches or the server
    has no other key.
    """
    import asyncssh

    expected = settings["fingerprint"]
    algorithm = "md5" if expected.startswith("MD5:") else "sha256"
    seen: list[asyncssh.SSHKey] = []

    class Client(asyncssh.SSHClient):
        def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
            seen.append(key)
            return key.get_fingerprint(algorithm) == expected

    excluded: set[bytes] = set()
    for _ in range(4):
        algs = _host_key_algorithms(excluded)
        proxy = proxies.for_host(settings["host"], secure=True)  # SSH is encrypted: the HTTPS proxy
        sock = None if proxy is None else await open_tunnel(proxy, settings["host"], int(settings["port"]), timeout)
        try:
            return await asyncssh.connect(
                settings["host"], int(settings["port"]), sock=sock, username=settings["username"],
                password=settings["password"] or None, known_hosts=lambda h, a, p: ([], [], []),
                client_factory=Client, client_keys=None, agent_path=None, config=[],
                server_host_key_algs=algs, preferred_auth="password,keyboard-interactive",
                connect_timeout=timeout, login_timeout=timeout, keepalive_interval=0)
        except asyncssh.HostKeyNotVerifiable as exc:
            if not seen:
                raise RecipientError(f"the server's SSH host key could not be verified: {exc.reason}") from exc
            excluded.update(seen[-1].sig_algorithms)
        except asyncssh.KeyExchangeFailed as exc:
            if not seen:
                raise RecipientError(f"the SSH connection to {target(settings)} failed: {exc.reason}") from exc
            break  # the server has no other host key
        except asyncssh.PermissionDenied as exc:
            raise RecipientError("the SFTP server refused the user name or password") from exc
        except asyncssh.DisconnectError as exc:
            raise RecipientError(f"the SSH connection to {target(settings)} failed: {exc.reason}") from exc
    offered = "; ".join(f"{k.get_algorithm()} {k.get_fingerprint('sha256')} ({k.get_fingerprint('md5')})"
                        for k in dict.fromkeys(seen))
    raise RecipientError(
        f"the server's SSH host key does not match the fingerprint entered, so the connection was refused: "
        f"expected {expected}, the server offered {offered}. If the server's key was changed on purpose, "
        f"enter the new fingerprint")


async def send(settings: dict[str, str], message: Message, timeout: float, proxies: Proxies) -> None:
    import asyncssh

    name, data = file_for(message)
    folder = settings["folder"]
    final = posixpath.join(folder, name) if folder else name
    temporary = settings["temporary_name"] == "yes"
    upload = posixpath.join(folder, temp_name(name)) if (folder and temporary) else (
        temp_name(name) if temporary else final)
    conn = await _sftp_connect(settings, timeout, proxies)
    # No `async with` here: their exits wait for the server, which must not happen on a timeout.
    try:
        sftp = await conn.start_sftp_client()
        if folder and not await sftp.isdir(folder):
            raise RecipientError(f"the folder '{folder}' does not exist on the SFTP server")
        try:
            remote = await sftp.open(upload, "wb")
            await remote.write(data)
            await remote.close()
            if temporary:
                try:
                    await sftp.posix_rename(upload, final)
                except asyncssh.SFTPOpUnsupported:
                    if await sftp.exists(final):
                        await sftp.remove(final)
                    await sftp.rename(upload, final)
        except Exception:
            if temporary:
                with contextlib.suppress(Exception):
                    await sftp.remove(upload)
            raise
        sftp.exit()
        await sftp.wait_closed()
    except BaseException as exc:
        conn.abort()
        if isinstance(exc, asyncssh.SFTPPermissionDenied):
            raise RecipientError(f"the SFTP server denied writing '{final}' (permission denied)") from exc
        if isinstance(exc, asyncssh.SFTPNoSuchFile):
            raise RecipientError(f"the folder '{folder or '.'}' does not exist on the SFTP server") from exc
        if isinstance(exc, asyncssh.SFTPError):
            raise RecipientError(f"the SFTP server refused the upload of '{name}': {exc.reason}") from exc
        if isinstance(exc, asyncssh.ChannelOpenError):
            raise RecipientError(f"the server does not offer SFTP: {exc.reason}") from exc
        raise
    conn.close()
    await conn.wait_closed()
