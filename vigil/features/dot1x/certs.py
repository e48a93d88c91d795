"""Where 802.1X takes its certificates from: the client certificate with its private key, and
the CA certificate, by alias from the device's keystore (vigil/features/certificates). The key
leaves the keystore only for the supplicant, encrypted under the 802.1X private key password
when one is set."""

from __future__ import annotations

from vigil.features.certificates.service import CertificateNotFound, Keystore
from vigil.hal.dot1x import TlsCredentials


class CredentialError(ValueError):
    """The certificates cannot be used; `str()` is for the user."""


def ca_certificate(keystore: Keystore, ca_id: str) -> bytes:
    """The PEM certificate of CA certificate `ca_id`; CredentialError when the keystore has none."""
    try:
        return keystore.ca_certificate(ca_id).certificate.encode()
    except CertificateNotFound as err:
        raise CredentialError(str(err)) from None


def tls_credentials(keystore: Keystore, client_id: str, key_password: str) -> TlsCredentials:
    """The client certificate `client_id` (with its chain) and its private key, encrypted under
    `key_password` (none: in clear, for the supplicant's private folder); CredentialError when the
    keystore has no such certificate with a key."""
    try:
        chain = keystore.pem_chain(client_id)
        key = keystore.private_key_pem(client_id, key_password)
    except CertificateNotFound as err:
        raise CredentialError(str(err)) from None
    return TlsCredentials(chain.encode(), key.encode(), key_password)
