"""Typed registries: services and hardware parts by a key that carries their type (aiohttp's
`AppKey`), so that one feature reaches another's service without string keys or casts."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Key(Generic[T]):
    """The typed name of one entry of a `Registry`, declared by the package that provides it.

    `RECORDING_SERVICE: Key[RecordingService] = Key("recording")` lets `device.features[RECORDING_SERVICE]` be a
    `RecordingService` to the type checker, with no string keys or casts at the use sites.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Key({self.name!r})"


class Registry:
    """Services (or hardware parts) by typed key; each key is set once, by its provider."""

    def __init__(self) -> None:
        self._entries: dict[Key[Any], Any] = {}

    def __setitem__(self, key: Key[T], value: T) -> None:
        if key in self._entries:
            raise ValueError(f"{key.name} is registered twice")
        self._entries[key] = value

    def __getitem__(self, key: Key[T]) -> T:
        return self._entries[key]

    def get(self, key: Key[T]) -> T | None:
        return self._entries.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def names(self) -> list[str]:
        return [key.name for key in self._entries]
