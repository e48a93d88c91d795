"""An app package (`.eap`): a gzip tar archive holding `manifest.json`, the executable named
by the manifest's appName, and optionally `html/` (its pages under /local/<app>/) and `lib/`;
with the signature appended to the end, as ACAP packages carry theirs.

The signature trailer: `<archive><block><length: 4 bytes, big-endian><MAGIC>`, the block a JSON
object `{"certificate": PEM chain, signer first, "signature": base64}`, the signature over the
archive's bytes (ECDSA or RSA with SHA-256, or Ed25519). A package verifies when the signature
is the signer's and the signer is a CA certificate the device trusts (System > Security) or
was issued by one, and valid now. `build` makes packages (the example app, the tests).
"""

from __future__ import annotations

import base64
import io
import json
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from vigil.core.archive import ArchiveError, extract
from vigil.features.apps.const import ERR_INVALID
from vigil.features.apps.manifest import Manifest, ManifestError, parse

MAGIC = b"VIGILSIG"
MAX_BLOCK = 64 * 1024
MAX_FILES = 2000  # members of a package: far more than any real app has
MAX_UNPACKED = 256 * 1024 * 1024  # bytes unpacked, all members together


class PackageError(ValueError):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Signed:
    archive: bytes
    chain: list[x509.Certificate]  # empty: unsigned
    signature: bytes


def split(data: bytes) -> Signed:
    """The archive and, when the package carries one, its signature (not yet verified)."""
    if not data.endswith(MAGIC) or len(data) < len(MAGIC) + 4:
        return Signed(data, [], b"")
    (length,) = struct.unpack(">I", data[-len(MAGIC) - 4:-len(MAGIC)])
    if not 0 < length <= MAX_BLOCK or length > len(data) - len(MAGIC) - 4:
        raise ValueError("the signature block is damaged")
    end = len(data) - len(MAGIC) - 4
    try:
        block = json.loads(data[end - length:end].decode("utf-8"))
        chain = x509.load_pem_x509_certificates(block["certificate"].encode())
        signature = base64.b64decode(block["signature"], validate=True)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"the signature block is damaged: {err}") from None
    return Signed(data[:end - length], chain, signature)


def _verify_with(public: object, signature: bytes, data: bytes) -> None:
    if isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(signature, data)
    else:
        raise InvalidSignature("unsupported key type")


def verify(signed: Signed, trusted: list[x509.Certificate], now: float) -> str:
    """The signer's subject when the signature holds and a trusted certificate vouches for the
    signer; ValueError saying why not."""
    signer = signed.chain[0]
    if not signer.not_valid_before_utc.timestamp() <= now <= signer.not_valid_after_utc.timestamp():
        raise ValueError("the signer's certificate is not valid now")
    try:
        _verify_with(signer.public_key(), signed.signature, signed.archive)
    except InvalidSignature:
        raise ValueError("the signature does not match the package (tampered, or signed by another key)") from None
    for anchor in trusted:
        if anchor.fingerprint(hashes.SHA256()) == signer.fingerprint(hashes.SHA256()):
            return signer.subject.rfc4514_string()
    for cert in signed.chain:
        for anchor in trusted:
            try:
                cert.verify_directly_issued_by(anchor)
            except (ValueError, TypeError, InvalidSignature):
                continue
            if cert is signer or _issues(signed.chain, signer, cert):
                return signer.subject.rfc4514_string()
    raise ValueError("the signer is not trusted: no CA certificate on the device vouches for it")


def _issues(chain: list[x509.Certificate], signer: x509.Certificate, top: x509.Certificate) -> bool:
    """`top` (issued by a trusted CA) issued the signer, directly or through the chain."""
    current = signer
    for _ in range(len(chain)):
        if current is top:
            return True
        parent = next((c for c in chain if c is not current and c.subject == current.issuer), None)
        if parent is None:
            return False
        try:
            current.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return False
        current = parent
    return current is top


def unpack(archive: bytes, target: Path) -> Manifest:
    """Unpack into the new folder `target` and check what the device needs of a package."""
    try:
        files = extract(archive, target, max_files=MAX_FILES, max_bytes=MAX_UNPACKED)
    except ArchiveError as err:
        raise PackageError(f"the package cannot be unpacked: {err}", ERR_INVALID) from None
    if "manifest.json" not in files:
        raise PackageError("the package has no manifest.json at its root", ERR_INVALID)
    try:
        manifest = parse((target / "manifest.json").read_bytes())
    except ManifestError as err:
        raise PackageError(f"manifest.json: {err}", ERR_INVALID) from None
    executable = target / manifest.name
    if manifest.name not in files or not executable.stat().st_mode & 0o100:
        raise PackageError(f"the package has no executable file {manifest.name} at its root "
                           "(the manifest's appName)", ERR_INVALID)
    if manifest.setting_page and f"html/{manifest.setting_page}" not in files:
        raise PackageError(f"the settings page html/{manifest.setting_page} is not in the package", ERR_INVALID)
    return manifest


# -- building ---------------------------------------------------------------------------
def archive_of(folder: Path) -> bytes:
    """A gzip tar of `folder`'s files (regular files and folders only, sorted, owned by root)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()) or "__pycache__" in path.parts:
                continue
            info = tar.gettarinfo(str(path), arcname=path.relative_to(folder).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = 0o755 if path.is_dir() or path.stat().st_mode & 0o100 else 0o644
            if path.is_file():
                with path.open("rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return out.getvalue()


def sign(archive: bytes, key_pem: bytes, chain_pem: bytes) -> bytes:
    """`archive` with the signature trailer, signed by the private key `key_pem` whose
    certificate (and its issuers) is `chain_pem`."""
    key = serialization.load_pem_private_key(key_pem, None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(archive, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(archive, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(archive)
    else:
        raise ValueError("the signing key must be EC, RSA or Ed25519")
    block = json.dumps({"certificate": chain_pem.decode(), "signature": base64.b64encode(signature).decode()}).encode()
    return archive + block + struct.pack(">I", len(block)) + MAGIC


def build(folder: Path, key_pem: bytes | None = None, chain_pem: bytes | None = None) -> bytes:
    """The package of the app in `folder` (manifest.json at its root), signed when given a key."""
    archive = archive_of(folder)
    if key_pem is None or chain_pem is None:
        return archive
    return sign(archive, key_pem, chain_pem)
