"""NTP on the wire: timestamps in both NTP eras, the offset and delay of an exchange, and the
addresses the settings take."""

from __future__ import annotations

import pytest

from vigil.core.clock import FakeClock
from vigil.features.timesync.ntp import HEADER, NtpError, exchange, from_ntp, parse_reply, sample_of, to_ntp
from vigil.features.timesync.servers import list_problem, parse_server


@pytest.mark.parametrize("moment", [1_700_000_000.25, 946_684_800.0, 2_085_978_496.0, 2_500_000_000.5, 4_102_444_799.0])
def test_timestamps_round_trip_across_the_2036_era_change(moment):
    assert from_ntp(to_ntp(moment), pivot=moment + 86400 * 365 * 30) == pytest.approx(moment, abs=1e-6)


def test_offset_and_delay_of_an_exchange():
    # Sent at 100.0, the server got it at 110.2 and answered at 110.3, back at 100.5: the device is
    # 10.0 s behind, and the round trip took 0.4 s.
    reply = parse_reply(HEADER.pack(0x24, 2, 6, -20, 0, 0, b"\x0a\0\0\1", 0, 7, to_ntp(1e9 + 110.2),
                                    to_ntp(1e9 + 110.3)))
    sample = sample_of("s", reply, 1e9 + 100.0, 1e9 + 100.5, pivot=1e9)
    assert sample.offset == pytest.approx(10.0, abs=1e-6) and sample.delay == pytest.approx(0.4, abs=1e-6)
    assert sample.reference == "10.0.0.1" and sample.stratum == 2


def test_a_short_reply_is_refused():
    with pytest.raises(NtpError, match="shorter than an NTP header"):
        parse_reply(b"\x24" * 20)


async def test_an_unknown_name_is_said_so():
    with pytest.raises(NtpError, match="could not be resolved"):
        await exchange("no-such-host.invalid", 123, FakeClock(), 0.5)


@pytest.mark.parametrize(("text", "shown", "port"), [
    ("192.0.2.1", "192.0.2.1", 123), ("192.0.2.1:11123", "192.0.2.1:11123", 11123),
    ("ntp.example.com", "ntp.example.com", 123), ("[2001:db8::1]:1234", "[2001:db8::1]:1234", 1234),
    ("2001:db8::1", "[2001:db8::1]", 123), (" time.example ", "time.example", 123),
])
def test_server_addresses(text, shown, port):
    server = parse_server(text, 123)
    assert str(server) == shown and server.port == port


@pytest.mark.parametrize(("text", "why"), [
    ("300.1.2.3", "not an IPv4 address"), ("1.2.3", "not an IPv4 address"), ("host_name", "neither a host name"),
    ("a:b:c", "not an IPv6 address"), ("192.0.2.1:0", "is not 1 to 65535"), ("192.0.2.1:70000", "is not 1 to 65535"),
    ("[::g]:12", "not an IPv6 address"), ("", "empty"), ("-bad.example", "neither a host name"),
])
def test_bad_server_addresses(text, why):
    with pytest.raises(ValueError, match=why):
        parse_server(text, 123)


def test_a_server_list_parameter():
    check = list_problem(123)
    assert check("") is None and check("a.example, 192.0.2.1:124") is None
    assert check(",".join(f"s{i}.example" for i in range(6))) == "at most 5 servers"
    assert "not an IPv4 address" in check("a.example,999.1.1.1")
