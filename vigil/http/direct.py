"""Response bodies written straight to the client's socket by a worker thread (plain HTTP).

A large download through the ASGI `send` costs, per chunk, a hop to a thread to read it, a
copy into Python, the transport's buffering and a flow-control pause on the event loop. On a
plain-HTTP connection the listeners offer the ASGI scope extension `DIRECT_BODY` instead: the
response hands it an iterator of parts, and a worker thread takes them one by one and writes
them to the socket itself: buffers with write(), file regions with sendfile() (the kernel
copies page cache to socket; nothing passes through Python). Whatever produces the parts (a
read, a patch, encryption) runs in that thread too, off the event loop.

Ordering: the response head goes through the transport first; the body starts only once the
transport has handed all of it to the kernel, and the transport writes nothing while the
body is sent (the request/response cycle is waiting on it). The thread gives the socket back
when it stays full for `FULL_WAIT` seconds (a slow client waits on the event loop, not in a
thread) and after `BUDGET` bytes (other downloads get their turn), on a small pool of its own
so downloads never take the threads the rest of the device uses.

TLS connections do not get the extension (the bytes must be encrypted in user space): their
responses use `send` as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import socket
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

DIRECT_BODY = "vigil.direct_body"  # the scope["extensions"] key
FULL_WAIT = 0.2  # seconds a thread waits for a full socket before giving it back to the event loop
BUDGET = 32 << 20  # bytes a thread sends before other downloads get a turn
SENDFILE_MAX = 8 << 20  # bytes per sendfile() call
AHEAD_FROM = 64 << 10  # a buffer at least this long: produce the next part while it is sent
# The threads that send response bodies, and those that produce the next part meanwhile (a
# producer never waits for a sender, so the two pools cannot wait on each other).
SEND_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="vigil-send")
PRODUCE_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="vigil-produce")


class FileRegion(Protocol):
    """Bytes of an open file to send as they are (`vigil.footage.reader.FileSpan` is one)."""

    @property
    def fd(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def length(self) -> int: ...


Part = bytes | bytearray | memoryview | FileRegion


@dataclass
class _Progress:
    parts: Iterator[Part]
    sent: int = 0
    stop: bool = False
    view: memoryview | None = None
    region: list[int] | None = field(default=None)  # [fd, offset, left] of the region under way
    ahead: Future | None = None  # the next part, being produced while this one is sent

    def next_part(self) -> Part | None:
        """The next part. After a buffer the one after it is produced in another thread while
        this one is sent (reading and encrypting overlap with sending); after a file region,
        which cost nothing to produce, it is taken here when its turn comes."""
        if self.ahead is not None:
            part, self.ahead = self.ahead.result(), None
        else:
            part = next(self.parts, None)
        if isinstance(part, (bytes, bytearray, memoryview)) and len(part) >= AHEAD_FROM:
            self.ahead = PRODUCE_POOL.submit(next, self.parts, None)
        return part

    def settle(self) -> None:
        """Wait for the part in production (the files it reads close after this)."""
        if self.ahead is not None:
            wait([self.ahead])


ALL_SENT, SOCKET_FULL, TURN_OVER = range(3)


def _push(sock: int, progress: _Progress) -> int:
    """Send parts until they are all sent, the socket stays full, or the budget is spent."""
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    budget = BUDGET
    while not progress.stop:
        if progress.view is None and progress.region is None:
            part = progress.next_part()
            if part is None:
                return ALL_SENT
            if isinstance(part, (bytes, bytearray, memoryview)):
                if len(part):
                    progress.view = memoryview(part).cast("B")
                continue
            if part.length > 0:
                progress.region = [part.fd, part.offset, part.length]
            continue
        if budget <= 0:
            return TURN_OVER
        try:
            if progress.view is not None:
                n = os.write(sock, progress.view)
                progress.view = progress.view[n:] if n < len(progress.view) else None
            else:
                region = progress.region
                assert region is not None
                n = os.sendfile(sock, region[0], region[1], min(region[2], SENDFILE_MAX))
                if n == 0:
                    raise OSError(f"file ends early at {region[1]}")
                region[1] += n
                region[2] -= n
                if region[2] == 0:
                    progress.region = None
        except BlockingIOError:
            if not poller.poll(FULL_WAIT * 1000):
                return SOCKET_FULL
            continue
        progress.sent += n
        budget -= n
    return ALL_SENT


class DirectBody:
    """The extension one request's response uses: `await body.send(parts)`."""

    def __init__(self, protocol: Any, cycle: Any) -> None:
        # protocol: the listener's uvicorn HttpToolsProtocol (its transport buffers: see
        # server.py); cycle: uvicorn's RequestResponseCycle of this request.
        self.protocol = protocol
        self.cycle = cycle

    async def send(self, parts: Iterator[Part]) -> int:
        """Send the parts as (the rest of) the response body; returns the bytes sent. Raises
        ConnectionError when the client went away, and what producing a part raised."""
        if self.cycle.disconnected:
            raise ConnectionResetError("the client went away")
        transport = self.protocol.transport
        transport.flush()  # the response head the transport still holds
        real = transport.transport
        if real.get_write_buffer_size():
            real.set_write_buffer_limits(high=0)  # pause_writing now, resume_writing once it is all out
            try:
                await self.protocol.flow.drain()
            finally:
                if not real.is_closing():
                    real.set_write_buffer_limits()
        if self.cycle.disconnected or real.is_closing():
            raise ConnectionResetError("the client went away")
        loop = asyncio.get_running_loop()
        sock = os.dup(real.get_extra_info("socket").fileno())  # ours until the thread is done with it
        progress = _Progress(parts)
        _cork(sock, True)  # full segments: a small buffer before a file region goes out with it
        try:
            while True:
                work = loop.run_in_executor(SEND_POOL, _push, sock, progress)
                try:
                    state = await asyncio.shield(work)
                except asyncio.CancelledError:
                    progress.stop = True
                    with contextlib.suppress(BaseException):
                        await work
                    raise
                if state == ALL_SENT:
                    break
                if state == SOCKET_FULL:
                    await _writable(loop, sock)
        finally:
            progress.settle()
            with contextlib.suppress(OSError):
                _cork(sock, False)  # what is held goes out now
            os.close(sock)
            self.cycle.expected_content_length -= progress.sent
        return progress.sent


def _cork(sock: int, on: bool) -> None:
    view = socket.socket(fileno=sock)
    try:
        view.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(on))
    finally:
        view.detach()  # the descriptor stays ours


async def _writable(loop: asyncio.AbstractEventLoop, sock: int) -> None:
    # A duplicate descriptor: the event loop refuses a writer on the transport's own one.
    ready = loop.create_future()
    loop.add_writer(sock, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_writer(sock)


def direct_body(scope: dict) -> DirectBody | None:
    """The request's direct body extension, if its connection offers one."""
    return scope.get("extensions", {}).get(DIRECT_BODY)
