"""The remote syslog settings as the API spells them: one server's configuration, reading the
`setup` request (every refused value reported, in the API's error shape), and the settings'
home in the parameter tree (`API.RemoteSyslog1.*`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.core import checks
from vigil.features.certificates.const import MAX_ALIAS as MAX_ID
from vigil.features.syslog.const import (
    DEFAULT_FORMAT,
    DEFAULT_PORTS,
    DEFAULT_PROTOCOL,
    DEFAULT_SEVERITY,
    DEFAULT_TYPE,
    FORMATS,
    IDENTICAL,
    MAX_CA_CERTIFICATES,
    PROTOCOLS,
    SERVER_KEYS,
    SERVERS,
    SEVERITIES,
    TOO_MANY,
    TYPES,
)
from vigil.http.vapix import ConfigCodes

MESSAGES = {ConfigCodes.MISSING: "Required parameter missing", ConfigCodes.INVALID: "Invalid parameter value specified",
            IDENTICAL: "Identical servers not allowed", TOO_MANY: "Too many servers specified"}


@dataclass(frozen=True)
class ServerConfig:
    address: str
    port: int
    protocol: str  # UDP | TCP | TLS
    format: str  # AXIS | RFC3164 | RFC5424
    severity: str  # Emergency ... Debug: this one and the more severe are sent
    type: str  # All | Audit

    @property
    def threshold(self) -> int:
        """The least severe syslog severity number sent (Warning: 4)."""
        return SEVERITIES.index(self.severity)

    @property
    def where(self) -> str:
        """host:port as messages name the server ([v6]:port)."""
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"

    def same_server(self, other: ServerConfig) -> bool:
        return (self.address.lower(), self.port, self.protocol) == (other.address.lower(), other.port, other.protocol)

    def shown(self) -> dict[str, Any]:
        return {"address": self.address, "port": self.port, "protocol": self.protocol,
                "syslogFormat": self.format, "severity": self.severity, "type": self.type}


class SetupError(Exception):
    """Refused settings: each problem as (code, propertyName, server address)."""

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        super().__init__(MESSAGES[problems[0][0]])
        self.problems = problems

    def error_object(self) -> tuple[int, str, dict[str, Any]]:
        """code, message and the members the API page shows beside them (`details`, `errors`)."""
        def one(code: int, prop: str, address: str) -> dict[str, Any]:
            details = {"address": address, "propertyName": prop} if address else {"propertyName": prop}
            return {"code": code, "message": MESSAGES[code], "details": details} if prop else \
                {"code": code, "message": MESSAGES[code]}

        first = one(*self.problems[0])
        more = {k: v for k, v in first.items() if k not in ("code", "message")}
        if len(self.problems) > 1:
            more["errors"] = [one(*p) for p in self.problems[1:]]
        return first["code"], first["message"], more


def _choice(value: Any, choices: tuple[str, ...]) -> str | None:
    """The choice `value` names, in its own spelling (any case is understood), or None."""
    if isinstance(value, str):
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
    return None


def parse_server(item: Any, problems: list[tuple[int, str, str]]) -> ServerConfig | None:
    if not isinstance(item, dict):
        problems.append((ConfigCodes.INVALID, "servers", ""))
        return None
    address = item.get("address")
    shown = address if isinstance(address, str) else ""
    before = len(problems)
    if address is None:
        problems.append((ConfigCodes.MISSING, "address", ""))
    elif not isinstance(address, str) or len(address) > 255 or checks.host_or_address(address):
        problems.append((ConfigCodes.INVALID, "address", shown[:255] if checks.host_or_address(shown) is None else ""))
    for key in item:
        if key not in SERVER_KEYS:
            problems.append((ConfigCodes.INVALID, str(key)[:64], shown))
    protocol = _choice(item.get("protocol", DEFAULT_PROTOCOL), PROTOCOLS)
    form = _choice(item.get("syslogFormat", DEFAULT_FORMAT), FORMATS)
    severity = _choice(item.get("severity", DEFAULT_SEVERITY), SEVERITIES)
    kind = _choice(item.get("type", DEFAULT_TYPE), TYPES)
    for name, value in (("protocol", protocol), ("syslogFormat", form), ("severity", severity), ("type", kind)):
        if value is None:
            problems.append((ConfigCodes.INVALID, name, shown))
    port = item.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        problems.append((ConfigCodes.INVALID, "port", shown))
    if len(problems) > before:
        return None
    assert protocol and form and severity and kind and isinstance(address, str)
    return ServerConfig(address, port if port is not None else DEFAULT_PORTS[(protocol, form)], protocol, form,
                        severity, kind)


def parse_servers(value: Any) -> list[ServerConfig]:
    """The `servers` of a setup request; SetupError lists every problem."""
    if value is None:
        raise SetupError([(ConfigCodes.MISSING, "servers", "")])
    if not isinstance(value, list):
        raise SetupError([(ConfigCodes.INVALID, "servers", "")])
    if len(value) > len(SERVERS):
        raise SetupError([(TOO_MANY, "", "")])
    problems: list[tuple[int, str, str]] = []
    servers = [parse_server(item, problems) for item in value]
    if problems:
        raise SetupError(problems)
    parsed = [s for s in servers if s is not None]
    if len(parsed) == 2 and parsed[0].same_server(parsed[1]):
        raise SetupError([(IDENTICAL, "", "")])
    return parsed


def parse_ca_ids(value: Any) -> list[str]:
    """The CA certificate ids of a setup request (whether they are in the store is checked apart)."""
    if not isinstance(value, list) or len(value) > MAX_CA_CERTIFICATES or not all(
            isinstance(v, str) and 0 < len(v) <= MAX_ID for v in value):
        raise SetupError([(ConfigCodes.INVALID, "caCertificates", "")])
    return list(dict.fromkeys(value))


# -- the settings in the parameter tree ----------------------------------------------------------
def from_params(values: dict[str, str]) -> list[ServerConfig]:
    """The configured servers: Server1, then Server2, each while its address is set. As the API
    page says, a Server2 without a Server1 is no configuration at all."""
    servers = []
    for names in SERVERS:
        if not values.get(names.address):
            break
        protocol, form = values[names.protocol], values[names.format]
        servers.append(ServerConfig(values[names.address], int(values[names.port]), protocol, form,
                                    values[names.severity], values[names.type]))
    return servers


def to_params(servers: list[ServerConfig]) -> dict[str, str]:
    """The parameter values for `servers`; the slots beyond them are emptied."""
    values: dict[str, str] = {}
    for index, names in enumerate(SERVERS):
        if index < len(servers):
            s = servers[index]
            values.update({names.address: s.address, names.port: str(s.port), names.protocol: s.protocol,
                           names.format: s.format, names.severity: s.severity, names.type: s.type})
        else:
            values[names.address] = ""
    return values


def identical(servers: list[ServerConfig]) -> bool:
    return len(servers) == 2 and servers[0].same_server(servers[1])
