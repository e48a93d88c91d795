"""The Recipients section as one service: the stored recipients, the notification actions that
send to them, and the Test button. What the VAPIX action service (`vigil.features.events`) asks
of recipients goes through here; nothing here knows HTTP."""

from __future__ import annotations

from collections.abc import Mapping

from vigil.core.registry import Key
from vigil.core.rules import ActionConfig
from vigil.features.notify.actions import NotificationActions
from vigil.features.notify.const import NOTIFICATION_ACTIONS
from vigil.features.notify.delivery import test_recipient
from vigil.features.notify.model import Recipient
from vigil.features.notify.store import RecipientConfig, RecipientStore, seal_params, shown_params


class NotifyService:
    def __init__(self, recipients: RecipientStore, actions: NotificationActions) -> None:
        self.recipients = recipients
        self.actions = actions

    def shown(self, params: Mapping[str, str], reveal: bool) -> dict[str, str]:
        """Recipient or action parameters as a caller sees them (`reveal`: an administrator)."""
        return shown_params(self.recipients.vault, params, reveal)

    def stored_params(self, token: str, params: Mapping[str, str]) -> dict[str, str]:
        """An action configuration's parameters as they are stored: a notification's secrets sealed."""
        return seal_params(self.recipients.vault, params) if token in NOTIFICATION_ACTIONS else dict(params)

    def unsaved(self, name: str, token: str, params: Mapping[str, str]) -> Recipient:
        """A recipient from settings not saved yet (the Test button of the add dialog), checked
        exactly as adding it would check it."""
        self.recipients.check(name, token, params)
        return self.recipients.to_recipient(token, name, params)

    def stored(self, recipient_id: int) -> tuple[RecipientConfig, Recipient]:
        config = self.recipients.get(recipient_id)
        return config, self.recipients.recipient(config)

    def remove(self, recipient_id: int, actor: str, actions: Mapping[int, ActionConfig]) -> None:
        """Remove a stored recipient unless an action configuration still sends to it."""
        self.recipients.remove(recipient_id, actor, self.actions.users_of(recipient_id, actions))

    async def test(self, recipient: Recipient) -> None:
        """Send the test message; RecipientError with the reason when it is not delivered."""
        await test_recipient(recipient, self.actions.proxies(), self.actions.trusted_cas(), self.actions.caller)


NOTIFY_SERVICE: Key[NotifyService] = Key("notify")
