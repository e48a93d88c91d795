"""Delivery to one syslog server over UDP, TCP or TLS, without ever holding up the device.

A `Sender` takes entries from the log path (`offer`, which only queues) and writes them from
its own task. As the device documents, nothing is kept for a server that is down: while it
cannot be reached, entries for it are dropped and counted, and the sender tries again with a
growing pause. While it is reachable the queue is bounded (`MAX_QUEUE`); a flood beyond what
the server takes is dropped and counted too. Every state change is written to the system log
once, with what went wrong in words a user can act on.

`send_once` is the "Test server setup" of settings not saved yet: one connection, the test
messages, and whether that worked.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
from collections import deque
from collections.abc import Callable
from typing import cast

from vigil.core.logs import LogEntry, Logs
from vigil.features.certificates.service import CertificateNotFound, Keystore
from vigil.features.syslog.config import ServerConfig
from vigil.features.syslog.const import BACKOFF_MAX, BACKOFF_MIN, BATCH, CONNECT_TIMEOUT, MAX_QUEUE
from vigil.features.syslog.formats import formatter, octet_counted

CONNECTING, CONNECTED, DOWN = "connecting", "connected", "down"


class Unreachable(Exception):
    """A server that cannot be reached now; `str()` says why, for the user."""


def tls_context(ca_ids: list[str], keystore: Keystore) -> ssl.SSLContext:
    """Verifies a TLS server against the chosen CA certificates of the keystore, or, with none chosen,
    against the system's trusted CAs; TLS 1.2 at least. Unreachable when a CA cannot be used."""
    try:
        if not ca_ids:
            context = ssl.create_default_context()
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
            for ident in ca_ids:
                try:
                    context.load_verify_locations(cadata=keystore.ca_bundle([ident]))
                except (ssl.SSLError, ValueError) as err:
                    raise Unreachable(f"the CA certificate {ident!r} cannot be used: {err}") from None
    except CertificateNotFound as err:
        raise Unreachable(f"TLS setup failed: {err}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def describe(err: BaseException, config: ServerConfig) -> str:
    """Why `config`'s server could not be reached, in words a user can act on."""
    where = f"{config.where} ({config.protocol})"
    if isinstance(err, Unreachable):
        return str(err)
    if isinstance(err, socket.gaierror):
        return f"cannot resolve the host name {config.address!r}: {err.strerror}"
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"the TLS server {where} is not trusted: {err.verify_message or err.reason}"
    if isinstance(err, ssl.SSLError):
        return f"TLS handshake with {where} failed: {err.reason or err}"
    if isinstance(err, ConnectionRefusedError):
        return f"{where} refused the connection (nothing listens there?)"
    if isinstance(err, TimeoutError):
        return f"no answer from {where} within {CONNECT_TIMEOUT:g} s"
    if isinstance(err, ConnectionError):
        return f"the connection to {where} was lost: {err.strerror or type(err).__name__}"
    if isinstance(err, OSError):
        reason = err.strerror or errno.errorcode.get(err.errno or 0, "") or str(err)
        return f"cannot reach {where}: {reason}"
    return f"cannot reach {where}: {err or type(err).__name__}"


class _Link(asyncio.Protocol, asyncio.DatagramProtocol):
    """One connection (or UDP socket): whether it is still there and can take more."""

    def __init__(self, wake: asyncio.Event, udp: bool) -> None:
        self.wake = wake
        self.udp = udp
        self.stream: asyncio.WriteTransport | None = None  # TCP and TLS
        self.datagrams: asyncio.DatagramTransport | None = None  # UDP
        self.closed = False
        self.reason: BaseException | None = None  # why it closed; None: closed cleanly
        self.writable = True
        self.icmp_error: OSError | None = None  # UDP: the last error the network sent back

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (asyncio's UDP transport is not a DatagramTransport subclass on every Python: no isinstance)
        if self.udp:
            self.datagrams = cast(asyncio.DatagramTransport, transport)
        else:
            self.stream = cast(asyncio.WriteTransport, transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        self.reason = exc
        self.wake.set()

    def pause_writing(self) -> None:
        self.writable = False

    def resume_writing(self) -> None:
        self.writable = True
        self.wake.set()

    def data_received(self, data: bytes) -> None:
        pass  # a syslog server says nothing; whatever it says is ignored

    def eof_received(self) -> bool:
        return False  # the server closed its side: close ours (connection_lost follows)

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        pass

    def error_received(self, exc: Exception) -> None:
        self.icmp_error = exc if isinstance(exc, OSError) else OSError(str(exc))
        self.wake.set()

    def abort(self) -> None:
        for transport in (self.stream, self.datagrams):
            if transport is not None:
                transport.abort()


async def connect(config: ServerConfig, context: Callable[[], ssl.SSLContext] | None,
                  wake: asyncio.Event) -> _Link:
    """A link to the server: a UDP socket bound to it, or a TCP connection (TLS verified)."""
    loop = asyncio.get_running_loop()
    link = _Link(wake, config.protocol == "UDP")
    if link.udp:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await loop.create_datagram_endpoint(lambda: link, remote_addr=(config.address, config.port))
        return link
    tls = context() if config.protocol == "TLS" and context is not None else None
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation (a device
    # stopping) when the connection completes at the same moment.
    async with asyncio.timeout(CONNECT_TIMEOUT):
        await loop.create_connection(lambda: link, config.address, config.port, ssl=tls,
                                     server_hostname=config.address if tls else None,
                                     ssl_handshake_timeout=CONNECT_TIMEOUT if tls else None)
    return link


class Sender:
    """Sends the entries offered to it to one server, from its own task (`run`)."""

    def __init__(self, config: ServerConfig, host: str, logs: Logs,
                 context: Callable[[], ssl.SSLContext] | None = None,
                 backoff: tuple[float, float] = (BACKOFF_MIN, BACKOFF_MAX)) -> None:
        self.config = config
        self.logs = logs
        self.context = context  # makes the TLS context; None for UDP and TCP
        self.backoff = backoff
        self.format = formatter(config.format, host)
        self.threshold = config.threshold
        self.audit_only = config.type == "Audit"
        self.queue: deque[LogEntry] = deque()
        self.wake = asyncio.Event()
        self.state = CONNECTING
        self.sent = 0  # messages handed to the network
        self.dropped = 0  # messages not sent: the server was down, or the queue full
        self.last_error = ""
        self._dropped_at_down = 0

    def offer(self, entry: LogEntry) -> None:
        """Queue `entry` (event loop thread only); never waits: dropped, and counted, when the
        server is down or the queue full."""
        if self.state == DOWN or len(self.queue) >= MAX_QUEUE:
            self.dropped += 1
            return
        self.queue.append(entry)
        self.wake.set()

    async def run(self) -> None:
        pause = self.backoff[0]
        while True:
            try:
                link = await connect(self.config, self.context, self.wake)
            except (OSError, ssl.SSLError, TimeoutError, Unreachable) as err:
                self._went_down(describe(err, self.config))
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.backoff[1])
                continue
            pause = self.backoff[0]
            self._came_up()
            try:
                await self._pump(link)
            except (OSError, ssl.SSLError) as err:
                self._lost(describe(err, self.config))
            finally:
                link.abort()

    async def _pump(self, link: _Link) -> None:
        queue, make = self.queue, self.format
        while True:
            if link.closed:
                raise link.reason if isinstance(link.reason, OSError) else ConnectionResetError(
                    errno.ECONNRESET, "closed by the server")
            if link.icmp_error is not None:  # UDP: the server's host answered "port unreachable" or the like
                self.last_error = describe(link.icmp_error, self.config)
                link.icmp_error = None
            if queue and link.writable:
                count = min(len(queue), BATCH)
                if link.stream is not None:
                    link.stream.write(b"".join(octet_counted(make(queue.popleft())) for _ in range(count)))
                elif link.datagrams is not None:
                    for _ in range(count):
                        link.datagrams.sendto(make(queue.popleft()))
                self.sent += count
                await asyncio.sleep(0)  # a long queue does not hold the device's event loop
                continue
            self.wake.clear()
            await self.wake.wait()

    # -- state changes, each logged once --------------------------------------------------------
    def _came_up(self) -> None:
        was = self.state
        self.state = CONNECTED
        where = f"{self.config.where} over {self.config.protocol}"
        if was == DOWN:
            lost = self.dropped - self._dropped_at_down
            self.logs.system(f"remote syslog: {where} reachable again; {lost} messages were dropped while it "
                             "was not", "notice", "syslog")
        else:
            self.logs.system(f"remote syslog: sending to {where}", "info", "syslog")

    def _went_down(self, reason: str) -> None:
        self.last_error = reason
        self.dropped += len(self.queue)
        self.queue.clear()
        if self.state != DOWN:
            self.state = DOWN
            self._dropped_at_down = self.dropped
            self.logs.system(f"remote syslog: {reason}; messages for it are dropped until it can be reached",
                             "warning", "syslog")

    def _lost(self, reason: str) -> None:
        """The connection broke: try again at once; the queue waits for that one attempt."""
        self.last_error = reason
        self.state = CONNECTING
        self.logs.system(f"remote syslog: {reason}; reconnecting", "warning", "syslog")

    def status(self) -> dict[str, object]:
        return {"address": self.config.address, "port": self.config.port, "protocol": self.config.protocol,
                "state": self.state, "sent": self.sent, "dropped": self.dropped, "queued": len(self.queue),
                "lastError": self.last_error}


async def send_once(config: ServerConfig, host: str, entries: list[LogEntry],
                    context: Callable[[], ssl.SSLContext] | None) -> str:
    """Send `entries` over one new connection; "" when that worked, else why not. UDP confirms
    nothing: an error is reported only if the network sends one back promptly."""
    wake = asyncio.Event()
    try:
        link = await connect(config, context, wake)
    except (OSError, ssl.SSLError, TimeoutError, Unreachable) as err:
        return describe(err, config)
    make = formatter(config.format, host)
    try:
        if link.datagrams is not None:
            for entry in entries:
                link.datagrams.sendto(make(entry))
            with contextlib.suppress(TimeoutError):  # an ICMP error comes back within milliseconds
                async with asyncio.timeout(0.5):
                    await wake.wait()
            return describe(link.icmp_error, config) if link.icmp_error else ""
        assert link.stream is not None
        link.stream.write(b"".join(octet_counted(make(e)) for e in entries))
        link.stream.close()  # flushes what is written, then closes
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await wake.wait()
        return describe(link.reason, config) if link.reason is not None else ""
    finally:
        link.abort()
