"""IEEE 802.1X on a real wired interface: wpa_supplicant (`-D wired`, or `-D macsec_linux` for
MACsec with a pre-shared key) run by the device and driven through its control socket.

The configuration file holds no secret: it names the control socket and the EAPOL version only.
The network block is added over the socket (ADD_NETWORK, SET_NETWORK), the passwords and the
MACsec key with it; the certificate and key files wpa_supplicant reads are written, readable by
the device only, into a private folder that goes when the device stops. The port's state comes
from the socket's STATUS (`suppPortStatus`, the PAE and EAP states); a refusal by the
authentication server is remembered as "failed" until the port is authorized or the settings change.

Only when VIGIL_HAL=linux names the interface (VIGIL_NET_INTERFACE). The tests run it in a
network namespace with hostapd's wired authenticator on the other end of a veth pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from vigil.hal.dot1x import (
    AUTHORIZED,
    EAP_TLS,
    FAILED,
    MACSEC_PSK,
    OFF,
    PEAP_MSCHAPV2,
    UNAUTHORIZED,
    Dot1xError,
    Dot1xSettings,
)

log = logging.getLogger("vigil.dot1x")
POLL_SECONDS = 0.5


def quoted(value: str) -> str:
    """A string value of SET_NETWORK: quoted, as wpa_supplicant reads it (no quote or line break inside)."""
    if any(c in value for c in '"\r\n\0'):
        raise Dot1xError("quotes and line breaks cannot be used in 802.1X settings")
    return f'"{value}"'


def network_lines(settings: Dot1xSettings, folder: Path) -> list[tuple[str, str]]:
    """SET_NETWORK name/value pairs of the settings; writes the certificate files into `folder`."""
    def write(name: str, data: bytes) -> str:
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return quoted(str(path))

    if settings.method == MACSEC_PSK:
        return [("key_mgmt", "NONE"), ("eapol_flags", "0"), ("macsec_policy", "1"),
                ("mka_cak", settings.cak.lower()), ("mka_ckn", settings.ckn.lower()), ("mka_priority", "255")]
    pairs = [("key_mgmt", "IEEE8021X"), ("eapol_flags", "0"), ("identity", quoted(settings.identity))]
    tls = settings.tls
    if settings.ca is not None:
        pairs.append(("ca_cert", write("ca.pem", settings.ca)))
    if settings.method == EAP_TLS:
        if tls is None:
            raise Dot1xError("EAP-TLS needs a client certificate")
        pairs += [("eap", "TLS"), ("client_cert", write("client.pem", tls.certificate)),
                  ("private_key", write("client.key", tls.private_key))]
        if tls.key_password:
            pairs.append(("private_key_passwd", quoted(tls.key_password)))
    elif settings.method == PEAP_MSCHAPV2:
        pairs += [("eap", "PEAP"), ("password", quoted(settings.password)),
                  ("phase1", quoted(f"peapver={settings.peap_version} peaplabel={settings.peap_label}")),
                  ("phase2", quoted("auth=MSCHAPV2"))]
    else:
        raise Dot1xError(f"method {settings.method} unknown")
    return pairs


def port_state(status: dict[str, str]) -> str | None:
    """What STATUS says of the port: AUTHORIZED, FAILED, or None (still trying)."""
    if status.get("suppPortStatus") == "Authorized":
        return AUTHORIZED
    if status.get("EAP state") == "FAILURE" or status.get("Supplicant PAE state") == "HELD":
        return FAILED
    return None


class ControlSocket:
    """One request, one reply, over wpa_supplicant's control socket (blocking, short)."""

    def __init__(self, path: Path, local: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.local = local
        local.unlink(missing_ok=True)
        self.sock.bind(str(local))
        self.sock.settimeout(3.0)
        self.sock.connect(str(path))

    def request(self, command: str) -> str:
        self.sock.send(command.encode())
        while True:
            reply = self.sock.recv(8192).decode(errors="replace")
            if not reply.startswith("<"):  # an unsolicited event ("<3>CTRL-EVENT-...") is not the reply
                return reply

    def close(self) -> None:
        self.sock.close()
        self.local.unlink(missing_ok=True)


class WpaSupplicant:
    name = "wpa_supplicant"

    def __init__(self, interface: str, program: str | None = None) -> None:
        found = program or shutil.which("wpa_supplicant")
        if found is None:
            raise Dot1xError("wpa_supplicant (the wpasupplicant package) is not installed")
        self.program = found
        self.interface = interface
        self.folder = Path(tempfile.mkdtemp(prefix="vigil-dot1x-"))  # 0700: the key files live here
        self.process: subprocess.Popen | None = None
        self.settings: Dot1xSettings | None = None
        self.configured = False
        self._status = OFF
        self._watchers: list[Callable[[str], None]] = []
        self._control: ControlSocket | None = None
        self._lock = threading.Lock()  # apply (the event loop) and _follow (a worker thread) take turns

    def status(self) -> str:
        return self._status

    def watch(self, callback: Callable[[str], None]) -> None:
        self._watchers.append(callback)

    def _set(self, status: str) -> None:
        if status != self._status:
            self._status = status
            for callback in list(self._watchers):
                callback(status)

    def apply(self, settings: Dot1xSettings | None) -> None:
        with self._lock:
            self._apply(settings)

    def _apply(self, settings: Dot1xSettings | None) -> None:
        self._stop()
        self.settings = settings
        if settings is None:
            self._set(OFF)
            return
        network_lines(settings, self.folder)  # refuses what wpa_supplicant could not take, before it starts
        conf = self.folder / "wpa_supplicant.conf"
        conf.write_text(f"ctrl_interface={self.folder / 'ctrl'}\nap_scan=0\neapol_version={settings.eapol_version}\n")
        driver = "macsec_linux" if settings.method == MACSEC_PSK else "wired"
        self.process = subprocess.Popen([self.program, "-D", driver, "-i", self.interface, "-c", str(conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._set(UNAUTHORIZED)

    def _configure(self) -> bool:
        """Give the running wpa_supplicant its network over the control socket; False: not ready yet."""
        path = self.folder / "ctrl" / self.interface
        if self.settings is None or not path.exists():
            return False
        control = ControlSocket(path, self.folder / "vigil-ctrl")
        try:
            number = control.request("ADD_NETWORK").strip()
            for name, value in network_lines(self.settings, self.folder):
                if control.request(f"SET_NETWORK {number} {name} {value}").strip() != "OK":
                    raise Dot1xError(f"wpa_supplicant refused the setting {name}")
            control.request(f"SELECT_NETWORK {number}")
        except BaseException:
            control.close()
            raise
        self._control = control
        return True

    def _follow(self) -> None:
        with self._lock:
            self._follow_locked()

    def _follow_locked(self) -> None:
        if self.process is None or self.settings is None:
            return
        if self.process.poll() is not None:
            error = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace").strip()
            log.error("wpa_supplicant stopped (%s): %s", self.process.returncode, error[-300:])
            self.process = None
            self._set(FAILED)
            return
        if not self.configured:
            self.configured = self._configure()
            return
        assert self._control is not None
        reply = self._control.request("STATUS")
        status = dict(line.split("=", 1) for line in reply.splitlines() if "=" in line)
        state = port_state(status)
        if state is not None:
            self._set(state)
        elif self._status == AUTHORIZED:  # the port went back to unauthorized (link lost, re-authentication)
            self._set(UNAUTHORIZED)

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(POLL_SECONDS)
                try:
                    await asyncio.to_thread(self._follow)
                except (OSError, Dot1xError) as err:
                    log.warning("802.1X: %s", err)
        finally:
            self.close()

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        self.configured = False
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        for child in self.folder.iterdir():
            if child.is_file():
                child.unlink()

    def close(self) -> None:
        with self._lock:
            self._stop()
            self.settings = None
        with contextlib.suppress(OSError):
            shutil.rmtree(self.folder)
