"""X.509 in the words of the certificate pages: reading what a user uploads (PEM, CER/DER,
PKCS#12 with its passphrase, PKCS#1/PKCS#8 keys), making keys, self-signed certificates and
signing requests from a subject the user typed, and describing a certificate for the page.

Every reader raises `PkiError` with a sentence the user can act on; nothing here stores anything.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# The key types of create_certificate (the page's names; EC-P256 is its default).
CURVES = {"EC-P256": ec.SECP256R1, "EC-P384": ec.SECP384R1, "EC-P521": ec.SECP521R1}
RSA_SIZES = {"RSA-2048": 2048, "RSA-3072": 3072, "RSA-4096": 4096}
KEY_TYPES = (*CURVES, *RSA_SIZES)
DEFAULT_KEY_TYPE = "EC-P256"
ALIASES = {"NIST-P256": "EC-P256", "NIST-P384": "EC-P384", "NIST-P521": "EC-P521"}  # the page's example says so

# Subject attributes a user may type (RFC 4514 short names), with the upper bounds of RFC 5280's
# ub-* values; C is two letters (ISO 3166).
SUBJECT_FIELDS = {
    "CN": (NameOID.COMMON_NAME, 64), "O": (NameOID.ORGANIZATION_NAME, 64),
    "OU": (NameOID.ORGANIZATIONAL_UNIT_NAME, 64), "L": (NameOID.LOCALITY_NAME, 128),
    "ST": (NameOID.STATE_OR_PROVINCE_NAME, 128), "C": (NameOID.COUNTRY_NAME, 2),
    "EMAILADDRESS": (NameOID.EMAIL_ADDRESS, 255), "SERIALNUMBER": (NameOID.SERIAL_NUMBER, 64),
    "DC": (NameOID.DOMAIN_COMPONENT, 63),
}
SHORT = {oid: name for name, (oid, _) in SUBJECT_FIELDS.items()} | {NameOID.EMAIL_ADDRESS: "emailAddress"}
NAMES = {NameOID.SERIAL_NUMBER: "serialNumber", NameOID.EMAIL_ADDRESS: "emailAddress"}  # for the page
MAX_SANS = 32
MAX_UPLOAD = 256 * 1024  # bytes of one uploaded certificate, chain or archive
_DNS = re.compile(r"(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                  r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?")


_RDN = re.compile(r"(?:^|(?<!\\)[,+])\s*([A-Za-z][A-Za-z0-9-]*)\s*=((?:\\.|[^,+\\])*)")


class PkiError(ValueError):
    """Input that cannot be used; `str()` says why, for the user."""


@dataclass(frozen=True)
class Subject:
    name: x509.Name
    sans: list[x509.GeneralName]


# -- reading uploads ---------------------------------------------------------------------
def _bounded(data: bytes | str, what: str) -> bytes:
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if not raw.strip():
        raise PkiError(f"the {what} is empty")
    if len(raw) > MAX_UPLOAD:
        raise PkiError(f"the {what} is larger than {MAX_UPLOAD // 1024} KiB")
    return raw


def read_certificates(data: bytes | str) -> list[x509.Certificate]:
    """The certificates of a PEM file (one or a chain), a DER/CER file or a PKCS#7 bundle."""
    raw = _bounded(data, "certificate")
    try:
        if b"-----BEGIN PKCS7-----" in raw:
            return pkcs7.load_pem_pkcs7_certificates(raw)
        if b"-----BEGIN" in raw:
            if b"-----BEGIN CERTIFICATE-----" not in raw:
                raise PkiError("the file holds no certificate (PEM without a BEGIN CERTIFICATE block)")
            return x509.load_pem_x509_certificates(raw)
        try:
            return [x509.load_der_x509_certificate(raw)]
        except ValueError:
            return pkcs7.load_der_pkcs7_certificates(raw)
    except ValueError as err:
        raise PkiError(f"the certificate cannot be read: it is not a valid PEM or DER X.509 certificate ({err})") \
            from None


def read_private_key(data: bytes | str, password: str = "") -> PrivateKey:
    """A PEM (PKCS#1 or PKCS#8, EC or RSA, encrypted with `password` or not) or DER private key."""
    raw = _bounded(data, "private key")
    secret = password.encode() if password else None
    try:
        if b"-----BEGIN" in raw:
            key = serialization.load_pem_private_key(raw, secret)
        else:
            key = serialization.load_der_private_key(raw, secret)
    except TypeError:
        raise PkiError("the private key is encrypted: give its password" if secret is None
                       else "the private key is not encrypted: leave the password empty") from None
    except ValueError:
        # Given a password, the key is encrypted (else the TypeError above). A wrong password
        # mostly fails the padding check, but about once in 256 it decrypts to bytes that then
        # fail to parse: that is the same wrong password, not an unreadable file.
        raise PkiError("the private key's password is wrong (or the key is damaged)" if secret is not None
                       else "the private key cannot be read: it is not a PEM or DER RSA or EC key") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise PkiError("only RSA, EC and Ed25519 private keys are supported")
    return key


def read_pkcs12(data: bytes, passphrase: str) -> tuple[PrivateKey, list[x509.Certificate]]:
    """The key and the chain (leaf first) of a PKCS#12 (PFX) archive."""
    raw = _bounded(data, "PKCS#12 archive")
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(raw, passphrase.encode() if passphrase else None)
    except ValueError as err:
        text = str(err).lower()
        if "password" in text or "mac" in text or "decrypt" in text:
            raise PkiError("the PKCS#12 archive's passphrase is wrong") from None
        raise PkiError("the file is not a PKCS#12 (PFX) archive") from None
    if key is None or cert is None:
        raise PkiError("the PKCS#12 archive holds no certificate with its private key")
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise PkiError("only RSA, EC and Ed25519 private keys are supported")
    return key, [cert, *extra]


def matches(key: PrivateKey, cert: x509.Certificate) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == cert.public_key().public_bytes(*fmt)


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return cert.issuer == cert.subject  # an old self-signed root without the extension


def pem(certs: Iterable[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def key_pem(key: PrivateKey, password: str = "") -> str:
    encryption = serialization.BestAvailableEncryption(password.encode()) if password \
        else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


# -- subjects, keys, certificates, requests ------------------------------------------------
def parse_subject(text: str, sans: Iterable[str] | None) -> Subject:
    """An RFC 4514 subject (`C=SE,CN=example.com`) and `DNS:`/`IP:` alternative names, each field
    checked against its bounds."""
    if not isinstance(text, str) or not text.strip():
        raise PkiError("the subject is empty: give at least CN=<name>")
    if len(text) > 1024:
        raise PkiError("the subject is longer than 1024 characters")
    for match in _RDN.finditer(text):  # the bounds first: the parser's own message names no field
        short, value = match.group(1).upper(), match.group(2).strip()
        if short == "C" and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise PkiError("the subject field C must be a two-letter country code (ISO 3166), such as SE")
        if short in SUBJECT_FIELDS and not 0 < len(value) <= SUBJECT_FIELDS[short][1]:
            raise PkiError(f"the subject field {short} must be 1 to {SUBJECT_FIELDS[short][1]} characters long")
    try:
        parsed = x509.Name.from_rfc4514_string(text)
    except ValueError as err:
        raise PkiError(f"the subject is not an RFC 4514 name such as C=SE,CN=example.com ({err})") from None
    attributes = []
    for attribute in parsed:
        short = SHORT.get(attribute.oid)
        if short is None:
            raise PkiError(f"the subject field {attribute.oid.dotted_string} is not one of "
                           f"{', '.join(SUBJECT_FIELDS)}")
        value = str(attribute.value)
        limit = SUBJECT_FIELDS[short.upper()][1]
        if not value or len(value) > limit:
            raise PkiError(f"the subject field {short} must be 1 to {limit} characters long")
        if short == "C" and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise PkiError("the subject field C must be a two-letter country code (ISO 3166), such as SE")
        if any(ord(ch) < 32 for ch in value):
            raise PkiError(f"the subject field {short} holds a control character")
        attributes.append(x509.NameAttribute(attribute.oid, value.upper() if short == "C" else value))
    return Subject(x509.Name(attributes), parse_sans(sans or []))


def parse_sans(values: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    values = list(values)
    if len(values) > MAX_SANS:
        raise PkiError(f"at most {MAX_SANS} subject alternative names")
    for value in values:
        kind, _, name = str(value).partition(":")
        if kind.upper() == "DNS" and _DNS.fullmatch(name):
            out.append(x509.DNSName(name))
        elif kind.upper() == "IP":
            try:
                out.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                raise PkiError(f"the alternative name {str(value)[:80]!r} is not an IP address") from None
        else:
            raise PkiError(f"the alternative name {str(value)[:80]!r} is not DNS:<name> or IP:<address>")
    return out


def new_key(key_type: str | None) -> PrivateKey:
    name = ALIASES.get(key_type or DEFAULT_KEY_TYPE, key_type or DEFAULT_KEY_TYPE)
    if name in CURVES:
        return ec.generate_private_key(CURVES[name]())
    if name in RSA_SIZES:
        return rsa.generate_private_key(65537, RSA_SIZES[name])
    raise PkiError(f"the key type {str(key_type)[:40]!r} is not one of {', '.join(KEY_TYPES)}")


def _digest(key: PrivateKey) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def self_signed(key: PrivateKey, subject: Subject, not_before: datetime.datetime,
                not_after: datetime.datetime) -> x509.Certificate:
    if not_after <= not_before:
        raise PkiError("the certificate must be valid to after it is valid from")
    builder = (x509.CertificateBuilder().subject_name(subject.name).issuer_name(subject.name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                     ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if subject.sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(subject.sans), critical=False)
    return builder.sign(key, _digest(key))


def signing_request(key: PrivateKey, subject: Subject) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject.name)
    if subject.sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(subject.sans), critical=False)
    return builder.sign(key, _digest(key))


def subject_of(cert: x509.Certificate) -> Subject:
    try:
        sans = list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        sans = []
    return Subject(cert.subject, sans)


def describe(cert: x509.Certificate) -> dict[str, object]:
    """What the page's "Certificate information" shows."""
    sans = [f"DNS:{n.value}" if isinstance(n, x509.DNSName) else f"IP:{n.value}"
            for n in subject_of(cert).sans if isinstance(n, (x509.DNSName, x509.IPAddress))]
    key = cert.public_key()
    key_type = (f"RSA-{key.key_size}" if isinstance(key, rsa.RSAPublicKey)
                else f"EC-{key.curve.name}" if isinstance(key, ec.EllipticCurvePublicKey) else "Ed25519")
    return {
        "subject": cert.subject.rfc4514_string(NAMES), "issuer": cert.issuer.rfc4514_string(NAMES),
        "serial_number": format(cert.serial_number, "X"), "valid_from": int(cert.not_valid_before_utc.timestamp()),
        "valid_to": int(cert.not_valid_after_utc.timestamp()), "subject_alt_names": sans, "key_type": key_type,
        "self_signed": cert.issuer == cert.subject, "is_ca": is_ca(cert),
        "sha256_fingerprint": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    }
