"""HTTP responses over footage layouts: byte ranges (RFC 9110), ETags, and streaming a layout
from worker threads."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from vigil.footage.reader import FileSpan, Layout, Transform
from vigil.http.direct import PRODUCE_POOL, direct_body


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """A single `bytes=` range as (first, end exclusive); None to send everything (no header,
    several ranges, or syntax we ignore as RFC 9110 allows); "unsatisfiable" for 416."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                return "unsatisfiable"
            return max(size - suffix, 0), size
        a = int(first)
        b = int(last) + 1 if last else size
    except ValueError:
        return None
    if a >= size:
        return "unsatisfiable"
    if a < 0 or b <= a:
        return None
    return a, min(b, size)


def etag_for(layout: Layout, *parts: object) -> str:
    digest = hashlib.sha256(repr((layout.size, *parts)).encode()).hexdigest()[:32]
    return f'"{digest}"'


class LayoutResponse(Response):
    """Streams a layout (or a byte range of it) from worker threads.

    On plain HTTP the body goes straight to the socket (vigil/http/direct.py): stored footage
    of plain volumes by sendfile, the rest (headers Vigil builds, encrypted volumes, encrypted
    exports) written by the same worker thread. Otherwise (HTTPS, in-process clients) it goes
    through ASGI `send`, the next chunk read while the last one is sent.

    Through a transform that is not seekable (CBC encryption) the whole file is always sent."""

    def __init__(self, layout: Layout, request: Request, media_type: str, headers: dict[str, str] | None = None,
                 transform: Transform | None = None, etag: str | None = None,
                 on_done: Callable[[int, bool], None] | None = None) -> None:
        self.layout = layout
        self.transform = transform
        self.head_only = request.method == "HEAD"
        self.on_done = on_done
        total = transform.size(layout.size) if transform else layout.size
        extra = dict(headers or {})
        ranged = transform is None or transform.seekable
        wanted = parse_range(request.headers.get("range"), total) if ranged else None
        if_range = request.headers.get("if-range")
        if wanted is not None and if_range is not None and etag is not None and if_range.strip() != etag:
            wanted = None  # the client's copy is of another version: send it all
        status = 200
        self.span = (0, total)
        if wanted == "unsatisfiable":
            status = 416
            self.span = (0, 0)
            extra["Content-Range"] = f"bytes */{total}"
        elif isinstance(wanted, tuple):
            status = 206
            self.span = wanted
            extra["Content-Range"] = f"bytes {wanted[0]}-{wanted[1] - 1}/{total}"
        extra["Accept-Ranges"] = "bytes" if ranged else "none"
        if etag:
            extra["ETag"] = etag
        super().__init__(None, status_code=status, headers=extra, media_type=media_type)
        self.headers["content-length"] = str(self.span[1] - self.span[0])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = 0
        complete = False
        parts: Iterator[bytes | memoryview | FileSpan] | None = None
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if self.head_only or self.span[1] == self.span[0]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                complete = True
                return
            direct = direct_body(scope)
            parts = self._parts(direct is not None)
            if direct is not None:
                try:
                    sent = await direct.send(parts)
                except ConnectionError:
                    return  # the client went away: uvicorn closes the connection
            else:
                sent = await _stream(parts, send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            complete = True
        finally:
            if parts is not None and hasattr(parts, "close"):
                parts.close()  # (a generator's own clean-up, before the files it reads close)
            self.layout.close()
            if self.on_done is not None:
                self.on_done(sent, complete)

    def _parts(self, direct: bool) -> Iterator[bytes | memoryview | FileSpan]:
        """The body: stored bytes of plain files as FileSpans where `direct` (the kernel sends
        them), the rest as bytes, through the transform in its `chunk`s. The transform's views
        go to the socket as they are where `direct` (its sender is never more than one part
        ahead: see Transform.stream); ASGI `send` may keep what it is given, so it gets copies."""
        if self.transform is not None:
            views = self.transform.stream(self.layout.reader(), *self.span)
            return views if direct else (bytes(view) for view in views)
        return self.layout.reader().parts(*self.span, direct=direct)


async def _stream(parts: Iterator[bytes | memoryview | FileSpan], send: Send) -> int:
    """Send parts (bytes only) through ASGI, the next one read in a worker thread while this
    one goes out; returns the bytes sent."""
    sent = 0
    ahead: Future | None = PRODUCE_POOL.submit(next, parts, None)
    try:
        while ahead is not None:
            chunk = await asyncio.wrap_future(ahead)
            ahead = None
            if chunk is None:
                break
            assert not isinstance(chunk, FileSpan)
            ahead = PRODUCE_POOL.submit(next, parts, None)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent += len(chunk)
    finally:
        if ahead is not None:  # the layout's files close after this: the read in flight ends first
            wait([ahead])
    return sent

