"""SOAP 1.2 and 1.1 over HTTP: envelope parsing, replies and faults (lxml), and a small
dispatcher that picks the operation from the Body element's namespace and name.

Shared by the VAPIX web services (`/vapix/services`: event1, action1) and ONVIF.

Parsing is defensive: no DTDs (a DOCTYPE is refused, so no entity expansion and no external
fetches), a size limit, and every problem becomes a SOAP Fault with a readable Reason
instead of an HTTP 500. The reply uses the request's SOAP version: SOAP 1.2
(`application/soap+xml`, envelope `http://www.w3.org/2003/05/soap-envelope`) or SOAP 1.1
(`text/xml`, envelope `http://schemas.xmlsoap.org/soap/envelope/`). A request that is not
a SOAP envelope at all is answered in SOAP 1.2.

Fault codes follow SOAP 1.2: `Sender` (the request is wrong: 400), `Receiver` (the device
could not do it: 500), `VersionMismatch`, `MustUnderstand` (500). In SOAP 1.1 they become
`Client` / `Server` / `VersionMismatch` / `MustUnderstand`, all with status 500 as that
binding requires. The operation is chosen by the Body's first element; the SOAPAction
header (1.1) or the `action` parameter of the content type (1.2) is informational only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree
from starlette.requests import Request
from starlette.responses import Response

from vigil.core.roles import Role

if TYPE_CHECKING:
    from vigil.core.auth import Principal

log = logging.getLogger("vigil.soap")

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
MAX_BODY = 1 << 20  # 1 MiB: far above any real request
# A whole number in a request (ids, ports): ASCII digits, few enough that int() never reads
# thousands of digits ("²" and "٣" pass str.isdigit(), "1_0" and " 5" pass int()).
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
ECHO = 40  # characters of a refused value quoted back in a fault

# Prefixes used in replies; declared once on the Envelope.
NAMESPACES: dict[str, str] = {
    "SOAP-ENV": SOAP12,
    "xsd": "http://www.w3.org/2001/XMLSchema",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wstop": "http://docs.oasis-open.org/wsn/t-1",
    "tt": "http://www.onvif.org/ver10/schema",
    "ter": "http://www.onvif.org/ver10/error",
    "tns1": "http://www.onvif.org/ver10/topics",
    "tnsaxis": "http://www.axis.com/2009/event/topics",
    "aev": "http://www.axis.com/vapix/ws/event1",
    "aa": "http://www.axis.com/vapix/ws/action1",
}
# Header blocks that may carry mustUnderstand and need no processing of ours (addressing).
WS_ADDRESSING = ("http://www.w3.org/2005/08/addressing", "http://schemas.xmlsoap.org/ws/2004/08/addressing")

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_comments=True, remove_pis=True)


class SoapFault(Exception):
    """A fault to send back. `code` is the SOAP 1.2 code: Sender, Receiver, VersionMismatch,
    MustUnderstand; `subcodes` are qualified names, outermost first."""

    def __init__(self, reason: str, code: str = "Sender", subcodes: Iterable[etree.QName | str] = (),
                 detail: etree._Element | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.subcodes = tuple(etree.QName(s) for s in subcodes)
        self.detail = detail
        self.version: str | None = None  # the SOAP version to answer in, when known


def sender(reason: str, *subcodes: etree.QName | str) -> SoapFault:
    return SoapFault(reason, "Sender", subcodes)


def receiver(reason: str, *subcodes: etree.QName | str) -> SoapFault:
    return SoapFault(reason, "Receiver", subcodes)


@dataclass
class SoapMessage:
    """A parsed request: its SOAP version, header blocks and the operation element."""

    version: str  # "1.2" | "1.1"
    envelope: etree._Element
    headers: list[etree._Element]
    body: etree._Element  # the Body's first element: the operation and its arguments
    action: str | None = None

    @property
    def operation(self) -> tuple[str, str]:
        q = etree.QName(self.body)
        return q.namespace or "", q.localname


def version_of(content_type: str | None) -> str:
    return "1.1" if (content_type or "").split(";")[0].strip().lower() == "text/xml" else "1.2"


def _action(content_type: str | None, soap_action: str | None) -> str | None:
    if soap_action:
        return soap_action.strip().strip('"') or None
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "action":
            return value.strip().strip('"') or None
    return None


def parse(raw: bytes, content_type: str | None = None, soap_action: str | None = None,
          understood: Iterable[str] = ()) -> SoapMessage:
    """Parse a SOAP request; SoapFault (with `version` set on it) when it is not acceptable.

    `understood` lists the namespaces of header blocks the caller processes; a header block
    with mustUnderstand="true" in any other namespace is refused (MustUnderstand fault).
    """
    return _parse(raw, content_type, soap_action, set(understood) | set(WS_ADDRESSING))


def _parse(raw: bytes, content_type: str | None, soap_action: str | None, understood: set[str]) -> SoapMessage:
    guess = version_of(content_type)
    if len(raw) > MAX_BODY:
        raise _with_version(sender(f"The request is larger than {MAX_BODY} bytes"), guess)
    if not raw.strip():
        raise _with_version(sender("The request body is empty: expected a SOAP envelope"), guess)
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as err:
        raise _with_version(sender(f"Malformed XML: {err.msg or err}"), guess) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _with_version(sender("Document type declarations (DTD) are not allowed"), guess)
    q = etree.QName(root)
    if q.localname != "Envelope":
        raise _with_version(sender(f"The document element is {q.localname}, not a SOAP Envelope"), guess)
    if q.namespace == SOAP12:
        version, env_ns = "1.2", SOAP12
    elif q.namespace == SOAP11:
        version, env_ns = "1.1", SOAP11
    else:
        raise _with_version(SoapFault(f"Unknown SOAP envelope namespace {q.namespace or '(none)'}; "
                                      f"use {SOAP12} (SOAP 1.2) or {SOAP11} (SOAP 1.1)", "VersionMismatch"), guess)
    headers: list[etree._Element] = []
    body: etree._Element | None = None
    for part in root:
        if not isinstance(part.tag, str):
            continue
        if part.tag == f"{{{env_ns}}}Header":
            headers = [h for h in part if isinstance(h.tag, str)]
        elif part.tag == f"{{{env_ns}}}Body":
            body = part
    if body is None:
        raise _with_version(sender("The SOAP envelope has no Body"), version)
    for block in headers:
        must = block.get(f"{{{env_ns}}}mustUnderstand", "").strip().lower()
        if must in ("1", "true") and (etree.QName(block).namespace or "") not in understood:
            raise _with_version(SoapFault(f"Header block {etree.QName(block).localname} "
                                          f"({etree.QName(block).namespace}) is not understood",
                                          "MustUnderstand"), version)
    operation = next((c for c in body if isinstance(c.tag, str)), None)
    if operation is None:
        raise _with_version(sender("The SOAP Body is empty: expected an operation element"), version)
    return SoapMessage(version, root, headers, operation, _action(content_type, soap_action))


def _with_version(fault: SoapFault, version: str) -> SoapFault:
    fault.version = version
    return fault


# -- replies -------------------------------------------------------------------------
def media_type(version: str) -> str:
    return "text/xml; charset=utf-8" if version == "1.1" else "application/soap+xml; charset=utf-8"


def envelope(children: Iterable[etree._Element], version: str = "1.2",
             nsmap: Mapping[str, str] | None = None, keep_prefixes: Iterable[str] = ()) -> bytes:
    """Serialise an Envelope whose Body holds `children`; namespaces are declared once, on top.
    `keep_prefixes`: prefixes used only inside text (a fault's `ter:NotAuthorized`), which
    would otherwise look unused and lose their declaration."""
    env_ns = SOAP11 if version == "1.1" else SOAP12
    names = {**NAMESPACES, **(nsmap or {})}
    names["SOAP-ENV"] = env_ns
    env = etree.Element(f"{{{env_ns}}}Envelope", nsmap=names)
    body = etree.SubElement(env, f"{{{env_ns}}}Body")
    for child in children:
        body.append(child)
    etree.cleanup_namespaces(env, top_nsmap=names, keep_ns_prefixes=list(keep_prefixes))
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def reply(*children: etree._Element, version: str = "1.2", nsmap: Mapping[str, str] | None = None,
          status: int = 200, keep_prefixes: Iterable[str] = ()) -> Response:
    return Response(envelope(children, version, nsmap, keep_prefixes), status_code=status,
                    media_type=media_type(version))


_CODES_11 = {"Sender": "Client", "Receiver": "Server", "VersionMismatch": "VersionMismatch",
             "MustUnderstand": "MustUnderstand"}


def fault_response(fault: SoapFault, version: str | None = None) -> Response:
    version = version or fault.version or "1.2"
    names = dict(NAMESPACES)
    extra = 0
    for sub in fault.subcodes:
        if sub.namespace and sub.namespace not in names.values():
            names[f"ns{extra}"] = sub.namespace
            extra += 1
    prefix_of = {uri: p for p, uri in names.items()}

    def qtext(q: etree.QName) -> str:
        return f"{prefix_of[q.namespace]}:{q.localname}" if q.namespace else q.localname

    if version == "1.1":
        f = etree.Element(f"{{{SOAP11}}}Fault")
        code = _CODES_11.get(fault.code, "Server")
        if fault.subcodes:
            code += "." + fault.subcodes[-1].localname
        etree.SubElement(f, "faultcode").text = f"SOAP-ENV:{code}"
        etree.SubElement(f, "faultstring").text = fault.reason
        if fault.detail is not None:
            etree.SubElement(f, "detail").append(fault.detail)
        status = 500
    else:
        e = SOAP12
        f = etree.Element(f"{{{e}}}Fault")
        code_el = etree.SubElement(f, f"{{{e}}}Code")
        etree.SubElement(code_el, f"{{{e}}}Value").text = f"SOAP-ENV:{fault.code}"
        parent = code_el
        for sub in fault.subcodes:
            parent = etree.SubElement(parent, f"{{{e}}}Subcode")
            etree.SubElement(parent, f"{{{e}}}Value").text = qtext(sub)
        reason = etree.SubElement(f, f"{{{e}}}Reason")
        text = etree.SubElement(reason, f"{{{e}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = fault.reason
        if fault.detail is not None:
            etree.SubElement(f, f"{{{e}}}Detail").append(fault.detail)
        status = 400 if fault.code == "Sender" else 500
    used = [prefix_of[q.namespace] for q in fault.subcodes if q.namespace]
    return Response(envelope([f], version, names, used), status_code=status, media_type=media_type(version))


# -- reading arguments ---------------------------------------------------------------
def children(parent: etree._Element, name: str, namespace: str | None = None) -> list[etree._Element]:
    """Child elements called `name` in `namespace` or unqualified (clients differ)."""
    out = []
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        q = etree.QName(child)
        if q.localname == name and (q.namespace in (None, namespace) or namespace is None):
            out.append(child)
    return out


def child(parent: etree._Element, name: str, namespace: str | None = None) -> etree._Element | None:
    found = children(parent, name, namespace)
    return found[0] if found else None


def text_of(parent: etree._Element, name: str, namespace: str | None = None, required: bool = False,
            default: str | None = None) -> str | None:
    el = child(parent, name, namespace)
    if el is None:
        if required:
            raise sender(f"{etree.QName(parent).localname}: the element {name} is required")
        return default
    return (el.text or "").strip()


def whole_number(text: str | None, what: str) -> int:
    """A non-negative whole number of at most 9 digits; a Sender fault that quotes at most the
    first characters of anything else."""
    text = (text or "").strip()
    if not WHOLE_NUMBER.fullmatch(text):
        shown = text if len(text) <= ECHO else text[:ECHO] + "…"
        raise sender(f"{what} must be a whole number, not {shown!r}")
    return int(text)


def int_of(parent: etree._Element, name: str, namespace: str | None = None) -> int:
    """The whole number in the required child element `name` (see `whole_number`)."""
    return whole_number(text_of(parent, name, namespace, required=True), name)


def bool_of(parent: etree._Element, name: str, namespace: str | None = None, default: bool = True) -> bool:
    value = text_of(parent, name, namespace)
    if value is None:
        return default
    v = value.lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise sender(f"{name} must be true or false, not {value!r}")


def element(tag: str, text: str | None = None, attrib: Mapping[str, str] | None = None,
            parent: etree._Element | None = None) -> etree._Element:
    """`tag` is `prefix:Name` with a prefix of NAMESPACES, or a plain name (no namespace)."""
    el = etree.Element(qualify(tag)) if parent is None else etree.SubElement(parent, qualify(tag))
    for k, v in (attrib or {}).items():
        el.set(qualify(k), v)
    if text is not None:
        el.text = text
    return el


def qualify(name: str) -> str:
    prefix, sep, local = name.partition(":")
    if not sep:
        return name
    return f"{{{NAMESPACES[prefix]}}}{local}"


# -- dispatch ------------------------------------------------------------------------
SoapHandler = Callable[[SoapMessage, "Principal"], Awaitable[etree._Element | list[etree._Element]]]
Refuse = Callable[[Request, "Principal", Role], Response | None]


@dataclass
class SoapOperation:
    role: Role
    handler: SoapHandler


@dataclass
class SoapService:
    """Operations by (namespace, name), each with its minimum role."""

    operations: dict[tuple[str, str], SoapOperation] = field(default_factory=dict)
    understood: tuple[str, ...] = ()  # header namespaces the handlers process

    def add(self, namespace: str, name: str, role: Role, handler: SoapHandler) -> None:
        self.operations[(namespace, name)] = SoapOperation(role, handler)

    @property
    def min_role(self) -> Role:
        return min((op.role for op in self.operations.values()), default=Role.ADMIN)

    async def handle(self, request: Request, who: Principal, refuse: Refuse) -> Response:
        raw = await request.body()
        try:
            msg = parse(raw, request.headers.get("content-type"), request.headers.get("soapaction"),
                        self.understood)
        except SoapFault as fault:
            return fault_response(fault)
        ns, name = msg.operation
        op = self.operations.get((ns, name))
        if op is None:
            elsewhere = sorted(n_ns for (n_ns, n) in self.operations if n == name)
            hint = f" ({name} belongs to namespace {elsewhere[0]})" if elsewhere else ""
            return fault_response(sender(f"The operation {name} of namespace {ns or '(none)'} is not "
                                         f"supported{hint}"), msg.version)
        refusal = refuse(request, who, op.role)
        if refusal is not None:
            return refusal
        try:
            result = await op.handler(msg, who)
        except SoapFault as fault:
            return fault_response(fault, msg.version)
        except Exception:
            log.exception("SOAP operation %s failed", name)
            return fault_response(receiver(f"Internal error while running {name}; see the system log"),
                                  msg.version)
        return reply(*(result if isinstance(result, list) else [result]), version=msg.version)
