"""The IEEE 802.1X supplicant of the wired interface: what the device asks of it (the method and
its credentials), and the port's state it reports back.

The dot1x feature turns the `Network.Interface.I0.dot1x.*` settings into `Dot1xSettings` (or None:
802.1X off) and hands them to `apply`; the backend authenticates the port and reports `status`:
authorized (the switch lets the device's traffic through), unauthorized (not yet, or no
authenticator answers), failed (the authenticator refused the credentials), or off. The simulated
backend (the default) answers from a scripted authenticator (vigil/hal/sim/dot1x.py); the Linux
backend drives wpa_supplicant on a real interface (vigil/hal/linux/dot1x.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vigil.core.registry import Key

EAP_TLS, PEAP_MSCHAPV2, MACSEC_PSK = "EAP-TLS", "PEAP-MSCHAPv2", "MACsec-PSK"
METHODS = (EAP_TLS, PEAP_MSCHAPV2, MACSEC_PSK)
AUTHORIZED, UNAUTHORIZED, FAILED, OFF = "authorized", "unauthorized", "failed", "off"


class Dot1xError(Exception):
    """The backend cannot authenticate with these settings; the text is for the log and the user."""


@dataclass(frozen=True)
class TlsCredentials:
    """The client certificate and its private key (PEM, encrypted under `key_password` when that
    is given)."""

    certificate: bytes
    private_key: bytes
    key_password: str = ""


@dataclass(frozen=True)
class Dot1xSettings:
    method: str  # one of METHODS
    eapol_version: int = 1  # 1 | 2
    identity: str = ""  # the EAP identity (EAP-TLS and PEAP)
    password: str = ""  # PEAP-MSCHAPv2
    peap_version: int = 0  # 0 | 1
    peap_label: int = 0  # 0: client EAP encryption, 1: client PEAP encryption (the manual's label 1 and 2)
    tls: TlsCredentials | None = None  # EAP-TLS: the client's certificate and key
    ca: bytes | None = None  # PEM: the CA the authentication server's certificate must chain to (None: not checked)
    ckn: str = ""  # MACsec with a pre-shared key: the connectivity association key name (hex)
    cak: str = ""  # ... and the key itself (hex)


class Dot1xHardware(Protocol):
    name: str  # "simulated" | "wpa_supplicant"

    def apply(self, settings: Dot1xSettings | None) -> None:
        """Authenticate the port with `settings` from now on (None: stop); Dot1xError when the
        backend cannot start with them."""

    def status(self) -> str:
        """AUTHORIZED, UNAUTHORIZED, FAILED or OFF."""

    def watch(self, callback: Callable[[str], None]) -> None:
        """`callback(status)` runs whenever the status changes."""

    async def run(self) -> None:
        """Long-running work (following the supplicant); cancelled when the device stops."""

    def close(self) -> None:
        """The device stops: stop authenticating."""


DOT1X_HARDWARE: Key[Dot1xHardware] = Key("dot1x")
