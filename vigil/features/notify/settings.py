"""Recipients as the VAPIX action service knows them, mapped onto the transports.

Recipient templates (`GetRecipientTemplates`) carry the VAPIX parameter names; each maps onto a
transport (`vigil.features.notify.validate` documents their settings):

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
    com.axis.recipient.sip             sip_account sip_uri                             -> sip

Vigil specifics: `qos` is checked (0..63) but not applied; POP-before-SMTP, SFTP public-key
authentication and proxy-less HTTPS certificate pinning are not supported and are refused when
set; `encryption` empty means none (none | ssl | tls, tls = STARTTLS).

A network share recipient's `share_id` is the id of a network share configured under System >
Storage > Network share (as on the device): the file goes to that share's server and shared
folder with its credentials, into `upload_path`, a folder below the share (relative, no '..').
Nothing else names a place to write, so a recipient cannot write anywhere on the device itself.
A device without the storage feature has no network shares and refuses these recipients.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from vigil.features.notify.const import RECIPIENT_TEMPLATES, RecipientTemplate
from vigil.features.notify.model import Recipient, RecipientError
from vigil.features.notify.validate import shorten, validate
from vigil.features.storage.network import ShareConfig

_QOS = re.compile(r"[0-9]{1,2}")


class NetworkShares(Protocol):
    """The network shares configured under System > Storage, by id. The storage service
    (`vigil.features.storage.service.StorageService`) is one."""

    @property
    def shares(self) -> Mapping[str, ShareConfig]: ...


def _qos(params: Mapping[str, str]) -> None:
    qos = params.get("qos", "").strip()
    if qos and not (_QOS.fullmatch(qos) and int(qos) <= 63):
        raise RecipientError(f"qos: '{shorten(qos)}' is not a DSCP value from 0 to 63")


def _must_be_empty(params: Mapping[str, str], names: tuple[str, ...], why: str) -> None:
    for name in names:
        if params.get(name, "").strip():
            raise RecipientError(f"{name}: {why}")


def network_share(shares: NetworkShares | None, share_id: str) -> ShareConfig:
    """The configured network share a recipient's share_id names; RecipientError otherwise."""
    share_id = share_id.strip()
    if shares is None:
        raise RecipientError("share_id: this device has no network shares (System > Storage), so it cannot store "
                             "files on one; choose another recipient type")
    if not share_id:
        raise RecipientError("share_id: choose one of the network shares of System > Storage > Network share")
    config = shares.shares.get(share_id)
    if config is None:
        known = ", ".join(sorted(shares.shares)) or "none yet"
        raise RecipientError(f"share_id: there is no network share '{shorten(share_id)}'; add it under System > "
                             f"Storage > Network share (configured: {known})")
    return config


def settings_for(template: RecipientTemplate, params: Mapping[str, str],
                 shares: NetworkShares | None) -> dict[str, str]:
    """The transport settings of a recipient given in VAPIX parameters (not yet validated)."""
    p = dict(params)
    g = p.get
    _qos(p)
    kind = template.kind
    if kind in ("http", "https"):
        proxy = g("proxy_host", "").strip()
        if proxy and g("proxy_port", "").strip():
            proxy = f"{proxy}:{g('proxy_port', '').strip()}"
        elif g("proxy_port", "").strip():
            raise RecipientError("proxy_port: a proxy port was given without proxy_host")
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
            raise RecipientError(f"encryption: '{shorten(encryption)}' is not none, ssl or tls")
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
            raise RecipientError("ssh_auth_type: only password authentication (2) is supported")
        _must_be_empty(p, ("ssh_public_key", "ssh_private_key", "ssh_private_key_passphrase"),
                       "public key authentication is not supported; use a password")
        fingerprint = g("ssh_host_pub_key_sha256", "").strip() or g("ssh_host_pub_key_md5", "").strip()
        if not fingerprint:
            raise RecipientError("ssh_host_pub_key_sha256 / ssh_host_pub_key_md5: give the fingerprint "
                                 "of the server's host key (at least one of them)")
        return {"host": g("host", ""), "port": g("port", ""), "folder": g("upload_path", ""),
                "username": g("login", ""), "password": g("password", ""), "fingerprint": fingerprint,
                "temporary_name": g("temporary", "")}
    if kind == "tcp":
        return {"host": g("host", ""), "port": g("port", "")}
    if kind == "networkshare":
        share = network_share(shares, g("share_id", ""))
        return {"address": share.address, "share": share.share, "username": share.user, "password": share.password,
                "version": share.version, "folder": g("upload_path", "")}
    if kind == "sip":
        return {"account": g("sip_account", ""), "uri": g("sip_uri", "")}
    raise RecipientError(f"unsupported recipient kind {kind}")


def to_recipient(token: str, name: str, params: Mapping[str, str], shares: NetworkShares | None) -> Recipient:
    """A Recipient from a VAPIX template and parameters; RecipientError when wrong."""
    template = RECIPIENT_TEMPLATES.get(token)
    if template is None:
        raise RecipientError(f"Unknown recipient template '{shorten(token)}' (known: {', '.join(RECIPIENT_TEMPLATES)})")
    unknown = sorted(set(params) - set(template.params))
    if unknown:
        raise RecipientError(f"Recipient template {token} has no parameter(s) {', '.join(unknown)} "
                             f"(it has {', '.join(template.params)})")
    settings = validate(template.kind, settings_for(template, params, shares))
    return Recipient(name, template.kind, settings)
