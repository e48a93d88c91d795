"""TCP recipients: the body is sent (UTF-8) on a new connection, which is then closed."""

from __future__ import annotations

import asyncio
import contextlib

from vigil.core.proxies import Proxies, open_tunnel
from vigil.features.notify.model import Message


async def send(settings: dict[str, str], message: Message, timeout: float, proxies: Proxies) -> None:
    host, port = settings["host"], int(settings["port"])
    proxy = proxies.for_host(host, secure=False)
    if proxy is None:
        _, writer = await asyncio.open_connection(host, port)
    else:
        _, writer = await asyncio.open_connection(sock=await open_tunnel(proxy, host, port, timeout))
    try:
        writer.write(message.body.encode("utf-8"))
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except BaseException:
        writer.transport.abort()  # close() would wait for unsent data: never on a stuck peer
        raise
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
