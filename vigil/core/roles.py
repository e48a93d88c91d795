"""Access levels, ordered: a higher role may do everything a lower one may."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    ANONYMOUS = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r}") from None

    def groups(self) -> list[str]:
        """The VAPIX secondary groups this role implies (without ptz)."""
        return [r.label for r in (Role.ADMIN, Role.OPERATOR, Role.VIEWER) if r <= self]
