"""A log entry as RFC 5424, RFC 3164 and Axis syslog messages, and the octet-counted frame."""

from __future__ import annotations

from vigil.core.logs import LogEntry
from vigil.features.syslog.const import MAX_MESSAGE, MAX_MESSAGE_3164
from vigil.features.syslog.formats import axis, octet_counted, priority, rfc3164, rfc5424, severity_number

T = 1_700_000_000.25  # 2023-11-14T22:13:20.250Z
AUDIT = LogEntry("audit", T, "notice", "params", "user=root set root.System.Theme=dark")
SYSTEM = LogEntry("system", T, "warning", "storage", "disk HDD2 replaced")
ACCESS = LogEntry("access", T, "warning", "http", "authentication failed for x from 127.0.0.1")


def test_rfc5424_carries_the_fields_a_server_files_by() -> None:
    assert rfc5424(AUDIT, "vigil-accc8e000001", 42) == (
        '<109>1 2023-11-14T22:13:20.250Z vigil-accc8e000001 params 42 AUDIT [vigil@32473 user="root"] '
        "\ufeffuser=root set root.System.Theme=dark").encode()
    assert rfc5424(SYSTEM, "h", 1) == "<28>1 2023-11-14T22:13:20.250Z h storage 1 SYSTEM - \ufeffdisk HDD2 replaced".encode()


def test_facility_by_log_and_severity_by_entry() -> None:
    assert priority(SYSTEM) == 3 * 8 + 4  # daemon.warning
    assert priority(ACCESS) == 10 * 8 + 4  # authpriv.warning
    assert priority(AUDIT) == 13 * 8 + 5  # log audit.notice
    assert [severity_number(s) for s in ("critical", "error", "info", "debug", "unheard-of")] == [2, 3, 6, 7, 6]


def test_rfc3164_and_axis() -> None:
    assert rfc3164(SYSTEM, "vigil-x", 7) == b"<28>Nov 14 22:13:20 vigil-x storage[7]: disk HDD2 replaced"
    early = LogEntry("system", 1_700_000_000 - 13 * 86400, "info", "vigil.http", "x")
    assert rfc3164(early, "h", 1).startswith(b"<30>Nov  1 ")  # the day padded with a space
    assert axis(SYSTEM, "vigil-x", 7) == b"<28>2023-11-14T22:13:20.250+00:00 vigil-x storage[7]: disk HDD2 replaced"


def test_header_fields_and_structured_data_are_made_safe() -> None:
    odd = LogEntry("audit", T, "notice", "a source with spaces", 'user=x"y] z')
    message = rfc5424(odd, "host name", 1).decode()
    assert " host_name a_source_with_spaces 1 AUDIT " in message
    assert '[vigil@32473 user="x\\"y\\]"]' in message


def test_long_messages_are_cut_on_a_character_boundary() -> None:
    long = LogEntry("system", T, "info", "s", "\u20ac" * 5000)
    cut = rfc5424(long, "h", 1)
    assert len(cut) <= MAX_MESSAGE and cut.decode().endswith("\u20ac")
    cut = rfc3164(long, "h", 1)
    assert len(cut) <= MAX_MESSAGE_3164 and cut.decode().endswith("\u20ac")


def test_octet_counting_frames_any_bytes() -> None:
    assert octet_counted(b"a b\nc") == b"5 a b\nc"
    assert octet_counted("\u20ac".encode()) == b"3 \xe2\x82\xac"
