"""The network trace: what crosses the device's interfaces for a chosen time, as a pcap file.

`tcpdump` captures (it holds the privilege a capture needs) and writes the packets to a pipe; the
device reads them and keeps whole packets only, up to TRACE_MAX_BYTES, so a trace is bounded in
time and size and always a valid file. One trace runs at a time. The capture ends before the
file is sent, so the download is not in its own trace.

The last trace stays (in a private temporary folder, until the device stops) because the crash
report holds it, as the manual says; a new trace replaces it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.features.troubleshoot.const import (
    ANY_INTERFACE,
    TRACE_MAX_BYTES,
    TRACE_MAX_SECONDS,
    TRACE_START_TIMEOUT,
)

PCAP_HEADER = 24  # bytes of a classic pcap file's global header
RECORD_HEADER = 16  # bytes before each packet: seconds, microseconds, captured length, length
_MAGIC = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
STOP_TIMEOUT = 5.0  # seconds for tcpdump to end after SIGTERM, before SIGKILL


class TraceError(Exception):
    """A trace that cannot be taken; `str()` is the text the user sees."""


@dataclass(frozen=True)
class Trace:
    path: Path
    interface: str
    seconds: float  # how long it captured
    packets: int
    size: int  # bytes of the file
    cut: bool  # stopped at the size limit before its time was up
    taken: float  # device time at the end


def interfaces() -> list[str]:
    """What a trace can capture on: `any` (every interface) and each interface by name."""
    return [ANY_INTERFACE, *sorted(name for _, name in socket.if_nameindex())]


def check_duration(value: str | None) -> int:
    if not value:
        raise TraceError(f"give the trace time in seconds: duration=1 to {TRACE_MAX_SECONDS}")
    if not value.isascii() or not value.isdigit() or len(value) > 5 or not 1 <= int(value) <= TRACE_MAX_SECONDS:
        raise TraceError(f"the trace time is a whole number of seconds from 1 to {TRACE_MAX_SECONDS}")
    return int(value)


def check_interface(value: str | None) -> str:
    if not value:
        return ANY_INTERFACE
    if value not in interfaces():
        raise TraceError("no such network interface; the device has " + ", ".join(interfaces()))
    return value


class PcapWriter:
    """Writes a pcap stream to a file record by record: whole packets only, at most `limit` bytes."""

    def __init__(self, path: Path, limit: int) -> None:
        self.file = path.open("wb")
        self.limit = limit
        self.size = 0
        self.packets = 0
        self.full = False
        self._pending = bytearray()
        self._order = ""  # byte order of the record headers, from the magic number

    def feed(self, data: bytes) -> None:
        """Take what the capture wrote; sets `full` once the next packet would pass the limit."""
        if self.full:
            return
        self._pending += data
        if not self._order:
            if len(self._pending) < PCAP_HEADER:
                return
            order = _MAGIC.get(bytes(self._pending[:4]))
            if order is None:
                raise TraceError("the capture tool wrote something that is not a pcap file")
            self._order = order
            self._write(PCAP_HEADER)
        while len(self._pending) >= RECORD_HEADER:
            length = struct.unpack_from(self._order + "I", self._pending, 8)[0]
            whole = RECORD_HEADER + length
            if len(self._pending) < whole:
                return
            if self.size + whole > self.limit:
                self.full = True
                self._pending.clear()
                return
            self._write(whole)
            self.packets += 1

    def _write(self, count: int) -> None:
        self.file.write(self._pending[:count])
        del self._pending[:count]
        self.size += count

    def close(self) -> None:
        self.file.close()


class NetworkTrace:
    """Takes network traces, one at a time, and keeps the last one."""

    def __init__(self, logs: Logs, clock_time: Callable[[], float] = time.time,
                 max_bytes: int = TRACE_MAX_BYTES) -> None:
        self.logs = logs
        self.clock_time = clock_time
        self.max_bytes = max_bytes
        self.last: Trace | None = None
        self._running = False
        self._folder: Path | None = None

    @property
    def running(self) -> bool:
        return self._running

    def _new_file(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="vigil-trace-"))  # 0700: a trace may hold secrets
        handle, name = tempfile.mkstemp(suffix=".pcap", dir=self._folder)
        os.close(handle)  # PcapWriter opens it again
        return Path(name)

    async def capture(self, interface: str, seconds: int, actor: str) -> Trace:
        """Capture on `interface` for `seconds` (or until the size limit); TraceError if it cannot."""
        if self._running:
            raise TraceError("a network trace is running already; try again when it is done")
        program = shutil.which("tcpdump")
        if program is None:
            raise TraceError("the network trace needs tcpdump, which is not installed on this device")
        self._running = True
        path = self._new_file()
        try:
            trace = await self._capture(program, interface, seconds, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        finally:
            self._running = False
        previous, self.last = self.last, trace
        if previous is not None:
            previous.path.unlink(missing_ok=True)
        self.logs.audit(actor, f"took a network trace on {interface}: {trace.seconds:.0f} s, {trace.packets} "
                        f"packets, {trace.size} bytes" + (" (stopped at the size limit)" if trace.cut else ""),
                        "maintenance")
        return trace

    async def _capture(self, program: str, interface: str, seconds: int, path: Path) -> Trace:
        # -U: each packet reaches the pipe as it is captured; -n: no name lookups from the device.
        process = await asyncio.create_subprocess_exec(
            program, "-i", interface, "-n", "-U", "-w", "-", stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert process.stdout is not None and process.stderr is not None
        writer = PcapWriter(path, self.max_bytes)
        full = asyncio.Event()
        reading: asyncio.Task | None = None
        try:
            await self._started(process)
            started = time.monotonic()
            reading = asyncio.create_task(self._read(process.stdout, writer, full))
            filled = asyncio.create_task(full.wait())
            await asyncio.wait({reading, filled}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            filled.cancel()
            took = time.monotonic() - started
            await self._stop(process)
            with contextlib.suppress(TimeoutError):  # what tcpdump still held, up to the end of the pipe
                async with asyncio.timeout(STOP_TIMEOUT):
                    await asyncio.shield(reading)
            if reading.done() and (failed := reading.exception()) is not None:
                raise failed
        finally:
            if process.returncode is None:
                await self._stop(process)
            if reading is not None and not reading.done():
                reading.cancel()
            writer.close()
        if writer.size == 0:
            raise TraceError("the capture wrote nothing")
        return Trace(path, interface, took, writer.packets, writer.size, writer.full, self.clock_time())

    @staticmethod
    async def _stop(process: asyncio.subprocess.Process) -> None:
        """SIGTERM (tcpdump then writes what it holds and ends), SIGKILL if it has not within
        STOP_TIMEOUT. Only asyncio's child watcher reaps it: no poll of our own races it."""
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    @staticmethod
    async def _started(process: asyncio.subprocess.Process) -> None:
        """Wait until tcpdump says it listens (after notes such as "data link type LINUX_SLL2" on
        `any`); TraceError with its own words when it ends or says nothing in time instead."""
        assert process.stderr is not None
        said: list[str] = []
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation (the
            # client went away) when the line comes at the same moment.
            async with asyncio.timeout(TRACE_START_TIMEOUT):
                while line := await process.stderr.readline():
                    text = line.decode("utf-8", "replace").strip()
                    if "listening on" in text:
                        return
                    said.append(text.removeprefix("tcpdump: "))
        except TimeoutError:
            raise TraceError("the capture did not start" + (f": {'; '.join(said)}" if said else "")) from None
        raise TraceError(f"the capture could not start: {'; '.join(said)[:500] or 'no reason given'}")

    @staticmethod
    async def _read(stream: asyncio.StreamReader, writer: PcapWriter, full: asyncio.Event) -> None:
        """Feed the writer until the pipe ends; once it is full, read on and drop (tcpdump must
        not block on a full pipe while it stops)."""
        while chunk := await stream.read(65536):
            writer.feed(chunk)
            if writer.full:
                full.set()

    def close(self) -> None:
        """Remove the kept trace (the device stops)."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        self.last = None

    async def run(self) -> None:
        """Nothing to do but to remove the kept trace when the device stops."""
        try:
            await asyncio.Event().wait()
        finally:
            self.close()


TRACE_SERVICE: Key[NetworkTrace] = Key("troubleshoot")
