"""Names of the Recipients section as the VAPIX action service spells them: the recipient
templates and their parameters, the notification action types, which parameters are secret,
and the limits."""

from __future__ import annotations

from dataclasses import dataclass

MAX_RECIPIENTS = 20
RECIPIENT_ID = "recipient_id"  # a notification action's reference to a stored recipient
# Shown to administrators only (empty for others), and stored sealed under the device key.
SECRETS = frozenset({"password", "proxy_password", "pop_password", "ssh_private_key", "ssh_private_key_passphrase"})
# URLs whose query string and user info often are the secret (webhook tokens): below
# administrator they are shown without them.
URL_PARAMS = frozenset({"upload_url"})
# Query text appended to a notification URL: hidden below administrator, like the URL's own query.
QUERY_PARAMS = frozenset({"parameters"})
NUMERIC = frozenset({"port", "proxy_port", "pop_port", "qos", "passive", "temporary", "validate_server_cert",
                     "ssh_auth_type", RECIPIENT_ID, "duration"})


@dataclass(frozen=True)
class RecipientTemplate:
    token: str
    kind: str  # the transport, see vigil.features.notify.validate
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
    # The manual's "SIP or VMS" recipient, SIP part: a call from one of the device's SIP accounts
    # (empty: the default account) to a SIP address. The parameter names are Vigil's own.
    RecipientTemplate("com.axis.recipient.sip", "sip", "SIP call", ("sip_account", "sip_uri")),
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
    "com.axis.action.fixed.notification.sip": ("com.axis.recipient.sip", (), "Make a call to a SIP recipient"),
}
