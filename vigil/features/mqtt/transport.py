"""How the client reaches the broker: TLS contexts, certificates, HTTP proxies, and what a
failed connection attempt means in words a user can act on (DNS, refused, auth, TLS...)."""

from __future__ import annotations

import base64
import errno
import socket
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from vigil.core.certstore import CertificateNotFound, certificate_file


class ConnectFailure(Exception):
    """A failed connection attempt: `reason` is one of dns, refused, timeout, auth, tls,
    websocket, proxy, network, broker, config."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def resolve_certificate(ident: str, data: Path) -> Path:
    """A certificate of the device's certificate store by its id (vigil/core/certstore.py)."""
    try:
        return certificate_file(ident, data)
    except CertificateNotFound as err:
        raise ConnectFailure("config", str(err)) from None


def tls_context(ssl_config: Mapping[str, Any], alpn: str, data: Path) -> ssl.SSLContext:
    """The TLS context for ssl and wss: server validation against the given CA (or the system's
    trust store), an optional client certificate, an optional ALPN protocol."""
    try:
        if ssl_config.get("validateServerCert", True):
            ca = ssl_config.get("CACertID") or ""
            context = ssl.create_default_context(cafile=str(resolve_certificate(ca, data)) if ca else None)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        client = ssl_config.get("clientCertID") or ""
        if client:
            # One PEM holding the certificate and its key, or <id>.pem beside <id>.key.
            cert = resolve_certificate(client, data)
            key = cert.with_suffix(".key")
            context.load_cert_chain(str(cert), str(key) if key.is_file() else None)
        if alpn:
            context.set_alpn_protocols([alpn])
    except (ssl.SSLError, OSError, ValueError) as err:
        raise ConnectFailure("config", f"TLS setup failed: {err}") from None
    return context


def proxy_for(config: Mapping[str, Any]) -> str:
    """The proxy URL the configured protocol goes through ('' for none): httpsProxy for ssl and
    wss, httpProxy for tcp and ws."""
    secure = config["server"]["protocol"] in ("ssl", "wss")
    return (config.get("httpsProxy") if secure else config.get("httpProxy")) or ""


def tunnel(proxy_url: str, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to host:port through an HTTP proxy (CONNECT). Blocking: runs in the
    executor thread that connects the client."""
    parts = urlsplit(proxy_url if "://" in proxy_url else "http://" + proxy_url)
    proxy_host = parts.hostname or ""
    proxy_port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        sock = socket.create_connection((proxy_host, proxy_port), timeout=timeout)
    except OSError as err:
        raise OSError(err.errno, f"proxy {proxy_host}:{proxy_port} unreachable: {err.strerror or err}") from None
    try:
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        if parts.username is not None:
            user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            lines.append("Proxy-Authorization: Basic " + base64.b64encode(user.encode()).decode())
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(1)  # byte by byte: nothing past the header may be consumed
            if not chunk:
                raise OSError(errno.ECONNRESET, "proxy closed the connection during CONNECT")
            reply += chunk
            if len(reply) > 16384:
                raise OSError(errno.EPROTO, "proxy sent an oversized reply to CONNECT")
        status = reply.split(b"\r\n", 1)[0].decode("latin-1")
        fields = status.split(" ", 2)
        if len(fields) < 2 or fields[1] != "200":
            raise OSError(errno.ECONNREFUSED, f"proxy refused CONNECT to {target}: {status}")
    except BaseException:
        sock.close()
        raise
    return sock


_DNS = ("name or service not known", "temporary failure in name resolution", "nodename nor servname",
        "no address associated", "name resolution")


def classify(err: BaseException, host: str, port: int) -> ConnectFailure:
    """A user-facing reason for a failed connection attempt."""
    from aiomqtt.exceptions import MqttCodeError, MqttConnectError

    if isinstance(err, ConnectFailure):
        return err
    if isinstance(err, MqttConnectError):
        rc = err.rc
        value = getattr(rc, "value", rc)
        if value in (4, 5, 134, 135):
            return ConnectFailure("auth", f"The broker refused the credentials: {rc}")
        return ConnectFailure("broker", f"The broker refused the connection: {rc}")
    text = str(err)
    low = text.lower()
    where = f"{host}:{port}"
    if "proxy" in low:
        return ConnectFailure("proxy", text)
    if any(s in low for s in _DNS):
        return ConnectFailure("dns", f"Cannot resolve the broker host {host!r}: {text}")
    if "certificate" in low or "ssl" in low or "tls" in low or "wrong version number" in low:
        return ConnectFailure("tls", f"TLS handshake with {where} failed: {text}")
    if "websocket" in low:
        return ConnectFailure("websocket", f"WebSocket handshake with {where} failed: {text}")
    if "connection refused" in low:
        return ConnectFailure("refused", f"Connection to {where} refused (no broker listening there?)")
    if "timed out" in low or isinstance(err, TimeoutError):
        return ConnectFailure("timeout", f"No answer from {where} in time")
    if isinstance(err, MqttCodeError):
        return ConnectFailure("network", f"Connection to {where} failed: {text}")
    return ConnectFailure("network", f"Connection to {where} failed: {text or type(err).__name__}")
