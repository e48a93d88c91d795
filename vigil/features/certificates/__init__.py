"""Certificates (manual: System > Security): the keystore every TLS client and server of the
device takes its certificates, private keys and CA certificates from, by alias.

- `pki`: reading uploads (PEM, DER, PKCS#12), making keys, certificates and signing requests.
- `service`: the keystore (`KEYSTORE`), its lookup for other services, the import of the old
  folder of PEM files. `rest`: the Device Configuration reply shape.
- `http_cert`: the VAPIX Certificate Management API, /config/rest/cert/v1.
- `est`: the EST (RFC 7030) client; `enrollment`: the enrollment profiles (`ENROLLMENT`), renewal
  at half of the validity; `http_est`: their API, /config/rest/cert-est/v1.
- `https`: the HTTPS server's certificate and cryptographic policy (`HTTPS_SETTINGS`), applied to
  the listener's TLS context (vigil/http/tls.py) at once.

Every profile has it; it loads first, so that every feature that uses a certificate finds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.core.proxies import PROXIES, proxies_of
from vigil.device import Api
from vigil.features.certificates import http_cert, http_est
from vigil.features.certificates.enrollment import ENROLLMENT, Enrollment
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
    enrollment = Enrollment(keystore, device.store, device.vault, device.params, device.logs, device.clock,
                            lambda: proxies_of(device.features.get(PROXIES)), device.events)
    device.features[ENROLLMENT] = enrollment
    device.services.append(enrollment.run)
    device.router.include(http_cert.ROUTES)
    device.router.include(http_est.ROUTES)
    device.apis.append(Api("cert", "1.0", "Certificate Management"))
    device.apis.append(Api("cert-est", "1.0", "Certificate Enrollment (EST)"))
