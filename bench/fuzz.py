"""Fuzz walk: every registered endpoint of every profile, bad values in every parameter, every role.

    .venv/bin/python bench/fuzz.py                       # the five profiles, every bad value
    .venv/bin/python bench/fuzz.py -p s3016 -p w401      # some profiles
    .venv/bin/python bench/fuzz.py --sample              # the bounded form tests/http/test_fuzz.py runs
    .venv/bin/python bench/fuzz.py --json out.json --findings out.md

Each profile's device is built in this process and served on free loopback ports by
`serve_device` (RTSP server, WebSocket stream and background services running); HTTP requests
go straight into its ASGI app, liveness is checked over the real listeners. What is walked
comes from the device, never from a list kept here: the router's endpoints, the method tables
of JSON APIs and the operations of SOAP services, each with its declared role; the parameters
each handler reads, from its source (`inspect` + `ast`); plausible values from what the device
lists to its administrator. One bad value at a time goes out as anonymous, viewer, operator and
administrator, and the walk counts 5xx (SOAP's designed 500 faults apart), internal errors,
role violations and hangs. Destructive endpoints run for real on throwaway data: the device is
rebuilt as `vigil run` would. bench/README.md has the details.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder is first on sys.path and bench/http.py would hide the
# standard library's `http` package (used by uvicorn): drop the folder.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import ast
import asyncio
import base64
import contextlib
import dataclasses
import functools
import hashlib
import inspect
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import textwrap
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape, quoteattr

import httpx  # noqa: E402

import vigil  # noqa: E402
from vigil.core.roles import Role  # noqa: E402
from vigil.device import Device, Ports  # noqa: E402
from vigil.http.app import create_app  # noqa: E402
from vigil.http.routing import Endpoint  # noqa: E402
from vigil.http.server import serve_device  # noqa: E402
from vigil.http.soap import SOAP11, SOAP12, SoapService  # noqa: E402
from vigil.profiles import NAMES  # noqa: E402

PROJECT = str(Path(vigil.__file__).resolve().parent.parent)  # frames under it are the product's (or a test's)
ROLES = (Role.ANONYMOUS, Role.VIEWER, Role.OPERATOR, Role.ADMIN)
ACCOUNTS = {Role.VIEWER: ("fuzzview", "Fuzz-view-1"), Role.OPERATOR: ("fuzzoper", "Fuzz-oper-1"),
            Role.ADMIN: ("root", "Fuzz-root-1")}
# Settings that would lock the walk's own callers out; put back after every request.
FIXTURE_PARAMS = {"System.BoaProtViewer": "password", "System.BruteForce.Enabled": "no",
                  "HTTPS.AllowAccessThrough": "both", "Network.HTTP.AuthenticationPolicy": "basic_digest",
                  "Network.RTSP.Enabled": "yes", "Network.RTSP.ProtViewer": "password"}
BDI = "/axis-cgi/basicdeviceinfo.cgi"
BDI_BODY = b'{"apiVersion":"1.0","method":"getAllUnrestrictedProperties"}'


# -- bad values ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Bad:
    label: str
    text: str | None  # as a query, form or XML value (None: only makes sense in JSON)
    json: str | None = None  # raw JSON text; None: the text as a JSON string

    @property
    def raw_json(self) -> str | None:
        if self.json is not None:
            return self.json
        return json.dumps(self.text) if self.text is not None else None


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


BAD_VALUES: tuple[Bad, ...] = (  # the ones that found most first: a per-target limit keeps them
    Bad("digits5000", "9" * 5000, "9" * 5000),
    Bad("1e999", "1e999", "1e999"),
    Bad("list", None, "[]"),
    Bad("object", None, "{}"),
    Bad("NaN", "NaN", "NaN"),
    Bad("empty", ""),
    Bad("null", None, "null"),
    Bad("-1", "-1", "-1"),
    Bad("true", "true", "true"),
    Bad("spaces", "x" + " " * 20_000 + "x"),  # quadratic regular expressions show here
    Bad("date-max", "9999-12-31T23:59:59Z"),
    Bad("unicode", "\u00fc\u00f1\u20ac\U0001f600\u202e"),
    Bad("traversal", "../../../../../../etc/passwd"),
    Bad("xml", "<a b='1'>&amp;&lt;]]></a>\"'"),
    Bad("digits5000-text", None, '"' + "9" * 5000 + '"'),
    Bad("-1e999", "-1e999", "-1e999"),
    Bad("inf", "inf", "Infinity"),
    Bad("-inf", "-inf", "-Infinity"),
    Bad("int64+1", "9223372036854775808", "9223372036854775808"),
    Bad("1.5", "1.5", "1.5"),
    Bad("0", "0", "0"),
    Bad("-0", "-0", "-0"),
    Bad("hex", "0x10"),
    Bad("fullwidth-digits", "\uff11\uff12"),
    Bad("false", "no", "false"),
    Bad("list-of-text", None, '["x", "y"]'),
    Bad("object-x", None, '{"x": 1}'),
    Bad("nested-200", None, _nested(200)),
    Bad("nul", "a\x00b"),
    Bad("crlf", "a\r\nX-Injected: 1"),
    Bad("control", "\x1b[31m\x07\x7f"),
    Bad("space", " "),
    Bad("long", "x" * 20_000),
    Bad("abs-path", "/etc/passwd"),
    Bad("backslashes", "..\\..\\..\\windows\\win.ini"),
    Bad("url", "http://127.0.0.1:9/x?y=1#z"),
    Bad("entity", "&xxe;"),
    Bad("format", "%s%n%x{0}${jndi:x}"),
    Bad("quote", "' OR '1'='1' --"),
    Bad("regex", "(a+)+$[*\\"),
    Bad("commas", ",,,"),
    Bad("date-min", "0001-01-01T00:00:00Z"),
    Bad("date-bad", "2024-02-30T25:61:61Z"),
)
# The bounded form: the values that found something at least once, one of each kind.
SAMPLE_LABELS = tuple(b.label for b in BAD_VALUES[:14])
# In the secondary contexts of the bounded form (bare, modes, records, lean SOAP bodies).
FEW_LABELS = ("digits5000", "1e999", "list", "object", "NaN", "empty", "xml")

SAMPLE_PER_TARGET = 800  # the bounded form's limit of requests with a bad value per target

# Generic names tried on every form-style endpoint besides the ones read from its source.
GENERIC_NAMES = ("action", "id", "name", "value", "schemaversion", "format")
# Plausible values for names whose handlers give no hint (a URL a source accepts, a password
# the account rules accept...); port 9 on the loopback refuses connections at once.
GENERIC_VALUES = {"url": "rtsp://127.0.0.1:9/fuzz", "upload_url": "http://127.0.0.1:9/fuzz",
                  "address": "127.0.0.1", "host": "127.0.0.1", "server": "127.0.0.1", "port": "9",
                  "password": "Fuzz-pass-1", "pwd": "Fuzz-pass-1", "user": "fuzzuser", "username": "fuzzuser",
                  "email": "fuzz@example.invalid", "id": "fuzz1", "name": "fuzz", "share": "fuzz"}


# -- what a handler reads: source analysis ----------------------------------------------------
KEYLIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
# Attributes of a request (or SOAP message) that are not its parameters.
NOT_PARAMETERS = frozenset({"headers", "cookies", "client", "url", "app", "state", "scope", "method", "base_url",
                            "path_params", "version", "action", "envelope", "operation"})
SHARED_HELPERS = "vigil.http."  # argument readers (first, text_of, child...): read as readers, not walked
MAX_DEPTH = 6
TYPE_HINTS = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict", tuple: "list"}


@dataclass
class FieldInfo:
    attribute: bool = False  # an XML attribute (element.get) rather than a child element
    enums: list[str] = field(default_factory=list)  # literals it is compared with
    defaults: list[str] = field(default_factory=list)
    hints: set[str] = field(default_factory=set)  # Python types it is checked or converted to
    namespace: str = ""  # SOAP: the namespace it is read in, when the handler names one

    def enum(self, value: str) -> None:
        if value not in self.enums and len(self.enums) < 24:
            self.enums.append(value)


@dataclass
class Spec:
    """The parameters a handler reads: paths of keys (JSON), names (forms) or elements (SOAP)."""

    fields: dict[tuple[str, ...], FieldInfo] = field(default_factory=dict)
    open_keys: bool = False  # it also takes names it does not know in advance (param.cgi update)

    def add(self, path: tuple[str, ...], attribute: bool = False) -> FieldInfo:
        for n in range(1, len(path)):  # the containers on the way
            self.fields.setdefault(path[:n], FieldInfo())
        info = self.fields.setdefault(path, FieldInfo())
        info.attribute = info.attribute or attribute
        return info

    def children(self, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        return [p for p in self.fields if len(p) == len(path) + 1 and p[:len(path)] == path]


@dataclass
class _Tracked:  # a value that comes from the request at `path`
    path: tuple[str, ...]
    role: str = "value"  # value | key (a name among the parameters of path) | pairs | enumerate


@dataclass
class _Const:
    value: str


@dataclass
class _Choice:  # one of several literals (a loop over a literal collection)
    values: list[str]


@dataclass
class _Obj:  # a live object: a function, a class, a module, a service
    value: Any


@dataclass
class _Local:  # a function defined inside the one being read
    node: ast.FunctionDef | ast.AsyncFunctionDef
    scope: _Scope


@dataclass
class _Tuple:
    items: list[Any]


class _Scope:
    def __init__(self, env: dict[str, Any], parent: _Scope | None = None,
                 closure: dict[str, Any] | None = None, globals_: dict[str, Any] | None = None) -> None:
        self.env, self.parent, self.closure, self.globals = env, parent, closure or {}, globals_ or {}

    def lookup(self, name: str) -> Any:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.env:
                return scope.env[name]
            if name in scope.closure:
                return _wrap(scope.closure[name])
            if name in scope.globals:
                return _wrap(scope.globals[name])
            scope = scope.parent
        builtins = __builtins__ if isinstance(__builtins__, dict) else vars(__builtins__)
        return _wrap(builtins[name]) if name in builtins else None


def _wrap(value: Any) -> Any:
    return _Const(value) if isinstance(value, str) else _Obj(value)


_SOURCES: dict[types.CodeType, ast.FunctionDef | ast.AsyncFunctionDef | None] = {}


def _function_node(func: Any) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    if code not in _SOURCES:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
            node = tree.body[0]
            _SOURCES[code] = node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
        except (OSError, TypeError, SyntaxError, IndexError):
            _SOURCES[code] = None
    return _SOURCES[code]


def _readable(func: Any) -> bool:
    """A function of the product whose source is worth following (not a shared argument reader)."""
    func = getattr(func, "__func__", func)
    module = getattr(func, "__module__", "") or ""
    return (inspect.isfunction(func) and module.startswith("vigil.") and not module.startswith(SHARED_HELPERS))


class Reader:
    """Walks a handler's source (and the product functions it calls) and records what it reads."""

    def __init__(self, spec: Spec, xml: bool) -> None:
        self.spec, self.xml = spec, xml
        self.depth = 0
        self.memo: dict[tuple, Any] = {}

    def read(self, handler: Callable, root: int = 0) -> Spec:
        """`root`: the position of the parameter that holds the request (request, call, msg), after
        the arguments a `functools.partial` binds (storage binds its service that way)."""
        while isinstance(handler, functools.partial):
            root += len(handler.args)
            handler = handler.func
        params = [p for p in inspect.signature(handler).parameters]
        args: list[Any] = [None] * len(params)
        if len(params) > root:
            args[root] = _Tracked(())
        self.call_function(_Obj(handler), args, {})
        return self.spec

    # -- functions ----------------------------------------------------------------------
    def call_function(self, callee: _Obj | _Local, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if self.depth >= MAX_DEPTH:
            return None
        if isinstance(callee, _Local):
            node, outer, bound_self = callee.node, callee.scope, None
        else:
            func = getattr(callee.value, "__func__", callee.value)
            bound_self = getattr(callee.value, "__self__", None)
            node = _function_node(func)
            if node is None:
                return None
            closure = {}
            for name, cell in zip(func.__code__.co_freevars, func.__closure__ or (), strict=False):
                with contextlib.suppress(ValueError):
                    closure[name] = cell.cell_contents
            outer = _Scope({}, closure=closure, globals_=func.__globals__)
        a = node.args
        names = [x.arg for x in a.posonlyargs + a.args]
        env: dict[str, Any] = {}
        if bound_self is not None and names:
            env[names[0]] = _Obj(bound_self)
            names = names[1:]
        for name, value in zip(names, args, strict=False):
            env[name] = value
        if a.vararg is not None:
            env[a.vararg.arg] = _Tuple(list(args[len(names):]))
        known = set(names) | {x.arg for x in a.kwonlyargs}
        for key, value in kwargs.items():
            if key in known:
                env[key] = value
        signature = tuple(sorted((k, repr(v)) for k, v in env.items() if isinstance(v, _Tracked | _Const)))
        key = (id(node), signature)
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = None
        returns: list[Any] = []
        self.depth += 1
        try:
            self.block(node.body, _Scope(env, parent=outer), returns)
        finally:
            self.depth -= 1
        result = next((r for r in returns if isinstance(r, _Tracked)), None)
        self.memo[key] = result
        return result

    # -- statements ---------------------------------------------------------------------
    def block(self, body: list[ast.stmt], scope: _Scope, returns: list[Any]) -> None:
        for s in body:
            self.statement(s, scope, returns)

    def statement(self, s: ast.stmt, scope: _Scope, returns: list[Any]) -> None:
        if isinstance(s, ast.Assign):
            value = self.ev(s.value, scope)
            for target in s.targets:
                self.bind(target, value, scope)
        elif isinstance(s, ast.AnnAssign) and s.value is not None:
            self.bind(s.target, self.ev(s.value, scope), scope)
        elif isinstance(s, ast.AugAssign | ast.Expr):
            self.ev(s.value, scope)
        elif isinstance(s, ast.Return) and s.value is not None:
            returns.append(self.ev(s.value, scope))
        elif isinstance(s, ast.If | ast.While):
            self.ev(s.test, scope)
            self.block(s.body, scope, returns)
            self.block(s.orelse, scope, returns)
        elif isinstance(s, ast.For | ast.AsyncFor):
            self.bind_loop(s.target, self.ev(s.iter, scope), scope)
            self.block(s.body, scope, returns)
            self.block(s.orelse, scope, returns)
        elif isinstance(s, ast.With | ast.AsyncWith):
            for item in s.items:
                value = self.ev(item.context_expr, scope)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, value, scope)
            self.block(s.body, scope, returns)
        elif isinstance(s, ast.Try | ast.TryStar):
            self.block(s.body, scope, returns)
            for handler in s.handlers:
                self.block(handler.body, scope, returns)
            self.block(s.orelse, scope, returns)
            self.block(s.finalbody, scope, returns)
        elif isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef):
            scope.env[s.name] = _Local(s, scope)
        elif isinstance(s, ast.Raise) and s.exc is not None:
            self.ev(s.exc, scope)
        elif isinstance(s, ast.Assert):
            self.ev(s.test, scope)
        elif isinstance(s, ast.Match):
            self.ev(s.subject, scope)
            for case in s.cases:
                self.block(case.body, scope, returns)

    def bind(self, target: ast.expr, value: Any, scope: _Scope) -> None:
        if isinstance(target, ast.Name):
            scope.env[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            if isinstance(value, _Tuple) and len(value.items) == len(target.elts):
                for t, v in zip(target.elts, value.items, strict=True):
                    self.bind(t, v, scope)
            elif isinstance(value, _Tracked) and len(target.elts) == 2:
                self.bind(target.elts[0], _Tracked(value.path, "key"), scope)
                self.bind(target.elts[1], _Tracked(value.path), scope)
            else:
                for t in target.elts:
                    self.bind(t, value if isinstance(value, _Tracked) else None, scope)

    def bind_loop(self, target: ast.expr, iterable: Any, scope: _Scope) -> None:
        if isinstance(iterable, _Tracked):
            pair = isinstance(target, ast.Tuple) and len(target.elts) == 2
            if iterable.role == "enumerate" and pair:
                self.bind(target.elts[0], None, scope)  # type: ignore[union-attr]
                self.bind(target.elts[1], _Tracked(self.item_path(iterable.path)), scope)  # type: ignore[union-attr]
            elif pair or iterable.role == "pairs":
                if not self.xml and not iterable.path:
                    self.spec.open_keys = True  # it loops over every argument it was given
                self.bind(target, _Tracked(iterable.path), scope)
            elif iterable.role == "key":
                self.bind(target, iterable, scope)
            else:
                self.bind(target, _Tracked(self.item_path(iterable.path)), scope)
        else:
            consts = self.literals(iterable)
            self.bind(target, _Choice(consts) if consts else None, scope)

    def item_path(self, path: tuple[str, ...]) -> tuple[str, ...]:
        # An XML element list is the repeated element itself; a JSON list holds items.
        if self.xml or not path:
            return path
        self.spec.add(path + ("[]",))
        return path + ("[]",)

    # -- expressions --------------------------------------------------------------------
    def ev(self, node: ast.expr | None, scope: _Scope) -> Any:
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            return _Const(node.value) if isinstance(node.value, str) else _Obj(node.value)
        if isinstance(node, ast.Name):
            return scope.lookup(node.id)
        if isinstance(node, ast.Attribute):
            base = self.ev(node.value, scope)
            if isinstance(base, _Tracked):
                return None if node.attr in NOT_PARAMETERS else _Tracked(base.path)
            if isinstance(base, _Obj):
                return self.attribute(base.value, node.attr)
            return None
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.Subscript):
            base = self.ev(node.value, scope)
            index = self.ev(node.slice, scope)
            if isinstance(base, _Tracked):
                if isinstance(index, _Const) and KEYLIKE.match(index.value):
                    path = base.path + (index.value,)
                    self.spec.add(path)
                    return _Tracked(path)
                return _Tracked(base.path)
            if isinstance(base, _Tuple) and isinstance(index, _Obj) and isinstance(index.value, int):
                with contextlib.suppress(IndexError):
                    return base.items[index.value]
            return None
        if isinstance(node, ast.Await | ast.Starred):
            return self.ev(node.value, scope)
        if isinstance(node, ast.Compare):
            self.compare(node, scope)
            return None
        if isinstance(node, ast.BoolOp):
            values = [self.ev(v, scope) for v in node.values]
            return next((v for v in values if isinstance(v, _Tracked)), None)
        if isinstance(node, ast.IfExp):
            self.ev(node.test, scope)
            a, b = self.ev(node.body, scope), self.ev(node.orelse, scope)
            return a if isinstance(a, _Tracked) else b
        if isinstance(node, ast.Dict):
            result = None
            for k, v in zip(node.keys, node.values, strict=True):
                value = self.ev(v, scope)
                if k is None and isinstance(value, _Tracked):
                    result = value
                elif k is not None:
                    self.ev(k, scope)
            return result
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return _Tuple([self.ev(e, scope) for e in node.elts])
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            inner = _Scope({}, parent=scope)
            first = None
            for gen in node.generators:
                iterable = self.ev(gen.iter, inner)
                first = first or (iterable if isinstance(iterable, _Tracked) else None)
                self.bind_loop(gen.target, iterable, inner)
                for cond in gen.ifs:
                    self.ev(cond, inner)
            if isinstance(node, ast.DictComp):
                self.ev(node.key, inner)
                self.ev(node.value, inner)
            else:
                self.ev(node.elt, inner)
            return _Tracked(first.path) if first else None
        if isinstance(node, ast.NamedExpr):
            value = self.ev(node.value, scope)
            self.bind(node.target, value, scope)
            return value
        if isinstance(node, ast.Lambda):
            return None
        found = None
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                value = self.ev(child, scope)
                found = found or (value if isinstance(value, _Tracked) else None)
        return found

    def attribute(self, obj: Any, name: str) -> Any:
        try:
            value = inspect.getattr_static(obj, name)
        except AttributeError:
            return None
        if isinstance(value, staticmethod | classmethod):
            return _Obj(getattr(obj, name, None))
        if inspect.isfunction(value) and not inspect.ismodule(obj) and not inspect.isclass(obj):
            return _Obj(types.MethodType(value, obj))  # a method, bound without running anything
        if isinstance(value, property):
            return None
        return _wrap(value)

    def literals(self, value: Any) -> list[str]:
        if isinstance(value, _Const):
            return [value.value]
        if isinstance(value, _Choice):
            return list(value.values)
        if isinstance(value, _Tuple):
            return [v.value for v in value.items if isinstance(v, _Const)]
        if isinstance(value, _Obj) and isinstance(value.value, set | frozenset | tuple | list | dict):
            return [v for v in value.value if isinstance(v, str)]
        return []

    def compare(self, node: ast.Compare, scope: _Scope) -> None:
        left = self.ev(node.left, scope)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.ev(right_node, scope)
            if isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn):
                consts = self.literals(right)
                if isinstance(left, _Tracked) and consts:
                    for c in consts:
                        if left.role == "key":
                            if KEYLIKE.match(c):
                                self.spec.add(left.path + (c,))
                        elif left.path:
                            self.spec.add(left.path).enum(c)
                if isinstance(op, ast.In | ast.NotIn) and isinstance(right, _Tracked):
                    for c in self.literals(left):
                        if KEYLIKE.match(c):
                            self.spec.add(right.path + (c,), attribute=False)
            left = right

    def call(self, node: ast.Call, scope: _Scope) -> Any:
        args: list[Any] = []
        for a in node.args:
            value = self.ev(a, scope)
            if isinstance(a, ast.Starred) and isinstance(value, _Tuple):
                args.extend(value.items)
            else:
                args.append(value)
        kwargs: dict[str, Any] = {}
        spread: list[Any] = []
        for k in node.keywords:
            value = self.ev(k.value, scope)
            if k.arg is None:
                spread.append(value)
            else:
                kwargs[k.arg] = value
        func = node.func
        if isinstance(func, ast.Attribute):
            base = self.ev(func.value, scope)
            if isinstance(base, _Tracked):
                return self.method_of_tracked(base, func.attr, args)
        callee = self.ev(func, scope)
        target = callee.value if isinstance(callee, _Obj) else None
        tracked = [a for a in [*args, *kwargs.values()] if isinstance(a, _Tracked)]
        if target is isinstance and args and isinstance(args[0], _Tracked) and len(args) > 1:
            kinds = args[1].items if isinstance(args[1], _Tuple) else [args[1]]
            info = self.spec.add(args[0].path) if args[0].path else None
            for kind in kinds:
                if info is not None and isinstance(kind, _Obj) and kind.value in TYPE_HINTS:
                    info.hints.add(TYPE_HINTS[kind.value])
            return None
        if target in (int, float) and tracked and tracked[0].path:
            self.spec.add(tracked[0].path).hints.add("number")
            return _Tracked(tracked[0].path)
        if target in (str, bool, list, tuple, set, sorted) and tracked:  # conversions keep the origin
            return _Tracked(tracked[0].path)
        if target is enumerate and tracked:
            return _Tracked(tracked[0].path, "enumerate")
        if inspect.isclass(target):
            if dataclasses.is_dataclass(target):
                for source in spread:
                    if isinstance(source, _Tracked):
                        for f in dataclasses.fields(target):
                            info = self.spec.add(source.path + (f.name,))
                            hint = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
                            info.hints.add({"int": "int", "bool": "bool", "float": "float"}.get(hint, "str"))
            return None
        if isinstance(callee, _Local) or (target is not None and _readable(target)):
            return self.call_function(callee, args, kwargs)
        if not tracked:
            return None
        # A shared helper or a library call: `first(args, "diskid", "all")`, `text_of(el, "Name")`.
        base = tracked[0]
        position = next((i for i, a in enumerate(args) if a is base), len(args))
        after = args[position + 1:]
        key = after[0] if after and isinstance(after[0], _Const | _Choice) else None
        if key is None:
            return _Tracked(base.path)
        names = [k for k in self.literals(key) if KEYLIKE.match(k)]
        if not names:
            return _Tracked(base.path)
        called = getattr(target, "__name__", "")
        for name in names:
            info = self.spec.add(base.path + (name,))
            if len(after) > 1 and isinstance(after[1], _Const):
                if self.xml and re.match(r"^(https?://|urn:)", after[1].value):
                    info.namespace = after[1].value  # child(el, "TopicExpression", WSNT)
                else:
                    info.defaults.append(after[1].value)
            if "int" in called:
                info.hints.add("int")
            if "bool" in called or "flag" in called:
                info.hints.add("bool")
        return _Tracked(base.path + (names[0],))

    def method_of_tracked(self, base: _Tracked, name: str, args: list[Any]) -> Any:
        if name in ("get", "pop", "getlist", "setdefault") and args:
            keys = [k for k in self.literals(args[0]) if KEYLIKE.match(k)]
            for key in keys:
                path = base.path + (("@" + key,) if self.xml and name == "get" else (key,))
                info = self.spec.add(path, attribute=self.xml and name == "get")
                if len(args) > 1 and isinstance(args[1], _Const):
                    info.defaults.append(args[1].value)
            if keys:
                return _Tracked(base.path + (("@" + keys[0],) if self.xml and name == "get" else (keys[0],)))
            return _Tracked(base.path)
        if name == "items":
            return _Tracked(base.path, "pairs")
        if name == "keys":
            return _Tracked(base.path, "key")
        return _Tracked(base.path)


# -- targets ----------------------------------------------------------------------------
@dataclass
class Target:
    """One thing to fuzz: an endpoint, a method of a JSON API, or a SOAP operation."""

    endpoint: Endpoint
    kind: str  # form | json-api | json | soap
    role: Role  # the declared minimum
    spec: Spec
    method: str | None = None  # JSON method or SOAP operation
    namespace: str = ""  # SOAP
    code: tuple = ()  # what identifies the handler: the same code is fuzzed in full once

    @property
    def label(self) -> str:
        return self.endpoint.path + (f" [{self.method}]" if self.method else "")

    @property
    def http_method(self) -> str:
        if self.kind in ("json-api", "soap"):
            return "POST"
        return "GET" if "GET" in self.endpoint.methods else self.endpoint.methods[0]


def _closure_objects(func: Any, depth: int = 2) -> Iterator[Any]:
    """Objects a handler closes over, and their attributes, a couple of levels deep."""
    seen: set[int] = set()
    todo = [(func, 0)]
    while todo:
        obj, level = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if level >= depth:
            continue
        if inspect.ismethod(obj):  # a bound handler: what it is bound to, and its function
            todo.extend(((obj.__self__, level + 1), (obj.__func__, level + 1)))
        elif inspect.isfunction(obj):
            for cell in obj.__closure__ or ():
                with contextlib.suppress(ValueError):
                    todo.append((cell.cell_contents, level + 1))
        elif hasattr(obj, "__dict__") and not inspect.ismodule(obj) and not inspect.isclass(obj):
            todo.extend((v, level + 1) for v in vars(obj).values())


def method_table(endpoint: Endpoint) -> dict[str, Callable]:
    """The handler of each declared method of a JSON API, found in its endpoint's closure."""
    wanted = set(endpoint.method_roles)
    for obj in _closure_objects(endpoint.handler):
        if isinstance(obj, dict) and obj and set(obj) <= wanted and len(obj) >= len(wanted) - 1:
            table = {}
            for name, entry in obj.items():
                handler = getattr(entry, "handler", None)
                if handler is None and isinstance(entry, tuple):
                    handler = next((e for e in entry if callable(e)), None)
                if callable(handler):
                    table[name] = handler
            if table:
                return table
    return {}


def soap_service(endpoint: Endpoint) -> SoapService | None:
    return next((o for o in _closure_objects(endpoint.handler) if isinstance(o, SoapService)), None)


def _code_of(func: Any) -> tuple:
    func = getattr(func, "__func__", func)
    cells = []
    for cell in getattr(func, "__closure__", None) or ():
        with contextlib.suppress(ValueError):
            value = cell.cell_contents
            cells.append(value if isinstance(value, str | int | bool) else type(value).__name__)
    return (getattr(func, "__code__", None), tuple(cells))


def _spec(handler: Callable, xml: bool = False) -> Spec:
    try:
        return Reader(Spec(), xml).read(handler)
    except (RecursionError, ValueError, TypeError):  # a handler too odd to read: fuzz its generic names
        return Spec()


def discover(device: Device) -> list[Target]:
    """Every endpoint, JSON method and SOAP operation of the device, with what each reads."""
    targets: list[Target] = []
    for endpoint in device.router.endpoints:
        service = soap_service(endpoint) if endpoint.kind == "xml" and endpoint.methods == ("POST",) else None
        if service is not None:
            for (namespace, name), op in service.operations.items():
                targets.append(Target(endpoint, "soap", max(op.role, endpoint.role), _spec(op.handler, xml=True),
                                      name, namespace, _code_of(op.handler)))
            continue
        if endpoint.method_roles:
            table = method_table(endpoint)
            for name, role in endpoint.method_roles.items():
                handler = table.get(name)
                spec = _spec(handler) if handler else Spec()
                targets.append(Target(endpoint, "json-api", max(role, endpoint.role), spec, name,
                                      code=_code_of(handler) + (name,)))
            continue
        kind = "json" if endpoint.kind == "json" else "form"
        targets.append(Target(endpoint, kind, endpoint.role, _spec(endpoint.handler), code=_code_of(endpoint.handler)))
    return targets


# -- what the device answers: plausible values and records ---------------------------------
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


def _scalar_kind(info: FieldInfo) -> str:
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
    kind = _scalar_kind(info)
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


# -- requests ------------------------------------------------------------------------------
@dataclass
class Req:
    method: str
    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    shown: str = ""  # for the report: the parameters, with the bad value as <label>
    bad: str = ""  # the bad value's label; "" for a request without one (sent as every role)


PLACEHOLDER = "\x00FUZZ\x00"
_PLACEHOLDER_JSON = json.dumps(PLACEHOLDER)
_PATH_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else f"{value[:limit]}…({len(value)} chars)"


def _values(sample: bool, few: bool = False) -> list[Bad]:
    labels = FEW_LABELS if few else SAMPLE_LABELS if sample else None
    return [b for b in BAD_VALUES if labels is None or b.label in labels]


@dataclass
class Context:
    """Plausible parameters, and where to put one bad value at a time."""

    name: str  # full | bare | lean | record | <name>=<mode>
    payload: Any  # form: dict of arguments; json: the params; soap: the list of XNode under the operation
    positions: list[tuple]  # form: (name,); json: a path of keys and indexes; soap: see _xml_positions
    values: list[Bad]
    repairable: bool = False  # its baseline should be accepted: try variants until it is


class Builder:
    """The requests of one target: contexts of plausible values, one bad value at a time."""

    def __init__(self, target: Target, harvest: Harvest, sample: bool, repeat: bool = False) -> None:
        """sample: the bounded form; repeat: the handler was fuzzed already under another path
        (param.cgi and its view/operator/admin twins): the same code, so its contexts once
        with a few values, for the roles."""
        self.target, self.harvest, self.sample, self.repeat = target, harvest, sample or repeat, repeat
        self.values = _values(True, few=True) if repeat else _values(sample)  # every parameter plausible
        self.secondary = _values(True, few=sample or repeat)  # in the other contexts
        self.max_modes = 0 if repeat else 4 if sample else 12
        self.max_records = 0 if repeat else 1 if sample else 4
        self.path = _PATH_PARAM.sub("fuzz", target.endpoint.path)
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
            if kind == "json-api" or "POST" in self.target.endpoint.methods:
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
        params = ctx.payload if position is None else _set_at(ctx.payload, position, PLACEHOLDER)
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
            for position in _xml_positions(ctx.payload):
                if lean and position == ctx.positions[-1]:
                    continue
                named = _xml_name_of(ctx.payload, position)
                if named:  # a Parameter's Value: its own name says what fits (upload_url, qos...)
                    current = _xml_get(ctx.payload, position)
                    for alt in dict.fromkeys(["", *plausible(named, FieldInfo(), self.harvest, "xml", where)[:3], "1"]):
                        if alt != current:
                            yield replace_ctx(ctx, _xml_set(ctx.payload, position, alt)), named
                    continue
                path = _xml_spec_path(ctx.payload, position)
                key = (path[-1], _xml_get(ctx.payload, position))
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
                        tree = _xml_set(tree, position, alt)
                    yield (replace_ctx(ctx, tree, ctx.positions if lean else list(_xml_positions(tree))),
                           path[-1].lstrip("@"))
                if attribute:
                    continue
                tree, kept = ctx.payload, ctx.positions[-1] if lean else None
                for position in reversed(positions):  # the last first: earlier positions stay valid
                    dropped = _xml_drop(tree, position)
                    if dropped is None:
                        break
                    tree = dropped
                    kept = _xml_shift(kept, position) if kept is not None else None
                else:
                    yield replace_ctx(ctx, tree, [kept] if lean else list(_xml_positions(tree))), path[-1]
        else:
            for position in list(_positions(ctx.payload)):
                value = _get_value(ctx.payload, position)
                if isinstance(value, dict | list):
                    continue
                path = tuple("[]" if isinstance(step, int) else step for step in position)
                info = self.target.spec.fields.get(path, FieldInfo())
                for alt in plausible(str(path[-1]), info, self.harvest, "json", where)[1:4]:
                    yield replace_ctx(ctx, _set_at(ctx.payload, position, alt)), str(path[-1])
                dropped = _drop_at(ctx.payload, position)
                yield replace_ctx(ctx, dropped, list(_positions(dropped))), str(path[-1])

    def extras(self) -> Iterator[Req]:
        """Requests outside the contexts: path parameters, malformed queries, bodies, envelopes."""
        kind, target = self.target.kind, self.target
        if kind == "form":
            yield from self.form_extras()
        elif kind == "json":
            for method in target.endpoint.methods:
                if method != "POST":
                    yield Req(method, self.path, shown=method)
            if "POST" in target.endpoint.methods:
                yield from self.raw_bodies()
        elif kind == "json-api" and target.method == next(iter(target.endpoint.method_roles)):
            base = self.envelope({})  # the envelope of the API, once
            for key in base:
                for bad in self.values:
                    if bad.raw_json is not None:
                        yield self.json_document(_set_at(base, (key,), PLACEHOLDER), bad, f"{key}=<{bad.label}>")
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
        shown = "&".join(f"{k}=<{bad.label}>" if k == key and bad else f"{k}={_short(v)}" for k, v in args.items())
        method = self.target.http_method
        if method == "GET":
            return Req("GET", f"{self.path}?{query}" if query else self.path, shown=shown,
                       bad=bad.label if bad else "")
        return Req(method, self.path, query.encode(), {"Content-Type": "application/x-www-form-urlencoded"},
                   shown=shown, bad=bad.label if bad else "")

    def form_extras(self) -> Iterator[Req]:
        template = self.target.endpoint.path
        for name in _PATH_PARAM.findall(template):
            for bad in self.values:
                if bad.text:
                    yield Req("GET", _PATH_PARAM.sub(quote(bad.text, safe=""), template, count=1),
                              shown=f"{{{name}}}=<{bad.label}>", bad=bad.label)
        own = [p[0] for p in self.target.spec.fields if len(p) == 1]
        first_key = own[0] if own else "id"
        for raw in ("%ff=1", f"{first_key}=%ff", f"{first_key}=%zz", "%", "&&&=&", "=x",
                    f"{first_key}=1&{first_key}=2", "&".join(f"k{n}=v" for n in range(2000))):
            yield Req(self.target.http_method, f"{self.path}?{raw}", shown=_short(raw, 60), bad="raw-query")
        if "POST" in self.target.endpoint.methods and self.target.http_method == "GET":
            yield Req("POST", self.path, f"{first_key}=1".encode(),
                      {"Content-Type": "application/x-www-form-urlencoded"}, shown=f"POST {first_key}=1")

    # -- JSON ----------------------------------------------------------------------------
    def json_value(self, path: tuple[str, ...]) -> Any:
        spec = self.target.spec
        info = spec.fields.get(path, FieldInfo())
        named = [p for p in spec.children(path) if p[-1] != "[]"]
        listed = (path + ("[]",)) in spec.fields
        kind = _scalar_kind(info)
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
        yield Context("full", full, list(_positions(full)), self.values, repairable=bool(full))
        for path in spec.fields:
            chain: Any = {}
            for step in reversed(path[1:]):
                chain = [chain] if step == "[]" else {step: chain}
            bare = {path[0]: chain} if path[0] != "[]" else {}
            yield Context("bare", bare, [_position_of(path)], self.secondary)
        containers = [()] + [p for p in spec.fields if spec.children(p)]
        for container in containers:
            names = {p[-1] for p in spec.children(container)} - {"[]"}
            used = 0
            for record in self.harvest.records("json", self.target.endpoint.path):
                common = names & set(record)
                if used >= self.max_records or len(common) < 2 or len(set(record) - names) > len(common):
                    continue
                used += 1
                at = _position_of(container)
                merged = _set_at(full, at, {**_get_at(full, at), **record})
                yield Context("record", merged, [p for p in _positions(merged) if p[:len(at)] == at],
                              self.secondary, repairable=True)
        for path, info in spec.fields.items():
            if "[]" in path or not info.enums:
                continue
            for e in info.enums[:self.max_modes]:
                with contextlib.suppress(KeyError, IndexError, TypeError):
                    moded = _set_at(full, path, e)
                    yield Context(f"{'/'.join(path)}={e}", moded, [p for p in _positions(moded) if p != path],
                                  self.secondary)

    def envelope(self, params: Any) -> Any:
        if self.target.kind != "json-api":
            return params
        version = self.harvest.versions.get(self.target.endpoint.path, "1.0")
        return {"apiVersion": version, "context": "fuzz", "method": self.target.method, "params": params}

    def json_request(self, params: Any, bad: Bad | None) -> Req:
        text = json.dumps(params, ensure_ascii=False)
        shown = text.replace(_PLACEHOLDER_JSON, f"<{bad.label}>", 1) if bad else text
        if len(shown) > 300 and bad is not None:  # keep the bad value in sight
            at = shown.index(f"<{bad.label}>")
            shown = ("…" if at > 150 else "") + shown[max(0, at - 150):at + 150] + ("…" if at + 150 < len(shown) else "")
        return self.json_document(self.envelope(params), bad, _short(shown, 300))

    def json_document(self, document: Any, bad: Bad | None, shown: str) -> Req:
        text = json.dumps(document, ensure_ascii=False)
        if bad is not None and bad.raw_json is not None:
            text = text.replace(_PLACEHOLDER_JSON, bad.raw_json, 1)
        return Req("POST", self.path, text.encode("utf-8", "surrogatepass"), {"Content-Type": "application/json"},
                   shown=shown, bad=bad.label if bad else "")

    def raw_bodies(self) -> Iterator[Req]:
        for raw in ("", "{", "[]", "null", "1e999", "[" * 100_000, '{"a":' * 50_000):
            yield Req("POST", self.path, raw.encode(), {"Content-Type": "application/json"}, shown=_short(raw, 40),
                      bad="raw-body")

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
            if _scalar_kind(info) not in ("int", "number", "bool"):
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
        yield Context("full", full, list(_xml_positions(full)), self.values, repairable=bool(full))
        for leaf in _xml_positions(full):  # lean: only the leaves on the way to one leaf
            lean = _lean(full, leaf)
            if lean is not None:
                yield Context("lean", lean, [_lean_position(full, leaf)], self.secondary, repairable=True)
        for container in _xml_containers(full):
            node = _xml_at(full, container)
            rels = {rel for rel, _ in _xml_leaf_paths(node)}
            used = 0
            for record in self.harvest.records("xml", self.target.endpoint.path):
                if used >= self.max_records * 4 or len(rels & set(record)) < 2:
                    continue
                used += 1
                tree = _xml_replace(full, container, self.named_values(_xml_from_record(node, record)))
                yield Context("record", tree, [p for p in _xml_positions(tree) if p[:len(container)] == container],
                              self.secondary, repairable=True)
        for position in _xml_positions(full):
            path = _xml_spec_path(full, position)
            info = self.target.spec.fields.get(path)
            for e in (info.enums if info else [])[:self.max_modes]:
                tree = _xml_set(full, position, e)
                yield Context(f"{'/'.join(path)}={e}", tree, [p for p in _xml_positions(tree) if p != position],
                              self.secondary)

    def named_values(self, node: XNode) -> XNode:
        """Each Value of an element named by a Name attribute, plausible for that name."""
        for element in _xml_walk([node]):
            name = element.attrs.get("Name")
            if name and "Value" in element.attrs:
                known = self.harvest.candidates(name, self.target.endpoint.path)
                if known or name.lower() in GENERIC_VALUES:
                    element.attrs["Value"] = str(known[0] if known else GENERIC_VALUES[name.lower()])
        return node

    def soap_request(self, ctx: Context, position: tuple | None, bad: Bad | None, version: str = "1.2") -> Req:
        op, ns = self.target.method or "", self.target.namespace
        tree = ctx.payload if position is None else _xml_set(ctx.payload, position, PLACEHOLDER)
        inner = "".join(_xml_render(n) for n in tree)
        shown = f"{op} ({ctx.name})"
        if bad is not None and position is not None:
            inner = inner.replace(escape(PLACEHOLDER), escape(bad.text or ""))
            path = list(_xml_spec_path(tree, position))
            if position[-1] is not None:  # which element: its other attributes (Parameter Name="qos")
                others = {k: v for k, v in _xml_at(tree, position[:-1]).attrs.items() if k != position[-1]}
                path[-2] += "".join(f"[{k}={_short(v, 30)}]" for k, v in others.items())
            token = next((n.text for n in _xml_walk(tree) if n.tag.endswith("Token") and n.text), None)
            shown += f" {'/'.join(path)}=<{bad.label}>" + (f" ({token})" if token else "")
        body = _envelope(op, ns, inner, version, self.harvest.namespaces)
        headers = {"Content-Type": "application/soap+xml; charset=utf-8"} if version == "1.2" else \
            {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{ns}/{op}"'}
        return Req("POST", self.path, body.encode("utf-8", "surrogatepass"), headers, shown=shown,
                   bad=bad.label if bad else "")

    def soap_envelopes(self) -> Iterator[Req]:
        """Malformed envelopes, once per SOAP endpoint."""
        op, ns = self.target.method or "", self.target.namespace
        cases = {
            "soap1.1": _envelope(op, ns, "", "1.1"),
            "not-xml": "hello",
            "empty": "",
            "doctype": f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                       f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><o:{op} xmlns:o="{ns}">&e;</o:{op}></s:Body></s:Envelope>',
            "wrong-envelope-ns": '<s:Envelope xmlns:s="urn:x"><s:Body/></s:Envelope>',
            "no-body": f'<s:Envelope xmlns:s="{SOAP12}"/>',
            "empty-body": f'<s:Envelope xmlns:s="{SOAP12}"><s:Body/></s:Envelope>',
            "unknown-op": _envelope("NoSuchOperation", ns, "", "1.2"),
            "must-understand": f'<s:Envelope xmlns:s="{SOAP12}"><s:Header><h:X xmlns:h="urn:x" '
                               f's:mustUnderstand="true"/></s:Header><s:Body><o:{op} xmlns:o="{ns}"/></s:Body></s:Envelope>',
            "deep": _envelope(op, ns, "<a>" * 300 + "</a>" * 300, "1.2"),
            "huge": _envelope(op, ns, "<x>" + "y" * 1_100_000 + "</x>", "1.2"),
            "soap1.1-fault": _envelope("NoSuchOperation", ns, "", "1.1"),
        }
        for name, body in cases.items():
            content_type = "text/xml" if name.startswith("soap1.1") else "application/soap+xml"
            yield Req("POST", self.path, body.encode(), {"Content-Type": content_type}, shown=name, bad="envelope")


def replace_ctx(ctx: Context, payload: Any, positions: list[tuple] | None = None) -> Context:
    return Context(ctx.name, payload, ctx.positions if positions is None else positions, ctx.values, False)


@dataclass
class XNode:
    tag: str
    text: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    kids: list[XNode] = field(default_factory=list)
    namespace: str = ""  # "": the operation's

    def copy(self) -> XNode:
        return XNode(self.tag, self.text, dict(self.attrs), [k.copy() for k in self.kids], self.namespace)


def _envelope(op: str, ns: str, inner: str, version: str, prefixes: dict[str, str] | None = None) -> str:
    env = SOAP11 if version == "1.1" else SOAP12
    declared = "".join(f" xmlns:{p}={quoteattr(uri)}" for p, uri in (prefixes or {}).items())
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{env}"{declared}><s:Body>'
            f'<o:{op} xmlns:o="{ns}">{inner}</o:{op}></s:Body></s:Envelope>')


def _xml_render(node: XNode) -> str:
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in node.attrs.items())
    inner = "".join(_xml_render(k) for k in node.kids) if node.kids else escape(node.text or "")
    prefix = "n" if node.namespace else "o"
    declare = f" xmlns:n={quoteattr(node.namespace)}" if node.namespace else ""
    return f"<{prefix}:{node.tag}{declare}{attrs}>{inner}</{prefix}:{node.tag}>"


def _xml_positions(nodes: list[XNode], prefix: tuple = ()) -> Iterator[tuple]:
    """Positions of texts and attributes: (index, index, ..., None | attribute name)."""
    for n, node in enumerate(nodes):
        for attr in node.attrs:
            yield prefix + (n, attr)
        if node.kids:
            yield from _xml_positions(node.kids, prefix + (n,))
        else:
            yield prefix + (n, None)


def _xml_containers(nodes: list[XNode], prefix: tuple = ()) -> Iterator[tuple]:
    for n, node in enumerate(nodes):
        if node.kids:
            yield prefix + (n,)
            yield from _xml_containers(node.kids, prefix + (n,))


def _xml_walk(nodes: list[XNode]) -> Iterator[XNode]:
    for node in nodes:
        yield node
        yield from _xml_walk(node.kids)


def _xml_at(nodes: list[XNode], indexes: tuple) -> XNode:
    node = nodes[indexes[0]]
    for i in indexes[1:]:
        node = node.kids[i]
    return node


def _xml_spec_path(nodes: list[XNode], position: tuple) -> tuple[str, ...]:
    names, level = [], nodes
    for i in position[:-1]:
        names.append(level[i].tag)
        level = level[i].kids
    return tuple(names) + ((f"@{position[-1]}",) if position[-1] else ())


def _xml_name_of(nodes: list[XNode], position: tuple) -> str:
    """For the Value attribute of an element named by its Name attribute (a template
    parameter), that name; else ""."""
    if position[-1] != "Value":
        return ""
    return _xml_at(nodes, position[:-1]).attrs.get("Name", "")


def _xml_get(nodes: list[XNode], position: tuple) -> str:
    node = _xml_at(nodes, position[:-1])
    return (node.text or "") if position[-1] is None else node.attrs.get(position[-1], "")


def _xml_set(nodes: list[XNode], position: tuple, value: str) -> list[XNode]:
    out = [n.copy() for n in nodes]
    node = _xml_at(out, position[:-1])
    if position[-1] is None:
        node.text = value
    else:
        node.attrs[position[-1]] = value
    return out


def _lean(nodes: list[XNode], position: tuple) -> list[XNode] | None:
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


def _lean_position(full: list[XNode], position: tuple) -> tuple:
    """Where `position` of the full tree lands in its lean tree (leaf siblings kept, subtrees dropped)."""
    out, level = [], full
    for i in position[:-1]:
        kept = [n for n, node in enumerate(level) if not node.kids or n == i]
        out.append(kept.index(i))
        level = level[i].kids
    return tuple(out) + (position[-1],)


def _xml_drop(nodes: list[XNode], position: tuple) -> list[XNode] | None:
    """The tree without the element at `position` (a text position); None when nothing is left."""
    out = [n.copy() for n in nodes]
    if len(position) < 3:
        del out[position[0]]
        return out if out else None
    del _xml_at(out, position[:-2]).kids[position[-2]]
    return out


def _xml_shift(position: tuple, dropped: tuple) -> tuple:
    """`position` after the element at `dropped` left its parent."""
    depth = len(dropped) - 2
    if position[:depth] == dropped[:depth] and len(position) > depth + 1 and position[depth] > dropped[depth]:
        return position[:depth] + (position[depth] - 1,) + position[depth + 1:]
    return position


def _xml_leaf_paths(node: XNode, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], XNode]]:
    for kid in node.kids:
        rel = prefix + (kid.tag,)
        for attr in kid.attrs:
            yield rel + ("@" + attr,), kid
        if kid.kids:
            yield from _xml_leaf_paths(kid, rel)
        else:
            yield rel, kid


def _xml_from_record(node: XNode, record: dict[tuple[str, ...], list[str]]) -> XNode:
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


def _xml_replace(nodes: list[XNode], indexes: tuple, replacement: XNode) -> list[XNode]:
    out = [n.copy() for n in nodes]
    if len(indexes) == 1:
        out[indexes[0]] = replacement
    else:
        _xml_at(out, indexes[:-1]).kids[indexes[-1]] = replacement
    return out


def _positions(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield prefix + (k,)
            yield from _positions(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:8]):
            yield prefix + (i,)
            yield from _positions(v, prefix + (i,))


def _get_value(value: Any, position: tuple) -> Any:
    for step in position:
        value = value[step]
    return value


def _drop_at(value: Any, position: tuple) -> Any:
    if len(position) == 1:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k != position[0]}
        return [v for i, v in enumerate(value) if i != position[0]]
    head = position[0]
    if isinstance(value, dict):
        return {**value, head: _drop_at(value[head], position[1:])}
    copy = list(value)
    copy[head] = _drop_at(copy[head], position[1:])
    return copy


def _position_of(path: tuple[str, ...]) -> tuple:
    return tuple(0 if step == "[]" else step for step in path)


def _get_at(value: Any, position: tuple) -> Any:
    for step in position:
        value = value[step]
    return value if isinstance(value, dict) else {}


def _set_at(value: Any, position: tuple, new: Any) -> Any:
    if not position:
        return new
    head, rest = position[0], position[1:]
    if isinstance(value, dict):
        return {**value, head: _set_at(value.get(head, {}), rest, new)}
    if isinstance(value, list):
        copy = list(value)
        while len(copy) <= head:
            copy.append({})
        copy[head] = _set_at(copy[head], rest, new)
        return copy
    return {head: _set_at({}, rest, new)} if isinstance(head, str) else [_set_at({}, rest, new)]


# -- answers -------------------------------------------------------------------------------
_INTERNAL = re.compile(r"^# Error: internal error|<error code=\"8000\"|Internal error while running|"
                       r"<ErrorDescription>Internal server error|Traceback \(most recent call last\)", re.M)
_ERROR_XML = re.compile(r"<(?:[\w.-]+:)?(?:Fault|error|Error|GeneralError)\b|result=\"ERROR\"")
_ERROR_TEXT = ("# Error", "# Request failed", "Error", "<html><body>Error")
_REASON = re.compile(r"<(?:[\w.-]+:)?Text[^>]*>([^<]*)<|<faultstring>([^<]*)<|description=\"([^\"]*)\"|"
                     r"<ErrorDescription>([^<]*)<|<(?:[\w.-]+:)?ErrorCode>([^<]*)<")
_DESIGNED_FAULT = re.compile(r"faultcode>[^<]*:(?:Client|VersionMismatch|MustUnderstand)|"
                             r"Value>[^<]*:(?:Sender|VersionMismatch|MustUnderstand)</")


@dataclass
class Answer:
    status: int | None
    content_type: str
    text: str
    elapsed: float

    @property
    def refused(self) -> bool:
        return self.status in (401, 403)

    @property
    def json(self) -> Any:
        if "json" not in self.content_type:
            return None
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError):
            return None

    @property
    def internal(self) -> bool:
        if _INTERNAL.search(self.text[:200_000]):
            return True
        body = self.json
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            message = str(error.get("message", ""))
            return error.get("code") == 8000 or message.lower().startswith("internal error")
        return False

    @property
    def reason(self) -> str:
        """What a refusal says, for telling one refusal from another."""
        body = self.json
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return str(body["error"].get("message", body["error"]))
        found = _REASON.search(self.text[:20_000])
        if found:
            return next(g for g in found.groups() if g is not None)
        return self.text.strip().split("\n")[0][:200]

    @property
    def soap_designed(self) -> bool:
        """A SOAP fault answered 500 by design: SOAP 1.1 Client, VersionMismatch, MustUnderstand,
        or a Receiver fault that is not an internal error (a test message not delivered)."""
        if self.status is None or self.status < 500:
            return False
        head = self.text[:20_000]
        return bool(_DESIGNED_FAULT.search(head)) or ("Receiver" in head or "Server" in head) and \
            "Fault" in head and not self.internal

    @property
    def error(self) -> bool:
        if self.status is None or self.status >= 300:
            return True
        body = self.json
        if isinstance(body, dict):
            return "error" in body
        if "xml" in self.content_type:
            return bool(_ERROR_XML.search(self.text[:20_000]))
        return self.text.lstrip().startswith(_ERROR_TEXT)


@dataclass
class Failure:
    kind: str  # internal | 5xx | violation | hang | exception | readback | slow | waits (not counted)
    target: str
    request: str  # method and path
    params: str
    role: str
    status: int | None = None
    body: str = ""
    cause: str = ""  # the exception logged, when there was one
    where: str = ""  # the product's innermost frame of that exception
    elapsed: float = 0.0

    def line(self) -> str:
        out = f"{self.kind:9} {self.role:9} {self.request} {self.params}"
        out += f" -> {self.status}" if self.status is not None else " -> (no answer)"
        if self.body:
            out += f" {self.body[:200]!r}"
        if self.cause:
            out += f"\n{'':20}{self.cause} at {self.where}"
        return out


@dataclass
class Figures:
    profile: str
    endpoints: int = 0
    json_methods: int = 0
    soap_operations: int = 0
    requests: int = 0
    soap_faults_500: int = 0  # SOAP's designed 500 faults
    other_5xx: int = 0
    internal_errors: int = 0
    exceptions_logged: int = 0
    role_violations: int = 0
    hangs: int = 0
    slow: int = 0  # answered, but after more than the bound
    stops: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the walk saw that is not a fault of the device
    per_target: dict[str, int] = field(default_factory=dict)  # requests
    target_seconds: dict[str, float] = field(default_factory=dict)  # time spent answering them
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    def count(self, failure: Failure) -> None:
        if len(self.failures) < 20_000:
            self.failures.append(failure)


class _Exceptions(logging.Handler):
    """Collects the tracebacks the product logs, to point at the place at fault."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.records.append(record)


def describe(record: logging.LogRecord) -> tuple[str, str]:
    """(exception: message, file:line in function of the product's innermost frame)."""
    _, exc, tb = record.exc_info  # type: ignore[misc]
    frames = traceback.extract_tb(tb)
    own = [f for f in frames if f.filename.startswith(PROJECT) and "site-packages" not in f.filename] or frames
    where = ""
    if own:
        f = own[-1]
        name = f.filename[len(PROJECT) + 1:] if f.filename.startswith(PROJECT) else f.filename
        where = f"{name}:{f.lineno} in {f.name}"
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {_short(message, 160)}", where


# -- the device under test -----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def provision(device: Device) -> None:
    """The walk's accounts and the settings that keep them usable."""
    accounts = device.accounts
    for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
        user, password = ACCOUNTS[role]
        account = accounts.get(user)
        if account is None:
            accounts.add(user, password, role, role == Role.ADMIN, "", "fuzz")
        elif account.role != role or accounts.password(user) != password:
            accounts.update(user, "fuzz", password=password, role=role)
    wanted = {k: v for k, v in FIXTURE_PARAMS.items() if k in device.params.defs and device.params.get(k) != v}
    if wanted:
        device.params.set_internal(wanted, "fuzz")


class Rig:
    """One device served as `vigil run` serves it; rebuilt as its supervisor would when it stops."""

    def __init__(self, profile: str, data: Path, customize: Callable[[Device], None] | None) -> None:
        self.profile, self.data, self.customize = profile, data, customize
        self.device: Device | None = None
        self.task: asyncio.Task | None = None
        self.app: Any = None
        self.stops: dict[str, int] = {}

    @property
    def dev(self) -> Device:
        assert self.device is not None
        return self.device

    async def start(self) -> None:
        from vigil.boot import build_device

        ports = Ports(http=free_port(), https=free_port(), rtsp=free_port(), host="127.0.0.1")
        self.device = build_device(self.profile, self.data, ports)
        if self.customize is not None:
            self.customize(self.device)
        self.app = create_app(self.device)
        provision(self.device)
        self.task = asyncio.create_task(serve_device(self.device))
        deadline = time.monotonic() + 20
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", ports.http)
                writer.close()
                return
            except OSError:
                if self.task.done() or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.profile}: the device did not start listening") from None
                await asyncio.sleep(0.02)

    async def supervise(self) -> str | None:
        """When the device asked to stop: what `vigil run` does (reset the data for a factory
        default), then serve it again. Returns the action, or None."""
        device = self.device
        if device is None or not device.stopping.is_set():
            return None
        action = device.next_action
        await self._stop()
        if action in ("factory-default", "hard-factory-default"):
            from vigil.boot import factory_reset

            factory_reset(self.data, hard=action == "hard-factory-default")
        self.stops[action] = self.stops.get(action, 0) + 1
        await self.start()
        return action

    async def _stop(self) -> None:
        device, task = self.device, self.task
        if device is None or task is None:
            return
        if not device.stopping.is_set():
            device.request_stop("shutdown")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)
        device.close()
        self.device, self.task = None, None

    async def close(self) -> None:
        await self._stop()
        shutil.rmtree(self.data, ignore_errors=True)

    def effective_role(self, role: Role) -> Role:
        if role == Role.ANONYMOUS and self.dev.params.get("System.BoaProtViewer") == "anonymous":
            return Role.VIEWER
        if role in ACCOUNTS:
            account = self.dev.accounts.get(ACCOUNTS[role][0])
            return account.role if account else Role.ANONYMOUS
        return role


_AUTHORIZATION = {role: b"Basic " + base64.b64encode(":".join(ACCOUNTS[role]).encode())
                  for role in ACCOUNTS}


async def asgi_request(app: Any, req: Req, role: Role, client_port: int) -> tuple[int, str, bytes]:
    """One request straight into the ASGI app, bytes as given (no client library re-encoding the
    URL); the role's account by Basic authentication. (status, content type, body)."""
    path, _, query = req.url.partition("?")
    headers = [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode()) for k, v in req.headers.items())]
    if role in _AUTHORIZATION:
        headers.append((b"authorization", _AUTHORIZATION[role]))
    if req.body:
        headers.append((b"content-length", str(len(req.body)).encode()))
    raw_path = path.encode("utf-8", "surrogatepass")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": req.method,
             "scheme": "http", "path": unquote(path), "raw_path": raw_path,
             "root_path": "", "query_string": query.encode("utf-8", "surrogatepass"), "headers": headers,
             "client": ("127.0.0.1", client_port), "server": ("127.0.0.1", 80), "state": {}}
    sent = False
    status, content_type, chunks = 0, "", []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": req.body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = message["status"]
            for k, v in message.get("headers", []):
                if k.lower() == b"content-type":
                    content_type = v.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, content_type, b"".join(chunks)


# -- liveness ------------------------------------------------------------------------------
def _probe_http(port: int, timeout: float, bound: float, late: Callable[[], None]) -> bool:
    """Anonymous basicdeviceinfo over the real listener; `late()` is called once when no answer
    came within `bound` seconds (the walk then looks at what the event loop is doing)."""
    request = (f"POST {BDI} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(BDI_BODY)}\r\nConnection: close\r\n\r\n").encode() + BDI_BODY
    deadline = time.monotonic() + timeout
    warned = False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            s.settimeout(bound if not warned else max(0.1, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                if warned:
                    raise
                warned = True
                late()
                continue
            if not chunk:
                break
            data += chunk
    return data.startswith(b"HTTP/1.1 200") and b'"data"' in data


def _stack_of(thread_id: int, depth: int = 4) -> str:
    """Where a thread is now: its innermost frames, innermost first."""
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return ""
    frames = traceback.extract_stack(frame)[-depth:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))


def _schedstat(tid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds waiting for one) of thread `tid` of this process; zeros when
    the kernel does not tell."""
    try:
        ran, waited = Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[:2]
        return int(ran) / 1e9, int(waited) / 1e9
    except (OSError, ValueError):
        return 0.0, 0.0


class Watchdog(threading.Thread):
    """Asks the real HTTP listener for basicdeviceinfo, anonymously, all along the walk: an answer
    later than `bound` seconds (or none) is a hang, charged to the longest request of that time."""

    def __init__(self, bound: float, period: float = 0.5) -> None:
        super().__init__(name="fuzz-watchdog", daemon=True)
        self.bound, self.period = bound, period
        self.port: int | None = None
        self.stopping: asyncio.Event | None = None  # the device's: a closed listener is then expected
        self.generation = 0
        self.recent: list[tuple[float, float, str, str, str]] = []  # start, end, target, role, params
        self.current: tuple[float, str, str, str] | None = None
        self.hangs: list[tuple[float, str]] = []
        self.busy: list[str] = []  # stalls of the whole machine (other processes), not the device's
        self.main = threading.get_native_id()  # the thread that runs the device's event loop
        self.main_ident = threading.get_ident()
        self.seen_at = ""
        self._halt = threading.Event()

    def aim(self, port: int | None, stopping: asyncio.Event | None = None) -> None:
        self.port, self.stopping = port, stopping
        self.generation += 1

    def begin(self, start: float, target: str, role: str, params: str) -> None:
        self.current = (start, target, role, params)

    def done(self, start: float, end: float, target: str, role: str, params: str) -> None:
        self.recent.append((start, end, target, role, params))
        self.current = None
        if len(self.recent) > 256:
            del self.recent[:128]

    def run(self) -> None:
        due = time.monotonic() + self.period
        stat = _schedstat(self.main)
        while not self._halt.wait(max(0.0, due - time.monotonic())):
            # Woken late: the process held the GIL (a long C call such as a regular expression) and
            # its event loop could answer no one meanwhile.
            late = time.monotonic() - due
            due = time.monotonic() + self.period
            port, generation = self.port, self.generation
            before, stat = stat, _schedstat(self.main)
            if port is None:
                continue
            if late > self.bound:
                self.judge(due - self.period - late, late, before, stat, f"the process was frozen for {late:.1f} s")
                continue
            start = time.monotonic()
            self.seen_at = ""

            def late() -> None:
                self.seen_at = _stack_of(self.main_ident)

            try:
                ok = _probe_http(port, max(self.bound * 4, 10.0), self.bound, late)
            except OSError:
                ok = False
            took = time.monotonic() - start
            if generation != self.generation or (self.stopping is not None and self.stopping.is_set()):
                continue  # the device stopped or was rebuilt meanwhile
            if not ok or took > self.bound:
                before, stat = stat, _schedstat(self.main)
                at = f" (the event loop was at {self.seen_at})" if self.seen_at else ""
                self.judge(start, took, before, stat,
                           f"basicdeviceinfo {'answered after' if ok else 'unanswered after'} {took:.1f} s{at}")

    def judge(self, start: float, took: float, before: tuple[float, float], after: tuple[float, float],
              what: str) -> None:
        """A hang, unless the device's thread, running less than the bound itself, spent most of
        that time waiting for a CPU: then other processes had the machine and the device had no
        chance to answer."""
        ran, starved = after[0] - before[0], after[1] - before[1]
        if ran < self.bound and starved > took / 2:
            self.busy.append(f"{what}, while the machine was busy ({starved:.1f} s waiting for a CPU)")
        else:
            self.blame(start, took, what)

    def blame(self, start: float, took: float, what: str) -> None:
        """Charge a hang to the longest request of its time."""
        recent = list(self.recent)
        if self.current is not None:  # still running (or not yet recorded): counts until now
            recent.append((self.current[0], time.monotonic(), *self.current[1:]))
        window = [r for r in recent if r[1] >= start - self.bound and r[0] <= start + took]
        culprit = max(window, key=lambda r: r[1] - r[0], default=None)
        during = f"{culprit[2]} as {culprit[3]}: {culprit[4]} ({culprit[1] - culprit[0]:.1f} s)" if culprit else "?"
        self.hangs.append((took, f"{what}, during {during}"))

    def stop(self) -> None:
        self._halt.set()


async def probe_stream(port: int, bound: float) -> str | None:
    """The WebSocket event stream answers a configure; None when fine, else what went wrong."""
    from websockets.asyncio.client import connect

    auth = "Basic " + base64.b64encode(":".join(ACCOUNTS[Role.VIEWER]).encode()).decode()
    uri = f"ws://127.0.0.1:{port}/vapix/ws-data-stream?sources=events"
    message = json.dumps({"apiVersion": "1.0", "method": "events:configure",
                          "params": {"eventFilterList": [{"topicFilter": "//."}]}})
    try:
        async with asyncio.timeout(bound):
            async with connect(uri, additional_headers={"Authorization": auth}, open_timeout=bound,
                               max_queue=None) as ws:
                await ws.send(message)
                reply = json.loads(await ws.recv())
        return None if "data" in reply else f"WebSocket configure answered {reply}"
    except TimeoutError:
        return f"WebSocket stream: no answer within {bound} s"
    except Exception as err:  # noqa: BLE001 - any failure to talk is the finding
        return f"WebSocket stream: {type(err).__name__}: {err}"


async def rtsp_exchange(port: int, raw: bytes, bound: float) -> str:
    """Send one raw RTSP request; the status line, '(closed)' or '(no answer)'."""
    try:
        async with asyncio.timeout(bound):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(raw)
                await writer.drain()
                head = await reader.readuntil(b"\r\n")
                return head.decode("latin-1").strip()
            finally:
                writer.close()
    except TimeoutError:
        return "(no answer)"
    except (asyncio.IncompleteReadError, ConnectionError):
        return "(closed)"


# -- the walk ------------------------------------------------------------------------------
@dataclass
class Options:
    sample: bool = False  # the bounded form: a sample of values
    bound: float = 3.0  # seconds: liveness
    timeout: float = 30.0  # seconds: one request
    only: str = ""  # walk only targets whose label holds this
    per_target: int = 0  # at most this many requests with a bad value per target (0: no limit)
    customize: Callable[[Device], None] | None = None  # called on every device built (tests plant faults)
    progress: bool = False


def _mentions(reason: str, name: str, whole: bool = False) -> bool:
    """Whether a refusal names a parameter: all of it ("The topic expression is empty" names
    TopicExpression) or, unless `whole`, its first word ("Fallback (failover) actions..."
    names FailoverAction)."""
    text = re.sub(r"[^a-z0-9]", "", reason.lower())
    if re.sub(r"[^a-z0-9]", "", name.lower()) in text:
        return True
    words = re.findall(r"[A-Z]?[a-z]{3,}|[A-Z]{3,}", name.lstrip("@"))
    return not whole and bool(words) and words[0].lower() in text


class Walk:
    def __init__(self, profile: str, root: Path, options: Options) -> None:
        self.profile, self.root, self.options = profile, root, options
        self.figures = Figures(profile)
        self.harvest = Harvest()
        self.readers: list[tuple[Target, Req]] = []
        self.exceptions = _Exceptions()
        self.watchdog = Watchdog(options.bound)
        self.rig: Rig | None = None
        self.retiring: list[asyncio.Task] = []
        self.stops: dict[str, int] = {}  # what the device was asked to do, over all its rebuilds
        self.batches = 0
        self.stoppers: set[str] = set()  # targets that stop the device even without parameters
        self.accepted_log: list[tuple[Target, Req]] = []  # the batch's requests the device accepted
        self.broken: set[str] = set()  # readers found failing in this batch: asked no more
        self.turn = 0  # rotates the non-administrator roles over the requests with a bad value
        self.fully_fuzzed: set[tuple] = set()

    async def run(self) -> Figures:
        started = time.monotonic()
        logging.getLogger().addHandler(self.exceptions)
        self.watchdog.start()
        try:
            await self._run()
        finally:
            await self.retire()
            self.watchdog.stop()
            logging.getLogger().removeHandler(self.exceptions)
        self.figures.notes += self.watchdog.busy
        for took, what in self.watchdog.hangs:
            self.figures.hangs += 1
            self.figures.count(Failure("hang", "(liveness)", "POST " + BDI, what, "anonymous", elapsed=took))
        self.figures.seconds = time.monotonic() - started
        return self.figures

    async def _run(self) -> None:
        rig = await self.fresh("survey")
        targets = discover(rig.dev)
        if self.options.only:
            targets = [t for t in targets if self.options.only in t.label]
        self.figures.endpoints = len({t.endpoint.path for t in targets})
        self.figures.json_methods = sum(1 for t in targets if t.kind == "json-api")
        self.figures.soap_operations = sum(1 for t in targets if t.kind == "soap")
        await self.survey(targets)
        await self.retire()
        batches: dict[str, list[Target]] = {}
        for t in targets:
            batches.setdefault(t.endpoint.path, []).append(t)
        for path, batch in batches.items():
            rig = await self.fresh(path)
            self.accepted_log, self.broken = [], set()
            audits = self.audit_count()
            for target in batch:
                await self.fuzz(target)
                await self.reharvest(path)
            broken = await self.read_back(path) if self.audit_count() != audits or not self.options.sample else []
            await self.liveness(path)
            await self.retire(wait=False)
            for failure, reader in broken:
                culprit = await self.culprit(reader)
                failure.params = (f"{failure.params} (after the walk of {path}; it answered fine before; "
                                  f"stored by: {culprit})")
            if self.options.progress:
                print(f"  {self.profile} {path}: {self.figures.requests} requests so far", file=sys.stderr)
        if not self.options.only or "ws-data-stream" in self.options.only or "rtsp" in self.options.only:
            await self.fresh("streams")
            await self.fuzz_stream()
            await self.fuzz_rtsp()
            await self.retire()
        self.figures.stops = dict(self.stops)

    async def fresh(self, name: str) -> Rig:
        self.batches += 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40] or "root"
        rig = Rig(self.profile, self.root / f"{self.batches:03d}-{slug}", self.options.customize)
        rig.stops = self.stops
        await rig.start()
        self.rig = rig
        self.watchdog.aim(rig.dev.ports.http, rig.dev.stopping)
        return rig

    async def retire(self, wait: bool = True) -> None:
        """Stop the current device; without `wait` its shutdown overlaps the next batch."""
        if self.rig is not None:
            self.watchdog.aim(None)
            self.retiring.append(asyncio.create_task(self.rig.close()))
            self.rig = None
        if wait:
            await asyncio.gather(*self.retiring)
            self.retiring.clear()

    # -- requests ------------------------------------------------------------------------
    async def send(self, target: Target, req: Req, role: Role, record: bool = True) -> Answer:
        rig = self.rig
        assert rig is not None
        if rig.device is None or rig.dev.stopping.is_set():
            await rig.supervise()
            self.watchdog.aim(rig.dev.ports.http, rig.dev.stopping)
        effective = rig.effective_role(role)
        before = len(self.exceptions.records)
        start = time.monotonic()
        self.watchdog.begin(start, target.label, role.label, req.shown[:120])
        escaped: BaseException | None = None
        try:
            status, content_type, body = await asyncio.wait_for(
                asgi_request(rig.app, req, role, 41000 + role.value), self.options.timeout)
            answer = Answer(status, content_type, body.decode("utf-8", "replace"), 0.0)
        except TimeoutError:
            answer = Answer(None, "", "", 0.0)
        except Exception as err:  # noqa: BLE001 - an exception out of the app is a finding
            escaped = err
            answer = Answer(None, "", "", 0.0)
        end = time.monotonic()
        answer.elapsed = end - start
        await asyncio.sleep(0)  # let the listeners (and the watchdog's requests) in
        self.watchdog.done(start, end, target.label, role.label, req.shown[:120])
        logged = self.exceptions.records[before:]
        if record:
            self.judge(target, req, role, effective, answer, logged, escaped)
            if role == Role.ADMIN and not answer.error:
                self.accepted_log.append((target, req))
        if rig.dev.stopping.is_set():
            await rig.supervise()
            self.watchdog.aim(rig.dev.ports.http, rig.dev.stopping)
        else:
            provision(rig.dev)
        return answer

    def judge(self, target: Target, req: Req, role: Role, effective: Role, answer: Answer,
              logged: list[logging.LogRecord], escaped: BaseException | None) -> None:
        f = self.figures
        f.requests += 1
        f.per_target[target.label] = f.per_target.get(target.label, 0) + 1
        f.target_seconds[target.label] = f.target_seconds.get(target.label, 0.0) + answer.elapsed
        cause, where = describe(logged[-1]) if logged else ("", "")
        if escaped is not None:
            cause = f"{type(escaped).__name__}: {_short(str(escaped), 160)} (out of the app: a bare 500)"
            where = where or "the ASGI app"

        def fail(kind: str) -> None:
            f.count(Failure(kind, target.label, f"{req.method} {req.url.split('?')[0]}", req.shown, role.label,
                            answer.status, answer.text[:200], cause, where, answer.elapsed))

        if answer.status is None and escaped is None:
            f.hangs += 1
            fail("hang")
            return
        if answer.elapsed > self.options.bound:
            f.slow += 1
            fail("slow")
        internal = escaped is not None or answer.internal
        if answer.status is not None and answer.status >= 500:
            if answer.soap_designed:
                f.soap_faults_500 += 1
            else:
                f.other_5xx += 1
                if not internal:
                    fail("5xx")
        if internal:
            f.internal_errors += 1
            fail("internal")
        elif logged:
            f.exceptions_logged += 1
            fail("exception")
        if effective < target.role and not answer.refused and not answer.error:
            f.role_violations += 1
            fail("violation")

    def roles_for(self, req: Req) -> list[Role]:
        if not req.bad:
            return list(ROLES)
        self.turn += 1
        return [Role.ADMIN, ROLES[self.turn % 3]]

    async def fuzz(self, target: Target) -> None:
        repeat = target.code in self.fully_fuzzed
        self.fully_fuzzed.add(target.code)
        builder = Builder(target, self.harvest, self.options.sample, repeat)
        stopper = target.label in self.stoppers
        if stopper:  # each request restarts the device: a few show it ignores them
            budget: int | None = 1 if self.options.sample else 8
        else:
            budget = self.options.per_target or None
        queues = []
        for ctx in builder.contexts():
            ctx = await self.accepted(target, builder, ctx)
            baseline = builder.baseline(ctx)
            for role in ROLES if builder.fresh(baseline) else ROLES[:-1]:  # accepted() sent it as admin
                await self.send(target, baseline, role)
            queues.append(builder.mutations(ctx))
        while queues and (budget is None or budget > 0):  # the contexts in turn, so a limit cuts evenly
            for queue in list(queues):
                req = next(queue, None)
                if req is None:
                    queues.remove(queue)
                elif builder.fresh(req):
                    if budget is not None:
                        budget -= 1
                    for role in self.roles_for(req):
                        answer = await self.send(target, req, role)
                        if role == Role.ADMIN and not answer.error:
                            await self.read_back_here(target, req)
        for req in () if stopper else builder.extras():
            if builder.fresh(req):
                for role in self.roles_for(req):
                    await self.send(target, req, role)

    async def accepted(self, target: Target, builder: Builder, ctx: Context) -> Context:
        """A variant of the context whose baseline the device accepts (as the administrator), so
        that one bad value gets past the checks of the others. A small hill-climb: a variant is
        kept when the refusal changes to one that no longer names what was changed (a check
        further on refused it); the furthest variant is used when none is accepted."""
        if not ctx.repairable or target.label in self.stoppers:
            return ctx
        baseline = builder.baseline(ctx)
        builder.fresh(baseline)
        answer = await self.send(target, baseline, Role.ADMIN)
        if not answer.error:
            return ctx
        reason, tries, budget = answer.reason, 0, 12 if self.options.sample else 24
        moved = True
        while moved and tries < budget:
            moved = False
            # The parameters the refusal names first.
            ranked = sorted(builder.variants(ctx), key=lambda vc: (not _mentions(reason, vc[1], whole=True),
                                                                     not _mentions(reason, vc[1]), -len(vc[1])))
            for variant, changed in ranked:
                req = builder.baseline(variant)
                if not builder.fresh(req):
                    continue
                tries += 1
                answer = await self.send(target, req, Role.ADMIN)
                if not answer.error:
                    return variant
                if _mentions(reason, changed) and not _mentions(answer.reason, changed):
                    ctx, reason, moved = variant, answer.reason, True  # past the check that named it
                    break
                if tries >= budget:
                    break
        return ctx

    # -- what the device shows -----------------------------------------------------------
    def plain(self, target: Target) -> list[Req]:
        """Requests without parameters (and each mode of a form-style endpoint)."""
        builder = Builder(target, self.harvest, True)
        if target.kind == "json-api":
            return [builder.json_request({}, None)]
        if target.kind == "soap":
            return [builder.soap_request(Context("plain", [], [], []), None, None)]
        path = _PATH_PARAM.sub("index.html", target.endpoint.path)
        method = target.http_method
        reqs = [Req(method, path, shown="")]
        for key, info in target.spec.fields.items():
            if len(key) == 1 and target.kind == "form":
                reqs += [builder.form_request({key[0]: e}, None, None) for e in info.enums[:12] if e]
        return reqs

    async def survey(self, targets: list[Target]) -> None:
        """Ask every target, as the administrator, without parameters: learn what the device
        shows (ids, tokens, versions) and which requests only read (the read-back set)."""
        for target in targets:
            if target.kind == "json-api" and target.endpoint.path not in self.harvest.versions:
                probe = Req("POST", target.endpoint.path, b'{"method":"getSupportedVersions"}',
                            {"Content-Type": "application/json"})
                answer = await self.send(target, probe, Role.ADMIN, record=False)
                versions = (answer.json or {}).get("data", {}).get("apiVersions") if isinstance(answer.json, dict) \
                    else None
                if isinstance(versions, list) and versions:
                    self.harvest.versions[target.endpoint.path] = str(versions[-1])
        for target in targets:
            for req in self.plain(target):
                rig = self.rig
                assert rig is not None
                audits = self.audit_count()
                stops = sum(rig.stops.values())
                answer = await self.send(target, req, Role.ADMIN)
                if not answer.error:  # what a refusal says is no plausible value
                    self.harvest.take(target.endpoint.path, answer.content_type, answer.text.encode())
                if sum(rig.stops.values()) != stops:
                    self.stoppers.add(target.label)
                elif not answer.error and not answer.internal and self.audit_count() == audits \
                        and answer.elapsed < 1.0:
                    self.readers.append((target, req))

    def audit_count(self) -> int:
        rig = self.rig
        if rig is None or rig.device is None:
            return -1
        rig.dev.logs.flush()
        return rig.dev.store.query("SELECT COUNT(*) FROM log WHERE kind='audit'")[0][0]

    async def reharvest(self, path: str) -> None:
        for target, req in self.readers:
            if target.endpoint.path == path:
                answer = await self.send(target, req, Role.ADMIN, record=False)
                if not answer.error:
                    self.harvest.take(path, answer.content_type, answer.text.encode())

    async def read_back(self, path: str) -> list[tuple[Failure, tuple[Target, Req]]]:
        """Every read-only request again: what the batch stored must not break a listing."""
        broken = []
        for target, req in self.readers:
            if target.label in self.broken:
                continue
            before = self.figures.internal_errors + self.figures.other_5xx
            answer = await self.send(target, req, Role.ADMIN)
            if self.figures.internal_errors + self.figures.other_5xx > before:
                failure = self.figures.failures[-1]
                failure.kind = "readback"
                broken.append((failure, (target, req)))
            elif not answer.error:
                self.harvest.take(target.endpoint.path, answer.content_type, answer.text.encode())
        return broken

    async def read_back_here(self, target: Target, accepted: Req) -> None:
        """A bad value was accepted: the endpoint's own listings must still answer."""
        for reader in self.readers:
            if reader[0].endpoint.path != target.endpoint.path or reader[0].label in self.broken:
                continue
            before = len(self.figures.failures)
            await self.send(*reader, Role.ADMIN)
            for failure in self.figures.failures[before:]:
                if failure.kind in ("internal", "5xx"):
                    failure.kind = "readback"
                    failure.params += f" (stored by: {target.label} {accepted.shown})"
                    self.broken.add(reader[0].label)

    async def culprit(self, reader: tuple[Target, Req]) -> str:
        """Replay the batch's accepted requests on a fresh device, the reader after each: the
        first one after which the reader fails stored what breaks it."""
        log, self.accepted_log = self.accepted_log, []
        await self.fresh("culprit")
        found = "not found again on a fresh device"
        try:
            for target, req in log:
                await self.send(target, req, Role.ADMIN, record=False)
                answer = await self.send(reader[0], reader[1], Role.ADMIN, record=False)
                if answer.internal or (answer.status or 0) >= 500:
                    found = f"{target.label} {req.shown}"
                    break
        finally:
            await self.retire()
        self.accepted_log = log
        return found

    async def liveness(self, path: str) -> None:
        rig = self.rig
        assert rig is not None
        if rig.dev.stopping.is_set():
            await rig.supervise()
        bound = self.options.bound
        port, rtsp = rig.dev.ports.http, rig.dev.ports.rtsp
        problems = []
        start = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=bound) as client:
                r = await client.post(f"http://127.0.0.1:{port}{BDI}", content=BDI_BODY)
            if r.status_code != 200 or time.monotonic() - start > bound:
                problems.append(f"basicdeviceinfo: {r.status_code} after {time.monotonic() - start:.1f} s")
        except httpx.HTTPError as err:
            problems.append(f"basicdeviceinfo: {type(err).__name__} after {time.monotonic() - start:.1f} s")
        stream = await probe_stream(port, bound)
        if stream:
            problems.append(stream)
        status = await rtsp_exchange(rtsp, b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n", bound)
        if not status.startswith("RTSP/1.0 200"):
            problems.append(f"RTSP OPTIONS: {status}")
        for problem in problems:
            self.figures.hangs += 1
            self.figures.count(Failure("hang", "(liveness)", "after the batch", path, "anonymous", body=problem))

    # -- the streams ---------------------------------------------------------------------
    async def fuzz_stream(self) -> None:
        """The WebSocket event stream: refusal below viewer, then bad values in a configure."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        rig = self.rig
        assert rig is not None
        port, bound = rig.dev.ports.http, self.options.bound
        target = Target(Endpoint("/vapix/ws-data-stream", None, Role.VIEWER), "ws", Role.VIEWER,  # type: ignore[arg-type]
                        Spec(), "websocket")
        uri = f"ws://127.0.0.1:{port}/vapix/ws-data-stream?sources=events"
        f = self.figures
        try:
            async with asyncio.timeout(bound):
                async with connect(uri, open_timeout=bound):
                    f.role_violations += 1
                    f.count(Failure("violation", target.label, "GET (upgrade)", uri, "anonymous", 101))
        except InvalidStatus as err:
            if err.response.status_code not in (401, 403):
                f.count(Failure("5xx" if err.response.status_code >= 500 else "violation", target.label,
                                "GET (upgrade)", uri, "anonymous", err.response.status_code))
        except Exception:  # noqa: BLE001 - closed or refused: fine
            pass
        f.requests += 1
        base = {"apiVersion": "1.0", "context": "fuzz", "method": "events:configure",
                "params": {"eventFilterList": [{"topicFilter": "tns1:Device//.", "contentFilter": "boolean(1)"}]}}
        documents = [json.dumps(base)]
        for position in _positions(base):
            for bad in _values(self.options.sample):
                if bad.raw_json is not None:
                    documents.append(json.dumps(_set_at(base, position, PLACEHOLDER)).replace(
                        _PLACEHOLDER_JSON, bad.raw_json, 1))
        documents += ["", "{", "[" * 100_000, "x" * 70_000]
        auth = "Basic " + base64.b64encode(":".join(ACCOUNTS[Role.VIEWER]).encode()).decode()
        ws = None
        for document in documents:
            f.requests += 1
            f.per_target[target.label] = f.per_target.get(target.label, 0) + 1
            before = len(self.exceptions.records)
            try:
                if ws is None:
                    ws = await connect(uri, additional_headers={"Authorization": auth}, open_timeout=bound,
                                             max_queue=None)
                await ws.send(document)
                async with asyncio.timeout(bound):
                    reply = await ws.recv()
                answer = Answer(200, "application/json", reply if isinstance(reply, str) else reply.decode(), 0.0)
                if answer.internal:
                    f.internal_errors += 1
                    f.count(Failure("internal", target.label, "WS message", _short(document, 200), "viewer", 200,
                                    answer.text[:200]))
            except TimeoutError:
                f.hangs += 1
                f.count(Failure("hang", target.label, "WS message", _short(document, 200), "viewer"))
                ws = None
            except Exception:  # noqa: BLE001 - the server closed the stream: allowed, reconnect
                ws = None
            for record in self.exceptions.records[before:]:
                cause, where = describe(record)
                f.exceptions_logged += 1
                f.count(Failure("exception", target.label, "WS message", _short(document, 200), "viewer",
                                cause=cause, where=where))
        if ws is not None:
            await ws.close()

    async def fuzz_rtsp(self) -> None:
        """The RTSP metadata server: malformed requests each get an answer (or a close) in time;
        an anonymous DESCRIBE is refused."""
        from vigil.features.eventstream.rtsp import PATH

        rig = self.rig
        assert rig is not None
        port, bound, f = rig.dev.ports.rtsp, self.options.bound, self.figures
        url = f"rtsp://127.0.0.1:{port}{PATH}?event=on"
        auth = "Basic " + base64.b64encode(":".join(ACCOUNTS[Role.VIEWER]).encode()).decode()
        cases: list[tuple[str, str, bytes, str]] = [  # name, role, request, what must not happen
            ("describe", "anonymous", f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\n\r\n".encode(), "200"),
            ("describe", "viewer", f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\nAuthorization: {auth}\r\n\r\n".encode(), ""),
            ("garbage", "anonymous", b"\x00\xff garbage \r\n\r\n", ""),
            ("no-version", "anonymous", b"OPTIONS *\r\n\r\n", ""),
            ("unknown-method", "anonymous", b"BREW * RTSP/1.0\r\nCSeq: 1\r\n\r\n", ""),
            ("huge-header", "anonymous", b"OPTIONS * RTSP/1.0\r\nX: " + b"a" * 40_000 + b"\r\n\r\n", ""),
            ("play-no-session", "viewer", f"PLAY {url} RTSP/1.0\r\nCSeq: 3\r\nAuthorization: {auth}\r\n\r\n".encode(),
             ""),
            ("bad-session", "viewer", f"PLAY {url} RTSP/1.0\r\nCSeq: 3\r\nSession: ../x\r\n\r\n".encode(), ""),
        ]
        for bad in _values(self.options.sample):
            if bad.text is None:
                continue
            value = quote(bad.text, safe="")
            cases.append((f"eventtopic=<{bad.label}>", "viewer", (f"DESCRIBE {url}&eventtopic={value} RTSP/1.0\r\n"
                          f"CSeq: 4\r\nAuthorization: {auth}\r\n\r\n").encode(), ""))
            header_value = bad.text.replace("\r", "").replace("\n", "")[:8000]
            for header in ("CSeq", "Content-Length", "Transport", "Session"):
                method = "SETUP" if header == "Transport" else "OPTIONS"
                cases.append((f"{header}=<{bad.label}>", "viewer", (f"{method} {url} RTSP/1.0\r\nCSeq: 5\r\n"
                              f"Authorization: {auth}\r\n{header}: {header_value}\r\n\r\n").encode("utf-8", "replace"),
                              ""))
        for name, role, raw, forbidden in cases:
            f.requests += 1
            f.per_target["RTSP server"] = f.per_target.get("RTSP server", 0) + 1
            before = len(self.exceptions.records)
            status = await rtsp_exchange(port, raw, bound)
            shown = f"RTSP {name}"
            logged = self.exceptions.records[before:]
            if logged:  # the connection dropped on an unhandled exception: RTSP's internal error
                cause, where = describe(logged[-1])
                f.internal_errors += 1
                f.count(Failure("internal", "RTSP server", "RTSP", shown, role, body=status, cause=cause,
                                where=where))
            elif status == "(no answer)":
                # The server may wait for a body it was promised (Content-Length): a hang only
                # when it answers no one else either.
                alive = await rtsp_exchange(port, b"OPTIONS * RTSP/1.0\r\nCSeq: 9\r\n\r\n", bound)
                if alive.startswith("RTSP/1.0 200"):
                    f.count(Failure("waits", "RTSP server", "RTSP", shown, role,
                                    body=f"no answer within {bound} s; the server still answers others"))
                else:
                    f.hangs += 1
                    f.count(Failure("hang", "RTSP server", "RTSP", shown, role, body=alive))
            elif status.startswith("RTSP/1.0 5") and not status.startswith(("RTSP/1.0 501", "RTSP/1.0 503",
                                                                             "RTSP/1.0 505")):
                f.other_5xx += 1
                f.count(Failure("5xx", "RTSP server", "RTSP", shown, role, body=status))
            if forbidden and status.startswith(f"RTSP/1.0 {forbidden}"):
                f.role_violations += 1
                f.count(Failure("violation", "RTSP server", "RTSP", shown, role, body=status))



# -- running and reporting -------------------------------------------------------------------
@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Name resolution in this process answers IP literals and localhost only; any other name
    fails at once, as an unknown name would. Bad values and plausible host names reach the
    device's clients (recipients, network shares, MQTT): nothing may leave the machine, and
    nothing should wait for a DNS server."""
    import ipaddress

    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN202 - socket.getaddrinfo's signature
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name in ("localhost", "") or _is_ip(name, ipaddress):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


def _is_ip(name: str, ipaddress: Any) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]").split("%")[0])
        return True
    except ValueError:
        return False


def walk_profile(profile: str, options: Options, root: Path | None = None) -> Figures:
    """One profile's walk, in a temporary folder (or `root`), on an event loop of its own."""
    own = root is None
    folder = Path(tempfile.mkdtemp(prefix=f"vigil-fuzz-{profile}-")) if own else root
    assert folder is not None
    try:
        with loopback_only():
            return asyncio.run(Walk(profile, folder, options).run())
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def _walk_in_child(args: tuple[str, Options]) -> Figures:
    logging.getLogger().setLevel(logging.WARNING)
    return walk_profile(*args)


def walk(profiles: list[str], options: Options, jobs: int = 1) -> list[Figures]:
    if jobs <= 1 or len(profiles) <= 1:
        return [walk_profile(p, options) for p in profiles]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(min(jobs, len(profiles))) as pool:
        return pool.map(_walk_in_child, [(p, options) for p in profiles], chunksize=1)


COLUMNS = (("profile", "profile"), ("endpoints", "endpoints"), ("JSON methods", "json_methods"),
           ("SOAP ops", "soap_operations"), ("requests", "requests"), ("SOAP 500 (designed)", "soap_faults_500"),
           ("other 5xx", "other_5xx"), ("internal errors", "internal_errors"),
           ("exceptions logged", "exceptions_logged"), ("role violations", "role_violations"), ("hangs", "hangs"),
           ("slow", "slow"), ("s", "seconds"))


def table(results: list[Figures]) -> str:
    rows = [[label for label, _ in COLUMNS]]
    for r in results:
        rows.append([f"{getattr(r, key):.0f}" if isinstance(getattr(r, key), float) else str(getattr(r, key))
                     for _, key in COLUMNS])
    if len(results) > 1:
        total = ["all"] + [str(sum(getattr(r, key) for r in results)) for _, key in COLUMNS[1:-1]]
        rows.append(total + [f"{sum(r.seconds for r in results):.0f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def groups(results: list[Figures]) -> dict[tuple[str, str, str], list[tuple[str, Failure]]]:
    """Failures by (target, kind, place at fault or answer), across profiles."""
    out: dict[tuple[str, str, str], list[tuple[str, Failure]]] = {}
    for r in results:
        for failure in r.failures:
            cause = f"{failure.cause} at {failure.where}" if failure.cause else re.sub(r"\d+", "N", failure.body[:80])
            out.setdefault((failure.target, failure.kind, cause), []).append((r.profile, failure))
    return out


def report(results: list[Figures], every: bool = False) -> str:
    out = [table(results), ""]
    stops = {}
    for r in results:
        for action, n in r.stops.items():
            stops[action] = stops.get(action, 0) + n
    if stops:
        out.append("Destructive endpoints ran for real on throwaway data; the device stopped and was built again "
                   "(as `vigil run` does): " + ", ".join(f"{a} {n}x" for a, n in sorted(stops.items())) + ".")
        out.append("")
    notes = [f"{r.profile}: {n}" for r in results for n in r.notes]
    if notes:
        out += ["Not counted (the machine, not the device):", *(f"  {n}" for n in notes[:20]), ""]
    found = groups(results)
    if not found:
        out.append("No failures.")
        return "\n".join(out)
    out.append(f"{sum(len(v) for v in found.values())} failing requests in {len(found)} groups "
               f"(target, kind, cause), {'all of them' if every else 'with up to three examples each'}:")
    for (target, kind, cause), items in sorted(found.items()):
        profiles = sorted({p for p, _ in items})
        out.append(f"\n[{kind}] {target} x{len(items)} ({', '.join(profiles)}): {cause}")
        for profile, failure in items if every else _examples(items):
            out.append(f"  {profile}: {failure.line()}")
    return "\n".join(out)


_FUZZED = re.compile(r"([\w@./\[\]-]+)\"?[=:] ?<([\w.+-]+)>")


def _examples(items: list[tuple[str, Failure]], limit: int = 3) -> list[tuple[str, Failure]]:
    """Up to `limit` failures that differ in the parameter that held the bad value, or its value."""
    seen: set[str] = set()
    out = []
    for profile, failure in items:
        found = _FUZZED.search(failure.params)
        key = found.group(0) if found else failure.params[:60]
        if key not in seen:
            seen.add(key)
            out.append((profile, failure))
    return out[:limit]


def findings_markdown(results: list[Figures]) -> str:
    out = ["# Fuzz walk findings", "", table(results), ""]
    for (target, kind, cause), items in sorted(groups(results).items()):
        profiles = sorted({p for p, _ in items})
        out += [f"## {kind}: {target}", "", f"- profiles: {', '.join(profiles)}; {len(items)} requests",
                f"- cause: {cause}"]
        for _, f in _examples(items):
            out += [f"- {f.role}: `{f.request} {f.params[:400]}` -> {f.status} `{f.body[:200]!r}`"]
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-p", "--profile", action="append", choices=NAMES, help="profile (repeat); default: all five")
    parser.add_argument("--sample", action="store_true", help="a sample of the bad values (the test suite's form)")
    parser.add_argument("--per-target", type=int, default=None, metavar="N",
                        help="at most N requests with a bad value per target (default: none; "
                             f"{SAMPLE_PER_TARGET} with --sample)")
    parser.add_argument("--only", default="", help="only targets whose label holds this text")
    parser.add_argument("--bound", type=float, default=3.0, help="liveness bound in seconds (default 3)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one request may take (default 30)")
    parser.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="profiles walked in parallel processes (default 2)")
    parser.add_argument("--json", metavar="FILE", help="write the figures and every failing request as JSON")
    parser.add_argument("--findings", metavar="FILE", help="write the failures grouped as Markdown")
    parser.add_argument("--all", action="store_true", help="list every failing request, not three per group")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    profiles = args.profile or list(NAMES)
    per_target = args.per_target if args.per_target is not None else SAMPLE_PER_TARGET if args.sample else 0
    options = Options(sample=args.sample, bound=args.bound, timeout=args.timeout, only=args.only,
                      per_target=per_target, progress=args.verbose)
    results = walk(profiles, options, args.jobs)
    print(report(results, every=args.all))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "options": {"sample": args.sample, "bound": args.bound, "timeout": args.timeout, "only": args.only},
            "profiles": [dataclasses.asdict(r) for r in results]}, indent=1))
    if args.findings:
        Path(args.findings).write_text(findings_markdown(results))
    bad = sum(r.internal_errors + r.role_violations + r.hangs + r.other_5xx for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
