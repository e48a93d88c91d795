"""Building ONVIF replies with lxml (escaping is lxml's) and reading request arguments."""

from __future__ import annotations

from datetime import datetime

from lxml import etree
from lxml.builder import ElementMaker

from vigil.features.onvif.const import INVALID_ARG_VAL, TDS, TER, TMD, TR2, TRT, TT
from vigil.http.soap import SoapFault, sender

TDS_ = ElementMaker(namespace=TDS, nsmap={"tds": TDS})
TRT_ = ElementMaker(namespace=TRT, nsmap={"trt": TRT})
TR2_ = ElementMaker(namespace=TR2, nsmap={"tr2": TR2})
TMD_ = ElementMaker(namespace=TMD, nsmap={"tmd": TMD})
TT_ = ElementMaker(namespace=TT, nsmap={"tt": TT})


def boolean(value: bool) -> str:
    return "true" if value else "false"


def invalid(reason: str, *detail: str) -> SoapFault:
    """Sender / ter:InvalidArgVal [/ ter:<detail>]: a value the operation cannot take."""
    return sender(reason, INVALID_ARG_VAL, *(etree.QName(TER, d) for d in detail))


def date_time(moment: datetime) -> etree._Element:
    """A tt:DateTime (Time, Date) of `moment`'s own fields."""
    return TT_.DateTime(TT_.Time(TT_.Hour(str(moment.hour)), TT_.Minute(str(moment.minute)),
                                 TT_.Second(str(moment.second))),
                        TT_.Date(TT_.Year(str(moment.year)), TT_.Month(str(moment.month)), TT_.Day(str(moment.day))))


def find(parent: etree._Element, *path: str) -> etree._Element | None:
    """The first element down `path` of local names (clients qualify arguments differently)."""
    node: etree._Element | None = parent
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name), None)
    return node


def find_all(parent: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str) and etree.QName(c).localname == name]


def text(parent: etree._Element, *path: str, required: bool = False, limit: int = 256) -> str | None:
    node = find(parent, *path)
    if node is None:
        if required:
            raise sender(f"{etree.QName(parent).localname}: {'/'.join(path)} is required", INVALID_ARG_VAL)
        return None
    value = (node.text or "").strip()
    if len(value) > limit:
        raise invalid(f"{'/'.join(path)} is longer than {limit} characters")
    return value


def flag(parent: etree._Element, *path: str, required: bool = False) -> bool | None:
    value = text(parent, *path, required=required)
    if value is None:
        return None
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise invalid(f"{'/'.join(path)} must be true or false, not {value[:40]!r}")


def number(parent: etree._Element, *path: str, low: int, high: int) -> int:
    value = text(parent, *path, required=True) or ""
    if not value.isascii() or not value.isdigit() or len(value) > 9 or not low <= int(value) <= high:
        raise invalid(f"{'/'.join(path)} must be a whole number from {low} to {high}, not {value[:40]!r}")
    return int(value)
