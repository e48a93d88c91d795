"""The Call service API's DTMF events, triggers and configurations (VAPIX: a DTMFEvent names
what a sequence means, a DTMFTrigger ties one sequence to one event, a DTMFConfiguration groups
triggers with the DTMF protocols, and SIP accounts refer to a configuration), stored as that
grouping and nothing else; the device acts on an account's sequences only (sequences.py).

How the two meet: an account whose `dtmfConfiguration` names a configuration has no sequences of
its own; `SipStore.accounts()` gives it, through `resolved`, one sequence per trigger of the
configuration, described by the trigger's event Name, and `dtmfProtocols` from RFC2833 (rtp) and
RFC2976 (info). So the DTMF event (tns1:Device/tnsaxis:SIP/DTMF) carries the event's Name as
its Description, and rules pick the sequence by it, as for the account's own sequences. An account
without a configuration keeps its own list; the SIP API shows a linked account's sequences and
refuses changing them (they change here). Items keep Axis's field names; ids are the caller's or
made (`dtmf_event_0` ...). An item in use is not removed: an event a trigger emits, a trigger a
configuration lists, a configuration an account refers to."""

from __future__ import annotations

import json
from typing import Any

from vigil.core.params import printable
from vigil.core.store import Store
from vigil.features.sip import const as c
from vigil.features.sip.sequences import MAX_SEQUENCES, SequenceError, check_description, check_sequence

KINDS = ("DTMFEvent", "DTMFTrigger", "DTMFConfiguration")
FIELDS = {"DTMFEvent": ("Name",), "DTMFTrigger": ("DTMFSequence", "DTMFEventId"),
          "DTMFConfiguration": ("Name", "DTMFTriggerId", "RFC2833", "RFC2976")}
AUTO_ID = {"DTMFEvent": "dtmf_event", "DTMFTrigger": "dtmf_trigger", "DTMFConfiguration": "dtmf_configuration"}
ID_MAX = 64  # VAPIX: every id at most 64 characters
MAX_ITEMS = 100  # VAPIX: at most 100 entities of each type
Catalogue = dict[str, dict[str, dict[str, Any]]]  # kind -> id -> the item's fields but Id


class DtmfError(ValueError):
    """A value refused (InvalidArgVal); the text names the field."""


class DtmfMissing(DtmfError):
    """A mandatory field left out (InvalidArgs)."""


class DtmfInUse(DtmfError):
    """A removal refused: the item is in use (names by what)."""


def _text(given: Any, name: str, kind: str) -> str:
    value = given.get(name)
    if value is None or value == "":
        raise DtmfMissing(f"Missing data: {kind}.{name}")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # the simplified form reads 1234 as a number
    if not isinstance(value, str) or len(value) > ID_MAX or not value.isprintable():
        raise DtmfError(f"{kind}.{name} must be text of at most {ID_MAX} printable characters")
    return value


def _flag(given: Any, name: str, kind: str) -> bool:
    value = given.get(name, True)  # VAPIX: RFC2833 and RFC2976 default to true
    if not isinstance(value, bool):
        raise DtmfError(f"{kind}.{name} takes true or false")
    return value


def check(data: Catalogue, kind: str, given: Any) -> tuple[str, dict[str, Any]]:
    """(id, item) of a DTMFEvent/DTMFTrigger/DTMFConfiguration as given, checked against the others."""
    if not isinstance(given, dict):
        raise DtmfError(f"{kind} must be an object")
    unknown = sorted(set(given) - {"Id", *FIELDS[kind]})
    if unknown:
        raise DtmfError(f"{kind} field(s) not supported: {', '.join(printable(u)[:40] for u in unknown)}"
                        f" (supported: Id, {', '.join(FIELDS[kind])})")
    items = data[kind]
    item_id = _text(given, "Id", kind) if given.get("Id") not in (None, "") else next(
        f"{AUTO_ID[kind]}_{n}" for n in range(len(items) + 1) if f"{AUTO_ID[kind]}_{n}" not in items)
    if item_id not in items and len(items) >= MAX_ITEMS:
        raise DtmfError(f"at most {MAX_ITEMS} of {kind}")
    try:
        if kind == "DTMFEvent":
            name = check_description(_text(given, "Name", kind), f"{kind}.Name")
            if not name:
                raise DtmfMissing(f"Missing data: {kind}.Name")
            return item_id, {"Name": name}
        if kind == "DTMFTrigger":
            sequence = check_sequence(_text(given, "DTMFSequence", kind), f"{kind}.DTMFSequence")
            event_id = _text(given, "DTMFEventId", kind)
            if event_id not in data["DTMFEvent"]:
                raise DtmfError(f"{kind}.DTMFEventId: no DTMF event {printable(event_id)[:64]}")
            other = next((i for i, t in data[kind].items() if t["DTMFSequence"] == sequence and i != item_id), None)
            if other is not None:  # VAPIX: one sequence triggers one event
                raise DtmfError(f"{kind}.DTMFSequence {sequence} is the sequence of the DTMF trigger {other}")
            return item_id, {"DTMFSequence": sequence, "DTMFEventId": event_id}
    except SequenceError as err:
        raise DtmfError(str(err)) from None
    triggers = given.get("DTMFTriggerId")
    if triggers is None:
        raise DtmfMissing(f"Missing data: {kind}.DTMFTriggerId")
    triggers = [triggers] if isinstance(triggers, str) else triggers
    if not isinstance(triggers, list) or not all(isinstance(x, str) for x in triggers) or len(
            set(triggers)) != len(triggers) or len(triggers) > MAX_SEQUENCES:
        raise DtmfError(f"{kind}.DTMFTriggerId must list at most {MAX_SEQUENCES} DTMF trigger ids, each once")
    missing = [x for x in triggers if x not in data["DTMFTrigger"]]
    if missing:
        raise DtmfError(f"{kind}.DTMFTriggerId: no DTMF trigger {printable(missing[0])[:64]}")
    return item_id, {"Name": _text(given, "Name", kind), "DTMFTriggerId": triggers,
                     "RFC2833": _flag(given, "RFC2833", kind), "RFC2976": _flag(given, "RFC2976", kind)}


def users(data: Catalogue, kind: str, item_id: str, accounts: dict[str, dict[str, Any]]) -> list[str]:
    """What uses an item (and keeps it from being removed)."""
    if kind == "DTMFEvent":
        return [f"DTMF trigger {i}" for i, t in data["DTMFTrigger"].items() if t["DTMFEventId"] == item_id]
    if kind == "DTMFTrigger":
        return [f"DTMF configuration {i}" for i, x in data["DTMFConfiguration"].items()
                if item_id in x["DTMFTriggerId"]]
    return [f"SIP account {i}" for i, a in accounts.items() if a.get("dtmfConfiguration") == item_id]


def resolved(data: Catalogue, configuration_id: str) -> tuple[list[dict[str, str]], list[str]]:
    """A linked account's (dtmfSequences, dtmfProtocols): its configuration's triggers' sequences,
    each described by its event's Name."""
    found = data["DTMFConfiguration"].get(configuration_id)
    if found is None:
        return [], []
    triggers = [data["DTMFTrigger"][x] for x in found["DTMFTriggerId"] if x in data["DTMFTrigger"]]
    sequences = [{"sequence": t["DTMFSequence"], "description": data["DTMFEvent"].get(t["DTMFEventId"], {}).get(
        "Name", "")} for t in triggers]
    return sequences, [m for m, on in zip(c.DTMF_METHODS, (found["RFC2833"], found["RFC2976"]), strict=True) if on]


class DtmfCatalogue:
    """The stored grouping, read and written whole (a request's changes land together or not at all)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def load(self) -> Catalogue:
        raw = self.store.get_kv(c.DTMF_KEY)
        stored = json.loads(raw) if raw else {}
        return {kind: stored.get(kind, {}) for kind in KINDS}

    def save(self, data: Catalogue) -> None:
        self.store.set_kv(c.DTMF_KEY, json.dumps(data))
