"""Certificates (manual: System > Security): the keystore every TLS client and server of the
device takes its certificates, private keys and CA certificates from, by alias.

- `pki`: reading uploads (PEM, DER, PKCS#12), making keys, certificates and signing requests.
- `service`: the keystore (`KEYSTORE`), its lookup for other services, the import of the old
  folder of PEM files. `rest`: the Device Configuration reply shape.
- `http_cert`: the VAPIX Certificate Management API, /config/rest/cert/v1.
- `https`: the HTTPS server's certificate and cryptographic policy (`HTTPS_SETTINGS`), applied to
  the listener's TLS context (vigil/http/tls.py) at once.

Every profile has it; it loads first, so that every feature that uses a certificate finds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.device import Api
from vigil.features.certificates import http_cert
from vigil.features.certificates.https import HTTPS_SETTINGS, HttpsSettings
from vigil.features.certificates.service import KEYSTORE, Keystore

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    keystore = Keystore(device.store, device.vault, device.logs, device.clock, device.data,
                        device.identity.serial)
    keystore.migrate_folder()
    device.features[KEYSTORE] = keystore
    device.features[HTTPS_SETTINGS] = HttpsSettings(keystore, device.params, device.logs)
    device.router.include(http_cert.ROUTES)
    device.apis.append(Api("cert", "1.0", "Certificate Management"))
