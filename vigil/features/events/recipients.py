"""Recipients as the VAPIX action service knows them, and the notification actions that use them.

Recipient templates (`GetRecipientTemplates`) carry the VAPIX parameter names; each maps onto
a transport of `vigil.features.notify`:

    com.axis.recipient.http / .https   upload_url login password proxy_host proxy_port proxy_login
                                       proxy_password qos [validate_server_cert]      -> http / https
    com.axis.recipient.smtp            email_to email_from host port login password pop_host pop_port
                                       pop_login pop_password qos encryption validate_server_cert -> email
    com.axis.recipient.ftp             host upload_path port login password passive temporary qos -> ftp
    com.axis.recipient.sftp            host upload_path port login password ssh_host_pub_key_md5
                                       ssh_host_pub_key_sha256 ssh_auth_type ssh_public_key
                                       ssh_private_key ssh_private_key_passphrase temporary qos -> sftp
    com.axis.recipient.tcp             host port qos                                   -> tcp
    com.axis.recipient.networkshare    upload_path share_id qos                        -> networkshare

Vigil specifics: `qos` is checked (0..63) but not applied; POP-before-SMTP, SFTP public-key
authentication and proxy-less HTTPS certificate pinning are not supported and are refused
when set; `encryption` empty means none (none | ssl | tls, tls = STARTTLS). A network share
recipient's `share_id` is the absolute path where the share is mounted on the device, and
`upload_path` a folder below it.

Recipient configurations (at most 20) live in the `recipients` table; secret parameters
(passwords, keys) are stored encrypted under the device key, and every change is audited.

Notification actions (`com.axis.action.fixed.notification.{http,https,smtp,tcp}`, and as a Vigil
extension `.ftp`, `.sftp`, `.networkshare` which store the message as a file) take the VAPIX
action parameters plus either the recipient template's parameters inline (as VAPIX does) or
`recipient_id`, the ConfigurationID of a stored recipient (then the inline recipient parameters
stay empty). `message`, `subject`, `body` and `filename` are templates rendered with the event
(`vigil.features.notify.templates`, e.g. `{source.port}`, `{time.local}`). HTTP(S): the message
goes in the `Message` query argument with `parameters` appended, and is POSTed as the body
unless `body` is given; `method` may be empty or POST, `http_headers` must be empty.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from vigil.core.events import Event
from vigil.core.logs import Logs
from vigil.core.rules import ActionContext, ActionType, RuleError
from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.features import notify

log = logging.getLogger("vigil.events")

MAX_RECIPIENTS = 20
RECIPIENT_ID = "recipient_id"
SECRETS = frozenset({"password", "proxy_password", "pop_password", "ssh_private_key", "ssh_private_key_passphrase"})
NUMERIC = frozenset({"port", "proxy_port", "pop_port", "qos", "passive", "temporary", "validate_server_cert",
                     "ssh_auth_type", RECIPIENT_ID, "duration"})
_SEALED = "\x01sealed:"  # control characters never occur in a valid setting, so this cannot clash


class RecipientConfigError(ValueError):
    """A refused recipient change, with a message for the user."""


@dataclass(frozen=True)
class RecipientTemplate:
    token: str
    kind: str  # the notify transport
    nice: str
    params: tuple[str, ...]


_HTTP = ("upload_url", "login", "password", "proxy_host", "proxy_port", "proxy_login", "proxy_password", "qos")
RECIPIENT_TEMPLATES: dict[str, RecipientTemplate] = {t.token: t for t in (
    RecipientTemplate("com.axis.recipient.http", "http", "HTTP", _HTTP),
    RecipientTemplate("com.axis.recipient.https", "https", "HTTPS", _HTTP + ("validate_server_cert",)),
    RecipientTemplate("com.axis.recipient.smtp", "email", "Email", (
        "email_to", "email_from", "host", "port", "login", "password", "pop_host", "pop_port", "pop_login",
        "pop_password", "qos", "encryption", "validate_server_cert")),
    RecipientTemplate("com.axis.recipient.ftp", "ftp", "FTP", (
        "host", "upload_path", "port", "login", "password", "passive", "temporary", "qos")),
    RecipientTemplate("com.axis.recipient.sftp", "sftp", "SFTP", (
        "host", "upload_path", "port", "login", "password", "ssh_host_pub_key_md5", "ssh_host_pub_key_sha256",
        "ssh_auth_type", "ssh_public_key", "ssh_private_key", "ssh_private_key_passphrase", "temporary", "qos")),
    RecipientTemplate("com.axis.recipient.tcp", "tcp", "TCP", ("host", "port", "qos")),
    RecipientTemplate("com.axis.recipient.networkshare", "networkshare", "Network share",
                      ("upload_path", "share_id", "qos")),
)}

# action token -> (recipient template, the action's own parameters, nice name)
_NOTE = ("message", "parameters", "method", "http_headers", "body")
_FILE = ("message", "subject", "filename")
NOTIFICATION_ACTIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "com.axis.action.fixed.notification.http": ("com.axis.recipient.http", _NOTE, "Send notification through HTTP"),
    "com.axis.action.fixed.notification.https": ("com.axis.recipient.https", _NOTE,
                                                 "Send notification through HTTPS"),
    "com.axis.action.fixed.notification.smtp": ("com.axis.recipient.smtp", ("message", "subject"),
                                                "Send notification to email"),
    "com.axis.action.fixed.notification.tcp": ("com.axis.recipient.tcp", ("message",),
                                               "Send notification through TCP"),
    "com.axis.action.fixed.notification.ftp": ("com.axis.recipient.ftp", _FILE, "Send notification file to FTP"),
    "com.axis.action.fixed.notification.sftp": ("com.axis.recipient.sftp", _FILE,
                                                "Send notification file to SFTP"),
    "com.axis.action.fixed.notification.networkshare": ("com.axis.recipient.networkshare", _FILE,
                                                        "Send notification file to a network share"),
}


# -- VAPIX parameters -> notify settings -------------------------------------------------
def _qos(params: Mapping[str, str]) -> None:
    qos = params.get("qos", "").strip()
    if qos and not (qos.isdigit() and 0 <= int(qos) <= 63):
        raise notify.RecipientError(f"qos: {qos!r} is not a DSCP value from 0 to 63")


def _must_be_empty(params: Mapping[str, str], names: tuple[str, ...], why: str) -> None:
    for name in names:
        if params.get(name, "").strip():
            raise notify.RecipientError(f"{name}: {why}")


def settings_for(template: RecipientTemplate, params: Mapping[str, str]) -> dict[str, str]:
    """The notify settings of a recipient given in VAPIX parameters (not yet validated)."""
    p = {k: v for k, v in params.items()}
    g = p.get
    _qos(p)
    kind = template.kind
    if kind in ("http", "https"):
        proxy = g("proxy_host", "").strip()
        if proxy and g("proxy_port", "").strip():
            proxy = f"{proxy}:{g('proxy_port', '').strip()}"
        elif g("proxy_port", "").strip():
            raise notify.RecipientError("proxy_port: a proxy port was given without proxy_host")
        out = {"url": g("upload_url", ""), "username": g("login", ""), "password": g("password", ""),
               "proxy": proxy, "proxy_username": g("proxy_login", ""), "proxy_password": g("proxy_password", "")}
        if kind == "https":
            out["validate_cert"] = g("validate_server_cert", "")
        return out
    if kind == "email":
        _must_be_empty(p, ("pop_host", "pop_port", "pop_login", "pop_password"),
                       "POP authentication is not supported; use the SMTP login instead")
        encryption = g("encryption", "").strip().lower()
        mapped = {"": "none", "none": "none", "ssl": "ssl", "tls": "starttls", "starttls": "starttls"}.get(encryption)
        if mapped is None:
            raise notify.RecipientError(f"encryption: {encryption!r} is not none, ssl or tls")
        return {"to": g("email_to", ""), "from": g("email_from", ""), "host": g("host", ""), "port": g("port", ""),
                "username": g("login", ""), "password": g("password", ""), "encryption": mapped,
                "validate_cert": g("validate_server_cert", "")}
    if kind == "ftp":
        return {"host": g("host", ""), "port": g("port", ""), "folder": g("upload_path", ""),
                "username": g("login", ""), "password": g("password", ""), "passive": g("passive", ""),
                "temporary_name": g("temporary", "")}
    if kind == "sftp":
        auth = g("ssh_auth_type", "").strip()
        if auth not in ("", "2"):
            raise notify.RecipientError("ssh_auth_type: only password authentication (2) is supported")
        _must_be_empty(p, ("ssh_public_key", "ssh_private_key", "ssh_private_key_passphrase"),
                       "public key authentication is not supported; use a password")
        fingerprint = g("ssh_host_pub_key_sha256", "").strip() or g("ssh_host_pub_key_md5", "").strip()
        if not fingerprint:
            raise notify.RecipientError("ssh_host_pub_key_sha256 / ssh_host_pub_key_md5: give the fingerprint "
                                        "of the server's host key (at least one of them)")
        return {"host": g("host", ""), "port": g("port", ""), "folder": g("upload_path", ""),
                "username": g("login", ""), "password": g("password", ""), "fingerprint": fingerprint,
                "temporary_name": g("temporary", "")}
    if kind == "tcp":
        return {"host": g("host", ""), "port": g("port", "")}
    if kind == "networkshare":
        return {"path": g("share_id", ""), "folder": g("upload_path", "")}
    raise notify.RecipientError(f"unsupported recipient kind {kind}")


def to_recipient(token: str, name: str, params: Mapping[str, str]) -> notify.Recipient:
    """A notify Recipient from a VAPIX template and parameters; RecipientError when wrong."""
    template = RECIPIENT_TEMPLATES.get(token)
    if template is None:
        raise notify.RecipientError(f"Unknown recipient template {token!r} (known: "
                                    f"{', '.join(RECIPIENT_TEMPLATES)})")
    unknown = sorted(set(params) - set(template.params))
    if unknown:
        raise notify.RecipientError(f"Recipient template {token} has no parameter(s) {', '.join(unknown)} "
                                    f"(it has {', '.join(template.params)})")
    settings = notify.validate(template.kind, settings_for(template, params))
    return notify.Recipient(name, template.kind, settings)


# -- secrets at rest ---------------------------------------------------------------------
def seal(vault: Vault, value: str) -> str:
    if not value or value.startswith(_SEALED):
        return value
    return _SEALED + base64.b64encode(vault.encrypt(value)).decode()


def unseal(vault: Vault, value: str) -> str:
    """The clear value; empty when it cannot be decrypted (the device key was replaced)."""
    if not value.startswith(_SEALED):
        return value
    try:
        return vault.decrypt(base64.b64decode(value[len(_SEALED):]))
    except Exception:  # noqa: BLE001 - InvalidTag, bad base64: the secret is lost, not the device
        log.warning("a stored recipient secret could not be decrypted; enter it again")
        return ""


def seal_params(vault: Vault, params: Mapping[str, str]) -> dict[str, str]:
    return {k: seal(vault, v) if k in SECRETS else v for k, v in params.items()}


def unseal_params(vault: Vault, params: Mapping[str, str]) -> dict[str, str]:
    return {k: unseal(vault, v) if k in SECRETS else v for k, v in params.items()}


def shown_params(vault: Vault, params: Mapping[str, str], reveal: bool) -> dict[str, str]:
    """Parameters as a client sees them: secrets in clear for administrators, else empty."""
    if reveal:
        return unseal_params(vault, params)
    return {k: "" if k in SECRETS else v for k, v in params.items()}


# -- the store ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RecipientConfig:
    id: int
    name: str
    template: str
    params: Mapping[str, str]  # VAPIX parameters, secrets sealed


class RecipientStore:
    """Recipient configurations: at most 20, persisted, validated in full before storing."""

    def __init__(self, store: Store, vault: Vault, logs: Logs) -> None:
        self.store = store
        self.vault = vault
        self.logs = logs
        self.items: dict[int, RecipientConfig] = {}

    def load(self) -> None:
        self.items.clear()
        for rid, name, template, params in self.store.query("SELECT id, name, template, params FROM recipients"):
            self.items[rid] = RecipientConfig(rid, name, template, json.loads(params))

    def list(self) -> list[RecipientConfig]:
        return [self.items[k] for k in sorted(self.items)]

    def get(self, recipient_id: int) -> RecipientConfig:
        config = self.items.get(recipient_id)
        if config is None:
            raise RecipientConfigError(f"Unknown recipient configuration {recipient_id}")
        return config

    def recipient(self, config: RecipientConfig) -> notify.Recipient:
        return to_recipient(config.template, config.name, unseal_params(self.vault, config.params))

    def check(self, name: str, template: str, params: Mapping[str, str]) -> dict[str, str]:
        """Validate a new configuration; returns the complete parameter set (missing ones empty)."""
        if not name.strip() or len(name) > 128:
            raise RecipientConfigError("A recipient needs a name of 1 to 128 characters")
        if any(ord(c) < 32 for c in name):
            raise RecipientConfigError("The recipient name may not contain control characters")
        try:
            to_recipient(template, name, params)
        except notify.RecipientError as err:
            raise RecipientConfigError(f"Recipient {name!r}: {err}") from None
        spec = RECIPIENT_TEMPLATES[template]
        return {k: params.get(k, "") for k in spec.params}

    def add(self, name: str, template: str, params: Mapping[str, str], actor: str) -> RecipientConfig:
        if len(self.items) >= MAX_RECIPIENTS:
            raise RecipientConfigError(f"At most {MAX_RECIPIENTS} recipients are allowed; remove one first")
        full = self.check(name, template, params)
        sealed = seal_params(self.vault, full)
        with self.store.transaction() as db:
            cur = db.execute("INSERT INTO recipients(name, template, params) VALUES(?,?,?)",
                             (name, template, json.dumps(sealed)))
            config = RecipientConfig(cur.lastrowid, name, template, sealed)
        self.items[config.id] = config
        self.logs.audit(actor, f"added recipient {config.id} {name!r} ({template})", "events")
        return config

    def remove(self, recipient_id: int, actor: str, users: list[str]) -> None:
        config = self.get(recipient_id)
        if users:
            raise RecipientConfigError(f"Recipient {recipient_id} ({config.name}) is used by action "
                                       f"configuration(s) {', '.join(users)}; remove them first")
        with self.store.transaction() as db:
            db.execute("DELETE FROM recipients WHERE id=?", (recipient_id,))
        del self.items[recipient_id]
        self.logs.audit(actor, f"removed recipient {recipient_id} {config.name!r}", "events")


# -- notification actions ----------------------------------------------------------------
class NotificationActions:
    """The "Send notification" action types, delivering through `vigil.features.notify`."""

    def __init__(self, recipients: RecipientStore, device_info: Callable[[], Mapping[str, str]]) -> None:
        self.recipients = recipients
        self.device_info = device_info

    def action_types(self) -> list[ActionType]:
        types = []
        for token, (recipient_token, own, nice) in NOTIFICATION_ACTIONS.items():
            template = RECIPIENT_TEMPLATES[recipient_token]
            types.append(ActionType(token, nice, own + (RECIPIENT_ID,) + template.params,
                                    run=self._runner(token), validate=self._validator(token),
                                    recipient=recipient_token))
        return types

    def users_of(self, recipient_id: int, actions: Mapping[int, object]) -> list[str]:
        """Action configurations that send to a stored recipient."""
        out = []
        for action in actions.values():
            params = getattr(action, "params", {})
            if getattr(action, "template", "") in NOTIFICATION_ACTIONS and \
                    params.get(RECIPIENT_ID, "").strip() == str(recipient_id):
                out.append(str(getattr(action, "id", "?")))
        return out

    # -- validation ----------------------------------------------------------------------
    def resolve(self, token: str, params: Mapping[str, str]) -> notify.Recipient:
        """The recipient an action sends to; RuleError (user-facing) when it cannot."""
        recipient_token, own, _ = NOTIFICATION_ACTIONS[token]
        template = RECIPIENT_TEMPLATES[recipient_token]
        plain = unseal_params(self.recipients.vault, params)
        inline = {k: plain.get(k, "") for k in template.params}
        ref = plain.get(RECIPIENT_ID, "").strip()
        if ref:
            if any(v.strip() for v in inline.values()):
                raise RuleError(f"Give either {RECIPIENT_ID} or the recipient parameters, not both")
            if not ref.isdigit():
                raise RuleError(f"{RECIPIENT_ID} must be a recipient ConfigurationID, not {ref!r}")
            try:
                config = self.recipients.get(int(ref))
            except RecipientConfigError as err:
                raise RuleError(str(err)) from None
            if config.template != recipient_token:
                raise RuleError(f"Recipient {ref} ({config.name}) is a {config.template} recipient; "
                                f"{token} needs a {recipient_token} recipient")
            try:
                return self.recipients.recipient(config)
            except notify.RecipientError as err:
                raise RuleError(str(err)) from None
        try:
            return to_recipient(recipient_token, f"{template.nice} recipient", inline)
        except notify.RecipientError as err:
            raise RuleError(f"{template.nice} recipient: {err}") from None

    def _validator(self, token: str) -> Callable[[Mapping[str, str]], None]:
        def validate(params: Mapping[str, str]) -> None:
            method = params.get("method", "").strip().upper()
            if method not in ("", "POST"):
                raise RuleError(f"method: Vigil sends HTTP notifications with POST; {method} is not supported")
            if params.get("http_headers", "").strip():
                raise RuleError("http_headers: custom HTTP headers are not supported; leave it empty")
            self.resolve(token, params)
        return validate

    # -- running -------------------------------------------------------------------------
    def _runner(self, token: str) -> Callable[[ActionContext], object]:
        async def run(ctx: ActionContext) -> None:
            recipient, message = self.compose(token, ctx.config.params, ctx.event)
            await notify.deliver(recipient, message)  # RecipientError -> the engine emits ActionFailed
        return run

    def compose(self, token: str, params: Mapping[str, str], event: Event | None) -> tuple[notify.Recipient,
                                                                                           notify.Message]:
        recipient = self.resolve(token, params)
        info = self.device_info()

        def render(name: str) -> str:
            return notify.render(params.get(name, ""), event, info)

        kind = recipient.kind
        if kind in ("http", "https"):
            message = render("message")
            query = urlencode({"Message": message}) if message else ""
            extra = params.get("parameters", "").strip().lstrip("?&")
            query = "&".join(q for q in (query, extra) if q)
            settings = dict(recipient.settings)
            if query:
                settings["url"] += ("&" if "?" in settings["url"] else "?") + query
            body = render("body") if params.get("body", "") else message
            return notify.Recipient(recipient.name, kind, settings), notify.Message("", body)
        if kind == "email":
            return recipient, notify.Message(render("subject"), render("message"))
        if kind == "tcp":
            return recipient, notify.Message("", render("message"))
        subject, body = render("subject"), render("message")
        name = render("filename").strip()
        attachment = None
        if name:
            text = f"{subject}\n\n{body}" if subject else body
            attachment = (name, text.encode("utf-8"))
        return recipient, notify.Message(subject, body, attachment)
