"""The device's certificate store, until the certificate management API exists: PEM files in
`<data>/certificates`, each named by its id (`<id>.pem`, or `<id>` itself). Every client that
verifies a server against chosen CA certificates (MQTT, remote syslog) finds them here."""

from __future__ import annotations

import re
from pathlib import Path

STORE_DIR = "certificates"
MAX_ID = 64  # characters of a certificate id
# A certificate id names a file of the store: no path separators, no leading dot.
_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_ID - 1}}}")


class CertificateNotFound(LookupError):
    """No certificate of that id in the store; `str()` is the text the user sees."""


def certificate_file(ident: str, data: Path) -> Path:
    """The file of certificate `ident`. An id is a name in the store, never a path: one that is not
    a plain name, or names no certificate there, gets the same answer, so that nothing can be read
    from elsewhere on the device nor learnt about which files exist."""
    if not ident:
        raise CertificateNotFound("no certificate given")
    store = data / STORE_DIR
    if _ID.fullmatch(ident):
        for candidate in (store / f"{ident}.pem", store / ident):
            if candidate.is_file() and candidate.resolve().is_relative_to(store.resolve()):
                return candidate
    raise CertificateNotFound(f"certificate {ident[:MAX_ID]!r} not found in the device's certificate store")
