"""What a camera's event subscription hands on, whatever the protocol."""

from __future__ import annotations

from dataclasses import dataclass

TRUE = {"1", "true", "active", "on", "yes"}
FALSE = {"0", "false", "inactive", "off", "no"}


class CameraEventsError(Exception):
    """The camera's events cannot be received; the message says why."""


@dataclass(frozen=True)
class Received:
    topic: str  # as the camera names it, with the usual prefixes (tns1, tnsaxis)
    source: dict[str, str]
    data: dict[str, str]
    operation: str  # Initialized | Changed | Deleted for a property, "" for a stateless event

    @property
    def name(self) -> str:
        """The event as rules name it: the topic and its source items."""
        return " ".join([self.topic, *(f"{k}={v}" for k, v in sorted(self.source.items()))])

    @property
    def active(self) -> bool | None:
        """The state the event carries: its first data item that reads as a state (1/0,
        true/false, active/inactive ...); None when none does."""
        for value in self.data.values():
            if value.lower() in TRUE:
                return True
            if value.lower() in FALSE:
                return False
        return None
