"""A simulated switch port with a scripted IEEE 802.1X authenticator.

The script (`Script`, set by tests and the simulation API `/vigil/sim/dot1x`) says whether the
port asks for 802.1X at all and which credentials its authentication server takes: PEAP
identities with their passwords, EAP-TLS identities and the CA that must have signed the client
certificate, the MACsec pre-shared key (CKN and CAK). The device's settings are judged as a real
server would judge them: the client certificate must load, its private key must open with the
password given and belong to it, and it must be signed by the server's CA; with a CA certificate
chosen on the device, the server's own CA must be it. Nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from vigil.hal.dot1x import (
    AUTHORIZED,
    EAP_TLS,
    FAILED,
    MACSEC_PSK,
    OFF,
    PEAP_MSCHAPV2,
    UNAUTHORIZED,
    Dot1xSettings,
    TlsCredentials,
)


@dataclass
class Script:
    present: bool = False  # the port runs an authenticator; without one nobody answers EAPOL
    peap_users: dict[str, str] = field(default_factory=dict)  # identity -> password
    tls_identities: set[str] = field(default_factory=set)
    client_ca: bytes | None = None  # PEM: the CA the server wants client certificates signed by
    server_ca: bytes | None = None  # PEM: the CA that signed the server's own certificate
    ckn: str = ""
    cak: str = ""


def _same_certificate(a: bytes, b: bytes) -> bool:
    try:
        return x509.load_pem_x509_certificate(a) == x509.load_pem_x509_certificate(b)
    except ValueError:
        return False


def tls_refusal(tls: TlsCredentials | None, client_ca: bytes | None) -> str | None:
    """Why a server trusting `client_ca` refuses these client credentials, or None."""
    if tls is None:
        return "no client certificate"
    try:
        cert = x509.load_pem_x509_certificate(tls.certificate)
        key = serialization.load_pem_private_key(tls.private_key, tls.key_password.encode() or None)
    except (ValueError, TypeError) as err:
        return f"the client certificate or key cannot be read ({err})"
    if key.public_key() != cert.public_key():
        return "the private key is not the certificate's"
    if client_ca is not None:
        try:
            cert.verify_directly_issued_by(x509.load_pem_x509_certificate(client_ca))
        except (InvalidSignature, ValueError, TypeError):
            return "the client certificate is not signed by the server's CA"
    return None


class SimulatedDot1x:
    name = "simulated"

    def __init__(self) -> None:
        self.script = Script()
        self.settings: Dot1xSettings | None = None
        self.reason = ""  # why the last authentication failed
        self._status = OFF
        self._watchers: list[Callable[[str], None]] = []

    def status(self) -> str:
        return self._status

    def watch(self, callback: Callable[[str], None]) -> None:
        self._watchers.append(callback)

    def apply(self, settings: Dot1xSettings | None) -> None:
        self.settings = settings
        self.authenticate()

    def set_script(self, script: Script) -> None:
        """The switch port changes (tests, the simulation API): authenticate again."""
        self.script = script
        self.authenticate()

    def authenticate(self) -> None:
        settings, script = self.settings, self.script
        self.reason = ""
        if settings is None:
            outcome = OFF
        elif not script.present:
            outcome = UNAUTHORIZED
        else:
            self.reason = self._refusal(settings, script) or ""
            outcome = FAILED if self.reason else AUTHORIZED
        if outcome != self._status:
            self._status = outcome
            for callback in list(self._watchers):
                callback(outcome)

    @staticmethod
    def _refusal(settings: Dot1xSettings, script: Script) -> str | None:
        ca = settings.ca
        if settings.method in (EAP_TLS, PEAP_MSCHAPV2) and ca is not None and script.server_ca is not None \
                and not _same_certificate(ca, script.server_ca):
            return "the authentication server's certificate is not signed by the chosen CA certificate"
        if settings.method == PEAP_MSCHAPV2:
            if script.peap_users.get(settings.identity) != settings.password or not settings.password:
                return "wrong identity or password"
            return None
        if settings.method == EAP_TLS:
            if settings.identity not in script.tls_identities:
                return f"identity {settings.identity!r} unknown to the server"
            return tls_refusal(settings.tls, script.client_ca)
        if settings.method == MACSEC_PSK:
            if (settings.ckn.lower(), settings.cak.lower()) != (script.ckn.lower(), script.cak.lower()):
                return "the MACsec key (CKN and CAK) is not the switch's"
            return None
        return f"method {settings.method} unknown"

    async def run(self) -> None:
        return None

    def close(self) -> None:
        self.settings = None
