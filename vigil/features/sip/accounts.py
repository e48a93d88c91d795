"""SIP settings and accounts as stored: checked on the way in (clear errors naming the field),
kept as JSON in the store with every password sealed (vigil/core/vault.py), and given to the
agent as `ua.Account` with the password opened in memory only. The peer-to-peer account is
always there; registered accounts have a registrar."""

from __future__ import annotations

import json
import re
from typing import Any

from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.features.sip import const as c
from vigil.features.sip.ua import Account

ACCOUNT_ID = re.compile(r"[a-z0-9_-]{1,32}")
USER = re.compile(r"[A-Za-z0-9_.!~*'()&=+$,;?/%-]{1,64}")
HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")
DTMF_SEQUENCE = re.compile(r"[0-9A-D#*]{1,16}")
ACCOUNT_FIELDS = {"id", "name", "user", "domain", "authId", "password", "registrar", "transport", "autoAnswer",
                  "expires", "dtmfSequences", "mediaEncryption"}


class SipConfigError(ValueError):
    """A setting or account refused; the text names the field."""


def _port(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1024 <= value <= 65535:
        raise SipConfigError(f"{name} must be a port number from 1024 to 65535")
    return value


def check_settings(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(c.DEFAULTS)
    if unknown:
        raise SipConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    out = {**current, **changes}
    for name in ("enabled", "allowIncoming"):
        if not isinstance(out[name], bool):
            raise SipConfigError(f"{name} takes true or false")
    _port(out["sipPort"], "sipPort")
    _port(out["rtpPortStart"], "rtpPortStart")
    if out["rtpPortStart"] % 2:
        raise SipConfigError("rtpPortStart must be even (RTP uses even ports)")
    if out["rtpPortStart"] <= out["sipPort"] < out["rtpPortStart"] + 1000:
        raise SipConfigError("sipPort lies in the RTP port range (rtpPortStart to rtpPortStart + 999)")
    for name, low, high in (("callingTimeout", 5, 600), ("incomingCallDuration", 1, c.MAX_INCOMING_SECONDS),
                            ("maxCallDuration", 0, c.MAX_CALL_SECONDS)):
        value = out[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise SipConfigError(f"{name} must be a whole number of seconds from {low} to {high}")
    codecs = out["codecPriority"]
    if (not isinstance(codecs, list) or not codecs or not all(isinstance(x, str) and x in c.CODECS for x in codecs)
            or len(set(codecs)) != len(codecs)):
        raise SipConfigError(f"codecPriority must list one or more of {', '.join(c.CODECS)}, each once")
    return out


def check_account(current: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - ACCOUNT_FIELDS
    if unknown:
        raise SipConfigError(f"unknown account field(s): {', '.join(sorted(unknown))}")
    base = current or {"name": "", "domain": "", "authId": "", "password": "", "registrar": "", "transport": "udp",
                       "autoAnswer": False, "expires": 3600, "dtmfSequences": [], "mediaEncryption": "none"}
    out = {"dtmfSequences": [], "mediaEncryption": "none", **base, **changes}
    sequences = out["dtmfSequences"]
    if (not isinstance(sequences, list) or len(sequences) > 10
            or not all(isinstance(x, str) and DTMF_SEQUENCE.fullmatch(x) for x in sequences)):
        raise SipConfigError("dtmfSequences must list at most 10 sequences of 1 to 16 of 0-9, A-D, # and *")
    if not isinstance(out.get("id"), str) or not ACCOUNT_ID.fullmatch(out["id"]):
        raise SipConfigError("id must be 1 to 32 lowercase letters, digits, '-' or '_'")
    if not isinstance(out.get("user"), str) or not USER.fullmatch(out["user"]):
        raise SipConfigError("user must be a SIP user part of 1 to 64 characters")
    for name in ("domain", "registrar"):
        if not isinstance(out[name], str) or (out[name] and not HOST.fullmatch(out[name])):
            raise SipConfigError(f"{name} must be a host name or address, optionally with :port")
    if out["registrar"] and ":" in out["registrar"] and not 1 <= int(out["registrar"].split(":")[1]) <= 65535:
        raise SipConfigError("registrar port must be 1 to 65535")
    for name in ("name", "authId", "password"):
        if not isinstance(out[name], str) or len(out[name]) > 128 or any(ord(x) < 32 for x in out[name]):
            raise SipConfigError(f"{name} must be text of at most 128 printable characters")
    if out["transport"] not in c.TRANSPORTS:
        raise SipConfigError(f"transport must be one of {', '.join(c.TRANSPORTS)}")
    if out["mediaEncryption"] not in c.MEDIA_ENCRYPTION:
        raise SipConfigError(f"mediaEncryption must be one of {', '.join(c.MEDIA_ENCRYPTION)}")
    if not isinstance(out["autoAnswer"], bool):
        raise SipConfigError("autoAnswer takes true or false")
    if not isinstance(out["expires"], int) or isinstance(out["expires"], bool) or not 60 <= out["expires"] <= 86400:
        raise SipConfigError("expires must be 60 to 86400 seconds")
    if out["id"] == c.P2P_ID and out["registrar"]:
        raise SipConfigError("the peer-to-peer account has no registrar")
    if out["id"] != c.P2P_ID and not out["registrar"]:
        raise SipConfigError("a registered account needs a registrar")
    return out


class SipStore:
    def __init__(self, store: Store, vault: Vault) -> None:
        self.store, self.vault = store, vault

    def settings(self) -> dict[str, Any]:
        raw = self.store.get_kv(c.SETTINGS_KEY)
        return {**c.DEFAULTS, **(json.loads(raw) if raw else {})}

    def save_settings(self, settings: dict[str, Any]) -> None:
        self.store.set_kv(c.SETTINGS_KEY, json.dumps(settings))

    def _raw(self) -> dict[str, dict[str, Any]]:
        raw = self.store.get_kv(c.ACCOUNTS_KEY)
        accounts = json.loads(raw) if raw else {}
        if c.P2P_ID not in accounts:
            accounts[c.P2P_ID] = check_account(None, {"id": c.P2P_ID, "user": "vigil", "name": "Peer to peer",
                                                      "autoAnswer": True})
        return accounts

    def accounts(self) -> dict[str, dict[str, Any]]:
        """Every account with its password opened (for the agent; never shown)."""
        out = self._raw()
        for account in out.values():
            account["password"] = self.vault.unseal(account["password"]) if account["password"] else ""
        return out

    def save_account(self, account: dict[str, Any]) -> None:
        accounts = self._raw()
        if account["id"] not in accounts and len(accounts) > c.MAX_ACCOUNTS:
            raise SipConfigError(f"at most {c.MAX_ACCOUNTS} registered accounts")
        accounts[account["id"]] = {**account, "password": self.vault.seal(account["password"])}
        self.store.set_kv(c.ACCOUNTS_KEY, json.dumps(accounts))

    def remove_account(self, account_id: str) -> None:
        accounts = self._raw()
        accounts.pop(account_id, None)
        self.store.set_kv(c.ACCOUNTS_KEY, json.dumps(accounts))


def as_agent_account(stored: dict[str, Any]) -> Account:
    return Account(stored["id"], stored["user"], stored["domain"], stored["authId"], stored["password"],
                   stored["registrar"], stored["autoAnswer"], stored["expires"],
                   tuple(stored.get("dtmfSequences", ())), stored["transport"], stored.get("mediaEncryption", "none"))


def shown(stored: dict[str, Any]) -> dict[str, Any]:
    """An account as the API shows it: no password, only whether one is set."""
    out = {k: v for k, v in stored.items() if k != "password"}
    out["passwordSet"] = bool(stored["password"])
    return out
