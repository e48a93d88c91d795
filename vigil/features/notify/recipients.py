"""Recipients: the transports of notification actions ("Send notification", "Send images"...).

A recipient is a named destination of one kind with its settings, as on the manual's
System > Events > Recipients page. The rule engine calls `deliver()` with a `Message`; the
page's Test button calls `test_recipient()`. Every failure, whatever its cause (name
resolution, refused connection, timeout, login, certificate, host key, permission), is raised
as `RecipientError` with a sentence a user can act on, and nothing runs past `timeout`.

Settings are strings (they come from the parameter tree and the web UI). `validate()` checks
them, fills in defaults and returns them normalised; booleans become "yes"/"no". Unknown keys
are refused so that a typo does not silently drop a setting. Values may not contain control
characters (that would allow command injection into FTP or SMTP).

Keys per kind (* = required; default after "="):

http / https
    url*            http://host[:port]/path (https://... for https); the scheme must match the kind
    username        login; empty for none
    password
    auth = auto     auto | basic | digest. auto answers the server's challenge (Digest if it
                    offers it, else Basic); basic sends the credentials up front
    validate_cert = yes   (https only) refuse a server whose certificate is not trusted
    proxy           optional proxy, host:port or http://host:port
    proxy_username, proxy_password
    The message is POSTed: without attachment the body as text/plain (UTF-8); with an
    attachment a multipart/form-data upload with the fields "subject", "message" and the file
    in "file". Any 2xx answer is success.

email
    host*           SMTP server
    port = 587      (465 when encryption is ssl)
    encryption = starttls   none | starttls (alias tls) | ssl (implicit TLS, "SMTPS")
    validate_cert = yes     refuse a server whose certificate is not trusted
    username, password      both empty: no authentication (AUTH PLAIN / LOGIN / CRAM-MD5 otherwise)
    from*           sender address
    to*             one or several addresses, comma separated
    The subject and body become the mail; an attachment is attached.

ftp
    host*, port = 21
    folder          existing folder on the server; empty: the login folder
    username = anonymous, password
    passive = yes   passive (EPSV/PASV) data connections; no: active (EPRT/PORT)
    temporary_name = yes   upload under a temporary name, then rename to the final name

sftp
    host*, port = 22
    folder          existing folder on the server; empty: the login folder
    username*, password
    fingerprint*    the server's host key fingerprint: MD5 (32 hex digits, colons allowed,
                    optional "MD5:" prefix) or SHA-256 (43 base64 characters, optional
                    "SHA256:" prefix, as `ssh-keygen -l` prints). A server presenting another
                    key is refused before the password is sent.
    temporary_name = yes

tcp
    host*, port*    the body is sent (UTF-8) on a new connection, which is then closed; the
                    subject and any attachment are not sent

networkshare
    path*           absolute path of a mounted folder (the mount point: it must exist, it is
                    never created, so an unmounted share is noticed)
    folder          sub-folder below path, created when missing
    The file is written atomically: temporary name, fsync, rename, fsync of the folder.
    (SMB connections of their own, with host/share/username/password, come later.)

For ftp, sftp and networkshare a message without attachment is stored as a text file
"notification_<UTC time>_<sequence>.txt" holding the subject, an empty line and the body.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import errno
import functools
import ipaddress
import itertools
import mimetypes
import os
import posixpath
import re
import secrets
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path, PurePosixPath

from vigil.core.atomic import fsync_dir

KINDS = ("http", "https", "email", "ftp", "sftp", "tcp", "networkshare")

USER_AGENT = "Vigil"


class RecipientError(Exception):
    """A recipient's settings are wrong or a delivery failed; the message is for the user."""


@dataclass(frozen=True)
class Recipient:
    name: str
    kind: str
    settings: Mapping[str, str]  # per-kind keys, see the module documentation


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    attachment: tuple[str, bytes] | None = None  # (file name, data)


# -- validation ------------------------------------------------------------------------------

_REQUIRED = object()
_HTTP_KEYS: dict[str, object] = {
    "url": _REQUIRED, "username": "", "password": "", "auth": "auto",
    "proxy": "", "proxy_username": "", "proxy_password": "",
}
_SPEC: dict[str, dict[str, object]] = {
    "http": _HTTP_KEYS,
    "https": {**_HTTP_KEYS, "validate_cert": "yes"},
    "email": {
        "host": _REQUIRED, "port": "", "encryption": "starttls", "validate_cert": "yes",
        "username": "", "password": "", "from": _REQUIRED, "to": _REQUIRED,
    },
    "ftp": {
        "host": _REQUIRED, "port": "21", "folder": "", "username": "anonymous", "password": "",
        "passive": "yes", "temporary_name": "yes",
    },
    "sftp": {
        "host": _REQUIRED, "port": "22", "folder": "", "username": _REQUIRED, "password": "",
        "fingerprint": _REQUIRED, "temporary_name": "yes",
    },
    "tcp": {"host": _REQUIRED, "port": _REQUIRED},
    "networkshare": {"path": _REQUIRED, "folder": ""},
}
_LABELS = {
    "url": "URL", "host": "host", "port": "port", "from": "sender address (from)",
    "to": "recipient addresses (to)", "fingerprint": "SSH host key fingerprint", "path": "path",
    "username": "user name",
}
_TRUE = {"yes", "true", "on", "1"}
_FALSE = {"no", "false", "off", "0"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_LOCAL_PART = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+")
_MD5 = re.compile(r"[0-9a-f]{32}|[0-9a-f]{2}(?::[0-9a-f]{2}){15}")
_SHA256 = re.compile(r"[A-Za-z0-9+/]{43}=?")


def _bad(key: str, problem: str) -> RecipientError:
    return RecipientError(f"{_LABELS.get(key, key.replace('_', ' '))}: {problem}")


def _check_host(key: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise _bad(key, "enter the server's IP address or host name")
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    name = value.rstrip(".")
    labels = name.split(".")
    if (len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()):
        raise _bad(key, f"'{value}' is not a valid IP address or host name")
    return name.lower()


def _check_port(key: str, value: str) -> str:
    try:
        port = int(value.strip())
    except ValueError:
        raise _bad(key, f"'{value}' is not a number; enter a port between 1 and 65535") from None
    if not 1 <= port <= 65535:
        raise _bad(key, f"{port} is out of range; enter a port between 1 and 65535")
    return str(port)


def _check_bool(key: str, value: str) -> str:
    v = value.strip().lower()
    if v in _TRUE:
        return "yes"
    if v in _FALSE:
        return "no"
    raise _bad(key, f"'{value}' is not yes or no")


def _check_address(key: str, value: str) -> str:
    """One email address, optionally with a display name: `a@b.c` or `Name <a@b.c>`."""
    name, addr = parseaddr(value.strip())
    local, at, domain = addr.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local) or ".." in local:
        raise _bad(key, f"'{value.strip()}' is not a valid email address")
    try:
        domain = _check_host(key, domain)
    except RecipientError:
        raise _bad(key, f"'{value.strip()}' is not a valid email address") from None
    return formataddr((name, f"{local}@{domain}")) if name else f"{local}@{domain}"


def _check_addresses(key: str, value: str) -> str:
    parts = [p for p in (x.strip() for x in value.split(",")) if p]
    if not parts:
        raise _bad(key, "enter at least one email address")
    return ", ".join(_check_address(key, p) for p in parts)


def normalize_fingerprint(value: str) -> str:
    """`MD5:aa:bb:...` (lower case, with colons) or `SHA256:<43 base64 chars>`; ValueError otherwise."""
    v = value.strip().replace(" ", "")
    prefix, sep, rest = v.partition(":")
    algo = ""
    if sep and prefix.upper() in ("MD5", "SHA256", "SHA-256"):
        algo, v = prefix.upper().replace("-", ""), rest
    if algo in ("", "MD5") and _MD5.fullmatch(v.lower()):
        hexd = v.lower().replace(":", "")
        return "MD5:" + ":".join(hexd[i:i + 2] for i in range(0, 32, 2))
    if algo in ("", "SHA256") and _SHA256.fullmatch(v):
        b64 = v.rstrip("=")
        try:
            digest = base64.b64decode(b64 + "=", validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) == 32:
            return "SHA256:" + b64
    raise ValueError(value)


def _check_fingerprint(key: str, value: str) -> str:
    try:
        return normalize_fingerprint(value)
    except ValueError:
        raise _bad(key, "enter the MD5 fingerprint (32 hexadecimal digits, colons allowed) or the "
                        "SHA-256 fingerprint (43 base64 characters) of the server's host key") from None


def _check_url(kind: str, value: str) -> str:
    import httpx

    value = value.strip()
    try:
        url = httpx.URL(value)
    except Exception:  # noqa: BLE001 - httpx raises several types for a bad URL
        raise _bad("url", f"'{value}' is not a valid URL") from None
    if url.scheme != kind:
        raise _bad("url", f"an {kind.upper()} recipient needs a URL starting with {kind}://")
    if url.userinfo:
        raise _bad("url", "put the user name and password in their own fields, not in the URL")
    _check_host("url", url.host)
    if url.port is not None:
        _check_port("url", str(url.port))
    return str(url)


def _check_proxy(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    if "://" not in value:
        value = "http://" + value
    scheme, _, rest = value.partition("://")
    if scheme.lower() not in ("http", "https"):
        raise _bad("proxy", "only HTTP proxies are supported (http://host:port)")
    hostport = rest.split("/", 1)[0]
    host, port = hostport, ""
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    elif hostport.count(":") == 1:
        host, port = hostport.split(":")
    host = _check_host("proxy", host)
    port = _check_port("proxy", port) if port else ("443" if scheme.lower() == "https" else "3128")
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme.lower()}://{shown}:{port}"


def _check_remote_folder(key: str, value: str) -> str:
    value = value.strip()
    if value in ("", "."):
        return ""
    return str(PurePosixPath(value.replace("\\", "/")))


def _check_relative_folder(key: str, value: str) -> str:
    value = value.strip().strip("/")
    if not value:
        return ""
    parts = PurePosixPath(value).parts
    if any(p == ".." for p in parts):
        raise _bad(key, "'..' is not allowed: the folder must stay inside the share")
    return "/".join(p for p in parts if p != ".")


def validate(kind: str, settings: Mapping[str, str]) -> dict[str, str]:
    """The settings of a recipient of `kind`, checked and normalised, with defaults filled in."""
    if kind not in _SPEC:
        raise RecipientError(f"type: '{kind}' is not a recipient type; choose one of {', '.join(KINDS)}")
    spec = _SPEC[kind]
    given = {str(k): "" if v is None else str(v) for k, v in dict(settings).items()}
    if kind == "networkshare" and ({"host", "share"} & given.keys()):
        raise _bad("share", "SMB connections are not supported yet; mount the share on the device and "
                            "enter its local path")
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise _bad(unknown[0], f"unknown setting for a {kind} recipient (known: {', '.join(spec)})")
    out: dict[str, str] = {}
    for key, default in spec.items():
        value = given.get(key, "")
        if _CONTROL.search(value):
            raise _bad(key, "control characters (such as line breaks) are not allowed")
        if not value.strip():
            if default is _REQUIRED:
                raise _bad(key, "this field is required")
            value = str(default)
        out[key] = value

    if kind in ("http", "https"):
        out["url"] = _check_url(kind, out["url"])
        out["auth"] = out["auth"].strip().lower()
        if out["auth"] not in ("auto", "basic", "digest"):
            raise _bad("auth", f"'{out['auth']}' is not auto, basic or digest")
        if out["password"] and not out["username"]:
            raise _bad("username", "a password was given without a user name")
        if "validate_cert" in out:
            out["validate_cert"] = _check_bool("validate_cert", out["validate_cert"])
        out["proxy"] = _check_proxy(out["proxy"])
        if out["proxy_username"] and not out["proxy"]:
            raise _bad("proxy", "a proxy user name was given without a proxy")
    elif kind == "email":
        out["host"] = _check_host("host", out["host"])
        enc = out["encryption"].strip().lower()
        enc = {"tls": "starttls", "smtps": "ssl", "implicit": "ssl", "plain": "none", "off": "none"}.get(enc, enc)
        if enc not in ("none", "starttls", "ssl"):
            raise _bad("encryption", f"'{out['encryption']}' is not none, starttls or ssl")
        out["encryption"] = enc
        out["port"] = _check_port("port", out["port"] or ("465" if enc == "ssl" else "587"))
        out["validate_cert"] = _check_bool("validate_cert", out["validate_cert"])
        if out["password"] and not out["username"]:
            raise _bad("username", "a password was given without a user name")
        out["from"] = _check_address("from", out["from"])
        out["to"] = _check_addresses("to", out["to"])
    elif kind in ("ftp", "sftp"):
        out["host"] = _check_host("host", out["host"])
        out["port"] = _check_port("port", out["port"])
        out["folder"] = _check_remote_folder("folder", out["folder"])
        out["temporary_name"] = _check_bool("temporary_name", out["temporary_name"])
        if kind == "ftp":
            out["passive"] = _check_bool("passive", out["passive"])
        else:
            out["fingerprint"] = _check_fingerprint("fingerprint", out["fingerprint"])
    elif kind == "tcp":
        out["host"] = _check_host("host", out["host"])
        out["port"] = _check_port("port", out["port"])
    elif kind == "networkshare":
        path = out["path"].strip()
        if not os.path.isabs(path):
            raise _bad("path", f"'{path}' is not an absolute path (it must start with /)")
        out["path"] = os.path.normpath(path)
        out["folder"] = _check_relative_folder("folder", out["folder"])
    return out


# -- delivery --------------------------------------------------------------------------------

_sequence = itertools.count(1)


def _file_for(message: Message) -> tuple[str, bytes]:
    """The file stored by ftp/sftp/networkshare: the attachment, or the text of the message."""
    if message.attachment is not None:
        name, data = message.attachment
        return _safe_name(name), bytes(data)
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
    text = f"{message.subject}\n\n{message.body}" if message.subject else message.body
    return f"notification_{stamp}_{next(_sequence):04d}.txt", text.encode("utf-8")


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base in (".", "..") or _CONTROL.search(base):
        raise RecipientError(f"the file name '{name}' cannot be used")
    return base


def _temp_name(name: str) -> str:
    return f".{name}.{secrets.token_hex(4)}.part"


def _target(settings: Mapping[str, str]) -> str:
    if "url" in settings:
        from urllib.parse import urlsplit

        url = urlsplit(settings["url"])
        port = url.port or (443 if url.scheme == "https" else 80)
        return f"[{url.hostname}]:{port}" if ":" in (url.hostname or "") else f"{url.hostname}:{port}"
    if "path" in settings:
        return settings["path"]
    host = settings.get("host", "")
    return f"[{host}]:{settings['port']}" if ":" in host else f"{host}:{settings['port']}"


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


def _explain(exc: BaseException, settings: Mapping[str, str], timeout: float) -> str:
    """A sentence for the user from a low-level failure."""
    target = _target(settings)
    chain = _walk(exc)
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            why = e.verify_message or e.reason or "not trusted"
            return (f"the server's certificate was refused ({why}); install a certificate the device "
                    f"trusts on the server, or turn off 'validate server certificate'")
    for e in chain:
        if isinstance(e, socket.gaierror):
            return f"could not resolve the host name '{settings.get('host') or target}' (check the DNS settings)"
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
            return f"connection refused by {target}: no server is listening there"
        if isinstance(e, TimeoutError) or getattr(e, "errno", None) == errno.ETIMEDOUT:
            return f"no answer from {target} within {timeout:g} s"
        if getattr(e, "errno", None) in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"{target} is unreachable (check the network settings and the address)"
        if isinstance(e, ssl.SSLError):
            return f"the secure connection (TLS) to {target} failed: {e.reason or e}"
        if isinstance(e, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return f"{target} closed the connection unexpectedly"
        if isinstance(e, PermissionError):
            return f"permission denied: {e.filename or target}"
    # Library exceptions whose message is already readable (httpx, aiosmtplib, asyncssh).
    text = str(exc).strip() or type(exc).__name__
    lower = text.lower()
    if "timed out" in lower or "timeout" in lower:
        return f"no answer from {target} within {timeout:g} s"
    if "connect call failed" in lower or "connection refused" in lower:
        return f"connection refused by {target}: no server is listening there"
    return f"delivery to {target} failed: {text}"


Transport = Callable[[dict[str, str], Message, float], Awaitable[None]]


async def deliver(recipient: Recipient, message: Message, timeout: float = 15.0) -> None:
    """Send `message` to `recipient`; RecipientError with a readable reason when it fails."""
    try:
        settings = validate(recipient.kind, recipient.settings)
    except RecipientError as exc:
        raise RecipientError(f"Recipient '{recipient.name}': {exc}") from None
    transport = _TRANSPORTS[recipient.kind]
    try:
        async with asyncio.timeout(timeout):
            await transport(settings, message, timeout)
    except RecipientError as exc:
        raise RecipientError(f"Recipient '{recipient.name}': {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - every failure becomes a RecipientError
        raise RecipientError(f"Recipient '{recipient.name}': {_explain(exc, settings, timeout)}") from exc


async def test_recipient(recipient: Recipient) -> None:
    """The Test button: send a short test message (a small text file for file recipients)."""
    now = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    body = f"This is a test message from Vigil for the recipient '{recipient.name}', sent {now}."
    attachment = None
    if recipient.kind in ("ftp", "sftp", "networkshare"):
        stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
        attachment = (f"vigil_test_{stamp}_{next(_sequence):04d}.txt", (body + "\n").encode())
    await deliver(recipient, Message("Vigil test message", body, attachment))


test_recipient.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name


# -- TLS -------------------------------------------------------------------------------------

@functools.cache
def _trusted_context() -> ssl.SSLContext:
    """Verifies the server against the system's CA certificates (loading them takes ~0.1 s: kept)."""
    return ssl.create_default_context()


@functools.cache
def _unverified_context() -> ssl.SSLContext:
    """'Validate server certificate' off: encrypted, but any certificate is accepted."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# -- HTTP / HTTPS ----------------------------------------------------------------------------

@functools.cache
def _auto_auth_class():  # noqa: ANN202 - built lazily so that httpx is imported only when needed
    import httpx

    class AutoAuth(httpx.Auth):
        """Answer the server's challenge: Digest when offered, else Basic."""

        def __init__(self, username: str, password: str) -> None:
            self._basic = httpx.BasicAuth(username, password)
            self._digest = httpx.DigestAuth(username, password)

        def auth_flow(self, request):  # noqa: ANN001, ANN202
            response = yield request
            if response.status_code != 401:
                return
            schemes = {h.split(" ", 1)[0].strip().lower()
                       for h in response.headers.get_list("www-authenticate")}
            if "digest" in schemes:
                flow = self._digest.auth_flow(request)
                next(flow)  # the unauthenticated request, already answered by `response`
                try:
                    retry = flow.send(response)
                except StopIteration:
                    return
                answer = yield retry
                with contextlib.suppress(StopIteration):
                    flow.send(answer)
            elif "basic" in schemes:
                yield next(self._basic.auth_flow(request))

    return AutoAuth


_HTTP_REASONS = {
    401: "the server refused the user name or password",
    403: "the server forbids this request (check the user's rights)",
    404: "the server has no such page (check the path in the URL)",
    405: "the server does not accept POST requests at this URL",
    407: "the proxy refused the proxy user name or password",
    413: "the server refused the upload as too large",
}


async def _send_http(settings: dict[str, str], message: Message, timeout: float) -> None:
    import httpx

    verify = _trusted_context() if settings.get("validate_cert", "yes") == "yes" else _unverified_context()
    auth: httpx.Auth | None = None
    if settings["username"]:
        user, pw = settings["username"], settings["password"]
        auth = {"basic": httpx.BasicAuth, "digest": httpx.DigestAuth}.get(settings["auth"], _auto_auth_class())(
            user, pw)
    proxy = None
    if settings["proxy"]:
        proxy_auth = (settings["proxy_username"], settings["proxy_password"]) if settings["proxy_username"] else None
        proxy = httpx.Proxy(settings["proxy"], auth=proxy_auth)
    kwargs: dict = {}
    if message.attachment is not None:
        name, data = message.attachment
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        kwargs["files"] = {"file": (_safe_name(name), bytes(data), mime)}
        kwargs["data"] = {"subject": message.subject, "message": message.body}
    else:
        kwargs["content"] = message.body.encode("utf-8")
        kwargs["headers"] = {"Content-Type": "text/plain; charset=utf-8"}
    async with httpx.AsyncClient(verify=verify, proxy=proxy, timeout=httpx.Timeout(timeout), trust_env=False,
                                 follow_redirects=False, headers={"User-Agent": USER_AGENT}) as client:
        response = await client.post(settings["url"], auth=auth, **kwargs)
    if not 200 <= response.status_code < 300:
        code = response.status_code
        if code == 401 and not settings["username"]:
            why = "the server requires a user name and password"
        elif 300 <= code < 400:
            why = f"the server redirects to {response.headers.get('location', 'another address')}; enter that URL"
        else:
            why = _HTTP_REASONS.get(code, "the server refused the notification")
        raise RecipientError(f"{why} (HTTP {code} {response.reason_phrase})")


# -- email -----------------------------------------------------------------------------------

async def _send_email(settings: dict[str, str], message: Message, timeout: float) -> None:
    import aiosmtplib

    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings["from"]
    mail["To"] = settings["to"]
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain=settings["from"].rpartition("@")[2].rstrip(">"))
    mail.set_content(message.body)
    if message.attachment is not None:
        name, data = message.attachment
        maintype, _, subtype = (mimetypes.guess_type(name)[0] or "application/octet-stream").partition("/")
        mail.add_attachment(bytes(data), maintype=maintype, subtype=subtype, filename=_safe_name(name))
    sender = parseaddr(settings["from"])[1]
    recipients = [parseaddr(a)[1] for a in settings["to"].split(",")]

    enc = settings["encryption"]
    validate_cert = settings["validate_cert"] == "yes"
    tls_context = None
    if enc != "none":
        tls_context = _trusted_context() if validate_cert else _unverified_context()
    smtp = aiosmtplib.SMTP(hostname=settings["host"], port=int(settings["port"]), timeout=timeout,
                           use_tls=enc == "ssl", start_tls=enc == "starttls", validate_certs=validate_cert,
                           tls_context=tls_context)
    try:
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError:
                await smtp.helo()
        if settings["username"]:
            if not smtp.supports_extension("auth"):
                hint = "" if enc != "none" else " (many servers offer it only with encryption)"
                raise RecipientError(f"the mail server does not offer login (SMTP AUTH){hint}")
            try:
                await smtp.login(settings["username"], settings["password"])
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise RecipientError(f"the mail server refused the user name or password ({exc.code} "
                                     f"{exc.message})") from exc
        try:
            errors, _ = await smtp.send_message(mail, sender=sender, recipients=recipients)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients)
            raise RecipientError(f"the mail server refused every recipient: {refused}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            reply = f"({exc.code} {exc.message})"
            if exc.code == 530 and "tls" in exc.message.lower():
                raise RecipientError(f"the mail server requires encryption: choose starttls {reply}") from exc
            if exc.code == 530:
                raise RecipientError(f"the mail server requires a login {reply}") from exc
            if isinstance(exc, aiosmtplib.SMTPSenderRefused):
                raise RecipientError(f"the mail server refused the sender {exc.sender} {reply}") from exc
            raise RecipientError(f"the mail server refused the message {reply}") from exc
        if errors:
            refused = ", ".join(f"{addr} ({r.code} {r.message})" for addr, r in errors.items())
            sent = ", ".join(a for a in recipients if a not in errors)
            raise RecipientError(f"the mail was sent to {sent}, but the mail server refused {refused}")
        with contextlib.suppress(Exception):
            await smtp.quit()
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError):
        raise  # explained by deliver() from the underlying OSError / timeout
    except aiosmtplib.SMTPServerDisconnected as exc:
        raise RecipientError(f"the mail server {_target(settings)} closed the connection ({exc})") from exc
    except aiosmtplib.SMTPException as exc:
        raise RecipientError(f"the mail server failed: {exc}") from exc
    finally:
        smtp.close()


# -- FTP -------------------------------------------------------------------------------------

async def _ftp_active_upload(client, name: str, data: bytes, timeout: float) -> None:  # noqa: ANN001
    """STOR over an active data connection: we listen, the server connects to us (EPRT/PORT)."""
    import aioftp

    await client.command("TYPE I", "200")
    local_ip = client.stream.writer.transport.get_extra_info("sockname")[0]
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if accepted.done():
            writer.close()
        else:
            accepted.set_result((reader, writer))

    server = await asyncio.start_server(on_connect, local_ip, 0)
    try:
        port = server.sockets[0].getsockname()[1]
        if ":" in local_ip:
            await client.command(f"EPRT |2|{local_ip}|{port}|", "200")
        else:
            await client.command(f"PORT {local_ip.replace('.', ',')},{port >> 8},{port & 0xFF}", "200")
        await client.command(f"STOR {name}", "1xx")
        reader, writer = await accepted
        stream = aioftp.DataConnectionThrottleStreamIO(client, reader, writer, throttles={"_": client.throttle},
                                                       timeout=timeout)
        await stream.write(data)
        await stream.finish()
    finally:
        server.close()
        if accepted.done() and not accepted.cancelled():
            accepted.result()[1].close()


def _ftp_reply(exc: BaseException) -> str:
    info = " ".join(line.strip() for line in getattr(exc, "info", []) if line.strip())
    codes = ",".join(str(c) for c in getattr(exc, "received_codes", ()))
    return f"{codes} {info}".strip()


async def _send_ftp(settings: dict[str, str], message: Message, timeout: float) -> None:
    import aioftp

    name, data = _file_for(message)
    temporary = settings["temporary_name"] == "yes"
    upload_name = _temp_name(name) if temporary else name
    client = aioftp.Client(socket_timeout=timeout, connection_timeout=timeout)
    stage = "connect"
    uploaded = False
    try:
        await client.connect(settings["host"], int(settings["port"]))
        stage = "login"
        await client.login(settings["username"], settings["password"])
        if settings["folder"]:
            stage = "folder"
            await client.change_directory(settings["folder"])
        stage = "upload"
        if settings["passive"] == "yes":
            stream = await client.upload_stream(upload_name)
            await stream.write(data)
            await stream.finish()
        else:
            await _ftp_active_upload(client, upload_name, data, timeout)
        uploaded = True
        if temporary:
            stage = "rename"
            try:
                await client.rename(upload_name, name)
            except aioftp.StatusCodeError:
                # Some servers refuse to rename onto an existing file: replace it, as STOR would.
                if not await client.exists(name):
                    raise
                await client.remove_file(name)
                await client.rename(upload_name, name)
        with contextlib.suppress(Exception):
            await client.quit()
    except aioftp.StatusCodeError as exc:
        reply = _ftp_reply(exc)
        if temporary and uploaded:
            with contextlib.suppress(Exception):
                await client.remove_file(upload_name)
        if stage == "login":
            raise RecipientError(f"the FTP server refused the user name or password ({reply})") from exc
        if stage == "folder":
            raise RecipientError(f"the folder '{settings['folder']}' does not exist on the FTP server or cannot "
                                 f"be opened ({reply})") from exc
        if stage == "rename":
            raise RecipientError(f"the FTP server could not rename the uploaded file to '{name}' ({reply})") from exc
        raise RecipientError(f"the FTP server refused the upload of '{name}' (permission denied or disk "
                             f"full?) ({reply})") from exc
    except ConnectionResetError as exc:
        if stage == "connect":
            raise
        raise RecipientError(f"the FTP server closed the connection during {stage}") from exc
    finally:
        client.close()


# -- SFTP ------------------------------------------------------------------------------------

def _host_key_algorithms(excluded: set[bytes]) -> list[str]:
    """Host key algorithms in the manual's order of preference: RSA, ECDSA, ED25519, then the rest."""
    from asyncssh.public_key import get_default_public_key_algs

    def rank(alg: bytes) -> int:
        name = alg.decode()
        for i, family in enumerate(("rsa", "ecdsa", "ed25519", "ed448")):
            if name.startswith(("ssh-" + family, family)):
                return i
        return 9

    algs = [a for a in get_default_public_key_algs() if a not in excluded]
    return [a.decode() for a in sorted(algs, key=rank)]


async def _sftp_connect(settings: dict[str, str], timeout: float):  # noqa: ANN202
    """Connect and log in, pinning the server's host key to the configured fingerprint.

    The key is checked before any password is sent. A server may have several host keys (RSA,
    ECDSA, ED25519) and the fingerprint may be of any of them: when the key offered does not
    match, the connection is tried again without that key type, until one matches or the server
    has no other key.
    """
    import asyncssh

    expected = settings["fingerprint"]
    algorithm = "md5" if expected.startswith("MD5:") else "sha256"
    seen: list[asyncssh.SSHKey] = []

    class Client(asyncssh.SSHClient):
        def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
            seen.append(key)
            return key.get_fingerprint(algorithm) == expected

    excluded: set[bytes] = set()
    for _ in range(4):
        algs = _host_key_algorithms(excluded)
        try:
            return await asyncssh.connect(
                settings["host"], int(settings["port"]), username=settings["username"],
                password=settings["password"] or None, known_hosts=lambda h, a, p: ([], [], []),
                client_factory=Client, client_keys=None, agent_path=None, config=[],
                server_host_key_algs=algs, preferred_auth="password,keyboard-interactive",
                connect_timeout=timeout, login_timeout=timeout, keepalive_interval=0)
        except asyncssh.HostKeyNotVerifiable as exc:
            if not seen:
                raise RecipientError(f"the server's SSH host key could not be verified: {exc.reason}") from exc
            excluded.update(seen[-1].sig_algorithms)
        except asyncssh.KeyExchangeFailed as exc:
            if not seen:
                raise RecipientError(f"the SSH connection to {_target(settings)} failed: {exc.reason}") from exc
            break  # the server has no other host key
        except asyncssh.PermissionDenied as exc:
            raise RecipientError("the SFTP server refused the user name or password") from exc
        except asyncssh.DisconnectError as exc:
            raise RecipientError(f"the SSH connection to {_target(settings)} failed: {exc.reason}") from exc
    offered = "; ".join(f"{k.get_algorithm()} {k.get_fingerprint('sha256')} ({k.get_fingerprint('md5')})"
                        for k in dict.fromkeys(seen))
    raise RecipientError(
        f"the server's SSH host key does not match the fingerprint entered, so the connection was refused: "
        f"expected {expected}, the server offered {offered}. If the server's key was changed on purpose, "
        f"enter the new fingerprint")


async def _send_sftp(settings: dict[str, str], message: Message, timeout: float) -> None:
    import asyncssh

    name, data = _file_for(message)
    folder = settings["folder"]
    final = posixpath.join(folder, name) if folder else name
    temporary = settings["temporary_name"] == "yes"
    upload = posixpath.join(folder, _temp_name(name)) if (folder and temporary) else (
        _temp_name(name) if temporary else final)
    conn = await _sftp_connect(settings, timeout)
    # No `async with` here: their exits wait for the server, which must not happen on a timeout.
    try:
        sftp = await conn.start_sftp_client()
        if folder and not await sftp.isdir(folder):
            raise RecipientError(f"the folder '{folder}' does not exist on the SFTP server")
        try:
            remote = await sftp.open(upload, "wb")
            await remote.write(data)
            await remote.close()
            if temporary:
                try:
                    await sftp.posix_rename(upload, final)
                except asyncssh.SFTPOpUnsupported:
                    if await sftp.exists(final):
                        await sftp.remove(final)
                    await sftp.rename(upload, final)
        except Exception:
            if temporary:
                with contextlib.suppress(Exception):
                    await sftp.remove(upload)
            raise
        sftp.exit()
        await sftp.wait_closed()
    except BaseException as exc:
        conn.abort()
        if isinstance(exc, asyncssh.SFTPPermissionDenied):
            raise RecipientError(f"the SFTP server denied writing '{final}' (permission denied)") from exc
        if isinstance(exc, asyncssh.SFTPNoSuchFile):
            raise RecipientError(f"the folder '{folder or '.'}' does not exist on the SFTP server") from exc
        if isinstance(exc, asyncssh.SFTPError):
            raise RecipientError(f"the SFTP server refused the upload of '{name}': {exc.reason}") from exc
        if isinstance(exc, asyncssh.ChannelOpenError):
            raise RecipientError(f"the server does not offer SFTP: {exc.reason}") from exc
        raise
    conn.close()
    await conn.wait_closed()


# -- TCP -------------------------------------------------------------------------------------

async def _send_tcp(settings: dict[str, str], message: Message, timeout: float) -> None:
    _, writer = await asyncio.open_connection(settings["host"], int(settings["port"]))
    try:
        writer.write(message.body.encode("utf-8"))
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except BaseException:
        writer.transport.abort()  # close() would wait for unsent data: never on a stuck peer
        raise
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


# -- network share (a mounted folder) --------------------------------------------------------

def _write_share(settings: dict[str, str], name: str, data: bytes) -> None:

    base = Path(settings["path"])
    if not base.is_dir():
        raise RecipientError(f"the folder {base} does not exist (is the network share mounted?)")
    folder = base / settings["folder"] if settings["folder"] else base
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except PermissionError as exc:
        raise RecipientError(f"permission denied creating the folder {folder}") from exc
    if not folder.is_dir():
        raise RecipientError(f"{folder} is not a folder")
    tmp = folder / _temp_name(name)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, folder / name)
        fsync_dir(folder)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, PermissionError):
            raise RecipientError(f"permission denied writing to {folder}") from exc
        if exc.errno == errno.ENOSPC:
            raise RecipientError(f"no space left on the share {base}") from exc
        raise RecipientError(f"could not write {folder / name}: {exc.strerror or exc}") from exc


async def _send_share(settings: dict[str, str], message: Message, timeout: float) -> None:
    name, data = _file_for(message)
    await asyncio.to_thread(_write_share, settings, name, data)


_TRANSPORTS: dict[str, Transport] = {
    "http": _send_http,
    "https": _send_http,
    "email": _send_email,
    "ftp": _send_ftp,
    "sftp": _send_sftp,
    "tcp": _send_tcp,
    "networkshare": _send_share,
}
