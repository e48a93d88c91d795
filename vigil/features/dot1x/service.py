"""The port's 802.1X: the settings from the parameters handed to the supplicant (at start and
on every change), and the port's state followed for the Status parameter and the system log."""

from __future__ import annotations

from vigil.core.logs import Logs
from vigil.core.params import Change, ParamTree
from vigil.core.registry import Key
from vigil.features.certificates.service import Keystore
from vigil.features.dot1x import const as c
from vigil.features.dot1x.certs import CredentialError, ca_certificate, tls_credentials
from vigil.hal.dot1x import (
    EAP_TLS,
    FAILED,
    MACSEC_PSK,
    PEAP_MSCHAPV2,
    Dot1xError,
    Dot1xHardware,
    Dot1xSettings,
)

SAID = {"authorized": "authorized: the network lets the device in", "unauthorized": "not authorized (yet)",
        "failed": "refused by the authentication server", "off": "off"}


class Dot1xService:
    def __init__(self, hardware: Dot1xHardware, params: ParamTree, logs: Logs, keystore: Keystore) -> None:
        self.hardware = hardware
        self.params = params
        self.logs = logs
        self.keystore = keystore
        self.error = ""  # why the settings could not be applied ("" when they were)
        hardware.watch(self._changed)

    def status(self) -> str:
        return FAILED if self.error else self.hardware.status()

    def settings(self) -> Dot1xSettings | None:
        get = self.params.get
        if get(c.ENABLED) != "yes":
            return None
        method = get(c.METHOD)
        eapol = int(get(c.EAPOL_VERSION))
        if method == MACSEC_PSK:
            return Dot1xSettings(method, eapol, ckn=get(c.MACSEC_CKN), cak=get(c.MACSEC_CAK))
        ca = ca_certificate(self.keystore, get(c.CA_CERT)) if get(c.CA_CERT) else None
        if method == EAP_TLS:
            tls = tls_credentials(self.keystore, get(c.TLS_CERT), get(c.TLS_KEY_PASSWORD))
            return Dot1xSettings(method, eapol, identity=get(c.TLS_IDENTITY), tls=tls, ca=ca)
        assert method == PEAP_MSCHAPV2
        return Dot1xSettings(method, eapol, identity=get(c.PEAP_IDENTITY), password=get(c.PEAP_PASSWORD),
                             peap_version=int(get(c.PEAP_VERSION)), peap_label=int(get(c.PEAP_LABEL)) - 1, ca=ca)

    def apply(self) -> None:
        try:
            settings = self.settings()
            self.hardware.apply(settings)
            self.error = ""
        except (CredentialError, Dot1xError) as err:
            self.error = str(err)
            self.logs.system(f"IEEE 802.1X cannot authenticate: {err}", "error")
            self.hardware.apply(None)

    def on_params(self, changes: list[Change], actor: str) -> None:
        if any(change.name.startswith(c.P) for change in changes):
            self.apply()

    def _changed(self, status: str) -> None:
        self.logs.system(f"IEEE 802.1X ({self.hardware.name}): the port is {SAID.get(status, status)}",
                         "warning" if status == FAILED else "info")

    async def run(self) -> None:
        await self.hardware.run()


DOT1X_SERVICE: Key[Dot1xService] = Key("dot1x")
