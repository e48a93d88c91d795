"""Request payloads as trees: a SOAP operation's body as a list of `XNode` and a JSON method's
params, the positions of the values in them, and the edits the requests make at a position (set,
drop, keep the way to one leaf, fill in a record the device listed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from vigil.http.soap import SOAP11, SOAP12


@dataclass
class XNode:
    tag: str
    text: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    kids: list[XNode] = field(default_factory=list)
    namespace: str = ""  # "": the operation's

    def copy(self) -> XNode:
        return XNode(self.tag, self.text, dict(self.attrs), [k.copy() for k in self.kids], self.namespace)


def soap_envelope(op: str, ns: str, inner: str, version: str, prefixes: dict[str, str] | None = None) -> str:
    env = SOAP11 if version == "1.1" else SOAP12
    declared = "".join(f" xmlns:{p}={quoteattr(uri)}" for p, uri in (prefixes or {}).items())
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{env}"{declared}><s:Body>'
            f'<o:{op} xmlns:o="{ns}">{inner}</o:{op}></s:Body></s:Envelope>')


def xml_render(node: XNode) -> str:
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in node.attrs.items())
    inner = "".join(xml_render(k) for k in node.kids) if node.kids else escape(node.text or "")
    prefix = "n" if node.namespace else "o"
    declare = f" xmlns:n={quoteattr(node.namespace)}" if node.namespace else ""
    return f"<{prefix}:{node.tag}{declare}{attrs}>{inner}</{prefix}:{node.tag}>"


def xml_positions(nodes: list[XNode], prefix: tuple = ()) -> Iterator[tuple]:
    """Positions of texts and attributes: (index, index, ..., None | attribute name)."""
    for n, node in enumerate(nodes):
        for attr in node.attrs:
            yield prefix + (n, attr)
        if node.kids:
            yield from xml_positions(node.kids, prefix + (n,))
        else:
            yield prefix + (n, None)


def xml_containers(nodes: list[XNode], prefix: tuple = ()) -> Iterator[tuple]:
    for n, node in enumerate(nodes):
        if node.kids:
            yield prefix + (n,)
            yield from xml_containers(node.kids, prefix + (n,))


def xml_walk(nodes: list[XNode]) -> Iterator[XNode]:
    for node in nodes:
        yield node
        yield from xml_walk(node.kids)


def xml_at(nodes: list[XNode], indexes: tuple) -> XNode:
    node = nodes[indexes[0]]
    for i in indexes[1:]:
        node = node.kids[i]
    return node


def xml_spec_path(nodes: list[XNode], position: tuple) -> tuple[str, ...]:
    names, level = [], nodes
    for i in position[:-1]:
        names.append(level[i].tag)
        level = level[i].kids
    return tuple(names) + ((f"@{position[-1]}",) if position[-1] else ())


def xml_name_of(nodes: list[XNode], position: tuple) -> str:
    """For the Value attribute of an element named by its Name attribute (a template
    parameter), that name; else ""."""
    if position[-1] != "Value":
        return ""
    return xml_at(nodes, position[:-1]).attrs.get("Name", "")


def xml_get(nodes: list[XNode], position: tuple) -> str:
    node = xml_at(nodes, position[:-1])
    return (node.text or "") if position[-1] is None else node.attrs.get(position[-1], "")


def xml_set(nodes: list[XNode], position: tuple, value: str) -> list[XNode]:
    out = [n.copy() for n in nodes]
    node = xml_at(out, position[:-1])
    if position[-1] is None:
        node.text = value
    else:
        node.attrs[position[-1]] = value
    return out


def xml_lean(nodes: list[XNode], position: tuple) -> list[XNode] | None:
    """The tree with, along the way to `position`, only leaf siblings (no other subtrees)."""
    chain = position[:-1]
    if len(chain) < 2:
        return None

    def prune(level: list[XNode], depth: int) -> list[XNode]:
        out = []
        for n, node in enumerate(level):
            on_path = depth < len(chain) and chain[depth] == n
            if node.kids and not on_path:
                continue
            copy = XNode(node.tag, node.text, dict(node.attrs))
            copy.kids = prune(node.kids, depth + 1) if on_path else [k.copy() for k in node.kids]
            out.append(copy)
        return out

    pruned = prune(nodes, 0)
    return pruned if pruned != nodes else None


def xml_lean_position(full: list[XNode], position: tuple) -> tuple:
    """Where `position` of the full tree lands in its lean tree (leaf siblings kept, subtrees dropped)."""
    out, level = [], full
    for i in position[:-1]:
        kept = [n for n, node in enumerate(level) if not node.kids or n == i]
        out.append(kept.index(i))
        level = level[i].kids
    return tuple(out) + (position[-1],)


def xml_drop(nodes: list[XNode], position: tuple) -> list[XNode] | None:
    """The tree without the element at `position` (a text position); None when nothing is left."""
    out = [n.copy() for n in nodes]
    if len(position) < 3:
        del out[position[0]]
        return out if out else None
    del xml_at(out, position[:-2]).kids[position[-2]]
    return out


def xml_shift(position: tuple, dropped: tuple) -> tuple:
    """`position` after the element at `dropped` left its parent."""
    depth = len(dropped) - 2
    if position[:depth] == dropped[:depth] and len(position) > depth + 1 and position[depth] > dropped[depth]:
        return position[:depth] + (position[depth] - 1,) + position[depth + 1:]
    return position


def xml_leaf_paths(node: XNode, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], XNode]]:
    for kid in node.kids:
        rel = prefix + (kid.tag,)
        for attr in kid.attrs:
            yield rel + ("@" + attr,), kid
        if kid.kids:
            yield from xml_leaf_paths(kid, rel)
        else:
            yield rel, kid


def xml_from_record(node: XNode, record: dict[tuple[str, ...], list[str]]) -> XNode:
    """`node` with the record's values; a path with several values repeats its element."""
    out = node.copy()
    for rel, values in sorted(record.items(), key=lambda kv: len(kv[1])):
        attr = rel[-1][1:] if rel[-1].startswith("@") else None
        elements = rel[:-1] if attr else rel
        parent, target = out, None
        for depth, tag in enumerate(elements):
            found = [k for k in parent.kids if k.tag == tag]
            if not found:
                break
            if depth == len(elements) - 1:
                target = found
            else:
                parent = found[0]
        if not target:
            continue
        while len(target) < len(values) and len(target) < 64:  # repeat the element for each value
            clone = target[0].copy()
            parent.kids.insert(parent.kids.index(target[-1]) + 1, clone)
            target.append(clone)
        for element, value in zip(target, values, strict=False):
            if attr:
                if attr in element.attrs:
                    element.attrs[attr] = value
            elif not element.kids:
                element.text = value
    return out


def xml_replace(nodes: list[XNode], indexes: tuple, replacement: XNode) -> list[XNode]:
    out = [n.copy() for n in nodes]
    if len(indexes) == 1:
        out[indexes[0]] = replacement
    else:
        xml_at(out, indexes[:-1]).kids[indexes[-1]] = replacement
    return out


def json_positions(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield prefix + (k,)
            yield from json_positions(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:8]):
            yield prefix + (i,)
            yield from json_positions(v, prefix + (i,))


def json_get(value: Any, position: tuple) -> Any:
    for step in position:
        value = value[step]
    return value


def json_drop(value: Any, position: tuple) -> Any:
    if len(position) == 1:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k != position[0]}
        return [v for i, v in enumerate(value) if i != position[0]]
    head = position[0]
    if isinstance(value, dict):
        return {**value, head: json_drop(value[head], position[1:])}
    copy = list(value)
    copy[head] = json_drop(copy[head], position[1:])
    return copy


def json_position_of(path: tuple[str, ...]) -> tuple:
    return tuple(0 if step == "[]" else step for step in path)


def json_object_at(value: Any, position: tuple) -> Any:
    for step in position:
        value = value[step]
    return value if isinstance(value, dict) else {}


def json_set(value: Any, position: tuple, new: Any) -> Any:
    if not position:
        return new
    head, rest = position[0], position[1:]
    if isinstance(value, dict):
        return {**value, head: json_set(value.get(head, {}), rest, new)}
    if isinstance(value, list):
        copy = list(value)
        while len(copy) <= head:
            copy.append({})
        copy[head] = json_set(copy[head], rest, new)
        return copy
    return {head: json_set({}, rest, new)} if isinstance(head, str) else [json_set({}, rest, new)]
