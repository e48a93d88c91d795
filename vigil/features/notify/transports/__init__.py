"""The transports of recipients, one module each, and the one table that names them.

Each `send(settings, message, timeout, proxies)` delivers one message with settings already checked by
`vigil.features.notify.validate` (and, under `TRUSTED_CAS`, the device's CA certificates a verified
TLS server may chain to besides the system's); `vigil.features.notify.delivery` picks it from `TRANSPORTS`,
bounds it with the timeout and turns every failure into a readable `RecipientError`. The client
libraries (httpx, aiosmtplib, aioftp, asyncssh) are imported when a transport first runs, on
purpose: the device starts without loading the ones nobody uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from vigil.core.proxies import Proxies
from vigil.features.notify.model import Message
from vigil.features.notify.transports import email, ftp, http, sftp, share, tcp

Transport = Callable[[dict[str, str], Message, float, Proxies], Awaitable[None]]

TRANSPORTS: dict[str, Transport] = {
    "http": http.send,
    "https": http.send,
    "email": email.send,
    "ftp": ftp.send,
    "sftp": sftp.send,
    "tcp": tcp.send,
    "networkshare": share.send,
}
