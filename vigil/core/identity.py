"""The device's identity: a persistent random id from which serial number and MAC derive.

It lives in its own file beside the database so that a factory default keeps it, as the
serial number of real hardware survives any reset.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from vigil.core.atomic import atomic_write

# A locally administered unicast prefix: these addresses never clash with vendor ones.
MAC_PREFIX = bytes([0x02, 0x56, 0x47])


@dataclass(frozen=True)
class Identity:
    device_id: str

    @functools.cached_property
    def mac(self) -> str:
        tail = hashlib.sha256(self.device_id.encode()).digest()[:3]
        return ":".join(f"{b:02X}" for b in MAC_PREFIX + tail)

    @functools.cached_property
    def serial(self) -> str:
        return self.mac.replace(":", "")

    @functools.cached_property
    def soc_serial(self) -> str:
        return hashlib.sha256(b"soc" + self.device_id.encode()).hexdigest()[:16].upper()

    @classmethod
    def load(cls, path: Path) -> Identity:
        path = Path(path)
        if not path.exists():
            atomic_write(path, os.urandom(16).hex().encode())
        return cls(path.read_text().strip())
