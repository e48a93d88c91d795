"""The requests of one target: `Builder` makes contexts of plausible parameters (all of them, one
alone, each mode, a record the device listed, a lean SOAP body), puts one bad value at a time in
each of their positions, and adds malformed path parameters, queries, bodies and envelopes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from bench.fuzzing.payloads import (
    XNode,
    json_drop,
    json_get,
    json_object_at,
    json_position_of,
    json_positions,
    json_set,
    soap_envelope,
    xml_at,
    xml_containers,
    xml_drop,
    xml_from_record,
    xml_get,
    xml_leaf_paths,
    xml_lean,
    xml_lean_position,
    xml_name_of,
    xml_positions,
    xml_render,
    xml_replace,
    xml_set,
    xml_shift,
    xml_spec_path,
    xml_walk,
)
from bench.fuzzing.plausible import Harvest, plausible, scalar_kind
from bench.fuzzing.spec import FieldInfo
from bench.fuzzing.targets import Target, soap_service
from bench.fuzzing.values import GENERIC_NAMES, GENERIC_VALUES, Bad, bad_values, short
from vigil.http.soap import SOAP12


@dataclass
class Req:
    method: str
    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    shown: str = ""  # for the report: the parameters, with the bad value as <label>
    bad: str = ""  # the bad value's label; "" for a request without one (sent as every role)


PLACEHOLDER = "\x00FUZZ\x00"
PLACEHOLDER_JSON = json.dumps(PLACEHOLDER)
PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass
class Context:
    """Plausible parameters, and where to put one bad value at a time."""

    name: str  # full | bare | lean | record | <name>=<mode>
    payload: Any  # form: dict of arguments; json: the params; soap: the list of XNode under the operation
    positions: list[tuple]  # form: (name,); json: a path of keys and indexes; soap: see xml_positions
    values: list[Bad]
    repairable: bool = False  # its baseline should be accepted: try variants until it is


class Builder:
    """The requests of one target: contexts of plausible values, one bad value at a time."""

    def __init__(self, target: Target, harvest: Harvest, sample: bool, repeat: bool = False) -> None:
        """sample: the bounded form; repeat: the handler was fuzzed already under another path
        (param.cgi and its view/operator/admin twins): the same code, so its contexts once
        with a few values, for the roles."""
        self.target, self.harvest, self.sample, self.repeat = target, harvest, sample or repeat, repeat
        self.values = bad_values(True, few=True) if repeat else bad_values(sample)  # every parameter plausible
        self.secondary = bad_values(True, few=sample or repeat)  # in the other contexts
        self.max_modes = 0 if repeat else 4 if sample else 12
        self.max_records = 0 if repeat else 1 if sample else 4
        self.path = PATH_PARAM.sub("fuzz", target.endpoint.path)
        # Device Configuration APIs (/config/rest/...) send `{"data": ...}`, and set with PATCH.
        self.config_rest = target.endpoint.path.startswith("/config/rest/")
        methods = target.endpoint.methods
        self.body_method = "PATCH" if "POST" not in methods and "PATCH" in methods else "POST"
        self._sent: set[str] = set()

    def fresh(self, req: Req) -> bool:
        """False for a request this builder already made."""
        digest = hashlib.sha1(f"{req.method} {req.url}".encode() + req.body).hexdigest()
        if digest in self._sent:
            return False
        self._sent.add(digest)
        return True

    def contexts(self) -> Iterator[Context]:
        kind = self.target.kind
        if kind == "form":
            yield from self.form_contexts()
        elif kind in ("json", "json-api"):
            if kind == "json-api" or self.body_method in self.target.endpoint.methods:
                yield from self.json_contexts()
        elif kind == "soap":
            yield from self.soap_contexts()

    def baseline(self, ctx: Context) -> Req:
        return self.request(ctx, None, None)

    def mutations(self, ctx: Context) -> Iterator[Req]:
        # Value by value over every position: a limit leaves each position the first values.
        for bad in ctx.values:
            if (bad.raw_json if self.target.kind in ("json", "json-api") else bad.text) is None:
                continue
            for position in ctx.positions:
                yield self.request(ctx, position, bad)

    def request(self, ctx: Context, position: tuple | None, bad: Bad | None) -> Req:
        kind = self.target.kind
        if kind == "form":
            return self.form_request(ctx.payload, position[0] if position else None, bad)
        if kind == "soap":
            return self.soap_request(ctx, position, bad)
        params = ctx.payload if position is None else json_set(ctx.payload, position, PLACEHOLDER)
        return self.json_request(params, bad)

    def variants(self, ctx: Context) -> Iterator[tuple[Context, str]]:
        """The same context with one parameter left out or given another plausible value, and
        that parameter's name."""
        kind, where = self.target.kind, self.target.endpoint.path
        if kind == "form":
            for key in ctx.payload:
                info = self.target.spec.fields.get((key,), FieldInfo())
                for alt in plausible(key, info, self.harvest, "text", where)[1:4]:
                    yield replace_ctx(ctx, {**ctx.payload, key: alt}), key
                yield replace_ctx(ctx, {k: v for k, v in ctx.payload.items() if k != key},
                                  [p for p in ctx.positions if p != (key,)]), key
        elif kind == "soap":
            # By name: every element (or attribute) of that name at once when they hold the same
            # value, as repeated structures (a StartEvent and its Conditions) fail alike.
            lean = ctx.name == "lean"
            groups: dict[tuple[str, str], list[tuple]] = {}
            paths: dict[tuple[str, str], tuple[str, ...]] = {}
            for position in xml_positions(ctx.payload):
                if lean and position == ctx.positions[-1]:
                    continue
                named = xml_name_of(ctx.payload, position)
                if named:  # a Parameter's Value: its own name says what fits (upload_url, qos...)
                    current = xml_get(ctx.payload, position)
                    for alt in dict.fromkeys(["", *plausible(named, FieldInfo(), self.harvest, "xml", where)[:3], "1"]):
                        if alt != current:
                            yield replace_ctx(ctx, xml_set(ctx.payload, position, alt)), named
                    continue
                path = xml_spec_path(ctx.payload, position)
                key = (path[-1], xml_get(ctx.payload, position))
                groups.setdefault(key, []).append(position)
                paths.setdefault(key, path)
            for key, positions in groups.items():
                path = paths[key]
                info = self.target.spec.fields.get(path, FieldInfo())
                attribute = path[-1].startswith("@")
                alternatives = [a for a in plausible(path[-1], info, self.harvest, "xml", where)[:4] if a != key[1]]
                for alt in alternatives[:3] if attribute else ["", *alternatives[:3]]:
                    tree = ctx.payload
                    for position in positions:
                        tree = xml_set(tree, position, alt)
                    yield (replace_ctx(ctx, tree, ctx.positions if lean else list(xml_positions(tree))),
                           path[-1].lstrip("@"))
                if attribute:
                    continue
                tree, kept = ctx.payload, ctx.positions[-1] if lean else None
                for position in reversed(positions):  # the last first: earlier positions stay valid
                    dropped = xml_drop(tree, position)
                    if dropped is None:
                        break
                    tree = dropped
                    kept = xml_shift(kept, position) if kept is not None else None
                else:
                    yield replace_ctx(ctx, tree, [kept] if lean else list(xml_positions(tree))), path[-1]
        else:
            for position in list(json_positions(ctx.payload)):
                value = json_get(ctx.payload, position)
                if isinstance(value, dict | list):
                    continue
                path = tuple("[]" if isinstance(step, int) else step for step in position)
                info = self.target.spec.fields.get(path, FieldInfo())
                for alt in plausible(str(path[-1]), info, self.harvest, "json", where)[1:4]:
                    yield replace_ctx(ctx, json_set(ctx.payload, position, alt)), str(path[-1])
                dropped = json_drop(ctx.payload, position)
                yield replace_ctx(ctx, dropped, list(json_positions(dropped))), str(path[-1])

    def extras(self) -> Iterator[Req]:
        """Requests outside the contexts: path parameters, malformed queries, bodies, envelopes."""
        kind, target = self.target.kind, self.target
        if kind == "form":
            yield from self.form_extras()
        elif kind == "json":
            for method in target.endpoint.methods:
                if method != "POST":
                    yield Req(method, self.path, shown=method)
            if self.body_method in target.endpoint.methods:
                yield from self.raw_bodies()
            if self.config_rest and self.body_method in target.endpoint.methods:
                for bad in self.values:  # the data member itself
                    if bad.raw_json is not None:
                        yield self.json_document({"data": PLACEHOLDER}, bad, f"data=<{bad.label}>")
        elif kind == "json-api" and target.method == next(iter(target.endpoint.method_roles)):
            base = self.envelope({})  # the envelope of the API, once
            for key in base:
                for bad in self.values:
                    if bad.raw_json is not None:
                        yield self.json_document(json_set(base, (key,), PLACEHOLDER), bad, f"{key}=<{bad.label}>")
            yield from self.raw_bodies()
            yield Req("GET", self.path, shown="GET")
        elif kind == "soap" and target.method == next(iter(soap_service(target.endpoint).operations))[1]:  # type: ignore[union-attr]
            yield from self.soap_envelopes()

    # -- forms -------------------------------------------------------------------------
    def form_keys(self) -> list[str]:
        spec = self.target.spec
        keys = [p[0] for p in spec.fields if len(p) == 1]
        keys += [k for k in GENERIC_NAMES if k not in keys]
        if spec.open_keys:
            listed = self.harvest.open_keys.get(self.target.endpoint.path, [])
            step = max(1, len(listed) // (6 if self.sample else 30))
            keys += [k for k in listed[::step] if k not in keys]
        return keys

    def form_contexts(self) -> Iterator[Context]:
        spec = self.target.spec
        keys = self.form_keys()
        info = {k: spec.fields.get((k,), FieldInfo()) for k in keys}
        own = [k for k in keys if (k,) in spec.fields]
        full = {k: plausible(k, info[k], self.harvest, "text", self.target.endpoint.path)[0] for k in own}
        positions = [(k,) for k in keys]
        yield Context("full", full, positions, self.values, repairable=bool(full))
        yield Context("bare", {}, positions, self.secondary)
        for k in own:
            for e in info[k].enums[:self.max_modes]:
                if e:
                    yield Context(f"{k}={e}", {**full, k: e}, [p for p in positions if p != (k,)], self.secondary)

    def form_request(self, ctx: dict[str, str], key: str | None, bad: Bad | None) -> Req:
        args = dict(ctx)
        if key is not None and bad is not None:
            args[key] = bad.text or ""
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in args.items())
        shown = "&".join(f"{k}=<{bad.label}>" if k == key and bad else f"{k}={short(v)}" for k, v in args.items())
        method = self.target.http_method
        if method == "GET":
            return Req("GET", f"{self.path}?{query}" if query else self.path, shown=shown,
                       bad=bad.label if bad else "")
        return Req(method, self.path, query.encode(), {"Content-Type": "application/x-www-form-urlencoded"},
                   shown=shown, bad=bad.label if bad else "")

    def form_extras(self) -> Iterator[Req]:
        template = self.target.endpoint.path
        for name in PATH_PARAM.findall(template):
            for bad in self.values:
                if bad.text:
                    yield Req("GET", PATH_PARAM.sub(quote(bad.text, safe=""), template, count=1),
                              shown=f"{{{name}}}=<{bad.label}>", bad=bad.label)
        own = [p[0] for p in self.target.spec.fields if len(p) == 1]
        first_key = own[0] if own else "id"
        for raw in ("%ff=1", f"{first_key}=%ff", f"{first_key}=%zz", "%", "&&&=&", "=x",
                    f"{first_key}=1&{first_key}=2", "&".join(f"k{n}=v" for n in range(2000))):
            yield Req(self.target.http_method, f"{self.path}?{raw}", shown=short(raw, 60), bad="raw-query")
        if "POST" in self.target.endpoint.methods and self.target.http_method == "GET":
            yield Req("POST", self.path, f"{first_key}=1".encode(),
                      {"Content-Type": "application/x-www-form-urlencoded"}, shown=f"POST {first_key}=1")

    # -- JSON ----------------------------------------------------------------------------
    def json_value(self, path: tuple[str, ...]) -> Any:
        spec = self.target.spec
        info = spec.fields.get(path, FieldInfo())
        named = [p for p in spec.children(path) if p[-1] != "[]"]
        listed = (path + ("[]",)) in spec.fields
        kind = scalar_kind(info)
        if named and kind not in ("str", "int", "number", "bool"):
            return {p[-1]: self.json_value(p) for p in named}
        if listed and kind in ("", "list"):
            return [self.json_value(path + ("[]",))]
        return plausible(path[-1] if path else "", info, self.harvest, "json", self.target.endpoint.path)[0]

    def json_contexts(self) -> Iterator[Context]:
        spec = self.target.spec
        full = self.json_value(()) if spec.fields else {}
        if not isinstance(full, dict):
            full = {}
        yield Context("full", full, list(json_positions(full)), self.values, repairable=bool(full))
        for path in spec.fields:
            chain: Any = {}
            for step in reversed(path[1:]):
                chain = [chain] if step == "[]" else {step: chain}
            bare = {path[0]: chain} if path[0] != "[]" else {}
            yield Context("bare", bare, [json_position_of(path)], self.secondary)
        containers = [()] + [p for p in spec.fields if spec.children(p)]
        for container in containers:
            names = {p[-1] for p in spec.children(container)} - {"[]"}
            used = 0
            for record in self.harvest.records("json", self.target.endpoint.path):
                common = names & set(record)
                if used >= self.max_records or len(common) < 2 or len(set(record) - names) > len(common):
                    continue
                used += 1
                at = json_position_of(container)
                merged = json_set(full, at, {**json_object_at(full, at), **record})
                yield Context("record", merged, [p for p in json_positions(merged) if p[:len(at)] == at],
                              self.secondary, repairable=True)
        for path, info in spec.fields.items():
            if "[]" in path or not info.enums:
                continue
            for e in info.enums[:self.max_modes]:
                with contextlib.suppress(KeyError, IndexError, TypeError):
                    moded = json_set(full, path, e)
                    yield Context(f"{'/'.join(path)}={e}", moded, [p for p in json_positions(moded) if p != path],
                                  self.secondary)

    def envelope(self, params: Any) -> Any:
        if self.target.kind != "json-api":
            return {"data": params} if self.config_rest else params
        version = self.harvest.versions.get(self.target.endpoint.path, "1.0")
        return {"apiVersion": version, "context": "fuzz", "method": self.target.method, "params": params}

    def json_request(self, params: Any, bad: Bad | None) -> Req:
        text = json.dumps(params, ensure_ascii=False)
        shown = text.replace(PLACEHOLDER_JSON, f"<{bad.label}>", 1) if bad else text
        if len(shown) > 300 and bad is not None:  # keep the bad value in sight
            at = shown.index(f"<{bad.label}>")
            shown = ("…" if at > 150 else "") + shown[max(0, at - 150):at + 150] + ("…" if at + 150 < len(shown) else "")
        return self.json_document(self.envelope(params), bad, short(shown, 300))

    def json_document(self, document: Any, bad: Bad | None, shown: str) -> Req:
        text = json.dumps(document, ensure_ascii=False)
        if bad is not None and bad.raw_json is not None:
            text = text.replace(PLACEHOLDER_JSON, bad.raw_json, 1)
        return Req(self.body_method, self.path, text.encode("utf-8", "surrogatepass"),
                   {"Content-Type": "application/json"}, shown=shown, bad=bad.label if bad else "")

    def raw_bodies(self) -> Iterator[Req]:
        for raw in ("", "{", "[]", "null", "1e999", "[" * 100_000, '{"a":' * 50_000):
            yield Req(self.body_method, self.path, raw.encode(), {"Content-Type": "application/json"},
                      shown=short(raw, 40), bad="raw-body")

    # -- SOAP ----------------------------------------------------------------------------
    def xml_tree(self, path: tuple[str, ...]) -> list[XNode]:
        spec = self.target.spec
        nodes = []
        for child in spec.children(path):
            name = child[-1]
            if name.startswith("@"):
                continue
            info = spec.fields[child]
            node = XNode(name, namespace=info.namespace if info.namespace != self.target.namespace else "")
            for sub in spec.children(child):
                if sub[-1].startswith("@"):
                    node.attrs[sub[-1][1:]] = self.xml_text(sub)
            if scalar_kind(info) not in ("int", "number", "bool"):
                node.kids = self.xml_tree(child)
            if not node.kids:
                node.text = self.xml_text(child)
            nodes.append(node)
        return nodes

    def xml_text(self, path: tuple[str, ...]) -> str:
        info = self.target.spec.fields.get(path, FieldInfo())
        name = path[-1]
        if name.startswith("@") and len(path) > 1:
            values = self.harvest.candidates(f"{path[-2]}{name}", self.target.endpoint.path)
            if values:
                return str(values[0])
        return plausible(name, info, self.harvest, "xml", self.target.endpoint.path)[0]

    def soap_contexts(self) -> Iterator[Context]:
        full = self.xml_tree(())
        yield Context("full", full, list(xml_positions(full)), self.values, repairable=bool(full))
        for leaf in xml_positions(full):  # lean: only the leaves on the way to one leaf
            lean = xml_lean(full, leaf)
            if lean is not None:
                yield Context("lean", lean, [xml_lean_position(full, leaf)], self.secondary, repairable=True)
        for container in xml_containers(full):
            node = xml_at(full, container)
            rels = {rel for rel, _ in xml_leaf_paths(node)}
            used = 0
            for record in self.harvest.records("xml", self.target.endpoint.path):
                if used >= self.max_records * 4 or len(rels & set(record)) < 2:
                    continue
                used += 1
                tree = xml_replace(full, container, self.named_values(xml_from_record(node, record)))
                yield Context("record", tree, [p for p in xml_positions(tree) if p[:len(container)] == container],
                              self.secondary, repairable=True)
        for position in xml_positions(full):
            path = xml_spec_path(full, position)
            info = self.target.spec.fields.get(path)
            for e in (info.enums if info else [])[:self.max_modes]:
                tree = xml_set(full, position, e)
                yield Context(f"{'/'.join(path)}={e}", tree, [p for p in xml_positions(tree) if p != position],
                              self.secondary)

    def named_values(self, node: XNode) -> XNode:
        """Each Value of an element named by a Name attribute, plausible for that name."""
        for element in xml_walk([node]):
            name = element.attrs.get("Name")
            if name and "Value" in element.attrs:
                known = self.harvest.candidates(name, self.target.endpoint.path)
                if known or name.lower() in GENERIC_VALUES:
                    element.attrs["Value"] = str(known[0] if known else GENERIC_VALUES[name.lower()])
        return node

    def soap_request(self, ctx: Context, position: tuple | None, bad: Bad | None, version: str = "1.2") -> Req:
        op, ns = self.target.method or "", self.target.namespace
        tree = ctx.payload if position is None else xml_set(ctx.payload, position, PLACEHOLDER)
        inner = "".join(xml_render(n) for n in tree)
        shown = f"{op} ({ctx.name})"
        if bad is not None and position is not None:
            inner = inner.replace(escape(PLACEHOLDER), escape(bad.text or ""))
            path = list(xml_spec_path(tree, position))
            if position[-1] is not None:  # which element: its other attributes (Parameter Name="qos")
                others = {k: v for k, v in xml_at(tree, position[:-1]).attrs.items() if k != position[-1]}
                path[-2] += "".join(f"[{k}={short(v, 30)}]" for k, v in others.items())
            token = next((n.text for n in xml_walk(tree) if n.tag.endswith("Token") and n.text), None)
            shown += f" {'/'.join(path)}=<{bad.label}>" + (f" ({token})" if token else "")
        body = soap_envelope(op, ns, inner, version, self.harvest.namespaces)
        headers = {"Content-Type": "application/soap+xml; charset=utf-8"} if version == "1.2" else \
            {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{ns}/{op}"'}
        return Req("POST", self.path, body.encode("utf-8", "surrogatepass"), headers, shown=shown,
                   bad=bad.label if bad else "")

    def soap_envelopes(self) -> Iterator[Req]:
        """Malformed envelopes, once per SOAP endpoint."""
        op, ns = self.target.method or "", self.target.namespace
        cases = {
            "soap1.1": soap_envelope(op, ns, "", "1.1"),
            "not-xml": "hello",
            "empty": "",
            "doctype": f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                       f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><o:{op} xmlns:o="{ns}">&e;</o:{op}></s:Body></s:Envelope>',
            "wrong-envelope-ns": '<s:Envelope xmlns:s="urn:x"><s:Body/></s:Envelope>',
            "no-body": f'<s:Envelope xmlns:s="{SOAP12}"/>',
            "empty-body": f'<s:Envelope xmlns:s="{SOAP12}"><s:Body/></s:Envelope>',
            "unknown-op": soap_envelope("NoSuchOperation", ns, "", "1.2"),
            "must-understand": f'<s:Envelope xmlns:s="{SOAP12}"><s:Header><h:X xmlns:h="urn:x" '
                               f's:mustUnderstand="true"/></s:Header><s:Body><o:{op} xmlns:o="{ns}"/></s:Body></s:Envelope>',
            "deep": soap_envelope(op, ns, "<a>" * 300 + "</a>" * 300, "1.2"),
            "huge": soap_envelope(op, ns, "<x>" + "y" * 1_100_000 + "</x>", "1.2"),
            "soap1.1-fault": soap_envelope("NoSuchOperation", ns, "", "1.1"),
        }
        for name, body in cases.items():
            content_type = "text/xml" if name.startswith("soap1.1") else "application/soap+xml"
            yield Req("POST", self.path, body.encode(), {"Content-Type": content_type}, shown=name, bad="envelope")


def replace_ctx(ctx: Context, payload: Any, positions: list[tuple] | None = None) -> Context:
    return Context(ctx.name, payload, ctx.positions if positions is None else positions, ctx.values, False)
