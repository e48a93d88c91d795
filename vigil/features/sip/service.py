"""The SIP domain: the settings and accounts (accounts.py) applied to the user agent (ua.py):
the agent listens while SIP is enabled and is restarted on a change of its ports, registered
accounts are kept registered (status per account: registered and with which server, or failed
with the reason), the TLS port serves the device's certificate (tls.py),
calls get their media through the audio layer (media.py), and everything a rule may use is
an event: the call state (idle, calling, ringing, active) per account, each DTMF digit with the
sequence so far, and the registration state. Duration limits: an incoming call ends after the
incoming call duration, any call after the maximum call duration (0: never), a call not
answered within the calling timeout is turned away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Iterable
from typing import Any

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.features.audio.service import AudioService
from vigil.features.certificates.service import CertificateNotFound
from vigil.features.playback.player import Player
from vigil.features.sip import const as c
from vigil.features.sip.accounts import SipConfigError, SipStore, as_agent_account
from vigil.features.sip.call_events import CallEvents
from vigil.features.sip.media import RtpSession
from vigil.features.sip.nat import NatAgent, NatSettings, NatStatus
from vigil.features.sip.registration import Policy
from vigil.features.sip.rewrite import Rewrite
from vigil.features.sip.sequences import event_choices
from vigil.features.sip.tls import DeviceCertificate
from vigil.features.sip.ua import Account, Call, SipError, UserAgent
from vigil.features.sip.vms import VMS_CALL, StreamCounts, VmsCalls, VmsConfig, is_vms

log = logging.getLogger("vigil.sip")
MAX_SEQUENCE = 32  # digits kept of a call's DTMF sequence
DTMF_METHOD_NAMES = {"rtp": "RTP (RFC 4733)", "info": "SIP INFO"}


class SipService:
    """`player` and `audio` are None on a device without a speaker: it only places calls (the SIP
    recipient, Make a call), with no audio, refuses incoming calls and runs its agent from the
    first call on, on a port of the system's choosing (it answers no one on a well-known port, and
    has no TLS listener)."""

    def __init__(self, store: SipStore, bus: EventBus, logs: Logs, player: Player | None,
                 audio: AudioService | None, host: str, certificate: DeviceCertificate, kv: Store,
                 source: str) -> None:
        """`kv`: where the VMS call configuration is kept; `source`: the call events' Source (call_events.py)."""
        self.store, self.bus, self.logs, self.player, self.audio, self.host = store, bus, logs, player, audio, host
        self.certificate = certificate
        self.calls_only = player is None or audio is None
        self._calling = False  # calls-only: a call was asked for, so the agent runs
        self._reached: dict[str, asyncio.Future[None]] = {}  # Call-ID -> the far end rings or answers
        self._denied: list[str] = []  # the Call-IDs of the latest INVITEs turned away
        self.vms = VmsCalls(VmsConfig(kv, StreamCounts(player, audio)), self.call_changed)
        self.call_events = CallEvents(bus, source, f"sip:{host}")
        self.agent: UserAgent | None = None
        self.status: dict[str, dict[str, str]] = {}  # account id -> {"state": ..., "reason": ...}
        self.history: list[dict[str, Any]] = []  # ended calls, newest last (the call log)
        self.nat_status = NatStatus(logs)  # STUN/TURN/ICE: ok, or failed with the reason
        self._limits: dict[str, asyncio.Task] = {}
        self._lock = asyncio.Lock()
        self._applied = ""  # the settings and accounts the agent runs with, as JSON

    def declare(self) -> None:
        account = (Item("AccountId", "xsd:string", "Account"),)
        self.call_events.declare()
        self.declare_dtmf(self.store.accounts().values())
        self.bus.declare(Topic(c.REGISTRATION, "SIP account registration", True, account,
                               (Item("Registered", "xsd:boolean", "Registered", state=True),
                                Item("Reason", "xsd:string", "Reason"))))

    def declare_dtmf(self, accounts: Iterable[dict[str, Any]]) -> None:
        """The DTMF event, offering rules the accounts' sequences by their descriptions (again
        whenever the accounts change)."""
        choices = event_choices(accounts)
        self.bus.declare(Topic(c.DTMF, "SIP DTMF", False, (Item("AccountId", "xsd:string", "Account"),),
                               (Item("Digit", "xsd:string", "Digit"),
                                Item("Sequence", "xsd:string", "Sequence entered", tuple(s for s, _ in choices),
                                     tuple(name for _, name in choices)),
                                Item("Description", "xsd:string", "Description"))))

    # -- the agent's hooks --------------------------------------------------------------
    def account_for(self, user: str) -> Account:
        accounts = self.store.accounts()
        found = next((a for a in accounts.values() if a["user"] == user and a["id"] != c.P2P_ID), None)
        return as_agent_account(found or accounts[c.P2P_ID])

    def incoming_allowed(self, call_id: str, remote: str) -> bool:
        """An INVITE turned away is announced Denied once (its retransmissions are turned away too)."""
        allowed = not self.calls_only and bool(self.store.settings()["allowIncoming"])
        if not allowed and call_id not in self._denied:
            self._denied = (self._denied + [call_id])[-20:]
            self.call_events.denied(call_id, remote)
            self.logs.system(f"Incoming SIP call from {remote} declined: incoming calls are not allowed")
        return allowed

    def offer_direction(self) -> str:
        return "inactive" if self.calls_only else "sendrecv"

    def codec_priority(self) -> list[str]:
        return list(self.store.settings()["codecPriority"])

    def rtp_port(self) -> int:
        return int(self.store.settings()["rtpPortStart"])

    def media(self, call: Call) -> RtpSession:
        return RtpSession(self.player, self.audio, self.logs, lambda digit: self.dtmf(call, digit, "rtp"),
                          f"{call.id} ({call.remote_uri})", lambda: int(self.store.settings()["callPriority"]))

    def call_changed(self, call: Call) -> None:
        self.call_events.changed(call, self.calls())
        settings = self.store.settings()
        reached = self._reached.get(call.call_id)
        if reached is not None and not reached.done():
            if call.state in ("ringing", "active"):
                reached.set_result(None)
            elif call.state == "ended":
                reached.set_exception(SipError(call.reason or "the call ended"))
        if call.state == "ringing" and call.direction == "incoming":
            self.logs.system(f"Incoming SIP call from {call.remote_uri} to account {call.account.id}")
            self._limit(call, settings["callingTimeout"], "not answered in time", only_ringing=True)
        elif call.state == "calling":
            timeout = self.vms.config.get()["Timeout"] if is_vms(call) else settings["callingTimeout"]
            self._limit(call, timeout, "not answered in time", only_ringing=True)
        elif call.state == "active" and is_vms(call):
            self._cancel_limit(call)  # VAPIX: the call duration limits are not for VMS calls
            self.logs.system(f"VMS call {call.id} is connected")
        elif call.state == "active":
            limits = [s for s in (settings["incomingCallDuration"] if call.direction == "incoming" else 0,
                                  settings["maxCallDuration"]) if s]
            if limits:
                self._limit(call, min(limits), "the call duration limit was reached")
            else:
                self._cancel_limit(call)
            self.logs.system(f"SIP call {call.id} with {call.remote_uri} is connected")
        elif call.state == "ended":
            self._cancel_limit(call)
            self.history = (self.history + [self.describe(call)])[-50:]
            self.logs.system(f"SIP call {call.id} with {call.remote_uri} ended: {call.reason}")

    def dtmf(self, call: Call, digit: str, method: str = "info") -> None:
        """Each digit is an event; `Sequence` names the account's DTMF sequence the digit completed
        (the longest), else it is empty: a rule triggered on Sequence=1234 opens the door on that code.
        A digit sent by a method (`rtp`, `info`) the account's DTMF protocols leave out is ignored."""
        if method not in call.account.dtmf_methods:
            self.logs.system(f"SIP call {call.id}: DTMF {digit} by {DTMF_METHOD_NAMES[method]} ignored: account "
                             f"{call.account.id} does not accept it", "warning")
            return
        call.digits = (call.digits + digit)[-MAX_SEQUENCE:]
        matched = max((x for x in call.account.dtmf_sequences if call.digits.endswith(x)), key=len, default="")
        described = dict(zip(call.account.dtmf_sequences, call.account.dtmf_descriptions, strict=False))
        description = described.get(matched, "")
        self.bus.publish(c.DTMF, {"AccountId": call.account.id},
                         {"Digit": digit, "Sequence": matched, "Description": description})
        if matched:
            self.logs.system(f"SIP call {call.id}: DTMF sequence {matched} entered"
                             + (f" ({description})" if description else ""))

    def client_tls(self, account: Account) -> ssl.SSLContext:
        """SipError when the account's certificate is gone from the keystore or cannot be used."""
        try:
            return self.certificate.client(account.tls_version, account.verify_server, account.certificate)
        except (CertificateNotFound, ssl.SSLError, ValueError, OSError) as err:
            raise SipError(f"the account's certificate cannot be used: {err}") from None

    def check_certificate(self, alias: str) -> None:
        """SipConfigError when an account's certificate is not one of the keystore's with its key."""
        try:
            self.certificate.check_client(alias)
        except (CertificateNotFound, ssl.SSLError, ValueError, OSError) as err:
            raise SipConfigError(f"certificate: {err}") from None

    def certificate_use(self, alias: str) -> str | None:
        """What in SIP uses the keystore's `alias` (it cannot be deleted while it does)."""
        users = [i for i, a in self.store.accounts().items() if a.get("certificate") == alias]
        return f"the SIP account {users[0]}" if users else None

    def registration_policy(self) -> Policy:
        settings = self.store.settings()
        return Policy(settings["registerInterval"], float(settings["registrationRetry"]),
                      float(settings["failbackSeconds"]), settings["maxRetransmissions"])

    def dtmf_payload(self) -> int:
        return int(self.store.settings()["dtmfPayloadType"])

    def udp_to_tcp(self) -> bool:
        return bool(self.store.settings()["udpToTcp"])

    def registration_changed(self, account: Account, registered: bool, reason: str, server: str = "") -> None:
        """`server`: the registrar or the secondary server the account is registered with."""
        before = self.status.get(account.id)
        self.status[account.id] = {"state": "registered" if registered else "failed", "reason": reason,
                                   "server": server if registered else ""}
        self.bus.publish(c.REGISTRATION, {"AccountId": account.id},
                         {"Registered": "1" if registered else "0", "Reason": reason})
        if before != self.status[account.id]:
            self.logs.system(f"SIP account {account.id}: " + (f"registered with {server}" if registered
                                                              else f"not registered: {reason}"),
                             "info" if registered else "warning")

    # -- limits -------------------------------------------------------------------------
    def _limit(self, call: Call, seconds: int, reason: str, only_ringing: bool = False) -> None:
        self._cancel_limit(call)

        async def expire() -> None:
            await asyncio.sleep(seconds)
            if is_vms(call):
                if not only_ringing or call.state == "calling":
                    self.vms.end(call, reason)
                return
            if self.agent is None or (only_ringing and call.state not in ("calling", "ringing")):
                return
            if call.state == "ringing" and call.direction == "incoming":
                await self.agent.reject(call, reason)
            else:
                await self.agent.hangup(call, reason)

        self._limits[call.call_id] = asyncio.get_running_loop().create_task(expire())

    def _cancel_limit(self, call: Call) -> None:
        task = self._limits.pop(call.call_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # -- what the API and rules do ------------------------------------------------------
    @staticmethod
    def describe(call: Call) -> dict[str, Any]:
        return {"id": call.id, "accountId": call.account.id, "direction": call.direction, "remote": call.remote_uri,
                "state": call.state, "reason": call.reason, "duration": round(call.duration, 1),
                "dtmf": call.digits, "started": call.started or None}

    def calls(self) -> list[Call]:
        return (list(self.agent.calls.values()) if self.agent is not None else []) + list(self.vms.calls.values())

    def find_call(self, call_id: str) -> Call:
        call = next((x for x in self.calls() if x.id == call_id), None)
        if call is None:
            raise SipConfigError(f"no call {call_id}")
        return call

    async def call(self, account_id: str | None, uri: str) -> Call:
        """Place a call from an account (None: the default account); to VMS_CALL, a VMS call."""
        if uri == VMS_CALL:
            return self.vms.place()  # no SIP account, SIP enabled or not
        if self.calls_only and not self._calling:
            self._calling = True
            await self.apply()
        agent = await self._agent()
        account_id = self.store.default_account_id() if account_id is None else account_id
        accounts = self.store.accounts()
        if not isinstance(account_id, str) or account_id not in accounts:
            raise SipConfigError(f"no account {account_id}")
        if not isinstance(uri, str) or not uri.startswith(("sip:", "sips:")) or "@" not in uri:
            raise SipConfigError("the address must be a SIP URI: sip:user@host[:port] (or sips:)")
        account = as_agent_account(accounts[account_id])
        if uri.startswith("sips:") and account.transport != "tls":
            raise SipConfigError(f"a sips: address needs an account whose transport is tls ({account_id} uses "
                                 f"{account.transport})")
        if account.sips and uri.startswith("sip:"):
            uri = "sips:" + uri[4:]  # a SIPS account calls securely end to end
        return await agent.call(account, uri)

    async def reach(self, account_id: str | None, uri: str, timeout: float) -> Call:
        """Place a call and return once the far end rings or answers (the SIP recipient's delivery);
        SipError with the reason when it ends before or `timeout` passes."""
        call = await self.call(account_id, uri)
        if is_vms(call):
            return call  # announced: the VMS sees the call state
        reached = self._reached[call.call_id] = asyncio.get_running_loop().create_future()
        try:
            if call.state in ("ringing", "active"):
                return call
            if call.state == "ended":
                raise SipError(call.reason or "the call ended")
            try:
                await asyncio.wait_for(asyncio.shield(reached), timeout)
            except TimeoutError:
                raise SipError(f"{uri} did not answer within {timeout:g} s") from None
            return call
        finally:
            self._reached.pop(call.call_id, None)
            if not reached.done():
                reached.cancel()

    async def answer(self, call_id: str) -> None:
        await (await self._agent()).answer(self.find_call(call_id))

    async def hangup(self, call_id: str) -> None:
        found = self.find_call(call_id)
        if is_vms(found):
            self.vms.end(found, "hung up")
            return
        await (await self._agent()).hangup(self.find_call(call_id))

    def account_status(self, account_id: str, stored: dict[str, Any]) -> dict[str, str]:
        if not stored["registrar"]:
            return {"state": "peer-to-peer", "reason": ""}
        if self.agent is None:
            return {"state": "disabled", "reason": "SIP is not enabled"}
        return self.status.get(account_id, {"state": "registering", "reason": ""})

    # -- applying -----------------------------------------------------------------------
    async def _agent(self) -> UserAgent:
        """The agent, once settings being applied are (a restart leaves none for a moment: a call
        placed then waits for the new agent instead of failing); SipError when SIP is off."""
        async with self._lock:
            agent = self.agent
        if agent is None:
            raise SipError("SIP is not enabled")
        return agent

    async def apply(self) -> None:
        """Make the agent match the stored settings and accounts (a restart on any change: calls end)."""
        async with self._lock:
            settings, accounts = self.store.settings(), self.store.accounts()
            applied = json.dumps([settings, accounts, self._calling], sort_keys=True)
            if applied == self._applied:
                return  # nothing changed since (the service's start after an API change, say)
            self._applied = applied
            self.declare_dtmf(accounts.values())
            if self.agent is not None:
                await self.agent.stop()
                self.agent = None
            self.status.clear()
            self.nat_status.state.clear()
            if not (self._calling if self.calls_only else settings["enabled"]):
                return
            nat = NatAgent(NatSettings.from_stored(settings["natTraversal"]), self.nat_status)
            certificate = None
            if not self.calls_only:  # a device that only places calls listens for no one
                try:
                    certificate = self.certificate.listener()
                except (ssl.SSLError, ValueError, OSError) as err:
                    self.logs.system(f"SIP over TLS cannot take the device's certificate: {err}", "error")
            agent = UserAgent(self, self.host, 0 if self.calls_only else settings["sipPort"], nat,
                              0 if self.calls_only else settings["tlsPort"], certificate,
                              Rewrite(settings["contactRewrite"], settings["viaRewrite"]))
            try:
                await agent.start()
            except OSError as err:
                self.logs.system(f"SIP cannot listen on port {settings['sipPort']}: {err}", "error")
                self._applied = ""  # the next apply tries again
                return
            if agent.transports.tls_error:
                self.logs.system(f"SIP cannot listen for TLS on port {settings['tlsPort']}: "
                                 f"{agent.transports.tls_error}", "error")
            self.agent = agent
            agent.spawn(nat.check_turn())
            for stored in accounts.values():
                if stored["registrar"]:
                    agent.keep_registered(as_agent_account(stored))

    async def run(self) -> None:
        try:
            await self.apply()
            await self.vms.watch()
        finally:
            if self.agent is not None:
                with contextlib.suppress(Exception):
                    await self.agent.stop()
            for task in self._limits.values():
                task.cancel()


SIP_SERVICE: Key[SipService] = Key("sip")
