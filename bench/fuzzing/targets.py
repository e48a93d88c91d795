"""What the walk fuzzes, found on the device itself: every endpoint of its router, every method of
a JSON API and every operation of a SOAP service, each with its declared role and the `Spec` of
what its handler reads."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.fuzzing.reader import Reader
from bench.fuzzing.spec import Spec
from vigil.core.roles import Role
from vigil.device import Device
from vigil.http.routing import Endpoint
from vigil.http.soap import SoapService


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
