"""Encryption at rest of a volume's footage.

An encrypted volume holds a key file, `.vigil-volume-key`, beside its footage: a random
256-bit data key, wrapped (AES-256-GCM) under a key derived from the volume's password with
scrypt. Without the password the data key cannot be had; a wrong password fails the GCM tag.
Changing the password wraps the same data key again, so footage is never rewritten and
recordings go on meanwhile.

Every footage file of an encrypted volume is AES-256-CTR under the data key, with a counter
block of its own derived from the key and the file's name: encryption keeps lengths and
offsets, so the index addresses encrypted files exactly as plain ones and any byte range
decrypts on its own (playback seeks, exports cut). File names are opaque too (a keyed hash of
the name a plain volume would use), so the folder shows neither cameras' times nor ids. With
the data key, a file decrypts with a standard tool:

    openssl enc -d -aes-256-ctr -K <data key, hex> -iv <FileCipher.iv, hex> -in F -out F.mp4

The keyring knows which volume folders are encrypted and holds the data keys of those that
are unlocked (mounted with their password), in memory only: after a restart an encrypted
volume stays locked until its password is given again. Reads of footage go through
`open_footage` / `pread` / `close_footage`, which decrypt where the file's volume is
encrypted and are plain `os` calls elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vigil.core.atomic import atomic_write

KEY_FILE = ".vigil-volume-key"
KEY_FORMAT = "vigil-volume-key/1"
ENCRYPTED_SUFFIX = ".seg"  # the footage files of an encrypted volume (plain ones are .mp4)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1  # ~0.1 s and 32 MiB per unlock
WRAP_CONTEXT = b"vigil volume data key"
MIN_PASSWORD, MAX_PASSWORD = 8, 512  # VAPIX passphrases are up to 512 bytes


class WrongPassword(ValueError):
    pass


class VolumeLocked(OSError):
    """Footage of an encrypted volume was asked for while the volume is locked."""


def password_problem(password: str | None) -> str | None:
    """Why `password` cannot protect a volume, or None: 8 to 64 printable ASCII characters,
    as the device's other passwords."""
    if not password:
        return "a password is required"
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long"
    if any(not 32 <= ord(c) <= 126 for c in password):
        return "the password must be printable ASCII characters"
    return None


def ctr_at(key: bytes, counter: int, offset: int):
    """An AES-CTR cipher (encrypts and decrypts alike) positioned at byte `offset` of a stream
    whose first block is counted `counter`; the whole 128-bit block counts, as OpenSSL does."""
    block = (counter + offset // 16) % (1 << 128)
    cipher = Cipher(algorithms.AES(key), modes.CTR(block.to_bytes(16, "big"))).encryptor()
    cipher.update(bytes(offset % 16))
    return cipher


# -- the key file ------------------------------------------------------------------------------
def _kek(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=1 << 26, dklen=32)


def _wrap(directory: Path, key: bytes, password: str, file_name: str = KEY_FILE) -> None:
    salt, nonce = os.urandom(16), os.urandom(12)
    wrapped = AESGCM(_kek(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(nonce, key, WRAP_CONTEXT)
    body = {"format": KEY_FORMAT, "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                                          "salt": salt.hex()},
            "wrap": {"name": "aes-256-gcm", "nonce": nonce.hex(), "key": wrapped.hex()}, "cipher": "aes-256-ctr"}
    atomic_write(Path(directory) / file_name, json.dumps(body).encode(), mode=0o600)


def is_encrypted(directory: Path) -> bool:
    return (Path(directory) / KEY_FILE).exists()


def create_key(directory: Path, password: str, file_name: str = KEY_FILE) -> bytes:
    """Make a new data key for the (empty) volume at `directory`, wrapped under `password` in
    `file_name`; returns it."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    _wrap(directory, key, password, file_name)
    return key


def unlock(directory: Path, password: str) -> bytes:
    """The volume's data key; WrongPassword if `password` is not the volume's."""
    try:
        body = json.loads((Path(directory) / KEY_FILE).read_text())
        kdf, wrap = body["kdf"], body["wrap"]
        if body.get("format") != KEY_FORMAT or kdf["name"] != "scrypt" or wrap["name"] != "aes-256-gcm":
            raise ValueError(f"unknown key file format {body.get('format')!r}")
        kek = _kek(password, bytes.fromhex(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
        return AESGCM(kek).decrypt(bytes.fromhex(wrap["nonce"]), bytes.fromhex(wrap["key"]), WRAP_CONTEXT)
    except (InvalidTag, UnicodeEncodeError):  # (a password a volume cannot have is wrong too)
        raise WrongPassword("wrong password") from None


def change_password(directory: Path, old: str, new: str) -> bytes:
    """Wrap the volume's data key under `new` (atomically: a crash leaves the old or the new
    password in force, never neither); returns the data key."""
    key = unlock(directory, old)
    _wrap(directory, key, new)
    return key


# -- footage files -----------------------------------------------------------------------------
class FileCipher:
    """AES-256-CTR over one footage file, addressed by byte offset."""

    def __init__(self, key: bytes, name: str) -> None:
        self.key = key
        self.iv = hmac.new(key, b"vigil footage iv\0" + name.encode(), hashlib.sha256).digest()[:16]
        self._counter = int.from_bytes(self.iv, "big")

    def apply(self, data: bytes, offset: int) -> bytes:
        """`data` found (or to be written) at `offset`, encrypted or decrypted: CTR is its own inverse."""
        return ctr_at(self.key, self._counter, offset).update(data) if data else b""

    def apply_in_place(self, view: memoryview, offset: int) -> None:
        """As `apply`, overwriting `view` (no copy)."""
        if len(view):
            ctr_at(self.key, self._counter, offset).update_into(view, view)


class Keyring:
    """Which volume folders are encrypted, and the data keys of those that are unlocked."""

    def __init__(self) -> None:
        self._volumes: dict[str, bytes | None] = {}  # folder -> data key, None while locked

    @staticmethod
    def _norm(directory: Path | str) -> str:
        return os.path.abspath(directory)

    def set(self, directory: Path, key: bytes | None) -> None:
        """`directory` is an encrypted volume: unlocked with `key`, or locked (None)."""
        self._volumes[self._norm(directory)] = key

    def forget(self, directory: Path) -> None:
        """`directory` is no longer an encrypted volume."""
        self._volumes.pop(self._norm(directory), None)

    def _volume_of(self, path: Path | str) -> str | None:
        if not self._volumes:
            return None
        folder = os.path.abspath(path)  # a file is never a volume folder: start with the path itself
        while True:
            if folder in self._volumes:
                return folder
            parent = os.path.dirname(folder)
            if parent == folder:
                return None
            folder = parent

    def locked(self, path: Path | str) -> bool:
        volume = self._volume_of(path)
        return volume is not None and self._volumes[volume] is None

    def cipher_for(self, path: Path | str) -> FileCipher | None:
        """The cipher of the footage file at `path` (None on a plain volume); VolumeLocked if
        its volume is encrypted and locked."""
        volume = self._volume_of(path)
        if volume is None:
            return None
        key = self._volumes[volume]
        if key is None:
            raise VolumeLocked(f"the volume at {volume} is encrypted and locked: mount it with its password")
        return FileCipher(key, os.path.basename(path))

    def file_name(self, directory: Path, plain: str) -> str:
        """The name a footage file called `plain` gets in `directory`: itself on a plain volume,
        a keyed hash on an encrypted one (VolumeLocked if it is locked)."""
        volume = self._volume_of(Path(directory) / plain)
        if volume is None:
            return plain
        key = self._volumes[volume]
        if key is None:
            raise VolumeLocked(f"the volume at {volume} is encrypted and locked")
        return hmac.new(key, b"vigil footage name\0" + plain.encode(), hashlib.sha256).hexdigest()[:32] \
            + ENCRYPTED_SUFFIX


keyring = Keyring()  # one per process: volume folders are unique to their device
_open: dict[int, FileCipher] = {}  # descriptors from open_footage that read through a cipher


def is_key_name(name: str) -> bool:
    """The volume's key file, or a key waiting to be put in force (storage encryption)."""
    return name.startswith(KEY_FILE)


def is_footage_name(name: str) -> bool:
    return name.endswith(".mp4") or name.endswith(ENCRYPTED_SUFFIX)


def open_footage(path: Path | str) -> int:
    """Open a footage file for reading (VolumeLocked if its volume is locked). Close it with
    `close_footage`, never plain os.close: the descriptor's cipher must go with it."""
    cipher = keyring.cipher_for(path)
    fd = os.open(path, os.O_RDONLY)
    if cipher is not None:
        _open[fd] = cipher
    return fd


def close_footage(fd: int) -> None:
    _open.pop(fd, None)
    os.close(fd)


def pread(fd: int, length: int, offset: int) -> bytes:
    """Plain bytes of a footage file opened with open_footage."""
    data = os.pread(fd, length, offset)
    cipher = _open.get(fd)
    return cipher.apply(data, offset) if cipher is not None else data


def pread_into(fd: int, view: memoryview, offset: int) -> int:
    """As `pread`, into `view`; returns how many bytes (0 at the end of the file)."""
    n = os.preadv(fd, [view], offset)
    cipher = _open.get(fd)
    if cipher is not None:
        cipher.apply_in_place(view[:n], offset)
    return n


def is_plain(fd: int) -> bool:
    """The file's bytes on disk are its footage (so the kernel may copy them as they are)."""
    return fd not in _open


def read_footage(path: Path | str) -> tuple[bytes, bytes]:
    """(as stored, plain) bytes of a whole footage file."""
    raw = Path(path).read_bytes()
    cipher = keyring.cipher_for(path)
    return raw, (cipher.apply(raw, 0) if cipher is not None else raw)
