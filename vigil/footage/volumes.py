"""The port between the volumes footage goes to and the recorder that writes it.

The storage feature provides `Volumes` and registers it under `VOLUMES`; the recording feature
receives it as a constructor argument and attaches itself as the `VolumeWriter`. Neither
feature imports the other: both stand on this module. A device without the storage feature
records to `<data>/recordings` and has no `Volumes`.

A volume is named as a camera source names it: "default" (the onboard volume) or a disk id.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

from vigil.core.registry import Key


class VolumeWriter(Protocol):
    """What the volumes need of whoever writes footage to them (the recorder)."""

    def volume_changed(self, volume: str) -> None:
        """The volume (a disk id) became unusable or usable again (event loop): recordings on it
        stop, or continuous recording starts again."""

    def release(self, volume: str) -> AbstractAsyncContextManager[None]:
        """Stop writing to `volume` and wait until its files are sealed; recording there
        resumes when the block ends and the volume is writable."""


class Volumes(Protocol):
    """What the recorder needs of the volumes (vigil.features.storage)."""

    def resolve(self, volume: str) -> str:
        """"default" -> the onboard volume's disk id; any other name is itself."""

    def ids(self) -> list[str]: ...

    def aliases(self, volume: str) -> tuple[str, ...]:
        """The `recordings.volume` values that mean this volume."""

    def directory(self, volume: str) -> Path: ...

    def writable(self, volume: str) -> bool: ...

    def why_not_writable(self, volume: str) -> str: ...

    def deletable(self, volume: str) -> bool:
        """False: write-protected (or not mounted): its footage stays."""

    def free_bytes(self, volume: str) -> int | None: ...

    def max_age_days(self, volume: str) -> int: ...

    def over_cleanup_level(self, volume: str) -> int:
        """Bytes to delete to bring the volume down to its cleanup fill level."""
        ...

    def attach(self, writer: VolumeWriter) -> None:
        """Register the writer to be told of volume changes and asked to release a volume."""

    def write_failed(self, volume: str, error: str) -> None:
        """The writer reports (event loop) that writing footage to `volume` fails (`error`)
        or works again (""). The volume stays writable, the writer keeps trying; the volume
        shows the failure (its problem, the storage disruption event)."""


VOLUMES: Key[Volumes] = Key("volumes")
