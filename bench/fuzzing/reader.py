"""What a handler reads, from its source: `Reader` follows a handler (and the product functions it
calls) with `inspect` and `ast`, and records in a `Spec` the JSON keys, form names or SOAP elements it
reads, with the literals they are compared with, their defaults and the types they are converted to."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import inspect
import re
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.fuzzing.spec import Spec

KEYLIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
# Attributes of a request (or SOAP message) that are not its parameters.
NOT_PARAMETERS = frozenset({"headers", "cookies", "client", "url", "app", "state", "scope", "method", "base_url",
                            "path_params", "version", "action", "envelope", "operation"})
SHARED_HELPERS = "vigil.http."  # argument readers (first, text_of, child...): read as readers, not walked
MAX_DEPTH = 6
TYPE_HINTS = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict", tuple: "list"}


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
