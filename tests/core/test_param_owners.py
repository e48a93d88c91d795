"""Every parameter of the five profiles has an owner (vigil/core/params.py `Owner`), and the
owners hold up against the code:

- an applied parameter is read by the code of each feature that claims it (its name, or for
  instanced groups such as `IOPort.I<n>.` the part after the instance, is a string in that
  code outside parameter declarations, directly or through a module constant); a feature that
  applies it with a listener registers one on the tree;
- a pending parameter is not read by the code of the feature that will apply it (once it is,
  the parameter is applied: change its owner);
- an informational parameter is one nobody can write.

docs/parameters.md is generated from the same table, and this test fails when it differs.
Regenerate it with `VIGIL_UPDATE_DOCS=1 .venv/bin/pytest -q -p no:cacheprovider
tests/core/test_param_owners.py`. No parameter may be pending.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vigil.boot import build_device
from vigil.core.params import (
    APPLIED,
    INFORMATIONAL,
    INFORMATIONAL_STATE,
    PENDING,
    Owner,
    ParamDef,
    ParamTemplate,
    applied,
    pending,
)
from vigil.profiles import NAMES

ROOT = Path(__file__).resolve().parents[2]
VIGIL = ROOT / "vigil"
DOC = ROOT / "docs" / "parameters.md"
UPDATE = os.environ.get("VIGIL_UPDATE_DOCS") == "1"
# Calls that declare parameters: the names in them are declarations, not uses.
DECLARATIONS = {"ParamDef", "ParamTemplate", "const", "live", "fixed"}
INSTANCE = re.compile(r"^[A-Z][0-9]+$")  # S0, I3: one instance of a group


# -- the catalogue: every parameter of every profile, by name pattern ------------------------
@dataclass
class Entry:
    pattern: str  # e.g. IOPort.I<n>.Direction
    owners: set[Owner | None] = field(default_factory=set)
    profiles: set[str] = field(default_factory=set)
    writable: bool = False

    @property
    def owner(self) -> Owner | None:
        return next(iter(self.owners)) if len(self.owners) == 1 else None

    @property
    def tail(self) -> str | None:
        """For an instanced group's parameter, the part after the instance (`Input.Name`)."""
        parts = self.pattern.split(".")
        if "<n>" not in self.pattern:
            return None
        last = max(i for i, p in enumerate(parts) if p.endswith("<n>"))
        return ".".join(parts[last + 1:])


def instanced_groups(names: Iterable[str]) -> set[str]:
    """Group prefixes with several instances, e.g. {"IOPort.I", "Storage.S"}."""
    seen: dict[str, set[str]] = {}
    for name in names:
        parts = name.split(".")
        for i, part in enumerate(parts[:-1]):
            if INSTANCE.match(part):
                seen.setdefault(".".join(parts[:i]) + "." + part[0], set()).add(part)
    return {prefix for prefix, instances in seen.items() if len(instances) > 1}


def pattern_of(name: str, groups: set[str]) -> str:
    parts = name.split(".")
    for i, part in enumerate(parts[:-1]):
        if INSTANCE.match(part) and ".".join(parts[:i]) + "." + part[0] in groups:
            parts[i] = part[0] + "<n>"
    return ".".join(parts)


def catalogue(trees: dict[str, tuple[dict[str, ParamDef], dict[str, ParamTemplate]]]) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}

    def add(pattern: str, d: ParamDef, profile: str) -> None:
        entry = entries.setdefault(pattern, Entry(pattern))
        entry.owners.add(d.effective_owner)
        entry.profiles.add(profile)
        entry.writable |= not d.readonly

    # A group counts as instanced where any profile has several instances (c1410 has Storage.S0 only).
    groups = instanced_groups(name for defs, _ in trees.values() for name in defs)
    groups |= {f"{t.parent}.{t.letter}" for _, templates in trees.values() for t in templates.values()}
    for profile, (defs, templates) in trees.items():
        for name, d in defs.items():
            add(pattern_of(name, groups), d, profile)
        for t in templates.values():
            for p in t.params:
                add(f"{t.parent}.{t.letter}<n>.{p.name}", ParamDef(p.name, p.default, p.kind, p.choices,
                    read=p.read, write=p.write, owner=p.owner or t.owner), profile)
    return dict(sorted(entries.items()))


@pytest.fixture(scope="module")
def entries() -> dict[str, Entry]:
    trees = {}
    for profile in NAMES:
        with tempfile.TemporaryDirectory() as data:
            device = build_device(profile, Path(data))
            try:
                trees[profile] = (dict(device.params.defs), dict(device.params.templates))
            finally:
                device.close()
    return catalogue(trees)


# -- what the code reads -----------------------------------------------------------------------
def code_of(feature: str) -> list[Path]:
    """A feature's source: a package under vigil/features/, or a module or package under vigil/."""
    for candidate in (VIGIL / "features" / feature, VIGIL / feature.replace(".", "/")):
        if candidate.is_dir():
            return sorted(p for p in candidate.rglob("*") if p.suffix in (".py", ".js"))
        if candidate.with_suffix(".py").is_file():
            return [candidate.with_suffix(".py")]
    return []


def _is_declaration(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in DECLARATIONS


def _is_string_constant(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def module_constants() -> dict[str, set[str]]:
    """Module-level string constants of the whole tree (`DIRECTION = "Direction"`), by name."""
    found: dict[str, set[str]] = {}
    for path in VIGIL.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if _is_string_constant(node):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, set()).add(node.value.value)  # type: ignore[union-attr]
    return found


CONSTANTS = module_constants()
JS_STRING = re.compile(r"\"((?:[^\"\\\n]|\\.)*)\"|'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\]|\\.)*)`")


def strings_in(path: Path) -> set[str]:
    """The strings a source file uses, outside parameter declarations and constant definitions."""
    text = path.read_text()
    if path.suffix == ".js":
        found = set()
        for m in JS_STRING.finditer(text):
            found.update(re.split(r"\$\{[^}]*\}", next(g for g in m.groups() if g is not None)))
        return found
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_declaration(node):
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            found.update(CONSTANTS.get(node.id, ()))
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            found.update(CONSTANTS.get(node.attr, ()))
        for child in ast.iter_child_nodes(node):
            visit(child)

    for statement in ast.parse(text).body:
        if not _is_string_constant(statement):
            visit(statement)
    return found


def registers_a_listener(path: Path) -> bool:
    if path.suffix != ".py":
        return False
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "append"
               and isinstance(n.func.value, ast.Attribute) and n.func.value.attr == "listeners"
               for n in ast.walk(ast.parse(path.read_text())))


def reads(entry: Entry, strings: set[str]) -> bool:
    """Whether code using `strings` reads the parameter."""
    tail = entry.tail
    if tail is None:
        return entry.pattern in strings
    return any(s == tail or s.endswith("." + tail) for s in strings)


def feature_strings(feature: str) -> set[str]:
    return {s for path in code_of(feature) for s in strings_in(path)}


# -- the checks --------------------------------------------------------------------------------
def problems(entries: dict[str, Entry]) -> list[str]:
    found = []
    strings: dict[str, set[str]] = {}
    for entry in entries.values():
        where = f"{entry.pattern} ({', '.join(sorted(entry.profiles))})"
        if len(entry.owners) > 1:
            found.append(f"{where}: its instances or profiles name different owners")
            continue
        owner = entry.owner
        if owner is None:
            found.append(f"{where}: no owner: declare applied(...), pending(...) or INFORMATIONAL")
            continue
        if owner.state == INFORMATIONAL_STATE and entry.writable:
            found.append(f"{where}: informational, but writable: who applies it?")
        for feature in owner.features:
            code = code_of(feature)
            if owner.state == APPLIED:
                if not code:
                    found.append(f"{where}: applied by {feature!r}, which has no code under vigil/")
                    continue
                if not reads(entry, strings.setdefault(feature, feature_strings(feature))):
                    found.append(f"{where}: applied by {feature!r}, whose code never reads it")
                if owner.how == "listener" and not any(registers_a_listener(p) for p in code):
                    found.append(f"{where}: applied by a listener of {feature!r}, which registers none")
            elif owner.state == PENDING and code and reads(entry, strings.setdefault(feature,
                                                                                    feature_strings(feature))):
                found.append(f"{where}: pending, but {feature!r} reads it now: is it applied?")
    return found


def test_every_parameter_has_an_owner_that_holds(entries: dict[str, Entry]) -> None:
    assert len(entries) > 100
    assert problems(entries) == []


def test_no_parameter_waits_to_be_applied(entries: dict[str, Entry]) -> None:
    """Every parameter the device accepts takes effect: a new one that cannot yet is refused, or
    declared pending here on purpose (and this test says which)."""
    waiting = [f"{e.pattern} [{', '.join(e.owner.features)}; waiting for {e.owner.issue}]"
               for e in entries.values() if e.owner is not None and e.owner.state == PENDING]
    assert waiting == []


def test_the_document_is_up_to_date(entries: dict[str, Entry]) -> None:
    text = document(entries)
    if UPDATE:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text)
    assert DOC.exists() and DOC.read_text() == text, (
        "docs/parameters.md is out of date: run VIGIL_UPDATE_DOCS=1 .venv/bin/pytest -q -p no:cacheprovider "
        "tests/core/test_param_owners.py and commit it")


# -- the checks catch what they are for --------------------------------------------------------
def one(owner: Owner | None, name: str = "Recording.SegmentSeconds", writable: bool = True) -> dict[str, Entry]:
    d = ParamDef(name, "1", write=None if not writable else ParamDef(name).write, owner=owner)
    return catalogue({"s3016": ({name: d}, {})})


def test_the_checks_catch_each_kind_of_mistake() -> None:
    assert problems(one(applied("recording"))) == []
    assert "no owner" in problems(one(None))[0]
    assert one(None, writable=False)["Recording.SegmentSeconds"].owner == INFORMATIONAL  # read-only: a fact
    assert "informational, but writable" in problems(one(INFORMATIONAL))[0]
    assert "never reads it" in problems(one(applied("io")))[0]
    assert "no code under vigil/" in problems(one(applied("nosuchfeature")))[0]
    assert "reads it now" in problems(one(pending("recording", "an issue")))[0]
    assert problems(one(pending("nosuchfeature", "an issue"))) == []
    assert "registers none" in problems(one(applied("core.zones", how="listener"), "Time.TimeZone"))[0]
    mixed = catalogue({"a": ({"X.Y": ParamDef("X.Y", owner=applied("io"))}, {}),
                       "b": ({"X.Y": ParamDef("X.Y", owner=INFORMATIONAL)}, {})})
    assert "different owners" in problems(mixed)[0]


def test_declarations_are_not_uses(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text('NAME = "Only.Defined"\n'
                      'defs = [ParamDef("Declared.Here", "x"), ParamDef(g + "Leaf.Declared")]\n'
                      'value = params.get("Used.Here") + params.get(g + DIRECTION)\n')
    found = strings_in(source)
    assert "Used.Here" in found and "Direction" in found  # DIRECTION: io's constant
    assert not {"Only.Defined", "Declared.Here", "Leaf.Declared"} & found


def test_instances_share_one_pattern() -> None:
    names = ["IOPort.I0.Direction", "IOPort.I1.Direction", "Network.Interface.I0.dot1x.Enabled"]
    groups = instanced_groups(names)
    assert [pattern_of(n, groups) for n in names] == [
        "IOPort.I<n>.Direction", "IOPort.I<n>.Direction", "Network.Interface.I0.dot1x.Enabled"]
    entry = Entry("IOPort.I<n>.Input.Name")
    assert reads(entry, {"Input.Name"}) and reads(entry, {".Input.Name"}) and not reads(entry, {"Name"})


# -- docs/parameters.md ------------------------------------------------------------------------
def profiles_of(entry: Entry) -> str:
    return "all" if entry.profiles == set(NAMES) else ", ".join(p for p in NAMES if p in entry.profiles)


def document(entries: dict[str, Entry]) -> str:
    by_state: dict[str, list[Entry]] = {APPLIED: [], PENDING: [], INFORMATIONAL_STATE: []}
    for entry in entries.values():
        assert entry.owner is not None, entry.pattern
        by_state[entry.owner.state].append(entry)

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    out = [
        "# Parameters and who applies them",
        "",
        "Generated by `tests/core/test_param_owners.py` from the parameter trees of the five profiles; do not "
        "edit it by hand. After adding a parameter or changing its owner (`owner=` of its `ParamDef`, see "
        "`Owner` in `vigil/core/params.py`), run",
        "`VIGIL_UPDATE_DOCS=1 .venv/bin/pytest -q -p no:cacheprovider tests/core/test_param_owners.py` and "
        "commit this file.",
        "",
        "Each parameter is one of:",
        "",
        "- **applied**: the features named apply it, reading the value where it is used (`read`) or "
        "following its changes with a listener on the parameter tree (`listener`);",
        "- **pending**: accepted, checked, stored and shown, but it changes nothing yet; the feature named "
        "will apply it once the work named is done. An update of one is noted in the system log;",
        "- **informational**: a fact the device reports (identity, product properties, status); nobody can "
        "write it.",
        "",
        "`<n>` stands for the instances of a group (`IOPort.I0`, `IOPort.I1`, ...; `StreamProfile.S<n>` is "
        "created with `param.cgi?action=add`). A feature is a package under `vigil/features/`, or a module "
        "or package under `vigil/` (`core.auth`, `http`, `web`).",
        "",
        f"## Pending: accepted and stored, not applied yet ({len(by_state[PENDING])})",
        "",
        "| parameter | profiles | will be applied by | waiting for | note |",
        "|---|---|---|---|---|",
    ]
    if not by_state[PENDING]:
        out[-2:] = ["None: every parameter the device accepts takes effect."]
    for e in by_state[PENDING]:
        o = e.owner
        assert o is not None
        out.append(f"| `{e.pattern}` | {profiles_of(e)} | {', '.join(o.features)} | {cell(o.issue)} | "
                   f"{cell(o.note)} |")
    out += ["", f"## Applied ({len(by_state[APPLIED])})", "",
            "| parameter | profiles | applied by | how | note |", "|---|---|---|---|---|"]
    for e in by_state[APPLIED]:
        o = e.owner
        assert o is not None
        out.append(f"| `{e.pattern}` | {profiles_of(e)} | {', '.join(o.features)} | {o.how} | {cell(o.note)} |")
    out += ["", f"## Informational ({len(by_state[INFORMATIONAL_STATE])})", "", "| parameter | profiles |",
            "|---|---|"]
    out += [f"| `{e.pattern}` | {profiles_of(e)} |" for e in by_state[INFORMATIONAL_STATE]]
    return "\n".join(out) + "\n"
