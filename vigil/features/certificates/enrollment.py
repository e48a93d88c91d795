"""Certificate enrollment profiles (EST, RFC 7030, as AXIS OS 12.10 has them): each names an EST
server, how the device proves who it is there (a client certificate of the keystore, a user name
and password, or both), the CA certificates it trusts the server with, the subject and names to
ask for, and the services that use the certificate (WEBSERVER: the HTTPS server).

A profile enrolls as soon as it is added, and again when asked. Its certificate (alias
`EST <id>`, with a key made on the device) is renewed with `simplereenroll` at half of its
validity, as AXIS OS does; a failed attempt is retried after `retry` seconds (a day, as AXIS OS
does). The CA certificates the server hands out (`/cacerts`) go into the keystore as
`EST <id> CA[ <n>]`. Profiles are kept in the key-value table, the password sealed.

The event `tnsaxis:CertificateManagement/EST/Error` (stateful, per profile) is active while a
profile's last attempt failed, with the reason, and inactive once one succeeds: a rule can
send a notification when enrollment or renewal fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from vigil.core.clock import Clock
from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.proxies import Proxies
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.features.certificates import pki
from vigil.features.certificates.const import HTTPS_CERTIFICATE
from vigil.features.certificates.est import EstClient, EstError, parse_server
from vigil.features.certificates.pki import PkiError
from vigil.features.certificates.service import CertificateNotFound, Keystore, KeystoreRefusal

KV_PROFILE = "est.profile."
SERVICES = ("WEBSERVER",)  # the services an enrolled certificate can be assigned to here
RETRY = 86400.0  # seconds after a failed attempt
MAX_PROFILES = 8
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
UNCONNECTED, CONNECTED, ENROLLED = "UNCONNECTED", "CONNECTED", "ENROLLED"
log = logging.getLogger("vigil.certificates")
ERROR_TOPIC = "tnsaxis:CertificateManagement/EST/Error"
ERROR_EVENT = Topic(ERROR_TOPIC, "Certificate enrollment error", True, (Item("profile", "xsd:string", "Profile"),),
                    (Item("active", "xsd:boolean", "Active", state=True), Item("reason", "xsd:string", "Reason")))


class ProfileError(ValueError):
    """A profile that cannot be stored; `status` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Profile:
    id: str
    server: str
    subject_cn: str
    subject_alt_names: list[str] = field(default_factory=list)
    key_type: str = pki.DEFAULT_KEY_TYPE
    certificate: str = ""  # a client certificate of the keystore for TLS to the server
    ca_certificates: list[str] = field(default_factory=list)  # trust for the server; none: the system's
    username: str = ""
    password: str = ""  # in clear in memory only
    services: list[str] = field(default_factory=list)

    @property
    def alias(self) -> str:
        return f"EST {self.id}"

    def shown(self) -> dict[str, Any]:
        return {"id": self.id, "server": self.server, "subject": {"cn": self.subject_cn},
                "subjectAlternativeNames": self.subject_alt_names, "keyType": self.key_type,
                "certificate": self.certificate, "caCertificates": self.ca_certificates, "username": self.username,
                "passwordSet": bool(self.password), "services": self.services}


@dataclass
class Progress:
    status: str = UNCONNECTED
    error: str = ""
    next_attempt: float = 0.0  # device time of the next enrollment try (before one succeeded)
    attempts: int = 0


def renewal_time(cert: x509.Certificate) -> float:
    """When a certificate is renewed: at half of its validity."""
    start, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    return start + (end - start) / 2


def _strings(value: Any, name: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > limit:
        raise ProfileError(f"{name} is a list of at most {limit} texts")
    return [v.strip() for v in value if v.strip()]


def read_profile(data: Any, keystore: Keystore) -> Profile:
    """A profile from an API request, every field checked; ProfileError says which is wrong."""
    if not isinstance(data, dict):
        raise ProfileError("data is an object")
    known = {"id", "server", "subject", "subjectAlternativeNames", "keyType", "certificate", "caCertificates",
             "username", "password", "services"}
    unknown = [k for k in data if k not in known]
    if unknown:
        raise ProfileError(f"unknown field {str(unknown[0])[:64]!r}")
    ident = data.get("id")
    if not isinstance(ident, str) or not _ID.fullmatch(ident):
        raise ProfileError("id is 1 to 32 letters, digits, - or _")
    try:
        server = data.get("server")
        parse_server(server if isinstance(server, str) else "")
    except ValueError as err:
        raise ProfileError(str(err)) from None
    subject = data.get("subject")
    common = subject.get("cn") if isinstance(subject, dict) else None
    if not isinstance(common, str) or not 0 < len(common.strip()) <= 64:
        raise ProfileError("subject.cn is the common name to ask for, 1 to 64 characters")
    sans = _strings(data.get("subjectAlternativeNames"), "subjectAlternativeNames", pki.MAX_SANS)
    key_type = data.get("keyType") or pki.DEFAULT_KEY_TYPE
    if key_type not in pki.KEY_TYPES:
        raise ProfileError(f"keyType is one of {', '.join(pki.KEY_TYPES)}")
    try:
        pki.parse_sans(sans)
    except PkiError as err:
        raise ProfileError(str(err)) from None
    certificate = data.get("certificate") or ""
    cas = _strings(data.get("caCertificates"), "caCertificates", 16)
    try:
        if certificate:
            keystore.certificate(str(certificate))
        for alias in cas:
            keystore.ca_certificate(alias)
    except CertificateNotFound as err:
        raise ProfileError(str(err)) from None
    services = _strings(data.get("services"), "services", len(SERVICES))
    if any(s not in SERVICES for s in services):
        raise ProfileError(f"services holds only {', '.join(SERVICES)} (the HTTPS server)")
    username, password = data.get("username") or "", data.get("password") or ""
    if not isinstance(username, str) or not isinstance(password, str) or len(username) > 128 or len(password) > 128:
        raise ProfileError("username and password are texts of at most 128 characters")
    return Profile(ident, server.strip(), common.strip(), sans, key_type, str(certificate), cas, username, password,
                   services)


class Enrollment:
    def __init__(self, keystore: Keystore, store: Store, vault: Vault, params: ParamTree, logs: Logs, clock: Clock,
                 proxies: Callable[[], Proxies], events: EventBus) -> None:
        self.events = events
        events.declare(ERROR_EVENT)
        self.keystore = keystore
        self.store = store
        self.vault = vault
        self.params = params
        self.logs = logs
        self.clock = clock
        self.proxies = proxies
        self.retry = RETRY
        self.progress: dict[str, Progress] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        keystore.register_use(self._uses)

    # -- profiles ---------------------------------------------------------------------------
    def profiles(self) -> list[Profile]:
        rows = self.store.query("SELECT value FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key",
                                (len(KV_PROFILE), KV_PROFILE))
        out = []
        for (value,) in rows:
            row = json.loads(value)
            row["password"] = self.vault.unseal(row["password"]) if row.get("password") else ""
            out.append(Profile(**row))
        return out

    def profile(self, ident: str) -> Profile:
        for profile in self.profiles():
            if profile.id == ident:
                return profile
        raise ProfileError(f"no enrollment profile {ident[:32]!r}", 404)

    def add(self, profile: Profile, actor: str) -> None:
        existing = self.profiles()
        if any(p.id == profile.id for p in existing):
            raise ProfileError(f"the profile {profile.id!r} exists: delete it first", 409)
        if len(existing) >= MAX_PROFILES:
            raise ProfileError(f"at most {MAX_PROFILES} enrollment profiles", 409)
        row = asdict(profile)
        row["password"] = self.vault.seal(profile.password)
        self.store.set_kv(KV_PROFILE + profile.id, json.dumps(row))
        self.progress[profile.id] = Progress(next_attempt=self.clock.time())
        self.logs.audit(actor, f"added enrollment profile {profile.id!r} (EST server {profile.server})", "certificates")
        self._wake.set()

    def delete(self, ident: str, actor: str) -> None:
        self.profile(ident)
        with self.store.transaction() as db:
            db.execute("DELETE FROM kv WHERE key=?", (KV_PROFILE + ident,))
        self.progress.pop(ident, None)
        self.events.delete(ERROR_TOPIC, {"profile": ident})
        self.logs.audit(actor, f"deleted enrollment profile {ident!r} (its certificate stays)", "certificates")
        self._wake.set()

    def status(self, profile: Profile) -> dict[str, Any]:
        progress = self.progress.setdefault(profile.id, Progress())
        out: dict[str, Any] = {**profile.shown(), "status": progress.status, "error": progress.error,
                               "alias": profile.alias}
        with contextlib.suppress(CertificateNotFound):
            leaf = self.keystore.certificate(profile.alias).leaf
            out.update(status=ENROLLED if not progress.error else progress.status,
                       validTo=int(leaf.not_valid_after_utc.timestamp()), renewAt=int(renewal_time(leaf)))
        return out

    # -- enrolling ----------------------------------------------------------------------------
    def _enrolled(self, profile: Profile) -> x509.Certificate | None:
        try:
            return self.keystore.certificate(profile.alias).leaf
        except CertificateNotFound:
            return None

    async def enroll(self, ident: str, actor: str) -> dict[str, Any]:
        """Enroll (or renew, once enrolled) now; the profile's status after it. EstError when the
        server refused or could not be reached (the status says the same)."""
        async with self._lock:
            profile = self.profile(ident)
            progress = self.progress.setdefault(ident, Progress())
            progress.attempts += 1
            try:
                await self._enroll(profile, progress, actor)
            except (EstError, CertificateNotFound, KeystoreRefusal, PkiError, ssl.SSLError, ValueError,
                    OSError) as err:
                progress.error = str(err)
                progress.next_attempt = self.clock.time() + self.retry
                self.logs.system(f"certificate enrollment {ident!r} failed: {err}", "warning", "certificates")
                self.events.publish(ERROR_TOPIC, {"profile": ident}, {"active": "1", "reason": str(err)[:500]})
                raise EstError(str(err)) from None
            finally:
                self._wake.set()
            self.events.publish(ERROR_TOPIC, {"profile": ident}, {"active": "0", "reason": ""})
            return self.status(profile)

    async def _enroll(self, profile: Profile, progress: Progress, actor: str) -> None:
        current = self._enrolled(profile)
        tls = ssl.create_default_context(cadata=self.keystore.ca_bundle(profile.ca_certificates)) \
            if profile.ca_certificates else ssl.create_default_context()
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        identity = profile.certificate or (profile.alias if current is not None else "")
        if identity:  # renewal proves itself with the certificate it renews (RFC 7030 §3.3.2)
            self.keystore.load_certificate(tls, identity)
        client = EstClient(parse_server(profile.server), tls, self.proxies(), profile.username, profile.password)
        authorities = await client.cacerts()
        progress.status = CONNECTED
        key = pki.new_key(profile.key_type)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, profile.subject_cn)])
        request = pki.signing_request(key, pki.Subject(name, pki.parse_sans(profile.subject_alt_names)))
        chain = await client.enroll(request, renewal=current is not None)
        names = {f"{profile.alias} CA" if len(authorities) == 1 else f"{profile.alias} CA {n + 1}": cert
                 for n, cert in enumerate(authorities)}
        self.keystore.store_enrolled(profile.alias, key, chain, names, actor)
        progress.status, progress.error = ENROLLED, ""
        leaf = chain[0]
        self.logs.system(f"certificate enrollment {profile.id!r}: {'renewed' if current else 'enrolled'} "
                         f"{profile.alias!r}, valid to {leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC", "info",
                         "certificates")
        if "WEBSERVER" in profile.services and self.params.get(HTTPS_CERTIFICATE) != profile.alias:
            self.params.set_internal({HTTPS_CERTIFICATE: profile.alias}, actor)

    # -- the schedule -------------------------------------------------------------------------
    def due(self, profile: Profile) -> float:
        """When `profile` is next tried: its renewal time once enrolled, else its next attempt;
        after a failed renewal, the later of the two."""
        progress = self.progress.setdefault(profile.id, Progress())
        enrolled = self._enrolled(profile)
        if enrolled is None:
            return progress.next_attempt
        at = renewal_time(enrolled)
        return max(at, progress.next_attempt) if progress.error else at

    async def run(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock.time()
            wait = 3600.0  # look again within the hour: the device's clock may have been set
            for profile in self.profiles():
                at = self.due(profile)
                if at <= now:
                    try:
                        await self.enroll(profile.id, "system")
                    except EstError:
                        pass  # said in the status and the system log; tried again after `retry`
                    except Exception:  # noqa: BLE001 - one profile's fault must not end every profile's renewals
                        log.exception("certificate enrollment %r failed", profile.id)
                        self.progress.setdefault(profile.id, Progress()).next_attempt = now + self.retry
                    self._wake.set()
                else:
                    wait = min(wait, at - now)
            if self._wake.is_set():
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _uses(self, alias: str) -> str | None:
        for profile in self.profiles():
            if alias == profile.certificate or alias in profile.ca_certificates:
                return f"the enrollment profile {profile.id!r}"
        return None


ENROLLMENT: Key[Enrollment] = Key("certificates.enrollment")
