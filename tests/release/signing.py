"""Release keys and release packages for the tests: an Ed25519 key with its self-signed
certificate (installed on a device as its custom signed OS certificate), and releases of this
very tree, as `vigil package` builds them."""

from __future__ import annotations

import datetime
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from vigil.release.package import build

TREE = Path(__file__).resolve().parents[2]  # the folder holding the vigil package


@dataclass(frozen=True)
class ReleaseKey:
    key_pem: bytes
    cert_pem: bytes


def release_key(name: str = "Vigil test release") -> ReleaseKey:
    key = ed25519.Ed25519PrivateKey.generate()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))  # the devices' fake clocks too
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, None))
    return ReleaseKey(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()),
                      cert.public_bytes(serialization.Encoding.PEM))


def release(out: Path, key: ReleaseKey, version: str, profiles: tuple[str, ...] = ("s3008", "s3016", "w401"),
            source: Path = TREE, revokes: tuple[str, ...] = ()) -> Path:
    build(source, out, version, list(profiles), key.key_pem, key.cert_pem, list(revokes))
    return out


def broken_tree(folder: Path) -> Path:
    """A copy of this tree whose web server fails: its health check cannot pass."""
    shutil.copytree(TREE / "vigil", folder / "vigil", ignore=shutil.ignore_patterns("__pycache__"))
    session = folder / "vigil" / "features" / "system" / "http_session.py"
    text = session.read_text()
    marker = "async def session_state(request: Request, who: Principal) -> Response:\n"
    assert marker in text
    session.write_text(text.replace(marker, marker + '    raise RuntimeError("a broken build")\n'))
    return folder


def fingerprint(cert_pem: bytes) -> str:
    return x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256()).hex()


def launcher_tree(folder: Path) -> Path:
    """A small runnable part of this tree: the package, its launcher and what that imports (for
    tests that install many releases and need them fast, yet startable)."""
    for name in ("__init__.py", "core/__init__.py", "core/atomic.py", "core/archive.py", "core/crashes.py", "release/__init__.py",
                 "release/package.py", "release/slots.py", "release/launcher.py"):
        target = folder / "vigil" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(TREE / "vigil" / name, target)
    return folder


def crashing_tree(folder: Path, status: int = 3) -> Path:
    """The small tree, whose program exits with `status` as soon as it starts."""
    launcher_tree(folder)
    (folder / "vigil" / "__main__.py").write_text(f"raise SystemExit({status})\n")
    return folder
