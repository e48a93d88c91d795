"""The body-worn beacon format (vigil/features/beacon/payload.py): encoding, reading, and the
refusals of data that is not a beacon and of System IDs and message types users mistype."""

from __future__ import annotations

import pytest

from vigil.features.beacon.payload import (
    MalformedBeacon,
    Signal,
    decode,
    encode,
    parse_message_type,
    parse_system_id,
)


def test_a_signal_reads_back_as_it_was_written() -> None:
    signal = Signal(0x00C0FFEE, 1, 200)
    assert encode(signal) == bytes([1, 0x00, 0xC0, 0xFF, 0xEE, 1, 200])
    assert decode(encode(signal)) == signal and signal.system == "00C0FFEE"


@pytest.mark.parametrize("data, why", [
    (b"", "0 bytes"),
    (bytes([1, 0, 0, 0, 1, 1]), "6 bytes"),
    (bytes([1, 0, 0, 0, 1, 1, 0, 0]), "8 bytes"),
    (bytes([2, 0, 0, 0, 1, 1, 0]), "unknown beacon format 2"),
    (bytes([1, 0, 0, 0, 1, 0, 0]), "message type 0"),
])
def test_malformed_data_says_why(data: bytes, why: str) -> None:
    with pytest.raises(MalformedBeacon, match=why):
        decode(data)


@pytest.mark.parametrize("text, number", [("00C0FFEE", 0xC0FFEE), ("c0ffee", 0xC0FFEE), (" 1 ", 1),
                                          ("FFFFFFFF", 0xFFFFFFFF)])
def test_system_ids(text: str, number: int) -> None:
    assert parse_system_id(text) == number


@pytest.mark.parametrize("text", ["", "123456789", "G1", "0x12", "١٢", "12 34"])
def test_bad_system_ids_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="8 hexadecimal digits"):
        parse_system_id(text)


@pytest.mark.parametrize("text", ["0", "256", "-1", "1.5", "x", "9" * 50])
def test_bad_message_types_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="1 to 255"):
        parse_message_type(text)
