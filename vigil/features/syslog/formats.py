"""A log entry as a syslog message: RFC 5424, RFC 3164 (BSD) or the Axis format, and the
octet-counting frame that carries it over TCP and TLS (RFC 6587 3.4.1, RFC 5425).

- Severity: the entry's own (`warning`, `info`, ...) as its RFC 5424 number.
- Facility: by log: the system log is `daemon` (3), the access log `authpriv` (10), the audit
  log `log audit` (13), so that a server can file them apart.
- RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] BOM MSG`, APP the entry's source
  (`params`, `mqtt`, `vigil.http`...), MSGID the log (`SYSTEM`, `ACCESS`, `AUDIT`), and for an
  audit entry the account in structured data `[vigil@32473 user="..."]` (32473 is the
  documentation enterprise number of RFC 5612: Vigil has no number of its own).
- RFC 3164: `<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`, the time in UTC (the format has no zone).
- AXIS: what an Axis device's syslog-ng sends: the RFC 3164 layout with the RFC 3339 time of
  the device's own log lines, `<PRI>2023-11-14T22:13:20.250+00:00 HOST TAG[PID]: MSG`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

from vigil.core.logs import LogEntry
from vigil.features.syslog.const import MAX_MESSAGE, MAX_MESSAGE_3164

SEVERITY_NUMBERS = {"emergency": 0, "emerg": 0, "alert": 1, "critical": 2, "crit": 2, "error": 3, "err": 3,
                    "warning": 4, "warn": 4, "notice": 5, "informational": 6, "info": 6, "debug": 7}
FACILITIES = {"system": 3, "access": 10, "audit": 13}
SD_ID = "vigil@32473"
BOM = "\ufeff"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NOT_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")
_SD_ESCAPE = re.compile(r'(["\\\]])')
_TAG = re.compile(r"[^A-Za-z0-9_.-]")


def severity_number(severity: str) -> int:
    """An entry's severity as a syslog number; one the table does not know counts as informational."""
    return SEVERITY_NUMBERS.get(severity.lower(), 6)


def priority(entry: LogEntry) -> int:
    return FACILITIES.get(entry.kind, 1) * 8 + severity_number(entry.severity)


def _field(text: str, limit: int) -> str:
    """An RFC 5424 header field: printable US-ASCII without spaces, at most `limit` long, `-` if empty."""
    return _NOT_PRINTUSASCII.sub("_", text)[:limit] or "-"


def _cut(data: bytes, limit: int) -> bytes:
    """At most `limit` bytes, cut on a character boundary."""
    return data if len(data) <= limit else data[:limit].decode("utf-8", "ignore").encode()


def rfc5424(entry: LogEntry, host: str, pid: int) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(entry.time)) + f".{int(entry.time % 1 * 1000):03d}Z"
    actor = _SD_ESCAPE.sub(r"\\\1", entry.actor)  # ", \ and ] are escaped in a parameter value
    sd = f'[{SD_ID} user="{actor}"]' if actor else "-"
    head = (f"<{priority(entry)}>1 {stamp} {_field(host, 255)} {_field(entry.source, 48)} {pid} "
            f"{_field(entry.kind.upper(), 32)} {sd} {BOM}")
    return _cut((head + entry.message).encode("utf-8", "replace"), MAX_MESSAGE)


def _legacy(entry: LogEntry, stamp: str, host: str, pid: int, limit: int) -> bytes:
    tag = _TAG.sub("_", entry.source)[:32] or "vigil"
    line = f"<{priority(entry)}>{stamp} {_field(host, 255)} {tag}[{pid}]: {entry.message}"
    return _cut(line.encode("utf-8", "replace"), limit)


def rfc3164(entry: LogEntry, host: str, pid: int) -> bytes:
    t = time.gmtime(entry.time)
    stamp = f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return _legacy(entry, stamp, host, pid, MAX_MESSAGE_3164)


def axis(entry: LogEntry, host: str, pid: int) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(entry.time)) + f".{int(entry.time % 1 * 1000):03d}+00:00"
    return _legacy(entry, stamp, host, pid, MAX_MESSAGE)


Formatter = Callable[[LogEntry, str, int], bytes]
FORMATTERS: dict[str, Formatter] = {"RFC5424": rfc5424, "RFC3164": rfc3164, "AXIS": axis}


def formatter(name: str, host: str) -> Callable[[LogEntry], bytes]:
    """The message maker of format `name` for this device (its host name and process id)."""
    make, pid = FORMATTERS[name], os.getpid()
    return lambda entry: make(entry, host, pid)


def octet_counted(message: bytes) -> bytes:
    """`LEN SP MSG`: the framing of syslog over TCP and TLS, which any byte of MSG may be in."""
    return b"%d %s" % (len(message), message)
