"""A raw RTSP client for tests: requests with Basic or Digest (as the axis library signs them:
no qop, always the URL it started from), replies, and interleaved RTP packets read in between."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import struct
from dataclasses import dataclass, field


def control_url(sdp: str, media: str = "application", base: str = "") -> str:
    """The control URL of the first `m=<media>` track of an SDP: absolute, or (with `base`,
    the Content-Base) relative to it."""
    section = sdp.split(f"m={media}", 1)[1]
    if base:
        control = re.search(r"a=control:(\S+)", section).group(1)
        return control if "://" in control else base.rstrip("/") + "/" + control
    return re.search(r"a=control:(rtsp://\S+)", section).group(1)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    raw: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class RtspClient:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    url: str
    user: str = ""
    password: str = ""
    cseq: int = 0
    realm: str = ""
    nonce: str = ""
    session: str = ""
    frames: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    async def open(cls, port: int, url: str, user: str = "", password: str = "") -> RtspClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, url, user, password)

    def close(self) -> None:
        self.writer.close()

    def authorization(self, method: str, scheme: str = "digest") -> str:
        if scheme == "basic":
            return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        # As the axis library does it: no qop, and always the URL the client started from.
        response = md5(f"{md5(f'{self.user}:{self.realm}:{self.password}')}:{self.nonce}:{md5(f'{method}:{self.url}')}")
        return (f'Digest username="{self.user}", realm="{self.realm}", algorithm="MD5", nonce="{self.nonce}", '
                f'uri="{self.url}", response="{response}"')

    async def send_raw(self, data: bytes) -> Reply:
        self.writer.write(data)
        return await self.read_reply()

    async def request(self, method: str, url: str | None = None, headers: dict[str, str] | None = None,
                      auth: str | None = "digest", body: bytes = b"") -> Reply:
        lines = [f"{method} {url or self.url} RTSP/1.0", f"CSeq: {self.cseq}", "User-Agent: vigil-test"]
        self.cseq += 1
        if auth == "basic" or (auth and self.nonce):
            lines.append(f"Authorization: {self.authorization(method, auth)}")
        if self.session:
            lines.append(f"Session: {self.session}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        reply = await self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        if reply.status == 401 and auth == "digest" and not self.nonce and self.user:
            challenge = reply.header("www-authenticate")
            self.realm, self.nonce = re.findall(r'"([^"]*)"', challenge)[:2]
            return await self.request(method, url, headers, auth, body)
        if reply.header("session"):
            self.session = reply.header("session").split(";")[0]
        return reply

    async def read_reply(self, timeout: float = 5.0) -> Reply:
        async with asyncio.timeout(timeout):
            while True:
                first = await self.reader.readexactly(1)
                if first == b"$":
                    channel, length = struct.unpack("!BH", await self.reader.readexactly(3))
                    self.frames.append((channel, await self.reader.readexactly(length)))
                    continue
                head = first + await self.reader.readuntil(b"\r\n\r\n")
                break
        lines = head.decode().split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                key = name.strip().lower()
                headers[key] = f"{headers[key]}\n{value.strip()}" if key in headers else value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return Reply(int(lines[0].split(" ")[1]), headers, body, head + body)

    async def packet(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """The next interleaved packet and its channel."""
        async with asyncio.timeout(timeout):
            while not self.frames:
                first = await self.reader.readexactly(1)
                assert first == b"$", f"expected an interleaved frame, got {first!r}"
                channel, length = struct.unpack("!BH", await self.reader.readexactly(3))
                self.frames.append((channel, await self.reader.readexactly(length)))
        return self.frames.pop(0)

    async def frame(self, timeout: float = 5.0) -> bytes:
        """The next interleaved RTP packet, on channel 0."""
        channel, packet = await self.packet(timeout)
        assert channel == 0
        return packet

    async def start(self, transport: str, media: str = "application") -> Reply:
        """OPTIONS, DESCRIBE, SETUP of the first `media` track with `transport`, PLAY."""
        assert (await self.request("OPTIONS", auth=None)).status == 200
        describe = await self.request("DESCRIBE", headers={"Accept": "application/sdp"})
        assert describe.status == 200, describe.raw
        control = control_url(describe.body.decode(), media)
        setup = await self.request("SETUP", control, headers={"Transport": transport})
        assert setup.status == 200, setup.raw
        play = await self.request("PLAY")
        assert play.status == 200, play.raw
        return setup
