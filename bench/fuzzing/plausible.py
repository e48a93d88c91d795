"""What the device answers: `Harvest` keeps the values, records and namespaces the device lists to
its administrator, and `plausible` turns them, with what a handler compares a parameter with and
converts it to, into good values for that parameter, best first."""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from bench.fuzzing.reader import KEYLIKE
from bench.fuzzing.spec import FieldInfo
from bench.fuzzing.values import GENERIC_VALUES, HOLDING_NAMES

_XML_PARSER = None


def _xml_root(body: bytes) -> Any:
    global _XML_PARSER
    from lxml import etree

    if _XML_PARSER is None:
        _XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True,
                                      huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(body, _XML_PARSER)
    except Exception:  # noqa: BLE001 - anything unreadable is simply not harvested
        return None


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class Harvest:
    """Values, objects and elements the device showed in its replies, to build plausible requests."""

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {}
        # Objects and elements the device listed, by the endpoint that listed them.
        self.json_records: dict[str, list[dict[str, Any]]] = {}
        self.xml_records: dict[str, list[dict[tuple[str, ...], list[str]]]] = {}
        self.open_keys: dict[str, list[str]] = {}  # endpoint path -> `name=value` names it listed
        self.versions: dict[str, str] = {}  # JSON API path -> newest version
        self._seen: set[str] = set()
        self._ids: list[Any] = []
        self.by_path: dict[str, dict[str, list[Any]]] = {}  # the same, by the endpoint that listed them
        self.current = ""  # the endpoint whose reply is being read
        self.namespaces: dict[str, str] = {}  # prefixes the device uses in its replies (tns1, tnsaxis...)

    def value(self, name: str, value: Any) -> None:
        if isinstance(value, str) and (not value or len(value) > 200):
            return
        own = self.by_path.setdefault(self.current, {})
        for store in (own, self.values):
            for key in (name, name.lower()):  # exact spelling first (Parameter@Name is not parameter@name)
                bucket = store.setdefault(key, [])
                if value not in bucket and len(bucket) < 16:
                    bucket.append(value)
        if name.lower().endswith("id") and (isinstance(value, int) and not isinstance(value, bool)
                                            or isinstance(value, str) and value.isdigit() and len(value) < 10):
            if value in self._ids:
                self._ids.remove(value)
            self._ids.append(value)

    def ids(self) -> list[Any]:
        """Numeric values of names ending in "id" (ConfigurationID, jobId, RuleID...), newest
        first: what a batch just created is what its next requests refer to."""
        return list(reversed(self._ids))[:8]

    def candidates(self, name: str, path: str = "") -> list[Any]:
        """What was listed under `name`: by the endpoint `path` itself first, then by any."""
        for store in (self.by_path.get(path, {}), self.values):
            for key in (name, name.lower()):
                if store.get(key):
                    return store[key]
        return []

    def take(self, path: str, content_type: str, body: bytes) -> None:
        digest = hashlib.sha1(path.encode() + body[:65536]).hexdigest()
        if digest in self._seen or len(body) > 2_000_000:
            return
        self._seen.add(digest)
        self.current = path
        if "json" in content_type:
            with contextlib.suppress(ValueError, RecursionError):
                self._json(json.loads(body), self.json_records.setdefault(path, []))
        elif "xml" in content_type:
            root = _xml_root(body)
            if root is not None:
                self._xml(root, self.xml_records.setdefault(path, []))
        else:
            for line in body.decode("utf-8", "replace").splitlines()[:5000]:
                name, sep, value = line.partition("=")
                if sep and KEYLIKE.match(name):
                    self.value(name.rsplit(".", 1)[-1], value.strip('"'))
                    keys = self.open_keys.setdefault(path, [])
                    if name not in keys:
                        keys.append(name)

    def records(self, kind: str, path: str) -> list[Any]:
        """The endpoint's own records first, then the others'."""
        by_path = self.json_records if kind == "json" else self.xml_records
        return [*by_path.get(path, []), *(r for p, rs in by_path.items() if p != path for r in rs)]

    def _json(self, data: Any, records: list[dict[str, Any]]) -> None:
        if isinstance(data, dict):
            scalars = 0
            for k, v in data.items():
                if isinstance(v, str | int | float | bool) and v is not None:
                    self.value(k, v)
                    scalars += 1
                else:
                    self._json(v, records)
            if scalars >= 2 and len(records) < 200:
                shape = json.dumps(sorted(data))[:500] + json.dumps(data, default=str)[:200]
                if shape not in self._seen:
                    self._seen.add(shape)
                    records.append(data)
            if isinstance(data.get("apiVersions"), list) and data["apiVersions"]:
                self.value("apiVersion", data["apiVersions"][-1])
        elif isinstance(data, list):
            for item in data[:200]:
                self._json(item, records)

    def _xml(self, root: Any, records: list[dict[tuple[str, ...], list[str]]]) -> None:
        for el in root.iter():
            name = _local(el.tag)
            if not name:
                continue
            for prefix, uri in (el.nsmap or {}).items():
                if prefix and prefix not in ("s", "o", "n") and prefix not in self.namespaces:
                    self.namespaces[prefix] = uri
            if any(_local(a) == "topic" and v == "true" for a, v in el.attrib.items()):
                # An event topic of a TopicSet: its path, as a topic expression names it.
                chain = [el]
                for ancestor in el.iterancestors():
                    if _local(ancestor.tag) == "TopicSet":
                        self.value("TopicExpression", "/".join(f"{a.prefix}:{_local(a.tag)}" if a.prefix
                                                               else _local(a.tag) for a in reversed(chain)))
                        break
                    chain.append(ancestor)
            if len(el) == 0 and el.text and el.text.strip():
                self.value(name, el.text.strip())
            for attr, value in el.attrib.items():
                self.value(f"{name}@{_local(attr)}", value)
                self.value(_local(attr), value)
            if len(el) and len(records) < 200:
                record: dict[tuple[str, ...], list[str]] = {}
                _xml_record(el, (), record, 0)
                if len(record) >= 2:
                    key = repr(sorted(record.items()))[:2000]
                    if key not in self._seen:
                        self._seen.add(key)
                        records.append(record)


def _xml_record(el: Any, prefix: tuple[str, ...], record: dict[tuple[str, ...], list[str]], depth: int) -> None:
    """The texts and attributes under `el` by their path relative to it (three levels deep)."""
    if depth >= 3 or len(record) > 200:
        return
    for sub in el:
        name = _local(sub.tag)
        if not name:
            continue
        rel = prefix + (name,)
        if len(sub) == 0 and sub.text and sub.text.strip():
            record.setdefault(rel, []).append(sub.text.strip())
        for attr, value in sub.attrib.items():
            record.setdefault(rel + ("@" + _local(attr),), []).append(value)
        _xml_record(sub, rel, record, depth + 1)


def scalar_kind(info: FieldInfo) -> str:
    hints = info.hints
    for kind in ("str", "int", "number", "float", "list", "dict", "bool"):
        if kind in hints:
            return kind
    return ""


def plausible(name: str, info: FieldInfo, harvest: Harvest, style: str, path: str = "") -> list[Any]:
    """Good values for a parameter of endpoint `path`, best first. style: text (query/form), xml,
    or json (typed)."""
    out: list[Any] = []

    def add(value: Any) -> None:
        if value not in out:
            out.append(value)

    bare = name.lstrip("@")
    if bare.lower() in HOLDING_NAMES:
        return [1] if style == "json" else ["1"]
    for value in harvest.candidates(bare, path):  # what the device itself listed under that name
        add(value)
    for value in info.enums:
        if value:
            add(value)
    for value in info.defaults:
        if value and "://" not in value:  # not a namespace passed along with the name
            add(value)
    generic = GENERIC_VALUES.get(bare.lower()) or next(
        (v for k, v in GENERIC_VALUES.items() if k in ("host", "url", "port", "password", "user")
         and k in bare.lower()), None)  # proxy_host, upload_url, pop_port...
    if generic is not None:
        add(generic)
    kind = scalar_kind(info)
    if kind in ("int", "number") or bare.lower().endswith("id"):
        for value in harvest.ids():  # an id is likely one of the ids the device listed
            add(value)
    if style == "json":
        if kind in ("int", "number", "float"):
            typed = [v for v in out if isinstance(v, int | float) and not isinstance(v, bool)]
            typed += [int(v) for v in out if isinstance(v, str) and v.isdigit() and len(v) < 10]
            return typed + [1, 0]
        if kind == "bool":
            return [True, False]
        if kind == "list":
            return [[]]
        if kind == "dict":
            return [{}]
        texts = [v for v in out if isinstance(v, str)]
        return texts + ["fuzz"] if kind == "str" or texts or not out else out
    texts = [v if isinstance(v, str) else json.dumps(v) if isinstance(v, bool) else str(v) for v in out]
    if kind in ("int", "number", "float"):
        texts = [t for t in texts if t.lstrip("-").isdigit()] + ["1"]
    elif kind == "bool" and style == "xml":
        texts = [t for t in texts if t in ("true", "false", "1", "0")] + ["true"]
    elif kind == "bool":
        texts += ["yes"]
    return texts + ["fuzz"]
