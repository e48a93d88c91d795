"""The device key: one random secret per device, readable by the service only.

Passwords are kept encrypted under it (ONVIF PasswordDigest and HTTP Digest need the
plain password), and it signs nonces and session tokens. `seal` and `unseal` keep a secret
in a text column or a JSON value (parameters, recipient settings): the sealed text starts with
`SEALED`, so a store can tell it from a clear value written before secrets were sealed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vigil.core.atomic import atomic_write

SEALED = "\x01sealed:"  # control characters never occur in a valid setting, so this cannot clash


class SealError(ValueError):
    """A sealed text that this key cannot open: sealed under another device key, or damaged."""


def is_sealed(text: str) -> bool:
    return text.startswith(SEALED)


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

    def seal(self, plain: str) -> str:
        """`plain` encrypted, as text (empty stays empty: there is no secret to keep)."""
        return SEALED + base64.b64encode(self.encrypt(plain)).decode() if plain else ""

    def unseal(self, text: str) -> str:
        """The clear text of what `seal` made; SealError when this key cannot open it."""
        if not is_sealed(text):
            raise SealError("not a sealed text")
        try:
            return self.decrypt(base64.b64decode(text[len(SEALED):], validate=True))
        except (InvalidTag, binascii.Error, UnicodeDecodeError) as err:
            raise SealError("sealed under another device key, or damaged") from err

    def sign(self, text: str) -> str:
        return hmac.new(self._mac_key, text.encode(), hashlib.sha256).hexdigest()[:32]
