"""The agent's object tree: every object instance the agent answers for, in OID order, each with
the function that reads its value now and, for writable ones, the function that sets it.

Groups of objects (the MIB-II system group, the interfaces table, the storage tables ...) are
`Branch` functions that list their instances; the tree asks them again only when one of them
says its rows changed (`Mib.changed`), so a GETNEXT is one binary search, not a MIB walk.
`Instrumentation` gives pysnmp's command responders (GET, GETNEXT, GETBULK, SET) this tree
in place of pysnmp's own MIB instrumentation; pysnmp keeps doing the message encoding, the
security models and the view-based access control (its `acFun`).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyasn1.type.base import Asn1Item
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import error as smi
from pysnmp.smi.instrum import AbstractMibInstrumController

log = logging.getLogger("vigil.snmp")

Oid = tuple[int, ...]


class SetRefused(Exception):
    """A value an object does not take: `status` is the SNMP error status to answer with
    (wrongValue, wrongLength, inconsistentValue ...), `str()` says why for the log."""

    def __init__(self, status: type[smi.MibOperationError], reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Instance:
    """One object instance: its OID, how to read it, and (writable ones) its SNMP type and how
    to set it. `write` gets a value of `syntax`'s type and returns nothing; it raises
    SetRefused for a value the object does not take."""

    oid: Oid
    read: Callable[[], Asn1Item]
    syntax: type[Asn1Item] | None = None
    write: Callable[[Asn1Item, str], None] | None = None
    check: Callable[[Asn1Item], None] | None = None  # the test phase of a set: raises SetRefused


Branch = Callable[[], Iterable[Instance]]


def oid(text: str) -> Oid:
    return tuple(int(part) for part in text.strip(".").split("."))


class Mib:
    """The instances of all branches, sorted; rebuilt when a branch said it changed."""

    def __init__(self) -> None:
        self.branches: list[Branch] = []
        self._oids: list[Oid] = []
        self._by_oid: dict[Oid, Instance] = {}
        self._stale = True

    def add(self, branch: Branch) -> None:
        self.branches.append(branch)
        self._stale = True

    def changed(self) -> None:
        """A branch's rows changed (a volume appeared, a drive left): list them again."""
        self._stale = True

    def _index(self) -> None:
        if not self._stale:
            return
        by_oid: dict[Oid, Instance] = {}
        for branch in self.branches:
            for instance in branch():
                by_oid[instance.oid] = instance
        self._by_oid = by_oid
        self._oids = sorted(by_oid)
        self._stale = False

    def get(self, name: Oid) -> Instance | None:
        self._index()
        return self._by_oid.get(name)

    def after(self, name: Oid) -> Iterable[Instance]:
        """The instances after `name`, in OID order."""
        self._index()
        oids, by_oid = self._oids, self._by_oid
        for position in range(bisect.bisect_right(oids, name), len(oids)):
            found = by_oid.get(oids[position])
            if found is not None:
                yield found

    def __len__(self) -> int:
        self._index()
        return len(self._oids)


class Instrumentation(AbstractMibInstrumController):
    """The tree as pysnmp's command responders see it. `on_set(actor, changes)` hears of every
    set that went through; `actor` names the request's security name and address."""

    def __init__(self, mib: Mib, actor: Callable[[dict], str]) -> None:
        self.mib = mib
        self.actor = actor

    @staticmethod
    def _allowed(view: str, name: Oid, value, context: dict) -> bool:
        """pysnmp's access check (VACM): False when `name` is outside the caller's view.
        It raises AuthorizationError itself when the caller has no access at all."""
        check = context.get("acFun")
        if check is None:
            return True
        try:
            return not check(view, (rfc1902.ObjectName(name), value), **context)
        except smi.NoAccessError:  # a Counter64 asked for over SNMPv1: skipped, as if absent
            return False

    def read_variables(self, *var_binds, **context):
        out = []
        for idx, (name, _value) in enumerate(var_binds):
            context["idx"] = idx
            key = tuple(name)
            instance = self.mib.get(key)
            if instance is None:
                value = rfc1905.noSuchInstance if self.mib.get(key[:-1] + (0,)) or self._has_column(key) \
                    else rfc1905.noSuchObject
                out.append((name, value))
                continue
            value = instance.read()
            out.append((name, value if self._allowed("read", key, value, context) else rfc1905.noSuchObject))
        return out

    def _has_column(self, key: Oid) -> bool:
        nearest = next(iter(self.mib.after(key[:-1])), None)
        return nearest is not None and nearest.oid[:len(key) - 1] == key[:-1]

    def read_next_variables(self, *var_binds, **context):
        out = []
        for idx, (name, _value) in enumerate(var_binds):
            context["idx"] = idx
            for instance in self.mib.after(tuple(name)):
                value = instance.read()
                if self._allowed("read", instance.oid, value, context):
                    out.append((rfc1902.ObjectName(instance.oid), value))
                    break
            else:
                out.append((name, rfc1905.endOfMibView))
        return out

    def write_variables(self, *var_binds, **context):
        # The test phase for every binding first: a set changes all its objects or none.
        planned = []
        for idx, (name, value) in enumerate(var_binds):
            context["idx"] = idx
            key = tuple(name)
            instance = self.mib.get(key)
            if instance is None:
                if self._allowed("write", key, value, context) and (self._has_column(key) or self.mib.get(key[:-1] + (0,))):
                    raise smi.NoCreationError(name=name, idx=idx)
                raise smi.NoAccessError(name=name, idx=idx)
            if not self._allowed("write", key, value, context):
                raise smi.NoAccessError(name=name, idx=idx)
            if instance.write is None or instance.syntax is None:
                raise smi.NotWritableError(name=name, idx=idx)
            if value.tagSet != instance.syntax.tagSet:
                raise smi.WrongTypeError(name=name, idx=idx)
            try:
                typed = instance.syntax(value)
                if instance.check is not None:
                    instance.check(typed)
            except SetRefused as refused:
                log.info("SNMP set of %s refused: %s", ".".join(map(str, key)), refused)
                raise refused.status(name=name, idx=idx) from refused
            except Exception as err:  # noqa: BLE001 - a value outside the type's constraints
                raise smi.WrongValueError(name=name, idx=idx) from err
            planned.append((idx, name, instance, typed))
        actor = self.actor(context)
        for idx, name, instance, typed in planned:
            assert instance.write is not None
            try:
                instance.write(typed, actor)
            except SetRefused as refused:  # refused by the owner only now: the earlier ones stay set
                log.info("SNMP set of %s refused: %s", name.prettyPrint(), refused)
                raise smi.CommitFailedError(name=name, idx=idx) from refused
        return [(name, instance.read()) for _idx, name, instance, _typed in planned]
