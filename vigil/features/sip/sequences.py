"""An account's DTMF sequences (the manual's SIP > DTMF): each a Sequence of 0-9, A-D, # and *
with a Description of the action it triggers. Given and shown as `{"sequence", "description"}`;
the older form, a bare string (a sequence without description), is still accepted, and stored
accounts of that form are read (and stored again) in the new one. The DTMF event offers the
sequences to rules by their descriptions (`event_choices`); a rule still matches the sequence."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

DTMF_SEQUENCE = re.compile(r"[0-9A-D#*]{1,16}")
MAX_SEQUENCES = 10
DESCRIPTION_MAX = 64


class SequenceError(ValueError):
    """A sequence list refused; the text names the field (dtmfSequences[n].sequence ...)."""


def as_object(item: Any) -> Any:
    """A bare sequence string (the older form) as the object form; anything else as it is."""
    return {"sequence": item, "description": ""} if isinstance(item, str) else item


def check_sequences(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or len(value) > MAX_SEQUENCES:
        raise SequenceError(f"dtmfSequences must list at most {MAX_SEQUENCES} sequences, each "
                            '{"sequence": ..., "description": ...} (or the sequence alone)')
    out: list[dict[str, str]] = []
    for n, item in enumerate(as_object(x) for x in value):
        where = f"dtmfSequences[{n}]"
        if not isinstance(item, dict) or set(item) - {"sequence", "description"}:
            raise SequenceError(f'{where} must be {{"sequence": ..., "description": ...}} or the sequence alone')
        sequence = check_sequence(item.get("sequence"), f"{where}.sequence")
        description = check_description(item.get("description", ""), f"{where}.description")
        if any(x["sequence"] == sequence for x in out):
            raise SequenceError(f"{where}.sequence {sequence} is listed twice")
        out.append({"sequence": sequence, "description": description})
    return out


def check_sequence(value: Any, where: str) -> str:
    if not isinstance(value, str) or not DTMF_SEQUENCE.fullmatch(value):
        raise SequenceError(f"{where} must be 1 to 16 of 0-9, A-D, # and *")
    return value


def check_description(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > DESCRIPTION_MAX or not value.isprintable():
        raise SequenceError(f"{where} must be text of at most {DESCRIPTION_MAX} printable characters")
    return value.strip()


def migrated(stored: list[Any]) -> list[dict[str, str]]:
    """Stored sequences in the object form (accounts saved before descriptions held strings)."""
    return [as_object(x) for x in stored]


def event_choices(accounts: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(sequence, what it is called) of every account's sequences, for the DTMF event's Sequence
    item: its description (several accounts' differing ones joined) with the sequence, else the
    sequence itself."""
    names: dict[str, list[str]] = {}
    for account in accounts:
        for item in migrated(account.get("dtmfSequences", [])):
            described = names.setdefault(item["sequence"], [])
            if item["description"] and item["description"] not in described:
                described.append(item["description"])
    return [(sequence, f"{' / '.join(names[sequence])} ({sequence})" if names[sequence] else sequence)
            for sequence in sorted(names)]
