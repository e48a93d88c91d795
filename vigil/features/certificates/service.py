"""The keystore: the device's one store of certificates (manual: System > Security > Certificates).

Two collections, as the certificate management API has them: client/server certificates, each
with its private key, and CA certificates, without one. An alias names an entry in either (never
in both). Private keys are sealed under the device key (vigil/core/vault.py) and never leave
the device through the API; the services that use them ask for them here by alias.

Lookup, for the services that use a certificate (HTTPS server, MQTT client, remote syslog, NTS,
IEEE 802.1X), by alias; each raises `CertificateNotFound` with a sentence for the user:

- `pem_chain(alias) -> str`: the certificate and the rest of its chain, PEM, leaf first.
- `private_key_pem(alias) -> str`: its private key, unencrypted PKCS#8 PEM (keep it in memory).
- `private_key_pem(alias, password)`: the same key encrypted with `password` (for a program that
  reads it from a file, such as wpa_supplicant's `private_key` with `private_key_passwd`).
- `ca_bundle(aliases) -> str`: the CA certificates, PEM, concatenated (ssl's `cadata`).
- `ca_file(alias) -> Path`: a public file with one CA certificate (for clients that read files).
- `load_certificate(context, alias)`: the certificate and its key into an `ssl.SSLContext`.
- `register_use(check)`: `check(alias)` returns what uses the alias ("the HTTPS server") or
  None; an entry in use cannot be deleted. `on_change(callback)`: `callback(alias)` after an
  entry was added, replaced or deleted.

The PEM files that were dropped in `<data>/certificates/` before the store existed are imported
at start (their ids stay the aliases): a file with a private key becomes a certificate, one
without a CA certificate; an imported file is removed, one that cannot be read stays and the
system log says so.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import secrets
import ssl
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from vigil.core.atomic import atomic_write
from vigil.core.clock import Clock
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.core.vault import SealError, Vault
from vigil.features.certificates import pki
from vigil.features.certificates.const import (
    CA_EXPORT_DIR,
    KEYSTORES,
    KV_CA,
    KV_CERT,
    KV_DEFAULT_KEYSTORE,
    KV_OS_CERT,
    LEGACY_DIR,
    MAX_ALIAS,
    SOFTWARE_KEYSTORE,
)
from vigil.features.certificates.pki import PkiError

_ALIAS = re.compile(rf"[^\x00-\x1f\x7f/\\]{{1,{MAX_ALIAS}}}")


class CertificateNotFound(LookupError):
    """No entry of that alias (of the kind asked for); `str()` is the text the user sees."""


class KeystoreRefusal(ValueError):
    """A change the store refuses; `status` is the HTTP status that fits (400, 404, 409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Entry:
    alias: str
    certificate: str  # PEM, leaf first, then the rest of the chain
    keystore: str  # "" for a CA certificate
    origin: str  # created, uploaded, pkcs12, enrolled, migrated

    @property
    def leaf(self) -> x509.Certificate:
        return pki.read_certificates(self.certificate)[0]

    def shown(self) -> dict[str, Any]:
        """As the API lists it (never the private key)."""
        out: dict[str, Any] = {"alias": self.alias, "certificate": self.certificate}
        if self.keystore:
            out["keystore"] = self.keystore
        return out


def check_alias(alias: Any) -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias) or alias != alias.strip():
        raise KeystoreRefusal(f"an alias is 1 to {MAX_ALIAS} characters, without control characters, slashes "
                              "or spaces at either end")
    return alias


class Keystore:
    def __init__(self, store: Store, vault: Vault, logs: Logs, clock: Clock, data: Path, serial: str) -> None:
        self.serial = serial  # a custom signed OS certificate is for this device only
        self.store = store
        self.vault = vault
        self.logs = logs
        self.clock = clock
        self.data = data
        self._uses: list[Callable[[str], str | None]] = []
        self._changed: list[Callable[[str], None]] = []

    # -- ports for the services that use certificates -------------------------------------
    def register_use(self, check: Callable[[str], str | None]) -> None:
        self._uses.append(check)

    def on_change(self, callback: Callable[[str], None]) -> None:
        self._changed.append(callback)

    # -- reading --------------------------------------------------------------------------
    def _rows(self, prefix: str) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT key, value FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key",
                                (len(prefix), prefix))
        return [json.loads(value) for _, value in rows]

    def _row(self, prefix: str, alias: str) -> dict[str, Any] | None:
        value = self.store.get_kv(prefix + alias)
        if value is None and alias.endswith(".pem"):  # the old folder's ids named the file, too
            value = self.store.get_kv(prefix + alias[:-4])
            if value is not None and json.loads(value).get("origin") != "migrated":
                value = None
        return json.loads(value) if value is not None else None

    @staticmethod
    def _entry(row: dict[str, Any]) -> Entry:
        return Entry(row["alias"], row["certificate"], row.get("keystore", ""), row.get("origin", "uploaded"))

    def certificates(self) -> list[Entry]:
        return [self._entry(r) for r in self._rows(KV_CERT)]

    def ca_certificates(self) -> list[Entry]:
        return [self._entry(r) for r in self._rows(KV_CA)]

    def certificate(self, alias: str) -> Entry:
        row = self._row(KV_CERT, alias) if isinstance(alias, str) and alias else None
        if row is None:
            raise CertificateNotFound(f"no client/server certificate {str(alias)[:MAX_ALIAS]!r} in the keystore")
        return self._entry(row)

    def ca_certificate(self, alias: str) -> Entry:
        row = self._row(KV_CA, alias) if isinstance(alias, str) and alias else None
        if row is None:
            raise CertificateNotFound(f"no CA certificate {str(alias)[:MAX_ALIAS]!r} in the keystore")
        return self._entry(row)

    def exists(self, alias: str) -> bool:
        return self._row(KV_CERT, alias) is not None or self._row(KV_CA, alias) is not None

    @property
    def default_keystore(self) -> str:
        return self.store.get_kv(KV_DEFAULT_KEYSTORE) or SOFTWARE_KEYSTORE

    def keystores(self) -> list[dict[str, Any]]:
        return [dict(k) for k in KEYSTORES]

    # -- lookup for the services (see the module docstring) -------------------------------
    def pem_chain(self, alias: str) -> str:
        return self.certificate(alias).certificate

    def private_key(self, alias: str) -> pki.PrivateKey:
        row = self._row(KV_CERT, alias) if alias else None
        if row is None:
            raise CertificateNotFound(f"no client/server certificate {str(alias)[:MAX_ALIAS]!r} in the keystore")
        try:
            return pki.read_private_key(self.vault.unseal(row["key"]))
        except (SealError, PkiError) as err:
            raise CertificateNotFound(f"the private key of {alias!r} cannot be opened ({err})") from None

    def private_key_pem(self, alias: str, password: str = "") -> str:
        return pki.key_pem(self.private_key(alias), password)

    def ca_bundle(self, aliases: Iterable[str]) -> str:
        return "".join(self.ca_certificate(a).certificate for a in aliases)

    def _export_path(self, pem: str) -> Path:
        return self.data / CA_EXPORT_DIR / (hashlib.sha256(pem.encode()).hexdigest()[:32] + ".pem")

    def trust_bundle(self) -> str:
        """Every CA certificate of the keystore, PEM: what a client that trusts the device's CA
        certificates (notification recipients) verifies a server against, besides the system's."""
        return "".join(e.certificate for e in self.ca_certificates())

    def ca_file(self, alias: str) -> Path:
        pem = self.ca_certificate(alias).certificate
        folder = self.data / CA_EXPORT_DIR
        path = self._export_path(pem)
        if not path.is_file():
            folder.mkdir(exist_ok=True)
            atomic_write(path, pem.encode())
        return path

    def load_certificate(self, context: ssl.SSLContext, alias: str) -> None:
        """The certificate `alias` and its key into `context`. ssl reads files only: the key is
        written encrypted under a one-time password to a private temporary file, removed at once."""
        chain = self.pem_chain(alias)
        password = secrets.token_urlsafe(24)
        sealed = self.private_key_pem(alias, password)
        with tempfile.TemporaryDirectory(prefix="vigil-tls-") as folder:
            cert_file, key_file = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            cert_file.write_text(chain)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(sealed)
            context.load_cert_chain(str(cert_file), str(key_file), password=password)

    # -- changes --------------------------------------------------------------------------
    def _check_new(self, alias: Any) -> str:
        alias = check_alias(alias)
        if self.exists(alias):
            raise KeystoreRefusal(f"the alias {alias!r} is taken: delete that certificate first or choose "
                                  "another alias", 409)
        return alias

    @staticmethod
    def _check_keystore(keystore: Any) -> str:
        if keystore in (None, ""):
            return SOFTWARE_KEYSTORE
        if keystore != SOFTWARE_KEYSTORE:
            raise KeystoreRefusal(f"the keystore {str(keystore)[:40]!r} is not one of this device's: "
                                  f"{SOFTWARE_KEYSTORE}")
        return keystore

    def _put(self, prefix: str, alias: str, chain: list[x509.Certificate], key: pki.PrivateKey | None,
             origin: str, actor: str, what: str) -> Entry:
        row: dict[str, Any] = {"alias": alias, "certificate": pki.pem(chain), "origin": origin,
                               "added": self.clock.time()}
        if key is not None:
            row["keystore"] = SOFTWARE_KEYSTORE
            row["key"] = self.vault.seal(pki.key_pem(key))
        self.store.set_kv(prefix + alias, json.dumps(row))
        leaf = chain[0]
        self.logs.audit(actor, f"{what} {alias!r} (subject {leaf.subject.rfc4514_string()[:200]}, "
                        f"valid to {leaf.not_valid_after_utc:%Y-%m-%d})", "certificates")
        self._notify(alias)
        return self._entry(row)

    def _notify(self, alias: str) -> None:
        for callback in self._changed:
            callback(alias)

    def add_certificate(self, alias: Any, certificate: bytes | str, private_key: bytes | str,
                        actor: str, password: str = "", keystore: Any = None, origin: str = "uploaded") -> Entry:
        """A certificate (PEM/DER, with its chain) with its private key (PEM or DER)."""
        alias = self._check_new(alias)
        self._check_keystore(keystore)
        chain = pki.read_certificates(certificate)
        key = pki.read_private_key(private_key, password)
        if not pki.matches(key, chain[0]):
            raise KeystoreRefusal("the private key does not belong to the certificate")
        return self._put(KV_CERT, alias, chain, key, origin, actor, "added certificate")

    def add_pkcs12(self, alias: Any, archive: bytes, passphrase: str, actor: str, keystore: Any = None) -> Entry:
        alias = self._check_new(alias)
        self._check_keystore(keystore)
        key, chain = pki.read_pkcs12(archive, passphrase)
        return self._put(KV_CERT, alias, chain, key, "pkcs12", actor, "added certificate from PKCS#12")

    def add_ca(self, alias: Any, certificate: bytes | str, actor: str, origin: str = "uploaded") -> Entry:
        alias = self._check_new(alias)
        chain = pki.read_certificates(certificate)
        if len(chain) != 1:
            raise KeystoreRefusal(f"give one CA certificate per alias (the file holds {len(chain)})")
        return self._put(KV_CA, alias, chain, None, origin, actor, "added CA certificate")

    def create(self, alias: Any, subject: Any, sans: Any, key_type: Any, valid_from: Any, valid_to: Any,
               actor: str, keystore: Any = None) -> Entry:
        """A new key made here, and a self-signed certificate for it (default: valid a year from now)."""
        alias = self._check_new(alias)
        self._check_keystore(keystore)
        if sans is not None and not isinstance(sans, list):
            raise KeystoreRefusal("subject_alt_names is a list such as [\"DNS:example.com\", \"IP:192.0.2.1\"]")
        parsed = pki.parse_subject(subject, sans)
        now = self.clock.time()
        start = _instant(valid_from, "valid_from", now)
        end = _instant(valid_to, "valid_to", now + 365 * 86400)
        key = pki.new_key(key_type if key_type is None or isinstance(key_type, str) else str(key_type))
        cert = pki.self_signed(key, parsed, start, end)
        return self._put(KV_CERT, alias, [cert], key, "created", actor, "created self-signed certificate")

    def csr(self, alias: str, subject: Any = None, sans: Any = None) -> str:
        """A PKCS#10 request for the key of `alias`: the certificate's subject and names unless new
        ones are given (an empty one leaves the field out)."""
        entry = self.certificate(alias)
        current = pki.subject_of(entry.leaf)
        if sans is not None and not isinstance(sans, list):
            raise KeystoreRefusal("subject_alt_names is a list such as [\"DNS:example.com\"]")
        if subject is None:
            name = current.name
        elif subject == "":
            name = x509.Name([])
        else:
            name = pki.parse_subject(subject, None).name
        alt = current.sans if sans is None else pki.parse_sans(sans)
        request = pki.signing_request(self.private_key(alias), pki.Subject(name, alt))
        return request.public_bytes(serialization.Encoding.PEM).decode()

    def replace_certificate(self, alias: str, certificate: bytes | str, actor: str,
                            origin: str = "uploaded") -> Entry:
        """A new certificate (signed by a CA from a request, or renewed) for the same private key."""
        self.certificate(alias)
        chain = pki.read_certificates(certificate)
        key = self.private_key(alias)
        if not pki.matches(key, chain[0]):
            raise KeystoreRefusal(f"the certificate is not for the private key of {alias!r}")
        row = self._row(KV_CERT, alias) or {}
        row.update(certificate=pki.pem(chain), origin=origin, added=self.clock.time())
        self.store.set_kv(KV_CERT + alias, json.dumps(row))
        self.logs.audit(actor, f"replaced certificate {alias!r} (subject {chain[0].subject.rfc4514_string()[:200]}, "
                        f"issuer {chain[0].issuer.rfc4514_string()[:200]})", "certificates")
        self._notify(alias)
        return self._entry(row)

    def replace_ca(self, alias: str, certificate: bytes | str, actor: str) -> Entry:
        old = self.ca_certificate(alias).leaf
        chain = pki.read_certificates(certificate)
        if len(chain) != 1:
            raise KeystoreRefusal("give one CA certificate")
        fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if chain[0].public_key().public_bytes(*fmt) != old.public_key().public_bytes(*fmt):
            raise KeystoreRefusal(f"the new CA certificate is not for the same public key as {alias!r}")
        self.store.set_kv(KV_CA + alias, json.dumps({"alias": alias, "certificate": pki.pem(chain),
                                                     "origin": "uploaded", "added": self.clock.time()}))
        self.logs.audit(actor, f"replaced CA certificate {alias!r}", "certificates")
        self._notify(alias)
        return self.ca_certificate(alias)

    def store_enrolled(self, alias: str, key: pki.PrivateKey, chain: list[x509.Certificate],
                       authorities: dict[str, x509.Certificate], actor: str) -> None:
        """A certificate that enrollment (EST) obtained, with its new key, and the CA certificates
        the server vouches with: added, or in place of the earlier ones of the same aliases."""
        for ca_alias, cert in authorities.items():
            row = self._row(KV_CA, ca_alias)
            if row is None or pki.read_certificates(row["certificate"])[0] != cert:
                self.store.set_kv(KV_CA + check_alias(ca_alias), json.dumps(
                    {"alias": ca_alias, "certificate": pki.pem([cert]), "origin": "enrolled",
                     "added": self.clock.time()}))
                self.logs.audit(actor, f"stored CA certificate {ca_alias!r} from enrollment", "certificates")
        if self._row(KV_CA, alias) is not None:
            raise KeystoreRefusal(f"the alias {alias!r} is a CA certificate's")
        renewed = self._row(KV_CERT, alias) is not None
        self._put(KV_CERT, check_alias(alias), chain, key, "enrolled", actor,
                  "renewed certificate by enrollment" if renewed else "enrolled certificate")

    def delete(self, alias: str, actor: str, ca: bool) -> None:
        entry = (self.ca_certificate if ca else self.certificate)(alias)
        for check in self._uses:
            user = check(alias)
            if user:
                raise KeystoreRefusal(f"{alias!r} is in use by {user}: choose another certificate there first", 409)
        with self.store.transaction() as db:
            db.execute("DELETE FROM kv WHERE key=?", ((KV_CA if ca else KV_CERT) + alias,))
        if ca:
            self._export_path(entry.certificate).unlink(missing_ok=True)
        self.logs.audit(actor, f"deleted {'CA certificate' if ca else 'certificate and its private key'} {alias!r}",
                        "certificates")
        self._notify(alias)

    # -- custom signed OS certificates ---------------------------------------------------
    def os_certificates(self) -> list[x509.Certificate]:
        """The custom signed OS certificates installed: the upgrade verifies a custom signed
        release against their public keys."""
        return [pki.read_certificates(r["certificate"])[0] for r in self._rows(KV_OS_CERT)]

    def add_os_certificate(self, certificate: bytes | str, actor: str) -> str:
        """Install a custom signed OS certificate; its id (the SHA-256 fingerprint, hex). One that
        names a device serial number (subject serialNumber) must name this device's."""
        chain = pki.read_certificates(certificate)
        if len(chain) != 1:
            raise KeystoreRefusal("give one custom signed OS certificate")
        cert = chain[0]
        serials = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)]
        if serials and self.serial.upper() not in (s.upper() for s in serials):
            raise KeystoreRefusal(f"the certificate is for the device {serials[0][:40]!r}, not for this one "
                                  f"({self.serial})")
        now = self.clock.time()
        if not cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp():
            raise KeystoreRefusal(f"the certificate is not valid now (valid from {cert.not_valid_before_utc:%Y-%m-%d} "
                                  f"to {cert.not_valid_after_utc:%Y-%m-%d})")
        ident = cert.fingerprint(hashes.SHA256()).hex()
        if self.store.get_kv(KV_OS_CERT + ident) is not None:
            raise KeystoreRefusal("this custom signed OS certificate is installed already", 409)
        self.store.set_kv(KV_OS_CERT + ident, json.dumps({"id": ident, "certificate": pki.pem(chain),
                                                          "added": now}))
        self.logs.audit(actor, f"installed custom signed OS certificate {ident[:16]} "
                        f"(subject {cert.subject.rfc4514_string()[:200]})", "certificates")
        return ident

    def os_certificate_entries(self) -> list[dict[str, Any]]:
        return [{"id": r["id"], "certificate": r["certificate"]} for r in self._rows(KV_OS_CERT)]

    def delete_os_certificate(self, ident: str, actor: str) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", ident) or self.store.get_kv(KV_OS_CERT + ident) is None:
            raise CertificateNotFound(f"no custom signed OS certificate {ident[:64]!r}")
        with self.store.transaction() as db:
            db.execute("DELETE FROM kv WHERE key=?", (KV_OS_CERT + ident,))
        self.logs.audit(actor, f"deleted custom signed OS certificate {ident[:16]}", "certificates")

    # -- the folder of PEM files the store replaces ---------------------------------------
    def migrate_folder(self) -> None:
        folder = self.data / LEGACY_DIR
        if not folder.is_dir():
            return
        for path in sorted(folder.iterdir()):
            if path.suffix == ".key" or not path.is_file():
                continue
            alias = path.stem if path.suffix == ".pem" else path.name
            try:
                text = path.read_bytes()
                key_path = path.with_suffix(".key")
                if b"PRIVATE KEY-----" in text or key_path.is_file():
                    key = text if b"PRIVATE KEY-----" in text else key_path.read_bytes()
                    self.add_certificate(alias, text, key, "system", origin="migrated")
                    key_path.unlink(missing_ok=True)
                else:
                    self.add_ca(alias, text, "system", origin="migrated")
            except (PkiError, KeystoreRefusal, OSError) as err:
                self.logs.system(f"certificate file {path.name} was not moved into the keystore: {err}", "warning")
                continue
            path.unlink()
            self.logs.system(f"certificate file {path.name} moved into the keystore as {alias!r}")


def _instant(value: Any, name: str, default: float) -> datetime.datetime:
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 253402300800:
        raise KeystoreRefusal(f"{name} is a time in seconds since 1970-01-01 UTC before the year 10000")
    return datetime.datetime.fromtimestamp(int(value), datetime.UTC)


KEYSTORE: Key[Keystore] = Key("certificates.keystore")
