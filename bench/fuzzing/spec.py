"""What a handler reads: its parameters as paths of keys, names or elements, each with what the
handler compares it with, its defaults and the types it checks or converts it to."""

from __future__ import annotations

from dataclasses import dataclass, field


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
