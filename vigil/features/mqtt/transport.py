"""How the client reaches the broker: TLS contexts, certificates, HTTP proxies, and what a
failed connection attempt means in words a user can act on (DNS, refused, auth, TLS...)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vigil.features.certificates.service import CertificateNotFound, Keystore


class ConnectFailure(Exception):
    """A failed connection attempt: `reason` is one of dns, refused, timeout, auth, tls,
    websocket, proxy, network, broker, config."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def resolve_certificate(ident: str, keystore: Keystore) -> Path:
    """A file with the CA certificate `ident` of the keystore (vigil/features/certificates)."""
    try:
        return keystore.ca_file(ident)
    except CertificateNotFound as err:
        raise ConnectFailure("config", str(err)) from None


def check_client_certificate(ident: str, keystore: Keystore) -> None:
    """ConnectFailure unless the keystore has the client certificate `ident` with its key."""
    try:
        keystore.certificate(ident)
    except CertificateNotFound as err:
        raise ConnectFailure("config", str(err)) from None


def tls_context(ssl_config: Mapping[str, Any], alpn: str, keystore: Keystore) -> ssl.SSLContext:
    """The TLS context for ssl and wss: server validation against the given CA (or the system's
    trust store), an optional client certificate, an optional ALPN protocol."""
    try:
        if ssl_config.get("validateServerCert", True):
            ca = ssl_config.get("CACertID") or ""
            context = ssl.create_default_context(cadata=keystore.ca_bundle([ca]) if ca else None)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        client = ssl_config.get("clientCertID") or ""
        if client:
            keystore.load_certificate(context, client)
        if alpn:
            context.set_alpn_protocols([alpn])
    except CertificateNotFound as err:
        raise ConnectFailure("config", str(err)) from None
    except (ssl.SSLError, OSError, ValueError) as err:
        raise ConnectFailure("config", f"TLS setup failed: {err}") from None
    return context


def proxy_for(config: Mapping[str, Any]) -> str:
    """The proxy URL the configured protocol goes through ('' for none): httpsProxy for ssl and
    wss, httpProxy for tcp and ws."""
    secure = config["server"]["protocol"] in ("ssl", "wss")
    return (config.get("httpsProxy") if secure else config.get("httpProxy")) or ""


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
