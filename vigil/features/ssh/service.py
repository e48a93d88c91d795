"""The SSH server (asyncssh): on while `Network.SSH.Enabled` says yes, off at once otherwise.
Password logins of the SSH accounts (and of the device's root account) get the restricted
shell; there is no port forwarding, no SFTP, no agent and no X11. The host key is made at the
first start and kept sealed, so clients recognise the device over restarts. Failed logins count
for brute-force blocking like any other, and every login is in the audit log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import asyncssh

from vigil.core.params import Change
from vigil.core.registry import Key
from vigil.core.vault import SealError
from vigil.features.ssh.accounts import SshAccounts
from vigil.features.ssh.const import ENABLED, HOST_KEY, LOGIN_GRACE
from vigil.features.ssh.shell import PROMPT, Shell

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.ssh")
PAGE = "ssh"  # what brute-force blocking counts SSH failures under


class _Server(asyncssh.SSHServer):
    def __init__(self, service: SshService) -> None:
        self.service = service
        self.address = "unknown"
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.address = peer[0] if peer else "unknown"
        self.conn = conn
        self.service.connections.add(conn)
        if self.service.device.auth.guard.blocked(self.address):
            self.service.device.logs.access(f"blocked address {self.address} refused on SSH")
            conn.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.service.connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        device = self.service.device
        if device.auth.guard.blocked(self.address):
            return False
        if self.service.accounts.verify(username, password):
            device.logs.audit(username, f"logged in over SSH from {self.address}", "ssh")
            return True
        device.auth.guard.failure(self.address, PAGE)
        device.logs.access(f"SSH login failed for {username[:64]} from {self.address}")
        return False


class SshService:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.accounts = SshAccounts(device.store, device.vault, device.accounts)
        self.host, self.port = device.ports.host, device.ports.ssh
        self.server: asyncssh.SSHAcceptor | None = None
        self.error = ""  # why the server is not running although it should
        self.started = time.monotonic()
        self._wake: asyncio.Event | None = None
        self.connections: set[asyncssh.SSHServerConnection] = set()
        device.params.listeners.append(self._on_params)

    @property
    def running(self) -> bool:
        return self.server is not None

    def host_key(self) -> asyncssh.SSHKey:
        """The device's host key, made (Ed25519) and sealed at the first start."""
        sealed = self.device.store.get_kv(HOST_KEY)
        if sealed:
            try:
                return asyncssh.import_private_key(self.device.vault.unseal(sealed))
            except (SealError, asyncssh.KeyImportError):
                self.device.logs.system("the SSH host key could not be opened: a new one is made", "warning", "ssh")
        key = asyncssh.generate_private_key("ssh-ed25519")
        self.device.store.set_kv(HOST_KEY, self.device.vault.seal(key.export_private_key().decode()))
        return key

    def _on_params(self, changes: list[Change], actor: str) -> None:
        if self._wake is not None and any(c.name == ENABLED for c in changes):
            self._wake.set()

    async def run(self) -> None:
        """The device's service: the server while SSH is enabled."""
        self._wake = asyncio.Event()
        try:
            while True:
                await self.apply()
                await self._wake.wait()
                self._wake.clear()
        finally:
            self._wake = None
            await self.stop()

    async def apply(self) -> None:
        if self.device.params.get_bool(ENABLED):
            await self.start()
        else:
            await self.stop()

    async def start(self) -> None:
        if self.server is not None:
            return
        try:
            self.server = await asyncssh.create_server(
                lambda: _Server(self), self.host, self.port, server_host_keys=[self.host_key()],
                process_factory=self._session, allow_scp=False, sftp_factory=None, agent_forwarding=False,
                x11_forwarding=False, login_timeout=LOGIN_GRACE, line_editor=True)
        except OSError as err:
            self.error = f"SSH cannot listen on port {self.port}: {err.strerror or err}"
            self.device.logs.system(self.error, "error", "ssh")
            return
        self.error = ""
        self.started = time.monotonic()
        self.device.logs.system(f"SSH server listening on port {self.port}", source="ssh")

    async def stop(self) -> None:
        if self.server is None:
            return
        server, self.server = self.server, None
        server.close()
        self.end_sessions()  # SSH turned off ends the sessions too, not only the listener
        with contextlib.suppress(Exception):
            await server.wait_closed()
        self.device.logs.system("SSH server stopped", source="ssh")

    def end_sessions(self, user: str | None = None) -> None:
        """Close the connections of `user` (an account removed or given a new password), or all."""
        for conn in list(self.connections):
            if user is None or conn.get_extra_info("username") == user:
                conn.close()

    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        peer = process.get_extra_info("peername")
        shell = Shell(self.device, process.get_extra_info("username"), peer[0] if peer else "unknown",
                      self.started)
        restart = False
        try:
            if process.command is not None:  # ssh user@device <command>
                outcome = shell.run(process.command)
                process.stdout.write(outcome.text)
                process.exit(outcome.status)
                restart = outcome.restart
                return
            process.stdout.write("Vigil restricted shell. Type help for the commands.\n")
            while not process.stdin.at_eof():
                process.stdout.write(PROMPT)
                try:
                    line = await process.stdin.readline()
                except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
                    continue
                if not line:
                    break
                outcome = shell.run(line)
                process.stdout.write(outcome.text)
                if outcome.end:
                    restart = outcome.restart
                    break
            process.exit(0)
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError):
            process.close()
        finally:
            if restart:  # the answer is out; the device stops the listeners, then starts again
                self.device.logs.audit(shell.user, "requested restart", "maintenance")
                self.device.request_stop("restart")


SSH_SERVICE: Key[SshService] = Key("ssh")
