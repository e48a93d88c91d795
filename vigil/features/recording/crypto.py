"""Password-encrypted exports in formats a standard tool opens.

Format `openssl-aes256` is exactly what OpenSSL's `enc` command writes for

    openssl enc -aes-256-cbc -pbkdf2 -iter 100000 -md sha256

that is: the 8 bytes `Salted__`, an 8-byte random salt, then the file encrypted with
AES-256 in CBC mode with PKCS#7 padding, key and IV (32 + 16 bytes) derived from the
password and salt with PBKDF2-HMAC-SHA256, 100 000 iterations. Anyone with the password
decrypts it with

    openssl enc -d -aes-256-cbc -pbkdf2 -iter 100000 -in export.mp4.enc -out export.mp4

(the password is asked for, or given with `-pass pass:...` / `-pass file:...`). Without the
password the file is indistinguishable from random bytes: no MP4 or Matroska structure shows.
The encrypted size is known in advance (16 + the plaintext rounded up to the next multiple of
16), so encrypted exports still carry a Content-Length; they are not seekable (CBC chains
every block to the one before), so Range requests get the whole file.

Format `openssl-aes256-ctr` is the same with AES-256 in CTR mode (`openssl enc -d -aes-256-ctr
-pbkdf2 -iter 100000` opens it): no padding (16 bytes longer than the plaintext), several
times faster here, and seekable, so encrypted downloads can resume with Range requests. Like
CBC it gives confidentiality only: neither format detects tampering.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from vigil.footage.atrest import ctr_at
from vigil.footage.reader import LayoutReader, Transform

OPENSSL_AES256 = "openssl-aes256"
OPENSSL_AES256_CTR = "openssl-aes256-ctr"
FORMATS = (OPENSSL_AES256, OPENSSL_AES256_CTR)
ITERATIONS = 100_000
MIN_PASSWORD = 8
MAX_PASSWORD = 512  # bytes, as VAPIX exportrecording.cgi allows
CHUNK = 4 << 20  # bytes read and encrypted at a time, in place (a multiple of 16: CBC gets whole blocks)


def password_problem(password: str) -> str | None:
    """Why a password cannot protect an export, or None. 8 to 512 bytes of UTF-8 text without
    control characters, so that it can be typed (and given to `openssl -pass pass:`)."""
    size = len(password.encode("utf-8"))
    if size < MIN_PASSWORD or size > MAX_PASSWORD:
        return f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} bytes long (it is {size})"
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        return "the password must not contain control characters"
    return None


class OpenSSLEncryptor(Transform):
    """Streams the OpenSSL `enc` format; one instance encrypts one file."""

    chunk = CHUNK

    def __init__(self, password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> None:
        self.salt = salt or os.urandom(8)
        material = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), self.salt, iterations, 48)
        self._encryptor = Cipher(algorithms.AES(material[:32]), modes.CBC(material[32:])).encryptor()
        self._length = 0

    def size(self, plain: int) -> int:
        return 16 + (plain // 16 + 1) * 16

    def header(self) -> bytes:
        return b"Salted__" + self.salt

    def update(self, data: bytes) -> memoryview:  # type: ignore[override]
        # update_into a fresh buffer is about twice as fast as update() for CBC here (no copy
        # out); the cipher keeps a partial block for the next call, so the output may be shorter.
        self._length += len(data)
        out = bytearray(len(data) + 15)
        return memoryview(out)[:self._encryptor.update_into(data, out)]

    def finalize(self) -> bytes:
        pad = 16 - self._length % 16  # PKCS#7: always 1 to 16 bytes, each the count
        return self._encryptor.update(bytes([pad]) * pad) + self._encryptor.finalize()

    def stream(self, reader: LayoutReader, start: int, end: int) -> Iterator[memoryview]:
        """The whole file (CBC cannot start anywhere else), each chunk read into one of two
        buffers and encrypted in place: whole blocks only, so the cipher never holds bytes back
        and its output lands exactly over its input; the last chunk gets the padding."""
        yield memoryview(self.header())
        plain = reader.layout.size
        step = max(self.chunk - self.chunk % 16, 16)
        buffers = _Buffers(step + 32)  # room for the padding, and the cipher's own margin
        pos = 0
        while True:
            view = buffers.next()
            n = _fill(reader, pos, view[:min(step, plain - pos)])
            pos += n
            self._length += n
            if pos == plain:
                pad = 16 - self._length % 16  # PKCS#7 (see finalize)
                view[n:n + pad] = bytes([pad]) * pad
                n += pad
            done = self._encryptor.update_into(view[:n], view)
            yield view[:done]
            if pos == plain:
                self._encryptor.finalize()  # (nothing held back: whole blocks only)
                return


class OpenSSLCtrEncryptor(Transform):
    """The OpenSSL `enc -aes-256-ctr -pbkdf2` format; any byte range can be produced."""

    seekable = True
    chunk = CHUNK

    def __init__(self, password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> None:
        self.salt = salt or os.urandom(8)  # see encryptor(): fixed per export, so ranges fit together
        material = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), self.salt, iterations, 48)
        self._key = material[:32]
        self._counter = int.from_bytes(material[32:], "big")  # OpenSSL counts with the whole IV
        self._sequential = self._at(0)

    def _at(self, offset: int):
        return ctr_at(self._key, self._counter, offset)

    def size(self, plain: int) -> int:
        return 16 + plain

    def header(self) -> bytes:
        return b"Salted__" + self.salt

    def update(self, data: bytes) -> bytes:
        return self._sequential.update(data)

    def finalize(self) -> bytes:
        return self._sequential.finalize()

    def stream(self, reader: LayoutReader, start: int, end: int) -> Iterator[memoryview]:
        """Bytes start..end-1, each chunk read into one of two buffers and encrypted in place
        (CTR's output is as long as its input)."""
        if start < 16:
            yield memoryview(self.header())[start:min(end, 16)]
        pos = max(start, 16) - 16
        if end - 16 > pos:
            cipher = self._at(pos)
            buffers = _Buffers(self.chunk)
            while pos < end - 16:
                view = buffers.next()[:min(self.chunk, end - 16 - pos)]
                pos += _fill(reader, pos, view)
                cipher.update_into(view, view)
                yield view


class _Buffers:
    """Two buffers taking turns (see Transform.stream)."""

    def __init__(self, size: int) -> None:
        self._views = [memoryview(bytearray(size)), memoryview(bytearray(size))]
        self._turn = 0

    def next(self) -> memoryview:
        self._turn ^= 1
        return self._views[self._turn]


def _fill(reader: LayoutReader, pos: int, view: memoryview) -> int:
    n = reader.readinto(pos, view)
    if n != len(view):
        raise OSError("layout ended early")
    return n


def encryptor(fmt: str, password: str, identity: bytes = b"") -> Transform:
    """An encryptor for one export. CBC takes a random salt each time. CTR must give the same
    bytes to every Range request of one download, so its salt is derived from `identity`
    (which names the exact plaintext): one key and counter then only ever encrypt that
    plaintext, never two different ones (which would break CTR). The salt holds no secret."""
    if fmt == OPENSSL_AES256:
        return OpenSSLEncryptor(password)
    if fmt == OPENSSL_AES256_CTR:
        salt = hashlib.sha256(b"vigil export salt\0" + identity).digest()[:8] if identity else None
        return OpenSSLCtrEncryptor(password, salt)
    raise ValueError(f"unknown encryption format {fmt!r}")
