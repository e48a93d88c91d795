"""SIP settings and accounts as stored: checked on the way in (clear errors naming the field),
kept as JSON in the store with every password sealed (vigil/core/vault.py; the account's and each
proxy's), and given to the agent as `ua.Account` with the passwords opened in memory only. An
account's proxies are entries {address, user, password} (proxyauth.py); a plain "host[:port]" is
taken as an entry without credentials (older stored accounts too), and shown with `passwordSet`. The peer-to-peer account is
always there; registered accounts have a registrar."""

from __future__ import annotations

import json
import re
from typing import Any

from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.features.sip import const as c
from vigil.features.sip.codecs import CODECS
from vigil.features.sip.dtmf_catalogue import DtmfCatalogue, resolved
from vigil.features.sip.proxyauth import ProxyLogin
from vigil.features.sip.sequences import SequenceError, check_sequences, migrated
from vigil.features.sip.ua import Account

ACCOUNT_ID = re.compile(r"[a-z0-9_-]{1,32}")
USER = re.compile(r"[A-Za-z0-9_.!~*'()&=+$,;?/%-]{1,64}")
HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")
ACCOUNT_FIELDS = {"id", "name", "user", "domain", "authId", "password", "registrar", "transport", "autoAnswer",
                  "dtmfSequences", "callerId", "isDefault", "dtmfProtocols", "tlsVersion", "verifyServer",
                  "sips", "secondaryRegistrar", "proxies", "certificate", "mediaEncryption", "dtmfConfiguration"}
UNITLESS = ("callPriority", "dtmfPayloadType", "maxRetransmissions")  # the other whole-number settings are seconds
TLS_DEFAULTS = {"tlsVersion": "auto", "verifyServer": False, "sips": False, "secondaryRegistrar": "", "proxies": [],
                "certificate": "", "dtmfConfiguration": ""}


class SipConfigError(ValueError):
    """A setting or account refused; the text names the field."""


def _port(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1024 <= value <= 65535:
        raise SipConfigError(f"{name} must be a port number from 1024 to 65535")
    return value


def check_settings(current: dict[str, Any], changes: dict[str, Any], calls_only: bool = False) -> dict[str, Any]:
    unknown = set(changes) - set(c.DEFAULTS)
    if unknown:
        raise SipConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    fixed = sorted(x for x in set(changes) & set(c.CALLS_ONLY_FIXED) if changes[x] != current[x])
    if calls_only and fixed:
        raise SipConfigError(f"this device only places calls (no speaker): {', '.join(fixed)} cannot be changed")
    out = {**current, **changes}
    for name in ("enabled", "allowIncoming", "udpToTcp", "contactRewrite", "viaRewrite"):
        if not isinstance(out[name], bool):
            raise SipConfigError(f"{name} takes true or false")
    _port(out["sipPort"], "sipPort")
    _port(out["tlsPort"], "tlsPort")
    _port(out["rtpPortStart"], "rtpPortStart")
    if out["rtpPortStart"] % 2:
        raise SipConfigError("rtpPortStart must be even (RTP uses even ports)")
    for name in ("sipPort", "tlsPort"):
        if out["rtpPortStart"] <= out[name] < out["rtpPortStart"] + 1000:
            raise SipConfigError(f"{name} lies in the RTP port range (rtpPortStart to rtpPortStart + 999)")
    if out["tlsPort"] == out["sipPort"]:
        raise SipConfigError("tlsPort must differ from sipPort (TCP listens on the SIP port)")
    for name, low, high in (("callingTimeout", c.MIN_CALLING_TIMEOUT, 600), ("incomingCallDuration", 1, c.MAX_INCOMING_SECONDS),
                            ("maxCallDuration", 0, c.MAX_CALL_SECONDS), ("callPriority", 1, 10),
                            ("registrationRetry", 1, 3600), ("failbackSeconds", 1, 86400),
                            ("dtmfPayloadType", *c.DTMF_PAYLOAD_TYPES), ("registerInterval", *c.REGISTER_INTERVALS),
                            ("maxRetransmissions", 0, c.MAX_RETRANSMISSIONS)):
        value = out[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            unit = "" if name in UNITLESS else " of seconds"
            raise SipConfigError(f"{name} must be a whole number{unit} from {low} to {high}")
    codecs = out["codecPriority"]
    if (not isinstance(codecs, list) or not codecs or not all(isinstance(x, str) and x in c.CODECS for x in codecs)
            or len(set(codecs)) != len(codecs)):
        raise SipConfigError(f"codecPriority must list one or more of {', '.join(c.CODECS)}, each once")
    taken = {CODECS[x].payload_type: x for x in out["codecPriority"]}.get(out["dtmfPayloadType"])
    if taken:
        raise SipConfigError(f"dtmfPayloadType {out['dtmfPayloadType']} is the payload type of {taken}: pick another")
    out["natTraversal"] = check_nat(current["natTraversal"], changes.get("natTraversal", {}))
    return out


def check_nat(current: dict[str, Any], changes: object) -> dict[str, Any]:
    """The NAT traversal settings (nat.py): ICE, STUN and TURN each on or off; a server is needed
    for STUN and TURN when on, and TURN needs a user name."""
    if not isinstance(changes, dict):
        raise SipConfigError("natTraversal must be an object")
    unknown = set(changes) - set(c.DEFAULTS["natTraversal"])
    if unknown:
        raise SipConfigError(f"unknown natTraversal field(s): {', '.join(sorted(unknown))}")
    out = {**c.DEFAULTS["natTraversal"], **current, **changes}
    for name in ("ice", "stun", "turn"):
        if not isinstance(out[name], bool):
            raise SipConfigError(f"natTraversal.{name} takes true or false")
    for name in ("stunServer", "turnServer"):
        if not isinstance(out[name], str) or (out[name] and not HOST.fullmatch(out[name])):
            raise SipConfigError(f"natTraversal.{name} must be a host name or address, optionally with :port")
        if ":" in out[name] and not 1 <= int(out[name].split(":")[1]) <= 65535:
            raise SipConfigError(f"natTraversal.{name} port must be 1 to 65535")
    for name in ("turnUser", "turnPassword"):
        if not isinstance(out[name], str) or len(out[name]) > 128 or any(ord(x) < 32 for x in out[name]):
            raise SipConfigError(f"natTraversal.{name} must be text of at most 128 printable characters")
    if out["turnTransport"] not in ("udp", "tcp"):
        raise SipConfigError("natTraversal.turnTransport must be udp or tcp (how the TURN server is reached)")
    if out["stun"] and not out["stunServer"]:
        raise SipConfigError("natTraversal.stunServer is needed when STUN is on")
    if out["turn"] and not (out["turnServer"] and out["turnUser"]):
        raise SipConfigError("natTraversal.turnServer and turnUser are needed when TURN is on")
    return out


def check_account(current: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - ACCOUNT_FIELDS
    if "expires" in unknown:  # accounts had their own once (SipStore migrates them)
        raise SipConfigError("expires is no account field: the device registers every registerInterval seconds "
                             "(setSipConfiguration), one interval for all accounts")
    if unknown:
        raise SipConfigError(f"unknown account field(s): {', '.join(sorted(unknown))}")
    base = current or {"name": "", "domain": "", "authId": "", "password": "", "registrar": "", "transport": "udp",
                       "autoAnswer": False, "dtmfSequences": [], "mediaEncryption": "none"}
    out = {"dtmfSequences": [], "callerId": "", "isDefault": False, "dtmfProtocols": list(c.DTMF_METHODS),
           "mediaEncryption": "none", **TLS_DEFAULTS, **base, **changes}
    try:
        out["dtmfSequences"] = check_sequences(out["dtmfSequences"])
    except SequenceError as err:
        raise SipConfigError(str(err)) from None
    check_linked(current, changes, out)
    if not isinstance(out.get("id"), str) or not ACCOUNT_ID.fullmatch(out["id"]):
        raise SipConfigError("id must be 1 to 32 lowercase letters, digits, '-' or '_'")
    if not isinstance(out.get("user"), str) or not USER.fullmatch(out["user"]):
        raise SipConfigError("user must be a SIP user part of 1 to 64 characters")
    for name in ("domain", "registrar", "secondaryRegistrar"):
        _host(out[name], name)
    out["proxies"] = check_proxies(out["proxies"], proxy_entries((current or {}).get("proxies", [])))
    if not isinstance(out["callerId"], str) or len(out["callerId"]) > 64 or any(
            ord(x) < 32 or x in '"\\<>' for x in out["callerId"]):
        raise SipConfigError('callerId must be a name of at most 64 characters without control characters, " \\ < or >')
    if not isinstance(out["isDefault"], bool):
        raise SipConfigError("isDefault takes true or false")
    protocols = out["dtmfProtocols"]
    if (not isinstance(protocols, list) or not all(isinstance(x, str) and x in c.DTMF_METHODS for x in protocols)
            or len(set(protocols)) != len(protocols)):
        raise SipConfigError(f"dtmfProtocols must list some of {', '.join(c.DTMF_METHODS)}, each once")
    for name in ("name", "authId", "password", "certificate"):
        if not isinstance(out[name], str) or len(out[name]) > 128 or any(ord(x) < 32 for x in out[name]):
            raise SipConfigError(f"{name} must be text of at most 128 printable characters")
    if out["transport"] not in c.TRANSPORTS:
        raise SipConfigError(f"transport must be one of {', '.join(c.TRANSPORTS)}")
    if out["tlsVersion"] not in c.TLS_VERSIONS:
        raise SipConfigError(f"tlsVersion must be one of {', '.join(c.TLS_VERSIONS)} (older versions are not offered)")
    if out["mediaEncryption"] not in c.MEDIA_ENCRYPTION:
        raise SipConfigError(f"mediaEncryption must be one of {', '.join(c.MEDIA_ENCRYPTION)}")
    for name in ("autoAnswer", "verifyServer", "sips"):
        if not isinstance(out[name], bool):
            raise SipConfigError(f"{name} takes true or false")
    if out["sips"] and out["transport"] != "tls":
        raise SipConfigError("sips needs transport tls (SIPS is SIP over TLS on every hop)")
    if out["certificate"] and out["transport"] != "tls":
        raise SipConfigError("certificate needs transport tls (it is presented in the TLS handshake)")
    if out["id"] == c.P2P_ID and out["registrar"]:
        raise SipConfigError("the peer-to-peer account has no registrar")
    if out["id"] != c.P2P_ID and not out["registrar"]:
        raise SipConfigError("a registered account needs a registrar")
    if out["secondaryRegistrar"] and not out["registrar"]:
        raise SipConfigError("secondaryRegistrar needs a registrar (it stands in when the registrar fails)")
    return out


def check_linked(current: dict[str, Any] | None, changes: dict[str, Any], out: dict[str, Any]) -> None:
    """An account linked to a DTMF configuration (dtmf_catalogue.py) takes its sequences and
    protocols from it: given ones other than those shown are refused."""
    linked = out["dtmfConfiguration"]
    if not isinstance(linked, str) or len(linked) > 64 or not linked.isprintable():
        raise SipConfigError("dtmfConfiguration must be a DTMF configuration id (at most 64 characters) or empty")
    for name in ("dtmfSequences", "dtmfProtocols"):
        if linked and name in changes and out[name] != (current or {}).get(name):
            raise SipConfigError(f"{name} of this account come from its DTMF configuration {linked} (the Call "
                                 'service API, /vapix/call): change them there, or set dtmfConfiguration to ""')


def proxy_entries(value: list[Any]) -> list[dict[str, str]]:
    """Stored proxies as entries: a plain "host[:port]" (as older accounts kept them) has no credentials."""
    return [{"address": x, "user": "", "password": ""} if isinstance(x, str) else x for x in value]


def check_proxies(given: object, current: list[dict[str, str]]) -> list[dict[str, str]]:
    """The proxies as entries, in order; an entry without `password` keeps the one its address had."""
    if not isinstance(given, list) or len(given) > c.MAX_PROXIES or not all(
            (isinstance(x, str) and x) or isinstance(x, dict) for x in given):
        raise SipConfigError(f"proxies must list at most {c.MAX_PROXIES} proxies, each host[:port] or "
                             "{address, user, password}, first used first")
    out = []
    for i, entry in enumerate(proxy_entries(given)):
        unknown = set(entry) - {"address", "user", "password"}
        if unknown:
            raise SipConfigError(f"unknown field(s) of proxies[{i}]: {', '.join(sorted(unknown))}")
        if not isinstance(entry.get("address"), str) or not entry["address"]:
            raise SipConfigError(f"proxies[{i}].address must be a host name or address, optionally with :port")
        _host(entry["address"], f"proxies[{i}].address")
        before = next((x for x in current if x["address"] == entry["address"]), {})
        user = entry.get("user", "")
        kept = {"address": entry["address"], "user": user,  # without a user, no password is kept
                "password": entry.get("password", before.get("password", "") if user else "")}
        for name in ("user", "password"):
            if not isinstance(kept[name], str) or len(kept[name]) > 128 or any(ord(x) < 32 for x in kept[name]):
                raise SipConfigError(f"proxies[{i}].{name} must be text of at most 128 printable characters")
        if kept["password"] and not kept["user"]:
            raise SipConfigError(f"proxies[{i}].password needs a user (the proxy's credentials are both)")
        out.append(kept)
    return out


def _host(value: object, name: str) -> None:
    if not isinstance(value, str) or (value and not HOST.fullmatch(value)):
        raise SipConfigError(f"{name} must be a host name or address, optionally with :port")
    if ":" in value and not 1 <= int(value.split(":")[1]) <= 65535:
        raise SipConfigError(f"{name} port must be 1 to 65535")


class SipStore:
    def __init__(self, store: Store, vault: Vault, defaults: dict[str, Any] | None = None) -> None:
        self.store, self.vault = store, vault
        self.defaults = defaults or {}  # the device's own defaults over c.DEFAULTS
        self.dtmf = DtmfCatalogue(store)  # the Call service API's DTMF configurations linked accounts read
        self._migrate_expires()

    def _migrate_expires(self) -> None:
        """Accounts once had their own `expires`; now one setting, `registerInterval`, says it for all.
        Stored accounts lose the field, and the shortest a registered account asked for becomes the
        setting (unless one is stored): no account registers less often than it did."""
        raw = self.store.get_kv(c.ACCOUNTS_KEY)
        accounts = json.loads(raw) if raw else {}
        if not any("expires" in a for a in accounts.values()):
            return
        asked = [a.pop("expires") for a in accounts.values() if a.get("registrar") and "expires" in a]
        for account in accounts.values():
            account.pop("expires", None)
        stored = json.loads(self.store.get_kv(c.SETTINGS_KEY) or "{}")
        if asked and "registerInterval" not in stored and min(asked) != c.DEFAULTS["registerInterval"]:
            self.store.set_kv(c.SETTINGS_KEY, json.dumps({**stored, "registerInterval": min(asked)}))
        self.store.set_kv(c.ACCOUNTS_KEY, json.dumps(accounts))

    def settings(self) -> dict[str, Any]:
        """The settings with the TURN password opened (for the agent; never shown)."""
        raw = self.store.get_kv(c.SETTINGS_KEY)
        out = {**c.DEFAULTS, **self.defaults, **(json.loads(raw) if raw else {})}
        nat = out["natTraversal"]
        out["natTraversal"] = {**nat, "turnPassword": self.vault.unseal(nat["turnPassword"])
                               if nat["turnPassword"] else ""}
        return out

    def save_settings(self, settings: dict[str, Any]) -> None:
        nat = settings["natTraversal"]
        sealed = {**nat, "turnPassword": self.vault.seal(nat["turnPassword"]) if nat["turnPassword"] else ""}
        self.store.set_kv(c.SETTINGS_KEY, json.dumps({**settings, "natTraversal": sealed}))

    def _raw(self) -> dict[str, dict[str, Any]]:
        raw = self.store.get_kv(c.ACCOUNTS_KEY)
        accounts = {i: {**TLS_DEFAULTS, **a} for i, a in (json.loads(raw) if raw else {}).items()}  # older ones
        for account in accounts.values():
            account["proxies"] = proxy_entries(account["proxies"])
        if any(isinstance(x, str) for a in accounts.values() for x in a.get("dtmfSequences", [])):
            for account in accounts.values():  # sequences stored before they had descriptions
                account["dtmfSequences"] = migrated(account.get("dtmfSequences", []))
            self.store.set_kv(c.ACCOUNTS_KEY, json.dumps(accounts))
        if c.P2P_ID not in accounts:
            accounts[c.P2P_ID] = check_account(None, {"id": c.P2P_ID, "user": "vigil", "name": "Peer to peer",
                                                      "autoAnswer": True})
        return accounts

    def accounts(self) -> dict[str, dict[str, Any]]:
        """Every account with its password opened (for the agent; never shown), and a linked
        account's DTMF sequences and protocols from its DTMF configuration."""
        out = self._raw()
        catalogue = self.dtmf.load()
        for account in out.values():
            if account["dtmfConfiguration"]:
                account["dtmfSequences"], account["dtmfProtocols"] = resolved(catalogue, account["dtmfConfiguration"])
            account["password"] = self.vault.unseal(account["password"]) if account["password"] else ""
            account["proxies"] = [{**x, "password": self.vault.unseal(x["password"]) if x["password"] else ""}
                                  for x in account["proxies"]]
        return out

    def save_account(self, account: dict[str, Any]) -> None:
        accounts = self._raw()
        if account["id"] not in accounts and len(accounts) > c.MAX_ACCOUNTS:
            raise SipConfigError(f"at most {c.MAX_ACCOUNTS} registered accounts")
        if account.get("dtmfConfiguration"):  # its sequences are the configuration's, kept there only
            if account["dtmfConfiguration"] not in self.dtmf.load()["DTMFConfiguration"]:
                raise SipConfigError(f"dtmfConfiguration: no DTMF configuration {account['dtmfConfiguration'][:64]}")
            account = {**account, "dtmfSequences": [], "dtmfProtocols": list(c.DTMF_METHODS)}
        if account.get("isDefault"):  # there is one default account: the last one made default
            for other in accounts.values():
                other["isDefault"] = False
        proxies = [{**x, "password": self.vault.seal(x["password"]) if x["password"] else ""}
                   for x in account["proxies"]]
        accounts[account["id"]] = {**account, "password": self.vault.seal(account["password"]), "proxies": proxies}
        self.store.set_kv(c.ACCOUNTS_KEY, json.dumps(accounts))

    def default_account_id(self) -> str:
        """The account calls are made from when none is named (the manual's "Make default");
        the peer-to-peer account while no other is."""
        return next((i for i, a in self._raw().items() if a.get("isDefault")), c.P2P_ID)

    def remove_account(self, account_id: str) -> None:
        accounts = self._raw()
        accounts.pop(account_id, None)
        self.store.set_kv(c.ACCOUNTS_KEY, json.dumps(accounts))


def as_agent_account(stored: dict[str, Any]) -> Account:
    return Account(stored["id"], stored["user"], stored["domain"], stored["authId"], stored["password"],
                   stored["registrar"], stored["autoAnswer"],
                   tuple(x["sequence"] for x in stored.get("dtmfSequences", ())), stored["transport"],
                   stored.get("callerId", ""), tuple(stored.get("dtmfProtocols", c.DTMF_METHODS)), stored["tlsVersion"],
                   stored["verifyServer"], stored["sips"], stored["secondaryRegistrar"],
                   tuple(x["address"] for x in stored["proxies"]), stored["certificate"],
                   stored.get("mediaEncryption", "none"),
                   tuple(ProxyLogin(x["address"], x["user"], x["password"]) for x in stored["proxies"]),
                   tuple(x["description"] for x in stored.get("dtmfSequences", ())))


def shown_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as the API shows them: no TURN password, only whether one is set."""
    nat = {k: v for k, v in settings["natTraversal"].items() if k != "turnPassword"}
    nat["turnPasswordSet"] = bool(settings["natTraversal"]["turnPassword"])
    return {**settings, "natTraversal": nat}


def shown(stored: dict[str, Any]) -> dict[str, Any]:
    """An account as the API shows it: no password (its own or a proxy's), only whether one is set."""
    out = {k: v for k, v in stored.items() if k != "password"}
    out["passwordSet"] = bool(stored["password"])
    out["proxies"] = [{"address": x["address"], "user": x["user"], "passwordSet": bool(x["password"])}
                      for x in proxy_entries(stored["proxies"])]
    return out
