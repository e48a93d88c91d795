"""What a notification is: a `Recipient` (a named destination of one kind, with the settings its
transport needs), a `Message`, and `RecipientError`, which every recipient problem becomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

KINDS = ("http", "https", "email", "ftp", "sftp", "tcp", "networkshare", "sip")


class RecipientError(Exception):
    """A recipient's settings are wrong or a delivery failed; the message is for the user."""


@dataclass(frozen=True)
class Recipient:
    name: str
    kind: str
    settings: Mapping[str, str]  # per-kind keys, see vigil.features.notify.validate


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    attachment: tuple[str, bytes] | None = None  # (file name, data)
