"""The parameter tree: every user-visible setting as `root.Group[.Sub].Name`.

Services declare their parameters (type, default, allowed values, read and write role, and
the owner that makes each one take effect); `param.cgi` and the Plain config page read and
write through this tree. A change is validated, persisted in one transaction, audited and
announced to listeners. Parameters of kind "password" are stored sealed by the device vault
(a value stored in clear by an older version is sealed at start-up) and never listed in clear.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from vigil.core.roles import Role
from vigil.core.store import Store
from vigil.core.vault import SealError, Vault, is_sealed

log = logging.getLogger("vigil.params")

MASK = "******"
_INT = re.compile(r"^-?\d{1,19}$")
_NAME_PART = re.compile(r"^[A-Za-z0-9_]+$")


class ParamError(Exception):
    """A request the tree refuses; `str()` is the text the client sees."""


def printable(text: str, limit: int = 200) -> str:
    """`text` safe to echo in a one-line reply or a log entry: control characters escaped
    (a CR LF in a value must not become a line of its own), long texts cut."""
    out = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                  for c in text[:limit])
    return out + "..." if len(text) > limit else out


def _refused(name: str, value: str, reason: str, secret: bool = False) -> ParamError:
    shown = MASK if secret else printable(value)
    return ParamError(f"Error setting 'root.{printable(strip_root(name))}' to '{shown}'! ({reason})")


# -- who makes a parameter take effect -----------------------------------------------------
APPLIED, PENDING, INFORMATIONAL_STATE = "applied", "pending", "informational"
HOW = ("read", "listener")


@dataclass(frozen=True)
class Owner:
    """Who makes a parameter take effect (docs/parameters.md lists every parameter's owner).

    - applied: each feature in `features` applies it, reading the value where it is used
      (`how="read"`) or following its changes with a tree listener (`how="listener"`).
    - pending: `features` will apply it but do not yet: the value is checked, stored and shown,
      and changes nothing until the work named by `issue` is done. A setting accepted with OK
      that changes nothing misleads the user, so this list must stay exact.
    - informational: a fact the device reports (identity, product properties, status).

    A feature is a package under `vigil/features/` ("io"), or a module or package under
    `vigil/` ("core.auth", "http", "web"). A parameter nobody can write needs no owner: it is
    informational. tests/core/test_param_owners.py checks each owner against the code.
    """

    state: str
    features: tuple[str, ...] = ()
    how: str = ""
    issue: str = ""
    note: str = ""  # a sentence for the reader of docs/parameters.md

    def __post_init__(self) -> None:
        if self.state not in (APPLIED, PENDING, INFORMATIONAL_STATE):
            raise ValueError(f"unknown owner state {self.state!r}")
        if self.state == APPLIED and (not self.features or self.how not in HOW):
            raise ValueError("an applied parameter names its features and how they apply it")
        if self.state == PENDING and (len(self.features) != 1 or not self.issue):
            raise ValueError("a pending parameter names the one feature and the issue that will apply it")


def applied(*features: str, how: str = "read", note: str = "") -> Owner:
    """`features` apply the parameter: they read it where it is used, or listen to its changes."""
    return Owner(APPLIED, features, how, note=note)


def pending(feature: str, issue: str, note: str = "") -> Owner:
    """`feature` will apply the parameter once `issue` is done; until then it changes nothing."""
    return Owner(PENDING, (feature,), issue=issue, note=note)


INFORMATIONAL = Owner(INFORMATIONAL_STATE)


@dataclass(frozen=True)
class ParamDef:
    """One parameter. `name` has no `root.` prefix, e.g. `Network.HTTP.Port`."""

    name: str
    default: str = ""
    kind: str = "string"  # string | int | bool | enum | password
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    maxlen: int = 255
    read: Role = Role.ADMIN
    write: Role | None = Role.ADMIN  # None: read-only
    nice: str = ""
    truth: tuple[str, str] = ("yes", "no")
    ascii_only: bool = False
    dynamic: Callable[[], str] | None = None  # computed, read-only values
    check: Callable[[str], str | None] | None = None  # extra rule: error text or None
    owner: Owner | None = None  # None: informational if read-only, else unclassified

    @property
    def readonly(self) -> bool:
        return self.write is None or self.dynamic is not None

    @property
    def effective_owner(self) -> Owner | None:
        """The declared owner; a parameter nobody can write is informational without one."""
        if self.owner is not None:
            return self.owner
        return INFORMATIONAL if self.readonly else None

    def validate(self, value: str) -> str | None:
        """Return why `value` is not acceptable, or None."""
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            return "control characters are not allowed"
        if len(value) > self.maxlen:
            return f"longer than {self.maxlen} characters"
        if (self.ascii_only or self.kind in ("int", "bool", "enum")) and not value.isascii():
            return "only ASCII characters are allowed"
        if self.kind == "int":
            if not _INT.match(value):
                return "not an integer"
            number = int(value)
            if self.minimum is not None and number < self.minimum:
                return f"below the minimum {self.minimum}"
            if self.maximum is not None and number > self.maximum:
                return f"above the maximum {self.maximum}"
        elif self.kind == "bool":
            if value not in self.truth:
                return f"must be {self.truth[0]} or {self.truth[1]}"
        elif self.kind == "enum" and value not in self.choices:
            return "must be one of " + ", ".join(self.choices)
        if self.check is not None:
            return self.check(value)
        return None


@dataclass(frozen=True)
class ParamTemplate:
    """A dynamic group kind created by `param.cgi?action=add&template=...`."""

    name: str
    parent: str  # e.g. StreamProfile
    letter: str  # e.g. S: instances are StreamProfile.S0, S1, ...
    params: tuple[ParamDef, ...]  # names relative to the instance, e.g. Name
    max_groups: int = 20  # `force=yes` goes beyond it ...
    hard_limit: int = 64  # ... up to this many groups, never more
    add_role: Role = Role.OPERATOR
    force_role: Role = Role.ADMIN  # going beyond max_groups is an administrator's decision
    owner: Owner | None = None  # for the template's parameters that do not name their own

    def __post_init__(self) -> None:
        if not 0 < self.max_groups <= self.hard_limit:
            raise ValueError(f"template {self.name}: needs 0 < max_groups <= hard_limit")


@dataclass
class Change:
    name: str
    old: str
    new: str
    secret: bool


def _sort_key(name: str) -> tuple:
    # Within a group the device lists its own parameters before its subgroups.
    parts = name.split(".")
    return tuple((0 if i == len(parts) - 1 else 1, p.lower()) for i, p in enumerate(parts))


def strip_root(name: str) -> str:
    return name[5:] if name.lower().startswith("root.") else name


def _matches(pattern: list[str], parts: list[str]) -> bool:
    if len(parts) < len(pattern):
        return False
    return all(fnmatch.fnmatchcase(n.lower(), p.lower()) for p, n in zip(pattern, parts, strict=False))


@dataclass
class ParamTree:
    store: Store
    vault: Vault  # seals the values of password parameters in the store
    defs: dict[str, ParamDef] = field(default_factory=dict)
    templates: dict[str, ParamTemplate] = field(default_factory=dict)
    listeners: list[Callable[[list[Change], str], None]] = field(default_factory=list)
    # Asked before a change is stored, with the new values of the parameters that change: a hook
    # returns None, or (the parameter to blame, why the whole change is refused). For the rules
    # a single value cannot tell (a port already in use, two settings that lock every client out,
    # a router outside the address's subnet).
    vetoes: list[Callable[[dict[str, str]], tuple[str, str] | None]] = field(default_factory=list)
    _values: dict[str, str] = field(default_factory=dict)
    _order: list[str] | None = None
    _lower: dict[str, str] = field(default_factory=dict)
    _selected: dict = field(default_factory=dict)

    # -- declaration -------------------------------------------------------------------
    def declare(self, defs: Iterable[ParamDef]) -> None:
        for d in defs:
            self.defs[d.name] = d
            self._lower[d.name.lower()] = d.name
            self._values.setdefault(d.name, d.default)
        self._order = None

    def declare_template(self, template: ParamTemplate) -> None:
        self.templates[template.name] = template

    def load(self) -> None:
        """Apply stored instances and values over the declared defaults. A secret stored in
        clear (by a version that did not seal them) is sealed now; one that this device key
        cannot open is lost, not the device: it is the default again, with a warning."""
        for group, template in self.store.query("SELECT name, template FROM param_groups"):
            if template in self.templates:
                self._instantiate(self.templates[template], group)
        in_clear: dict[str, str] = {}
        lost: list[str] = []
        for name, value in self.store.query("SELECT name, value FROM params"):
            d = self.defs.get(name)
            if d is None:
                continue
            if d.kind == "password" and value:
                if not is_sealed(value):
                    in_clear[name] = value
                else:
                    try:
                        value = self.vault.unseal(value)
                    except SealError:
                        log.warning("root.%s cannot be decrypted (the device key changed): set it again", name)
                        lost.append(name)
                        continue
            self._values[name] = value
        if in_clear or lost:
            with self.store.transaction() as db:
                for name, value in in_clear.items():
                    db.execute("UPDATE params SET value=? WHERE name=?", (self.vault.seal(value), name))
                for name in lost:
                    db.execute("DELETE FROM params WHERE name=?", (name,))

    def _stored(self, name: str, value: str) -> str:
        """What the store keeps of a value: a password sealed."""
        return self.vault.seal(value) if self.defs[name].kind == "password" else value

    def _instantiate(self, template: ParamTemplate, group: str) -> list[ParamDef]:
        made = [replace(p, name=f"{group}.{p.name}", owner=p.owner or template.owner) for p in template.params]
        self.declare(made)
        return made

    # -- reading -----------------------------------------------------------------------
    def resolve(self, name: str) -> str | None:
        return self._lower.get(strip_root(name).lower())

    def get(self, name: str) -> str:
        d = self.defs[name]
        return d.dynamic() if d.dynamic is not None else self._values[name]

    def get_int(self, name: str) -> int:
        return int(self.get(name))

    def get_bool(self, name: str) -> bool:
        return self.get(name) == self.defs[name].truth[0]

    def names(self) -> list[str]:
        if self._order is None:
            self._order = sorted(self.defs, key=_sort_key)
            self._selected.clear()
        return self._order

    def lines(self, names: list[str]) -> list[str]:
        """`root.Name=value` for each name, secrets masked (the hot path of param.cgi list)."""
        defs, values = self.defs, self._values
        out = []
        for n in names:
            d = defs[n]
            value = MASK if d.kind == "password" else d.dynamic() if d.dynamic is not None else values[n]
            out.append(f"root.{n}={value}")
        return out

    def shown(self, name: str) -> str:
        return MASK if self.defs[name].kind == "password" else self.get(name)

    def select(self, patterns: list[str] | None, role: Role) -> tuple[list[str], list[str]]:
        """Names matching each pattern that `role` may read, and the patterns that matched none."""
        self.names()  # clears the cache when the tree changed
        key = (tuple(patterns) if patterns else (), role)
        hit = self._selected.get(key)
        if hit is None:
            if len(self._selected) >= 256:  # patterns come from clients: bound the cache
                self._selected.clear()
            hit = self._selected[key] = tuple(map(tuple, self._select(patterns, role)))
        return list(hit[0]), list(hit[1])

    def _select(self, patterns: list[str] | None, role: Role) -> tuple[list[str], list[str]]:
        readable = [n for n in self.names() if self.defs[n].read <= role]
        if not patterns:
            return readable, []
        chosen: list[str] = []
        seen: set[str] = set()
        missing: list[str] = []
        for raw in patterns:
            stripped = strip_root(raw.strip())
            if stripped.lower() == "root":  # `group=root` is the whole tree
                stripped = "*"
            pattern = stripped.split(".")
            hits = [n for n in readable if _matches(pattern, n.split("."))]
            if not hits or not all(_NAME_PART.match(p.replace("*", "x")) for p in pattern):
                missing.append(raw)
                continue
            for n in hits:
                if n not in seen:
                    seen.add(n)
                    chosen.append(n)
        return chosen, missing

    # -- writing -----------------------------------------------------------------------
    def update(self, pairs: list[tuple[str, str]], role: Role, actor: str) -> list[Change]:
        """Validate every pair, then apply all of them in one transaction (or none)."""
        staged: dict[str, str] = {}
        for raw, value in pairs:
            name = self.resolve(raw)
            d = self.defs.get(name) if name else None
            secret = d is not None and d.kind == "password"
            if d is None or d.read > role:
                raise _refused(raw, value, "no such parameter", secret)
            if d.readonly or d.write is None or d.write > role:
                raise _refused(d.name, value, "not writable with this account", secret)
            reason = d.validate(value)
            if reason:
                raise _refused(d.name, value, reason, secret)
            staged[d.name] = value
        return self._commit(staged, actor)

    def set_internal(self, values: dict[str, str], actor: str = "system") -> list[Change]:
        """Write values from a service (no role check, still validated and audited)."""
        for name, value in values.items():
            reason = self.defs[name].validate(value)
            if reason:
                raise _refused(name, value, reason, self.defs[name].kind == "password")
        return self._commit(values, actor)

    def _commit(self, staged: dict[str, str], actor: str) -> list[Change]:
        changes = [
            Change(n, self._values[n], v, self.defs[n].kind == "password")
            for n, v in staged.items()
            if self._values[n] != v
        ]
        if not changes:
            return []
        new = {c.name: c.new for c in changes}
        for veto in self.vetoes:
            refusal = veto(new)
            if refusal is not None:
                name, reason = refusal
                raise _refused(name, new.get(name, self.get(name)), reason, self.defs[name].kind == "password")
        with self.store.transaction() as db:
            for c in changes:
                db.execute("INSERT OR REPLACE INTO params(name, value) VALUES(?, ?)",
                           (c.name, self._stored(c.name, c.new)))
        for c in changes:
            self._values[c.name] = c.new
        for listener in self.listeners:
            listener(changes, actor)
        return changes

    def add(self, template_name: str, parent: str, values: list[tuple[str, str]], role: Role,
            actor: str, force: bool = False) -> str:
        """Create the next instance of a dynamic group; returns its short name, e.g. S3."""
        template = self.templates.get(template_name)
        if template is None or strip_root(parent).lower() != template.parent.lower():
            raise ParamError(f"Invalid template '{printable(template_name)}' for group '{printable(parent)}'")
        if role < template.add_role:
            raise ParamError("Not allowed to add groups with this account")
        used = {n.split(".")[len(template.parent.split("."))] for n in self.defs
                if n.lower().startswith(template.parent.lower() + "." + template.letter.lower())}
        indexes = {int(u[1:]) for u in used if u[1:].isdigit()}
        if len(indexes) >= template.hard_limit:
            raise ParamError(f"Maximum number of groups reached: {template.parent} holds at most "
                             f"{template.hard_limit} groups, even with force=yes")
        if len(indexes) >= template.max_groups:
            if not force:
                raise ParamError(f"Maximum number of groups ({template.max_groups}) reached; an administrator "
                                 f"may add up to {template.hard_limit} with force=yes")
            if role < template.force_role:
                raise ParamError(f"Maximum number of groups ({template.max_groups}) reached; going beyond it "
                                 f"with force=yes needs an account with the {template.force_role.label} role")
        index = next(i for i in range(len(indexes) + 1) if i not in indexes)
        short = f"{template.letter}{index}"
        group = f"{template.parent}.{short}"
        prefix = f"{template.parent}.{template.letter}."
        staged: dict[str, str] = {}
        relative = {p.name.lower(): p for p in template.params}
        for raw, value in values:
            key = strip_root(raw)
            if not key.lower().startswith(prefix.lower()):
                raise ParamError(f"Parameter '{printable(raw)}' does not belong to template '{template_name}'")
            d = relative.get(key[len(prefix):].lower())
            if d is None:
                raise ParamError(f"Unknown parameter '{printable(raw)}'")
            reason = d.validate(value)
            if reason:
                raise _refused(f"{group}.{d.name}", value, reason, d.kind == "password")
            staged[f"{group}.{d.name}"] = value
        for veto in self.vetoes:  # the rules over several parameters hold for a new group too
            refusal = veto(staged)
            if refusal is not None:
                name, reason = refusal
                raise _refused(name, staged.get(name, ""), reason)
        made = self._instantiate(template, group)
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO param_groups(name, template) VALUES(?, ?)", (group, template.name))
            for name, value in staged.items():
                db.execute("INSERT OR REPLACE INTO params(name, value) VALUES(?, ?)", (name, self._stored(name, value)))
        self._values.update(staged)
        changes = [Change(d.name, "", self.get(d.name), d.kind == "password") for d in made]
        for listener in self.listeners:
            listener(changes, actor)
        return short

    def remove(self, groups: list[str], role: Role, actor: str) -> None:
        """Remove dynamic groups; all named groups must exist and be removable."""
        known = dict(self.store.query("SELECT name, template FROM param_groups"))
        lower = {k.lower(): k for k in known}
        targets = []
        for raw in groups:
            group = lower.get(strip_root(raw.strip()).lower())
            if group is None:
                raise ParamError(f"Group '{printable(raw)}' does not exist or cannot be removed")
            if role < self.templates[known[group]].add_role:
                raise ParamError("Not allowed to remove groups with this account")
            targets.append(group)
        names = [n for n in self.defs if any(n.startswith(g + ".") for g in targets)]
        with self.store.transaction() as db:
            for g in targets:
                db.execute("DELETE FROM param_groups WHERE name=?", (g,))
                db.execute("DELETE FROM params WHERE name LIKE ?", (g + ".%",))
        changes = [Change(n, self.get(n), "", self.defs[n].kind == "password") for n in names]
        for n in names:
            del self.defs[n]
            self._values.pop(n, None)
            self._lower.pop(n.lower(), None)
        self._order = None
        for listener in self.listeners:
            listener(changes, actor)
