"""Network share recipients: the file goes to a folder of an SMB share, through the storage
feature's SMB client (`vigil.features.storage.network`). It is written as `<name>.part`, checked
by size and renamed, so a reader never sees half a file; the folder is created when missing.
Each delivery has a connection of its own, apart from the one that copies recordings."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from vigil.core.proxies import Proxies
from vigil.features.notify.model import Message, RecipientError
from vigil.features.notify.transports.common import file_for
from vigil.features.storage.network import ShareConfig, SmbShare
from vigil.features.storage.tool_jobs import StorageError


def _write(settings: dict[str, str], name: str, data: bytes) -> None:
    """Blocking: runs in a thread."""
    config = ShareConfig(id="recipient", nicename="recipient", address=settings["address"], share=settings["share"],
                         user=settings["username"], password=settings["password"], version=settings["version"])
    where = f"//{config.address}/{config.share}/{settings['folder']}".rstrip("/")
    share = SmbShare(config, settings["folder"])
    fd, local = tempfile.mkstemp(prefix="vigil-notify-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        share.connect()  # logs in and creates the folder
        try:
            share.put(Path(local), name)
        except BaseException:
            with contextlib.suppress(Exception):  # the half-written <name>.part
                share.remove(name + ".part")
            raise
    except StorageError as exc:
        raise RecipientError(str(exc)) from exc
    except OSError as exc:
        raise RecipientError(f"could not write {name} to {where}: {exc.strerror or exc}") from exc
    except Exception as exc:  # noqa: BLE001 - smbprotocol raises its own kinds for refused writes
        raise RecipientError(f"the share refused writing {name} to {where}: {exc}") from exc
    finally:
        share.close()
        with contextlib.suppress(OSError):
            os.unlink(local)


async def send(settings: dict[str, str], message: Message, timeout: float, proxies: Proxies) -> None:
    # A share of System > Storage is reached on the local network (SMB), never through a web proxy.
    name, data = file_for(message)
    await asyncio.to_thread(_write, settings, name, data)
