"""The system log says so when a changed parameter is one the device stores but does not apply
yet (its owner is pending, docs/parameters.md): the change is kept, and takes effect once the
work its owner names is done."""

from __future__ import annotations

from vigil.core.logs import Logs
from vigil.core.params import PENDING, Change, ParamTree


def note_pending_changes(params: ParamTree, logs: Logs) -> None:
    def listener(changes: list[Change], actor: str) -> None:
        waiting: dict[str, list[str]] = {}  # issue -> the changed parameters waiting for it
        for change in changes:
            d = params.defs.get(change.name)  # a removed group's parameters are gone already
            owner = d.effective_owner if d is not None else None
            if owner is not None and owner.state == PENDING:
                waiting.setdefault(owner.issue, []).append(f"root.{change.name}")
        for issue, names in waiting.items():
            logs.system(f"{', '.join(names)} stored but not applied yet: waiting for {issue}", "notice")

    params.listeners.append(listener)
