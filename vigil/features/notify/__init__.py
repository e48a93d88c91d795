"""Notifications: the recipients (transports) of "Send notification" actions, and message templates.

`recipients` delivers a `Message` to a `Recipient` (HTTP, HTTPS, email, FTP, SFTP, TCP, network
share); `templates` renders the subject and body of a message from an event.
"""

from vigil.features.notify.recipients import (
    KINDS,
    Message,
    Recipient,
    RecipientError,
    deliver,
    test_recipient,
    validate,
)
from vigil.features.notify.templates import render

__all__ = [
    "KINDS",
    "Message",
    "Recipient",
    "RecipientError",
    "deliver",
    "render",
    "test_recipient",
    "validate",
]
