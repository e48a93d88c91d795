"""The HTTPS server's choices (manual: System > Security): its certificate from the keystore
(`HTTPS.Certificate`, empty: the built-in self-signed one) and the cryptographic policy
(`HTTPS.CryptographicPolicy`: default, or FIPS 140-2 algorithms only). The TLS versions are
`HTTPS.AllowTLS12` (vigil/http/server.py applies it).

The HTTPS server hands its listener's context over once (`attach`); from then on every change
of these parameters, or of the chosen certificate in the keystore (a CA-signed certificate
replacing the self-signed one), applies to the next handshake, without a restart. A certificate
that is not in the keystore is refused before it is stored, and the chosen one cannot be
deleted while it is chosen."""

from __future__ import annotations

import ssl

from vigil.core.logs import Logs
from vigil.core.params import Change, ParamDef, ParamTree, applied
from vigil.core.registry import Key
from vigil.features.certificates.const import HTTPS_CERTIFICATE, HTTPS_POLICY, MAX_ALIAS, POLICIES
from vigil.features.certificates.service import CertificateNotFound, Keystore
from vigil.http.tls import POLICIES as TLS_POLICIES
from vigil.http.tls import apply_policy, certificate_context, serve_certificate


def param_defs() -> list[ParamDef]:
    listener = applied("certificates", how="listener", note="the next TLS handshake of the HTTPS listener uses it")
    return [
        ParamDef(HTTPS_CERTIFICATE, "", maxlen=MAX_ALIAS, owner=listener, nice="Server certificate"),
        ParamDef(HTTPS_POLICY, "default", "enum", POLICIES, owner=listener, nice="Cryptographic policy"),
    ]


class HttpsSettings:
    def __init__(self, keystore: Keystore, params: ParamTree, logs: Logs) -> None:
        self.keystore = keystore
        self.params = params
        self.logs = logs
        self._listener: ssl.SSLContext | None = None
        self._certificate: ssl.SSLContext | None = None  # None: the listener's own (built-in) one
        params.declare(param_defs())
        params.vetoes.append(self._veto)
        params.listeners.append(self._follow)
        keystore.register_use(self._uses)
        keystore.on_change(self._keystore_changed)

    # -- the HTTPS server's port --------------------------------------------------------
    def attach(self, context: ssl.SSLContext) -> None:
        """The listener's context: configured now and kept configured from now on."""
        self._listener = context
        apply_policy(context, TLS_POLICIES[self.params.get(HTTPS_POLICY)])
        self._load(self.params.get(HTTPS_CERTIFICATE))
        serve_certificate(context, lambda: self._certificate)

    def serving(self) -> str:
        """The alias of the certificate the listener serves ("" for the built-in one)."""
        return self.params.get(HTTPS_CERTIFICATE)

    # -- following changes --------------------------------------------------------------
    def _load(self, alias: str) -> None:
        if not alias:
            self._certificate = None
            return
        try:
            self._certificate = certificate_context(lambda context: self.keystore.load_certificate(context, alias))
        except (CertificateNotFound, ssl.SSLError, ValueError, OSError) as err:
            # The built-in certificate keeps the device reachable over HTTPS.
            self._certificate = None
            self.logs.system(f"HTTPS serves the built-in certificate: {alias!r} cannot be used ({err})", "error")

    def _veto(self, new: dict[str, str]) -> tuple[str, str] | None:
        alias = new.get(HTTPS_CERTIFICATE)
        if not alias:
            return None
        try:
            certificate_context(lambda context: self.keystore.load_certificate(context, alias))
        except CertificateNotFound as err:
            return HTTPS_CERTIFICATE, str(err)
        except (ssl.SSLError, ValueError, OSError) as err:
            return HTTPS_CERTIFICATE, f"the certificate {alias!r} cannot serve HTTPS: {err}"
        return None

    def _follow(self, changes: list[Change], actor: str) -> None:
        names = {c.name for c in changes}
        if self._listener is None:
            return
        if HTTPS_POLICY in names:
            apply_policy(self._listener, TLS_POLICIES[self.params.get(HTTPS_POLICY)])
        if HTTPS_CERTIFICATE in names:
            self._load(self.params.get(HTTPS_CERTIFICATE))

    def _uses(self, alias: str) -> str | None:
        return "the HTTPS server" if alias == self.params.get(HTTPS_CERTIFICATE) else None

    def _keystore_changed(self, alias: str) -> None:
        if self._listener is not None and alias == self.params.get(HTTPS_CERTIFICATE):
            self._load(alias)


HTTPS_SETTINGS: Key[HttpsSettings] = Key("certificates.https")
