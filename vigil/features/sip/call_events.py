"""The Call service's call events (VAPIX Call service API, "Call state event" and "Call state
change event"), for SIP and VMS calls alike, and the CallStatus words they share with
`/vapix/call` (http_call.py).

`tnsaxis:Call/State` is a property of the device (Source: the device making the calls, its
product type without spaces: `NetworkSpeaker` on the C1410, as AXIS speakers send it; the page's
door station example says `DoorStation`; source_of): CallState Idle, Calling (the device calls and waits for
an answer), Ringing (an incoming call waits to be answered: the manual's rule condition "State:
Ringing", which AXIS speakers send though the page's declaration of a door station lists only
Idle, Calling and Active) or Active. With several calls at once the device is in the state of the
most engaged one (Active, then Ringing, then Calling).

`tnsaxis:Call/StateChange` is stateless, one per call transition: Reason (Initiated when a call
starts, outgoing or incoming; AcceptedByRemote or AcceptedByDevice when it is answered;
Terminated when an answered call ends; NoAnswer, Busy, Denied or Failed when one ends
unanswered; Denied for an incoming call turned away by AllowIncomingCalls, its CallId the SIP
Call-ID), CallId, RemoteURI and DeviceURI."""

from __future__ import annotations

import time
from typing import Any

from vigil.core.events import EventBus, Item, Topic
from vigil.features.sip import const as c
from vigil.features.sip.dialog import Call

STATES = ("Idle", "Calling", "Ringing", "Active")  # as declared; the device's state is the most engaged call's
REASONS = ("Initiated", "NoAnswer", "Busy", "Denied", "Failed", "AcceptedByRemote", "AcceptedByDevice", "Terminated")
STATUS_STATES = {"calling": "Calling", "ringing": "Calling", "active": "Active", "ended": "Terminated"}  # CallStatus


def source_of(prod_type: str) -> str:
    """The Source of the device's call events: its product type in one word (`Network Speaker` ->
    `NetworkSpeaker`, `I/O Device` -> `IODevice`)."""
    return "".join(ch for ch in prod_type if ch.isalnum())


def event_state(call: Call) -> str:
    """A call's CallState in the event: an outgoing call whose far end rings is still Calling."""
    if call.state == "ringing":
        return "Ringing" if call.direction == "incoming" else "Calling"
    return {"calling": "Calling", "active": "Active"}.get(call.state, "Idle")


def ended_reason(reason: str, answered: bool) -> str:
    """The CallStateChangeReason of a call that ended, from the reason the agent gave."""
    if "not answered" in reason:
        return "NoAnswer"
    if reason.startswith("486"):
        return "Busy"
    if reason.startswith("603"):
        return "Denied"
    return "Terminated" if answered else "Failed"


def status_reason(described: dict[str, Any]) -> str:
    """The CallStatus's CallStateReason of a call as SipService.describe gives it."""
    if described["state"] == "ended":
        return ended_reason(described["reason"], bool(described["started"]))
    if described["state"] == "active":
        return "AcceptedByDevice" if described["direction"] == "incoming" else "AcceptedByRemote"
    return "Initiated"


def start_time(started: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)) if started else None


class CallEvents:
    """Publishes the two topics; `changed` is told of every state a call takes (SipService.call_changed)."""

    def __init__(self, bus: EventBus, source: str, device_uri: str) -> None:
        self.bus, self.source, self.device_uri = bus, {"Source": source}, device_uri
        self._last: dict[str, str] = {}  # Call-ID -> the event state last announced for that call

    def declare(self) -> None:
        source = (Item("Source", "xsd:string", "Source", (self.source["Source"],)),)
        self.bus.declare(Topic(c.CALL_STATE, "State", True, source,
                               (Item("CallState", "xsd:string", "CallState", STATES, state=True),)))
        self.bus.declare(Topic(c.CALL_STATE_CHANGE, "StateChange", False, source,
                               (Item("Reason", "xsd:string", "Reason", REASONS), Item("CallId", "xsd:string", "CallId"),
                                Item("RemoteURI", "xsd:string", "RemoteURI"),
                                Item("DeviceURI", "xsd:string", "DeviceURI"))))
        self.bus.publish(c.CALL_STATE, self.source, {"CallState": "Idle"})

    def changed(self, call: Call, calls: list[Call]) -> None:
        """`calls`: every call the device has (the one that changed among them or not)."""
        before = self._last.get(call.call_id, "Idle")
        if call.state == "ended":
            self._last.pop(call.call_id, None)
            reason = ended_reason(call.reason, bool(call.started)) if before != "Idle" else ""
        else:
            now = self._last[call.call_id] = event_state(call)
            reason = "" if now == before else "Initiated" if now in ("Calling", "Ringing") else \
                "AcceptedByDevice" if call.direction == "incoming" else "AcceptedByRemote"
        if reason:
            self._change(reason, call.id, call.remote_uri)
        live = [event_state(x) for x in calls if x.state != "ended"]
        state = next((s for s in ("Active", "Ringing", "Calling") if s in live), "Idle")
        self.bus.publish(c.CALL_STATE, self.source, {"CallState": state})

    def denied(self, call_id: str, remote: str) -> None:
        """An incoming call AllowIncomingCalls turned away (Idle to Terminated: the state stays Idle);
        `call_id`: its SIP Call-ID (it never was one of the device's calls)."""
        self._change("Denied", call_id[:64], remote)

    def _change(self, reason: str, call_id: str, remote: str) -> None:
        self.bus.publish(c.CALL_STATE_CHANGE, self.source, {"Reason": reason, "CallId": call_id, "RemoteURI": remote,
                                                            "DeviceURI": self.device_uri})
