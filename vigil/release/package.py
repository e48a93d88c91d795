"""The Vigil release package: a tar.gz holding

- `manifest.json`: schema, version, the compatible profiles, the versions this release revokes,
  and the SHA-256 of every payload file;
- `manifest.sig`: the detached signature of manifest.json's bytes (base64), Ed25519 or ECDSA
  P-256 with SHA-256;
- `signer.pem`: the signer's certificate (the custom signed OS certificate) or public key;
- `payload/`: the program, the `vigil` Python package as source, run from its slot.

`build` makes one from a source tree (`vigil package`); `verify` checks an unpacked one. The
errors carry the codes of the firmware management API (vapix.md §8), which says them to the user.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

SCHEMA = "vigil-release/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNER = "signer.pem"
PAYLOAD = "payload"
MAX_MANIFEST = 4 * 1024 * 1024
VERSION = re.compile(r"[0-9]{1,5}(\.[0-9]{1,5}){1,3}")
PROFILE = re.compile(r"[a-z0-9]{1,16}")
_SKIPPED = ("__pycache__",)

# The firmware management API's codes (vapix.md §8) for each refusal.
DOWNGRADE = 409
REVOKED = 410
UNCOMMITTED = 412
INVALID = 415
WRONG_DEVICE = 421
SIGNATURE_MISSING = 422
UNKNOWN_CERTIFICATE = 424


class PackageError(ValueError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Manifest:
    version: str
    profiles: tuple[str, ...]
    files: dict[str, str]  # payload-relative name -> sha256 hex
    revokes: tuple[str, ...] = ()
    built: str = ""

    def to_json(self) -> bytes:
        return json.dumps({"schema": SCHEMA, "version": self.version, "profiles": list(self.profiles),
                           "revokes": list(self.revokes), "built": self.built, "files": self.files},
                          indent=1, sort_keys=True).encode()

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        def bad(why: str) -> PackageError:
            return PackageError(INVALID, f"the manifest is not a {SCHEMA} manifest: {why}")

        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise bad("not JSON") from None
        if not isinstance(body, dict) or body.get("schema") != SCHEMA:
            raise bad("wrong or missing schema")
        version, profiles, files = body.get("version"), body.get("profiles"), body.get("files")
        revokes, built = body.get("revokes", []), body.get("built", "")
        if not isinstance(version, str) or not VERSION.fullmatch(version):
            raise bad("the version must be numbers with dots, such as 1.2.0")
        if (not isinstance(profiles, list) or not profiles
                or not all(isinstance(p, str) and PROFILE.fullmatch(p) for p in profiles)):
            raise bad("profiles must be a list of profile names")
        if not isinstance(revokes, list) or not all(isinstance(v, str) and VERSION.fullmatch(v) for v in revokes):
            raise bad("revokes must be a list of versions")
        if not isinstance(built, str):
            raise bad("built must be a text")
        if (not isinstance(files, dict) or not files
                or not all(isinstance(k, str) and isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v)
                           for k, v in files.items())):
            raise bad("files must map each payload file to its SHA-256 (hex)")
        return cls(version, tuple(profiles), dict(files), tuple(revokes), built)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


# -- signing -------------------------------------------------------------------------
def load_private_key(pem: bytes) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise ValueError("the release key must be an Ed25519 or ECDSA P-256 private key")


def sign(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def public_key_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def signer_public_key(pem: bytes):
    """The public key in a signer.pem: of its (first) certificate, or a bare public key."""
    if b"BEGIN CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem).public_key()
    return serialization.load_pem_public_key(pem)


def _verify_signature(public_key, signature: bytes, data: bytes) -> None:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, data)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        raise InvalidSignature("unsupported key type")


# -- building ------------------------------------------------------------------------
def payload_files(source: Path) -> list[Path]:
    """The files of the `vigil` package under `source` (the folder holding it), without caches."""
    package = source / "vigil"
    if not (package / "__init__.py").is_file():
        raise ValueError(f"{source} does not hold the vigil package")
    return sorted(p for p in package.rglob("*")
                  if p.is_file() and not any(part in _SKIPPED for part in p.parts) and p.suffix != ".pyc")


def with_version(text: str, version: str) -> str:
    """vigil/__init__.py with its __version__ set to `version` (what the running device reports)."""
    new, count = re.subn(r'^__version__ = "[^"]*"$', f'__version__ = "{version}"', text, flags=re.M)
    if count != 1:
        raise ValueError("vigil/__init__.py has no __version__ line")
    return new


def build(source: Path, out: Path, version: str, profiles: list[str], key_pem: bytes,
          signer_pem: bytes | None = None, revokes: list[str] | None = None) -> Manifest:
    """Write a signed release of the vigil package under `source` to `out`, as `version`."""
    if not VERSION.fullmatch(version):
        raise ValueError("the version must be numbers with dots, such as 1.2.0")
    key = load_private_key(key_pem)
    if signer_pem is None:
        signer_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    elif public_key_der(signer_public_key(signer_pem)) != public_key_der(key.public_key()):
        raise ValueError("the certificate is not the release key's")
    contents: dict[str, bytes] = {}
    for path in payload_files(source):
        name = path.relative_to(source).as_posix()
        data = path.read_bytes()
        if name == "vigil/__init__.py":
            data = with_version(data.decode(), version).encode()
        contents[name] = data
    manifest = Manifest(version, tuple(profiles), {n: hashlib.sha256(d).hexdigest() for n, d in contents.items()},
                        tuple(revokes or ()), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    raw = manifest.to_json()
    members = {MANIFEST: raw, SIGNATURE: base64.b64encode(sign(key, raw)) + b"\n", SIGNER: signer_pem}
    members.update({f"{PAYLOAD}/{n}": d for n, d in contents.items()})
    with tarfile.open(out, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return manifest


# -- verifying -----------------------------------------------------------------------
def verify(unpacked: Path, names: list[str], trusted: list[bytes]) -> Manifest:
    """Check an unpacked package (`names`: the files the archive held): its manifest, its signature
    by one of the `trusted` keys (SubjectPublicKeyInfo DER), and every payload file's hash.

    PackageError says what is wrong, with the firmware management API's code."""
    if MANIFEST not in names:
        raise PackageError(INVALID, "this is not a Vigil release: it has no manifest.json")
    manifest_path = unpacked / MANIFEST
    if manifest_path.stat().st_size > MAX_MANIFEST:
        raise PackageError(INVALID, "the manifest is too large")
    raw = manifest_path.read_bytes()
    manifest = Manifest.parse(raw)
    if SIGNATURE not in names or SIGNER not in names:
        raise PackageError(SIGNATURE_MISSING, "the release is not signed (manifest.sig and signer.pem are required)")
    try:
        public_key = signer_public_key((unpacked / SIGNER).read_bytes())
    except ValueError:
        raise PackageError(INVALID, "signer.pem holds no certificate or public key") from None
    try:
        der = public_key_der(public_key)
    except (ValueError, TypeError):
        raise PackageError(INVALID, "signer.pem holds an unusable key") from None
    if der not in trusted:
        raise PackageError(UNKNOWN_CERTIFICATE, "the release is signed by a key this device does not trust: "
                           "install its custom signed OS certificate first")
    try:
        signature = base64.b64decode((unpacked / SIGNATURE).read_bytes().strip(), validate=True)
        _verify_signature(public_key, signature, raw)
    except (InvalidSignature, ValueError):
        raise PackageError(INVALID, "the signature does not match the manifest: the release was altered") from None
    payload = {n[len(PAYLOAD) + 1:] for n in names if n.startswith(PAYLOAD + "/")}
    if payload != set(manifest.files):
        extra = sorted(payload - set(manifest.files))[:3]
        missing = sorted(set(manifest.files) - payload)[:3]
        raise PackageError(INVALID, f"the payload does not match the manifest (not listed: {extra}, missing: {missing})")
    for name, digest in manifest.files.items():
        if sha256_file(unpacked / PAYLOAD / name) != digest:
            raise PackageError(INVALID, f"the payload file {name[:80]!r} was altered (its SHA-256 differs "
                               "from the manifest's)")
    if "vigil/__init__.py" not in manifest.files:
        raise PackageError(INVALID, "the payload holds no vigil package")
    return manifest
