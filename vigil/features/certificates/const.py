"""Names of the certificate feature: store keys, the keystore, parameters, API paths and limits."""

from __future__ import annotations

MAX_ALIAS = 128  # characters of a certificate alias (the API page's `alias` type: 1 to 128)
KV_CERT = "keystore.cert."  # + alias: a certificate with its sealed private key
KV_CA = "keystore.ca."  # + alias: a CA certificate
KV_OS_CERT = "keystore.os-cert."  # + SHA-256 fingerprint: a custom signed OS certificate
KV_DEFAULT_KEYSTORE = "keystore.default"
LEGACY_DIR = "certificates"  # the folder of PEM files the store replaces: imported at start, then emptied
CA_EXPORT_DIR = "keystore-ca"  # public copies of the CA certificates, for clients that read a file

# The one keystore: private keys sealed under the device key (vigil/core/vault.py).
SOFTWARE_KEYSTORE = "SOFTWARE0"
KEYSTORES = ({"id": SOFTWARE_KEYSTORE, "security_level": "SOFTWARE", "certifications": []},)

API_ROOT = "/config/rest/cert/v1"
EST_ROOT = "/config/rest/cert-est/v1"

# HTTPS settings (manual: System > Security: certificates, cryptographic policy).
HTTPS_CERTIFICATE = "HTTPS.Certificate"  # alias of the server certificate; empty: the built-in one
HTTPS_POLICY = "HTTPS.CryptographicPolicy"  # default | fips
HTTPS_ALLOW_TLS12 = "HTTPS.AllowTLS12"
POLICIES = ("default", "fips")
