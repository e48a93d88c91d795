"""FTP recipients: the file is stored in a folder of the server, passive or active, under a
temporary name first when asked."""

from __future__ import annotations

import asyncio
import contextlib

from vigil.core.proxies import Proxies, open_tunnel
from vigil.features.notify.model import Message, RecipientError
from vigil.features.notify.transports.common import file_for, temp_name


async def _ftp_active_upload(client, name: str, data: bytes, timeout: float) -> None:  # noqa: ANN001
    """STOR over an active data connection: we listen, the server connects to us (EPRT/PORT)."""
    import aioftp

    await client.command("TYPE I", "200")
    local_ip = client.stream.writer.transport.get_extra_info("sockname")[0]
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if accepted.done():
            writer.close()
        else:
            accepted.set_result((reader, writer))

    server = await asyncio.start_server(on_connect, local_ip, 0)
    try:
        port = server.sockets[0].getsockname()[1]
        if ":" in local_ip:
            await client.command(f"EPRT |2|{local_ip}|{port}|", "200")
        else:
            await client.command(f"PORT {local_ip.replace('.', ',')},{port >> 8},{port & 0xFF}", "200")
        await client.command(f"STOR {name}", "1xx")
        reader, writer = await accepted
        stream = aioftp.DataConnectionThrottleStreamIO(client, reader, writer, throttles={"_": client.throttle},
                                                       timeout=timeout)
        await stream.write(data)
        await stream.finish()
    finally:
        server.close()
        if accepted.done() and not accepted.cancelled():
            accepted.result()[1].close()


def _ftp_reply(exc: BaseException) -> str:
    info = " ".join(line.strip() for line in getattr(exc, "info", []) if line.strip())
    codes = ",".join(str(c) for c in getattr(exc, "received_codes", ()))
    return f"{codes} {info}".strip()


async def send(settings: dict[str, str], message: Message, timeout: float, proxies: Proxies) -> None:
    import aioftp

    name, data = file_for(message)
    temporary = settings["temporary_name"] == "yes"
    upload_name = temp_name(name) if temporary else name
    client = aioftp.Client(socket_timeout=timeout, connection_timeout=timeout)
    proxy = proxies.for_host(settings["host"], secure=False)
    if proxy is not None:  # the control and the passive data connections go through the global proxy
        async def through_proxy(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await asyncio.open_connection(sock=await open_tunnel(proxy, host, port, timeout))

        client._open_connection = through_proxy  # noqa: SLF001 - aioftp opens every connection here
    stage = "connect"
    uploaded = False
    try:
        await client.connect(settings["host"], int(settings["port"]))
        stage = "login"
        await client.login(settings["username"], settings["password"])
        if settings["folder"]:
            stage = "folder"
            await client.change_directory(settings["folder"])
        stage = "upload"
        if settings["passive"] == "yes":
            stream = await client.upload_stream(upload_name)
            await stream.write(data)
            await stream.finish()
        elif proxy is not None:
            raise RecipientError("active FTP cannot go through the global proxy (the server would have to "
                                 "connect back to the device): use passive mode, or add the server to No proxy")
        else:
            await _ftp_active_upload(client, upload_name, data, timeout)
        uploaded = True
        if temporary:
            stage = "rename"
            try:
                await client.rename(upload_name, name)
            except aioftp.StatusCodeError:
                # Some servers refuse to rename onto an existing file: replace it, as STOR would.
                if not await client.exists(name):
                    raise
                await client.remove_file(name)
                await client.rename(upload_name, name)
        with contextlib.suppress(Exception):
            await client.quit()
    except aioftp.StatusCodeError as exc:
        reply = _ftp_reply(exc)
        if temporary and uploaded:
            with contextlib.suppress(Exception):
                await client.remove_file(upload_name)
        if stage == "login":
            raise RecipientError(f"the FTP server refused the user name or password ({reply})") from exc
        if stage == "folder":
            raise RecipientError(f"the folder '{settings['folder']}' does not exist on the FTP server or cannot "
                                 f"be opened ({reply})") from exc
        if stage == "rename":
            raise RecipientError(f"the FTP server could not rename the uploaded file to '{name}' ({reply})") from exc
        raise RecipientError(f"the FTP server refused the upload of '{name}' (permission denied or disk "
                             f"full?) ({reply})") from exc
    except ConnectionResetError as exc:
        if stage == "connect":
            raise
        raise RecipientError(f"the FTP server closed the connection during {stage}") from exc
    finally:
        client.close()
