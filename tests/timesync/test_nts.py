"""NTS pieces without a server: the key establishment records, the certificate's names, the
authenticator that a forged reply cannot open, and a new key establishment after NTSN."""

from __future__ import annotations

import struct

import pytest
from cryptography import x509

from tests.peers.certs import ca_signed
from vigil.core.clock import FakeClock
from vigil.features.timesync import nts
from vigil.features.timesync.ntp import NtpError
from vigil.features.timesync.servers import parse_server


def answer(*records: bytes) -> list:
    return nts.parse_records(b"".join(records) + nts.record(nts.END, b"", critical=True))


GOOD = (nts.record(nts.NEXT_PROTOCOL, b"\0\0", True), nts.record(nts.AEAD, b"\0\x0f"))


def test_the_servers_answer_gives_cookies_and_where_to_ask():
    cookies, host, port = nts.session_from(answer(*GOOD, nts.record(nts.NEW_COOKIE, b"c1"),
                                                  nts.record(nts.NEW_COOKIE, b"c2"),
                                                  nts.record(nts.SERVER, b"ntp.example"),
                                                  nts.record(nts.PORT, b"\x2b\x73", True)), "ke.example")
    assert (cookies, host, port) == ([b"c1", b"c2"], "ntp.example", 11123)
    assert nts.session_from(answer(*GOOD, nts.record(nts.NEW_COOKIE, b"c")), "ke.example")[1:] == ("ke.example", 123)


@pytest.mark.parametrize(("records", "why"), [
    ((nts.record(nts.ERROR, b"\0\1", True),), "answered with error 1"),
    ((nts.record(nts.NEXT_PROTOCOL, b"\0\5", True), GOOD[1], nts.record(nts.NEW_COOKIE, b"c")), "NTPv4"),
    ((GOOD[0], nts.record(nts.AEAD, b"\0\x10"), nts.record(nts.NEW_COOKIE, b"c")), "AES_SIV_CMAC_256"),
    (GOOD, "no cookies"),
    ((*GOOD, nts.record(nts.NEW_COOKIE, b"c"), nts.record(99, b"", True)), "critical record"),
])
def test_answers_that_are_refused(records, why):
    with pytest.raises(nts.NtsError, match=why):
        nts.session_from(answer(*records), "ke.example")


def test_an_answer_cut_short():
    with pytest.raises(nts.NtsError, match="End of Message"):
        nts.parse_records(GOOD[0])
    with pytest.raises(nts.NtsError, match="cut short"):
        nts.parse_records(struct.pack(">HH", 5, 100) + b"x")


def test_the_certificate_must_name_the_server(tmp_path):
    certs = ca_signed(tmp_path)
    chain = [x509.load_pem_x509_certificate(certs.cert.read_bytes())]
    trusted = nts.trusted_certificates([certs.ca])
    nts.verify_names(chain, trusted, parse_server("127.0.0.1", 4460))
    nts.verify_names(chain, trusted, parse_server("localhost", 4460))
    with pytest.raises(nts.NtsError, match="not trusted for that name"):
        nts.verify_names(chain, trusted, parse_server("127.0.0.2", 4460))
    with pytest.raises(nts.NtsError, match="not trusted for that name"):
        nts.verify_names(chain, nts.trusted_certificates([certs.other_ca]), parse_server("localhost", 4460))
    with pytest.raises(nts.NtsError, match="sent no certificate"):
        nts.verify_names([], trusted, parse_server("localhost", 4460))


def test_a_forged_or_altered_reply_does_not_open():
    key = bytes(range(32))
    header = b"\x24" + b"\0" * 47
    field = nts.authenticator(key, header)
    packet = header + field
    assert nts.open_authenticator(key, packet, 48, packet[52:]) == b""
    altered = b"\x25" + packet[1:]
    with pytest.raises(nts.NtsError, match="does not open"):
        nts.open_authenticator(key, altered, 48, altered[52:])
    with pytest.raises(nts.NtsError, match="does not open"):
        nts.open_authenticator(bytes(32), packet, 48, packet[52:])


async def test_a_kiss_of_ntsn_asks_for_a_new_key_establishment(clock, ntp_servers):
    server = await ntp_servers(kiss="NTSN")
    source = nts.NtsSource(parse_server("ke.example", 4460), [], 0.5)
    source.session = nts.KeySession(bytes(32), bytes(32), [b"cookie1", b"cookie2"], "127.0.0.1", server.port)
    with pytest.raises(NtpError, match="kiss code NTSN"):
        await source.sample(FakeClock())
    assert source.session is None
