"""The device key: one random secret per device, readable by the service only.

Passwords are kept encrypted under it (ONVIF PasswordDigest and HTTP Digest need the
plain password), and it signs nonces and session tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vigil.core.atomic import atomic_write


class Vault:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(hashlib.sha256(b"vigil-secrets" + key).digest())
        self._mac_key = hashlib.sha256(b"vigil-mac" + key).digest()

    @classmethod
    def open(cls, path: Path) -> Vault:
        path = Path(path)
        if not path.exists():
            atomic_write(path, os.urandom(32), mode=0o600)
        return cls(path.read_bytes())

    def encrypt(self, plain: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plain.encode(), None)

    def decrypt(self, blob: bytes) -> str:
        return self._aead.decrypt(blob[:12], blob[12:], None).decode()

    def sign(self, text: str) -> str:
        return hmac.new(self._mac_key, text.encode(), hashlib.sha256).hexdigest()[:32]
