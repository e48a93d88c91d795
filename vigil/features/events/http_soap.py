"""`POST /vapix/services`: one SOAP endpoint for the VAPIX event service (event1,
`http_event1.py`) and action service (action1, `http_action1.py`), and the argument helpers both
use.

SOAP 1.2 (`application/soap+xml`) or SOAP 1.1 (`text/xml` + SOAPAction); the operation is the Body
element's namespace and name (`vigil.http.soap`). Every refusal is a SOAP Fault: Sender for a wrong
request (malformed XML, unknown operation, topic, item value, recipient, action or rule id,
limits), Receiver when the device could not do it (delivery failed, internal error). A request is
validated in full before anything is stored.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

from lxml import etree
from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.core.rules import RuleError
from vigil.core.schedules import ScheduleError
from vigil.features.events.const import MAX_NAME, MAX_PARAMETER_VALUE, MAX_PARAMETERS
from vigil.features.events.service import EventsError
from vigil.features.notify.const import NUMERIC
from vigil.features.notify.model import RecipientError
from vigil.features.notify.store import RecipientConfigError
from vigil.features.triggers.service import TriggerError
from vigil.http.routing import refuse
from vigil.http.soap import SoapMessage, SoapService, child, children, element, sender

T = TypeVar("T")
Operation = Callable[[T, SoapMessage, Principal], Awaitable[etree._Element]]


class VapixServices:
    """The operations of event1 and action1 behind `POST /vapix/services`, each with its role."""

    def __init__(self) -> None:
        self.soap = SoapService()

    def add(self, namespace: str, api: T, operations: Iterable[tuple[str, Role, Operation[T]]]) -> None:
        for name, role, method in operations:
            self.soap.add(namespace, name, role, functools.partial(method, api))

    async def handle(self, request: Request, who: Principal) -> Response:
        return await self.soap.handle(request, who, refuse)


EVENT_SERVICES: Key[VapixServices] = Key("events")


@contextmanager
def refusals_as_faults() -> Iterator[None]:
    """The domain's refusals (rules, schedules, manual triggers, recipients) as Sender faults with their text."""
    try:
        yield
    except (EventsError, RuleError, ScheduleError, TriggerError, RecipientConfigError, RecipientError) as err:
        raise sender(str(err)) from None


def name_of(value: str | None, what: str, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise sender(f"{what} needs a Name")
    if len(value) > MAX_NAME or any(ord(c) < 32 for c in value):
        raise sender(f"{what}: the name must be at most {MAX_NAME} characters, without control characters")
    return value


def parameters(parent: etree._Element, ns: str) -> dict[str, str]:
    """The Parameters/Parameter Name= Value= list of a configuration."""
    out: dict[str, str] = {}
    holder = child(parent, "Parameters", ns)
    if holder is None:
        return out
    given = children(holder, "Parameter", ns)
    if len(given) > MAX_PARAMETERS:
        raise sender(f"At most {MAX_PARAMETERS} parameters are allowed")
    for p in given:
        name = (p.get("Name") or "").strip()
        if not name:
            raise sender("Every Parameter needs a Name attribute")
        if name in out:
            raise sender(f"Parameter {name[:64]} is given more than once")
        value = p.get("Value")
        value = value if value is not None else (p.text or "")
        if len(value) > MAX_PARAMETER_VALUE:
            raise sender(f"Parameter {name[:64]} is longer than {MAX_PARAMETER_VALUE} characters")
        out[name] = value
    return out


def parameter_list(parent: etree._Element, params: Mapping[str, str] | tuple[str, ...], with_values: bool) -> None:
    """Parameters with their values (configurations), or their names and types (templates)."""
    holder = element("aa:Parameters", parent=parent)
    if with_values:
        assert isinstance(params, Mapping)
        for name, value in params.items():
            element("aa:Parameter", attrib={"Name": name, "Value": value}, parent=holder)
    else:
        for name in params:
            element("aa:Parameter", attrib={"Name": name, "Type": "xsd:int" if name in NUMERIC else "xsd:string"},
                    parent=holder)
