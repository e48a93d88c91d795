"""The server report (product information, every parameter with secrets masked, the logs) and
the archives serverreport.cgi hands out."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from typing import TYPE_CHECKING

from vigil.features.system.device_info import device_properties

if TYPE_CHECKING:
    from vigil.device import Device

LOGS = ("system", "access", "audit")


def server_report(device: Device) -> str:
    """Product information, every parameter (secrets masked) and the logs, as one text."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(device.clock.time()))
    props = device_properties(device)
    out = [f"----- Server report: {props['ProdFullName']} -----", f"Generated: {stamp}", ""]
    out += [f"{k}: {v}" for k, v in props.items()]
    out += ["", f"Profile: {device.profile.name}", f"Accounts: {len(device.accounts.all())}", "",
            "----- Parameters -----"]
    params = device.params
    out += [f"root.{n}={params.shown(n)}" for n in params.names()]
    for kind in ("system", "access"):
        out += ["", f"----- {kind.capitalize()} log -----", device.logs.text(kind).rstrip("\n")]
    return "\n".join(out) + "\n"


def log_files(device: Device) -> dict[str, str]:
    return {f"{kind}.log": device.logs.text(kind) for kind in LOGS}


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def tar_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, body in files.items():
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
