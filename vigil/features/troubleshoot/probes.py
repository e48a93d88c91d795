"""Ping and port check from the device: can it reach a host, and does a TCP or UDP port there
answer? The system's `ping` sends the echo requests (it holds the privilege ICMP needs); the port
check is a connection attempt with a timeout. Each gives a verdict line first (what clients of
pingtest.cgi and tcptest.cgi match on) and then the details a user reads.

Neither goes through a shell: the host is checked to be a host name or an IP address and passed
as one argument after `--`, so that no value becomes an option or a command.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import time
from dataclasses import dataclass

from vigil.core import checks
from vigil.features.troubleshoot.const import (
    PING_COUNT,
    PING_DEADLINE,
    PING_INTERVAL,
    PING_REACHED,
    PING_UNREACHED,
    PORT_FAILED,
    PORT_OPEN,
    PORT_TIMEOUT,
    UDP_WAIT,
)

PROTOCOLS = ("tcp", "udp")


class BadTarget(ValueError):
    """A host or port that cannot be tried; `str()` is the text the user sees."""


@dataclass(frozen=True)
class Result:
    ok: bool
    text: str  # the verdict line, then details


def check_host(host: str | None) -> str:
    if not host:
        raise BadTarget("give the host name or IP address to try")
    if len(host) > 253 or checks.host_or_address(host):
        raise BadTarget("not a host name nor an IP address")
    return host


def check_port(port: str | None) -> int:
    if not port:
        raise BadTarget("give the port to check")
    if not port.isascii() or not port.isdigit() or len(port) > 5 or not 1 <= int(port) <= 65535:
        raise BadTarget("the port is a number from 1 to 65535")
    return int(port)


async def ping(host: str) -> Result:
    """PING_COUNT echo requests to `host`; reached if one is answered."""
    program = shutil.which("ping")
    if program is None:
        raise OSError("ping is not installed on this device")
    process = await asyncio.create_subprocess_exec(
        program, "-n", "-c", str(PING_COUNT), "-i", str(PING_INTERVAL), "-w", str(PING_DEADLINE), "--", host,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        async with asyncio.timeout(PING_DEADLINE + 5):  # (wait_for may swallow a cancellation on 3.11)
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode("utf-8", "replace").strip()
    reached = process.returncode == 0
    return Result(reached, f"{PING_REACHED if reached else PING_UNREACHED}\n{text}\n")


async def port_check(host: str, port: int, protocol: str = "tcp") -> Result:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if protocol == "udp":
        return await _udp_check(host, port, where)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(PORT_TIMEOUT):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return Result(False, f"{PORT_FAILED} no answer from {where} (TCP) within {PORT_TIMEOUT:g} s\n")
    except socket.gaierror as err:
        return Result(False, f"{PORT_FAILED} cannot resolve {host!r}: {err.strerror}\n")
    except ConnectionRefusedError:
        return Result(False, f"{PORT_FAILED} {where} (TCP) refused the connection: nothing listens there\n")
    except OSError as err:
        return Result(False, f"{PORT_FAILED} cannot reach {where} (TCP): {err.strerror or err}\n")
    took = (time.perf_counter() - started) * 1000
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Result(True, f"{PORT_OPEN}\n{where} (TCP) accepted a connection in {took:.1f} ms\n")


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.error: asyncio.Future[OSError] = asyncio.get_running_loop().create_future()

    def error_received(self, exc: Exception) -> None:
        if not self.error.done():
            self.error.set_result(exc if isinstance(exc, OSError) else OSError(str(exc)))


async def _udp_check(host: str, port: int, where: str) -> Result:
    """UDP has no handshake: a closed port shows by an ICMP "port unreachable" coming back; an
    open one usually says nothing, and neither does a firewall that drops the datagram."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(PORT_TIMEOUT):
            transport, protocol = await loop.create_datagram_endpoint(_Datagrams, remote_addr=(host, port))
    except socket.gaierror as err:
        return Result(False, f"{PORT_FAILED} cannot resolve {host!r}: {err.strerror}\n")
    except (OSError, TimeoutError) as err:
        return Result(False, f"{PORT_FAILED} cannot reach {where} (UDP): {err}\n")
    try:
        transport.sendto(b"\0")  # one byte: asyncio sends no empty datagram
        try:
            async with asyncio.timeout(UDP_WAIT):
                error = await protocol.error
        except TimeoutError:
            return Result(True, f"{PORT_OPEN}\nNo error came back from {where} (UDP): the port is open, or a "
                                "firewall drops datagrams without a word\n")
    finally:
        transport.close()
    if isinstance(error, ConnectionRefusedError):
        return Result(False, f"{PORT_FAILED} {where} (UDP) is closed: the host answered port unreachable\n")
    return Result(False, f"{PORT_FAILED} cannot reach {where} (UDP): {error.strerror or error}\n")
