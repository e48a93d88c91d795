"""Outbound connections through the device's global HTTP and HTTPS proxies (System > Network >
Global proxies): which proxy, if any, a connection to a host takes, and the HTTP CONNECT tunnel
that carries any TCP protocol through one.

The network feature owns the settings and registers a `ProxySource` under `PROXIES`; every
outbound client (notification recipients, the MQTT client) asks it for the `Proxies` in force
when it opens a connection, so that a change applies to the next connection. The rule, as with
the usual `http_proxy`/`https_proxy`/`no_proxy` variables: a secure connection (HTTPS, TLS, SSH)
takes the HTTPS proxy, a clear one the HTTP proxy, and a host the no-proxy list names goes direct.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

from vigil.core.registry import Key


@dataclass(frozen=True)
class Proxy:
    """One proxy: `url` is scheme://[user@]host:port, never with a password; the password is apart."""

    url: str
    password: str = ""

    @property
    def parts(self):  # noqa: ANN201 - urllib's SplitResult
        return urlsplit(self.url)

    @property
    def username(self) -> str:
        return unquote(self.parts.username or "")

    @property
    def address(self) -> tuple[str, int]:
        parts = self.parts
        return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def endpoint(self) -> str:
        """scheme://host:port, without the user (for clients that take the credentials apart)."""
        host, port = self.address
        return f"{self.parts.scheme}://{f'[{host}]' if ':' in host else host}:{port}"

    def with_credentials(self) -> str:
        """The URL with user and password in it, for clients that take them so (in memory only)."""
        if not self.username:
            return self.url
        host, port = self.address
        shown_host = f"[{host}]" if ":" in host else host
        secret = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
        return f"{self.parts.scheme}://{secret}@{shown_host}:{port}"


@dataclass(frozen=True)
class Proxies:
    http: Proxy | None = None
    https: Proxy | None = None
    no_proxy: tuple[str, ...] = ()

    def bypassed(self, host: str) -> bool:
        """Whether `host` is on the no-proxy list: an address, a network in CIDR form, a name, or
        `.domain` for every name under it (and the domain itself)."""
        name = host.strip("[]").rstrip(".").lower()
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            address = None
        for entry in self.no_proxy:
            if address is not None and "/" in entry:
                with contextlib.suppress(ValueError):
                    if address in ipaddress.ip_network(entry, strict=False):
                        return True
                continue
            entry = entry.lower().rstrip(".")
            if entry.startswith("."):
                if name == entry[1:] or name.endswith(entry):
                    return True
            elif name == entry:
                return True
        return False

    def for_host(self, host: str, secure: bool) -> Proxy | None:
        """The proxy a connection to `host` takes: the HTTPS proxy for a secure protocol, the
        HTTP proxy for a clear one, none for a host on the no-proxy list."""
        proxy = self.https if secure else self.http
        if proxy is None or self.bypassed(host):
            return None
        return proxy

    def for_url(self, url: str) -> Proxy | None:
        parts = urlsplit(url)
        return self.for_host(parts.hostname or "", parts.scheme in ("https", "wss"))


NO_PROXIES = Proxies()


class ProxySource(Protocol):
    """What outbound clients ask for; the network feature implements it."""

    def proxies(self) -> Proxies: ...


PROXIES: Key[ProxySource] = Key("proxies")


def proxies_of(source: ProxySource | None) -> Proxies:
    return source.proxies() if source is not None else NO_PROXIES


# -- the CONNECT tunnel ------------------------------------------------------------------------
class ProxyError(OSError):
    """The proxy could not be reached or refused the tunnel; the text names the proxy."""


def tunnel(proxy_url: str, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to host:port through an HTTP proxy (CONNECT), with Basic proxy
    authentication when the URL carries a user. Blocking: call it from a thread."""
    parts = urlsplit(proxy_url if "://" in proxy_url else "http://" + proxy_url)
    proxy_host = parts.hostname or ""
    proxy_port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        sock = socket.create_connection((proxy_host, proxy_port), timeout=timeout)
    except OSError as err:
        raise ProxyError(f"the proxy {proxy_host}:{proxy_port} is unreachable: {err.strerror or err}") from None
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
                raise ProxyError("the proxy closed the connection during CONNECT")
            reply += chunk
            if len(reply) > 16384:
                raise ProxyError("the proxy sent an oversized reply to CONNECT")
        status = reply.split(b"\r\n", 1)[0].decode("latin-1")
        fields = status.split(" ", 2)
        if len(fields) < 2 or fields[1] != "200":
            if len(fields) >= 2 and fields[1] in ("401", "407"):  # some proxies (tinyproxy) answer 401
                raise ProxyError(f"the proxy refused the proxy user name or password ({status})")
            raise ProxyError(f"the proxy refused to connect to {target} ({status})")
    except BaseException:
        sock.close()
        raise
    return sock


async def open_tunnel(proxy: Proxy, host: str, port: int, timeout: float) -> socket.socket:
    """`tunnel` for asyncio clients: a connected, non-blocking socket to host:port through
    `proxy`. If the caller is cancelled while the thread still connects, the socket it then
    gets is closed, not leaked."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, tunnel, proxy.with_credentials(), host, port, timeout)
    try:
        sock = await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(lambda f: f.cancelled() or f.exception() or f.result().close())
        raise
    sock.setblocking(False)
    return sock
