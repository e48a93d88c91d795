"""The crash report (debug.tgz): the server report, the system, access and audit logs, the
configuration with its secrets redacted, the state of the process and the system, the recent
crash traces (diagnostics.py) and, as the manual warns, the last network trace when one was
taken, in one gzip-compressed tar."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import BinaryIO

TRACE_NAME = "network-trace.pcap"


def write(target: Path, texts: dict[str, str], trace: BinaryIO | None, stamp: float) -> None:
    """Write the archive to `target`: each text as a UTF-8 file, and `trace` (an open pcap) if any."""
    with tarfile.open(target, "w:gz") as archive:
        for name, body in texts.items():
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(stamp), 0o600
            archive.addfile(info, io.BytesIO(data))
        if trace is not None:
            trace.seek(0, io.SEEK_END)
            info = tarfile.TarInfo(TRACE_NAME)
            info.size, info.mtime, info.mode = trace.tell(), int(stamp), 0o600
            trace.seek(0)
            archive.addfile(info, trace)


def file_name(serial: str, stamp: float) -> str:
    return f"debug_{serial}_{time.strftime('%Y%m%d_%H%M%S', time.gmtime(stamp))}.tgz"
