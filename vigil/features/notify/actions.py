"""The notification action types ("Send notification through HTTP", "... to email", "... file to
a network share" ...), delivering through the recipients.

A notification action (`com.axis.action.fixed.notification.{http,https,smtp,tcp}`, and as a Vigil
extension `.ftp`, `.sftp`, `.networkshare`, which store the message as a file) takes the VAPIX
action parameters plus either the recipient template's parameters inline (as VAPIX does) or
`recipient_id`, the ConfigurationID of a stored recipient (then the inline recipient parameters
stay empty). `message`, `subject`, `body` and `filename` are templates rendered with the event
(`vigil.features.notify.templates`, e.g. `{source.port}`, `{time.local}`). HTTP(S): the message
goes in the `Message` query argument with `parameters` appended, and is POSTed as the body unless
`body` is given; `method` may be empty or POST, `http_headers` must be empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from vigil.core.events import Event
from vigil.core.proxies import NO_PROXIES, Proxies
from vigil.core.rules import ActionConfig, ActionContext, ActionType, RuleError
from vigil.features.notify.const import NOTIFICATION_ACTIONS, RECIPIENT_ID, RECIPIENT_TEMPLATES
from vigil.features.notify.delivery import deliver
from vigil.features.notify.model import Message, Recipient, RecipientError
from vigil.features.notify.store import RecipientConfigError, RecipientStore, unseal_params
from vigil.features.notify.templates import render
from vigil.features.notify.transports.sip import Caller
from vigil.features.notify.validate import shorten

_CONFIGURATION_ID = re.compile(r"[0-9]{1,9}")


class NotificationActions:
    """The "Send notification" action types; `device_info` gives the `{device.*}` placeholders."""

    def __init__(self, recipients: RecipientStore, device_info: Callable[[], Mapping[str, str]],
                 proxies: Callable[[], Proxies] = lambda: NO_PROXIES,
                 trusted_cas: Callable[[], str] = lambda: "", caller: Caller | None = None) -> None:
        self.recipients = recipients
        self.device_info = device_info
        self.proxies = proxies  # the device's global proxies in force (System > Network)
        self.trusted_cas = trusted_cas  # the keystore's CA certificates (PEM), asked for at each delivery
        self.caller = caller  # places the calls of SIP recipients (the SIP feature)

    def action_types(self) -> list[ActionType]:
        types = []
        for token, (recipient_token, own, nice) in NOTIFICATION_ACTIONS.items():
            template = RECIPIENT_TEMPLATES[recipient_token]
            types.append(ActionType(token, nice, own + (RECIPIENT_ID,) + template.params,
                                    run=self._runner(token), validate=self._validator(token),
                                    recipient=recipient_token))
        return types

    @staticmethod
    def users_of(recipient_id: int, actions: Mapping[int, ActionConfig]) -> list[str]:
        """Action configurations that send to a stored recipient."""
        return [str(action.id) for action in actions.values()
                if action.template in NOTIFICATION_ACTIONS
                and action.params.get(RECIPIENT_ID, "").strip() == str(recipient_id)]

    # -- validation ----------------------------------------------------------------------
    def resolve(self, token: str, params: Mapping[str, str]) -> Recipient:
        """The recipient an action sends to; RuleError (user-facing) when it cannot."""
        recipient_token, own, _ = NOTIFICATION_ACTIONS[token]
        template = RECIPIENT_TEMPLATES[recipient_token]
        plain = unseal_params(self.recipients.vault, params)
        inline = {k: plain.get(k, "") for k in template.params}
        ref = plain.get(RECIPIENT_ID, "").strip()
        if ref:
            if any(v.strip() for v in inline.values()):
                raise RuleError(f"Give either {RECIPIENT_ID} or the recipient parameters, not both")
            if not _CONFIGURATION_ID.fullmatch(ref):
                raise RuleError(f"{RECIPIENT_ID} must be a recipient ConfigurationID, not '{shorten(ref)}'")
            try:
                config = self.recipients.get(int(ref))
            except RecipientConfigError as err:
                raise RuleError(str(err)) from None
            if config.template != recipient_token:
                raise RuleError(f"Recipient {ref} ({config.name}) is a {config.template} recipient; "
                                f"{token} needs a {recipient_token} recipient")
            try:
                return self.recipients.recipient(config)
            except RecipientError as err:
                raise RuleError(str(err)) from None
        try:
            return self.recipients.to_recipient(recipient_token, f"{template.nice} recipient", inline)
        except RecipientError as err:
            raise RuleError(f"{template.nice} recipient: {err}") from None

    def _validator(self, token: str) -> Callable[[Mapping[str, str]], None]:
        def validate(params: Mapping[str, str]) -> None:
            method = params.get("method", "").strip().upper()
            if method not in ("", "POST"):
                raise RuleError(f"method: Vigil sends HTTP notifications with POST; {shorten(method)} is not "
                                "supported")
            if params.get("http_headers", "").strip():
                raise RuleError("http_headers: custom HTTP headers are not supported; leave it empty")
            self.resolve(token, params)
        return validate

    # -- running -------------------------------------------------------------------------
    def _runner(self, token: str) -> Callable[[ActionContext], object]:
        async def run(ctx: ActionContext) -> None:
            recipient, message = self.compose(token, ctx.config.params, ctx.event)
            # RecipientError -> the engine emits ActionFailed
            await deliver(recipient, message, proxies=self.proxies(), trusted_cas=self.trusted_cas(),
                          caller=self.caller)
        return run

    def compose(self, token: str, params: Mapping[str, str], event: Event | None) -> tuple[Recipient, Message]:
        recipient = self.resolve(token, params)
        info = self.device_info()

        def fill(name: str) -> str:
            return render(params.get(name, ""), event, info)

        kind = recipient.kind
        if kind in ("http", "https"):
            message = fill("message")
            query = urlencode({"Message": message}) if message else ""
            extra = params.get("parameters", "").strip().lstrip("?&")
            query = "&".join(q for q in (query, extra) if q)
            settings = dict(recipient.settings)
            if query:
                settings["url"] += ("&" if "?" in settings["url"] else "?") + query
            body = fill("body") if params.get("body", "") else message
            return Recipient(recipient.name, kind, settings), Message("", body)
        if kind == "email":
            return recipient, Message(fill("subject"), fill("message"))
        if kind == "tcp":
            return recipient, Message("", fill("message"))
        subject, body = fill("subject"), fill("message")
        name = fill("filename").strip()
        attachment = None
        if name:
            text = f"{subject}\n\n{body}" if subject else body
            attachment = (name, text.encode("utf-8"))
        return recipient, Message(subject, body, attachment)
