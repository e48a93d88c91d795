"""HTTP responses over footage layouts: byte ranges (RFC 9110), ETags, and streaming a layout
from worker threads."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from vigil.footage.reader import Layout, Transform


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
    """Streams a layout (or a byte range of it) from worker threads, 1 MiB at a time.

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
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if self.head_only or self.span[1] == self.span[0]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                complete = True
                return
            if self.transform is not None and self.transform.seekable:
                chunks = self.transform.read(self.layout.reader(), *self.span)
            elif self.transform is not None:
                chunks = _transformed(self.layout, self.transform)
            else:
                chunks = self.layout.reader().chunks(*self.span)
            while True:
                chunk = await asyncio.to_thread(next, chunks, None)
                if chunk is None:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            complete = True
        finally:
            self.layout.close()
            if self.on_done is not None:
                self.on_done(sent, complete)


def _transformed(layout: Layout, transform: Transform) -> Iterator[bytes]:
    yield transform.header()
    for chunk in layout.reader().chunks(0, layout.size):
        yield transform.update(chunk)
    yield transform.finalize()
