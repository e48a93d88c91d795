"""What the transports share: the file a file recipient stores, temporary names, and the TLS
contexts for servers whose certificate is checked or not."""

from __future__ import annotations

import functools
import itertools
import re
import secrets
import ssl
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from vigil.features.notify.model import Message, RecipientError

USER_AGENT = "Vigil"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_sequence = itertools.count(1)


def next_sequence() -> int:
    """A per-process counter that keeps file names of the same second apart."""
    return next(_sequence)


def file_for(message: Message) -> tuple[str, bytes]:
    """The file stored by ftp/sftp/networkshare: the attachment, or the text of the message."""
    if message.attachment is not None:
        name, data = message.attachment
        return safe_name(name), bytes(data)
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
    text = f"{message.subject}\n\n{message.body}" if message.subject else message.body
    return f"notification_{stamp}_{next_sequence():04d}.txt", text.encode("utf-8")


def safe_name(name: str) -> str:
    """Only the base name of a file name counts: a file never lands outside its folder."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base in (".", "..") or _CONTROL.search(base):
        raise RecipientError(f"the file name '{name}' cannot be used")
    return base


def temp_name(name: str) -> str:
    return f".{name}.{secrets.token_hex(4)}.part"


# The settings key under which delivery hands the transports the device's CA certificates (PEM).
TRUSTED_CAS = "trusted_cas"


@functools.lru_cache(maxsize=8)
def trusted_context(device_cas: str = "") -> ssl.SSLContext:
    """Verifies the server against the system's CA certificates and the device's own (`device_cas`,
    PEM: the CA certificates of the keystore). Loading them takes ~0.1 s: kept."""
    context = ssl.create_default_context()
    if device_cas:
        context.load_verify_locations(cadata=device_cas)
    return context


@functools.cache
def unverified_context() -> ssl.SSLContext:
    """'Validate server certificate' off: encrypted, but any certificate is accepted."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def target(settings: Mapping[str, str]) -> str:
    """Where a recipient's messages go, as error messages name it: host:port, or //server/share."""
    if "url" in settings:
        url = urlsplit(settings["url"])
        port = url.port or (443 if url.scheme == "https" else 80)
        return f"[{url.hostname}]:{port}" if ":" in (url.hostname or "") else f"{url.hostname}:{port}"
    if "uri" in settings:  # a SIP call
        return settings["uri"]
    if "share" in settings:
        return f"//{settings['address']}/{settings['share']}"
    host = settings.get("host", "")
    return f"[{host}]:{settings['port']}" if ":" in host else f"{host}:{settings['port']}"
