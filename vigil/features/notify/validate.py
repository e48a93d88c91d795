"""Recipient settings: what each kind of recipient needs, checked and normalised.

Settings are strings (they come from the VAPIX action service and the web UI). `validate()`
checks them, fills in defaults and returns them normalised; booleans become "yes"/"no". Unknown
keys are refused so that a typo does not silently drop a setting. Values may not contain control
characters (that would allow command injection into FTP or SMTP). Every refusal is a
`RecipientError` whose text starts with the setting's name.

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

sip
    uri*            the SIP address to call: sip:user@host[:port]; VMS_CALL: a VMS call (the manual's
                    "SIP or VMS": a call simulated with the device's events, see vigil.features.sip.vms)
    account         the SIP account the call is made from; empty: the default account
    The call is placed by the SIP feature (vigil.features.sip); it is delivered once the far end
    rings or answers. The subject, body and any attachment are not sent.

networkshare        an SMB share (the VAPIX layer fills these in from a network share configured
                    under System > Storage, see vigil.features.notify.settings)
    address*        host or host:port of the SMB server (port 445 when not given)
    share*          the shared folder's name on the server
    username, password
    version = auto  the SMB version: auto | 2.1 | 3.0 | 3.02 | 3.1.1
    folder          a folder below the share, created when missing: relative, without '..'
    The file is written under a temporary name, checked by size and renamed.

For ftp, sftp and networkshare a message without attachment is stored as a text file
"notification_<UTC time>_<sequence>.txt" holding the subject, an empty line and the body.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from email.utils import formataddr, parseaddr
from pathlib import PurePosixPath

from vigil.features.notify.model import KINDS, RecipientError
from vigil.features.storage.network import VERSIONS as SMB_VERSIONS

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
    "sip": {"account": "", "uri": _REQUIRED},
    "networkshare": {"address": _REQUIRED, "share": _REQUIRED, "username": "", "password": "", "version": "auto",
                     "folder": ""},
}
_LABELS = {
    "url": "URL", "host": "host", "port": "port", "from": "sender address (from)",
    "to": "recipient addresses (to)", "fingerprint": "SSH host key fingerprint", "share": "share",
    "username": "user name",
}
_TRUE = {"yes", "true", "on", "1"}
_FALSE = {"no", "false", "off", "0"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_LOCAL_PART = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+")
_MD5 = re.compile(r"[0-9a-f]{32}|[0-9a-f]{2}(?::[0-9a-f]{2}){15}")
_SHA256 = re.compile(r"[A-Za-z0-9+/]{43}=?")
_DIGITS = re.compile(r"[0-9]+")
_SIP_USER = re.compile(r"[A-Za-z0-9_.!~*'()&=+$,;?/%-]{1,64}")
_SIP_ACCOUNT = re.compile(r"[a-z0-9_-]{1,32}")
_SMB_FORBIDDEN = set('\\:*?"<>|')  # not allowed in SMB names


def shorten(value: str, limit: int = 40) -> str:
    """A value quoted back to the user, cut short: the reply never echoes a huge input."""
    return value if len(value) <= limit else value[:limit] + "…"


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
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        raise _bad(key, f"'{shorten(text)}' is not a number; enter a port between 1 and 65535")
    port = int(text) if len(text) <= 5 else 0  # never int() of thousands of digits
    if not 1 <= port <= 65535:
        raise _bad(key, f"{shorten(text)} is out of range; enter a port between 1 and 65535")
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
    import httpx  # deliberately here: loaded when an HTTP recipient is first checked

    value = value.strip()
    try:
        url = httpx.URL(value)
    except Exception:  # noqa: BLE001 - httpx raises several types for a bad URL
        raise _bad("url", f"'{shorten(value)}' is not a valid URL") from None
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


def _check_share_folder(key: str, value: str) -> str:
    """A folder below a share: relative, never leaving it (no '..', no absolute path)."""
    value = value.strip().replace("\\", "/")
    if value.startswith("/"):
        raise _bad(key, f"'{shorten(value)}' is an absolute path: give a folder below the share, such as events/door")
    parts = [p for p in PurePosixPath(value).parts if p != "."] if value else []
    if any(p == ".." for p in parts):
        raise _bad(key, "'..' is not allowed: the folder must stay inside the share")
    if any(c in _SMB_FORBIDDEN for p in parts for c in p):
        raise _bad(key, 'the characters \\ : * ? " < > | are not allowed in a folder name on a network share')
    return "/".join(parts)


def _check_share_name(key: str, value: str) -> str:
    value = value.strip()
    if len(value) > 80 or any(c in _SMB_FORBIDDEN or c == "/" for c in value):
        raise _bad(key, "the name of the shared folder on the server, without slashes")
    return value


def _check_smb_address(key: str, value: str) -> str:
    """host or host:port, as a network share's address is written."""
    value = value.strip()
    host, sep, port = value.rpartition(":")
    if sep and ":" not in host:
        return f"{_check_host(key, host)}:{_check_port(key, port)}"
    return _check_host(key, value)


def _check_sip_uri(key: str, value: str) -> str:
    """sip:user@host[:port], as the SIP feature calls it; VMS_CALL: a VMS call (VAPIX's address for it)."""
    value = value.strip()
    if value == "VMS_CALL":
        return value
    user, at, hostport = value[4:].partition("@") if value.lower().startswith("sip:") else ("", "", "")
    host, _, port = hostport.partition(":")
    if not at or not _SIP_USER.fullmatch(user):
        raise _bad(key, f"'{shorten(value)}' is not a SIP address such as sip:user@192.168.0.10 or sip:user@host:5062, nor VMS_CALL")
    host = _check_host(key, host)
    return f"sip:{user}@{host}" + (f":{_check_port(key, port)}" if port else "")


def validate(kind: str, settings: Mapping[str, str]) -> dict[str, str]:
    """The settings of a recipient of `kind`, checked and normalised, with defaults filled in."""
    if kind not in _SPEC:
        raise RecipientError(f"type: '{kind}' is not a recipient type; choose one of {', '.join(KINDS)}")
    spec = _SPEC[kind]
    given = {str(k): "" if v is None else str(v) for k, v in dict(settings).items()}
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
    elif kind == "sip":
        out["uri"] = _check_sip_uri("uri", out["uri"])
        out["account"] = out["account"].strip()
        if out["account"] and not _SIP_ACCOUNT.fullmatch(out["account"]):
            raise _bad("account", f"'{shorten(out['account'])}' is not a SIP account id")
    elif kind == "networkshare":
        out["address"] = _check_smb_address("address", out["address"])
        out["share"] = _check_share_name("share", out["share"])
        version = out["version"].strip()
        if version not in SMB_VERSIONS:
            raise _bad("version", f"'{shorten(version)}' is not one of {', '.join(SMB_VERSIONS)}")
        out["version"] = version
        out["folder"] = _check_share_folder("folder", out["folder"])
    return out
