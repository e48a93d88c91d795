"""Delivering a message to a recipient: the rule engine's `deliver()` and the Test button's
`test_recipient()`. Every failure, whatever its cause (name resolution, refused connection,
timeout, login, certificate, host key, permission), is raised as `RecipientError` with a
sentence a user can act on, and nothing runs past `timeout`."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from collections.abc import Mapping

from vigil.core.proxies import NO_PROXIES, Proxies
from vigil.features.notify.model import Message, Recipient, RecipientError
from vigil.features.notify.transports import TRANSPORTS, sip
from vigil.features.notify.transports.common import TRUSTED_CAS, next_sequence, target
from vigil.features.notify.transports.sip import Caller
from vigil.features.notify.validate import validate


def _walk(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, outermost first."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__]
    return seen


def explain(exc: BaseException, settings: Mapping[str, str], timeout: float) -> str:
    """A sentence for the user from a low-level failure."""
    where = target(settings)
    chain = _walk(exc)
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            why = e.verify_message or e.reason or "not trusted"
            return (f"the server's certificate was refused ({why}); install a certificate the device "
                    f"trusts on the server, or turn off 'validate server certificate'")
    for e in chain:
        if isinstance(e, socket.gaierror):
            return f"could not resolve the host name '{settings.get('host') or where}' (check the DNS settings)"
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
            return f"connection refused by {where}: no server is listening there"
        if isinstance(e, TimeoutError) or getattr(e, "errno", None) == errno.ETIMEDOUT:
            return f"no answer from {where} within {timeout:g} s"
        if getattr(e, "errno", None) in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"{where} is unreachable (check the network settings and the address)"
        if isinstance(e, ssl.SSLError):
            return f"the secure connection (TLS) to {where} failed: {e.reason or e}"
        if isinstance(e, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return f"{where} closed the connection unexpectedly"
        if isinstance(e, PermissionError):
            return f"permission denied: {e.filename or where}"
    # Library exceptions whose message is already readable (httpx, aiosmtplib, asyncssh).
    text = str(exc).strip() or type(exc).__name__
    lower = text.lower()
    if "timed out" in lower or "timeout" in lower:
        return f"no answer from {where} within {timeout:g} s"
    if "connect call failed" in lower or "connection refused" in lower:
        return f"connection refused by {where}: no server is listening there"
    return f"delivery to {where} failed: {text}"


async def deliver(recipient: Recipient, message: Message, timeout: float = 15.0,
                  proxies: Proxies = NO_PROXIES, trusted_cas: str = "", caller: Caller | None = None) -> None:
    """Send `message` to `recipient` (through the global `proxies` where they apply, a TLS server
    verified against the system's and the device's CA certificates, `trusted_cas`; a SIP recipient
    is called through `caller`); RecipientError with a readable reason when it fails."""
    try:
        settings = validate(recipient.kind, recipient.settings)
    except RecipientError as exc:
        raise RecipientError(f"Recipient '{recipient.name}': {exc}") from None
    settings = {**settings, TRUSTED_CAS: trusted_cas}
    if recipient.kind == "sip" and caller is None:
        raise RecipientError(f"Recipient '{recipient.name}': this device cannot place SIP calls")
    transport = sip.sender(caller) if recipient.kind == "sip" and caller is not None else TRANSPORTS[recipient.kind]
    try:
        async with asyncio.timeout(timeout):
            await transport(settings, message, timeout, proxies)
    except RecipientError as exc:
        raise RecipientError(f"Recipient '{recipient.name}': {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - every failure becomes a RecipientError
        raise RecipientError(f"Recipient '{recipient.name}': {explain(exc, settings, timeout)}") from exc


async def test_recipient(recipient: Recipient, proxies: Proxies = NO_PROXIES, trusted_cas: str = "",
                         caller: Caller | None = None) -> None:
    """The Test button: send a short test message (a small text file for file recipients; a
    call that rings, for a SIP recipient)."""
    now = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    body = f"This is a test message from Vigil for the recipient '{recipient.name}', sent {now}."
    attachment = None
    if recipient.kind in ("ftp", "sftp", "networkshare"):
        stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
        attachment = (f"vigil_test_{stamp}_{next_sequence():04d}.txt", (body + "\n").encode())
    await deliver(recipient, Message("Vigil test message", body, attachment), proxies=proxies,
                  trusted_cas=trusted_cas, caller=caller)


test_recipient.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name
