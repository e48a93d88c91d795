"""The pieces under playback and export, without a recorder: the OpenSSL `enc` format against
the real openssl binary for every padding case, reading back init segments and fragment
headers, Range parsing, and byte layouts."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from vigil.features.recording.crypto import OpenSSLCtrEncryptor, OpenSSLEncryptor, password_problem
from vigil.features.recording.responses import parse_range
from vigil.footage import mp4
from vigil.footage.reader import FileSpan, Layout


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 31, 32, 4095, 100_003])
def test_openssl_decrypts_what_the_encryptor_writes(size: int) -> None:
    plain = os.urandom(size)
    encryptor = OpenSSLEncryptor("pässword with spaces")
    sealed = bytearray(encryptor.header())
    for at in range(0, size, 7777):  # chunks that do not fall on block boundaries
        sealed += encryptor.update(plain[at:at + 7777])
    sealed += encryptor.finalize()
    assert len(sealed) == encryptor.size(size) and sealed[:8] == b"Salted__"
    run = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-pbkdf2", "-iter", "100000", "-pass",
                          "pass:pässword with spaces"], input=bytes(sealed), capture_output=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == plain
    # What exports send: the layout read and encrypted in place, chunk by chunk; the same bytes.
    layout = Layout()
    for at in range(0, size, 7777):
        layout.add_bytes(plain[at:at + 7777])
    for chunk in (OpenSSLEncryptor.chunk, 4096, 1000):  # 1000: not whole blocks, taken as 992
        streamed = OpenSSLEncryptor("pässword with spaces", encryptor.salt)
        streamed.chunk = chunk
        assert _sent_one_ahead(streamed.stream(layout.reader(), 0, len(sealed))) == sealed


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100_003])
def test_openssl_decrypts_the_ctr_format_and_any_range_of_it_can_be_made(size: int) -> None:
    plain = os.urandom(size)
    encryptor = OpenSSLCtrEncryptor("another password")
    sealed = bytearray(encryptor.header())
    for at in range(0, size, 7777):
        sealed += encryptor.update(plain[at:at + 7777])
    sealed += encryptor.finalize()
    assert len(sealed) == encryptor.size(size) == size + 16
    run = subprocess.run(["openssl", "enc", "-d", "-aes-256-ctr", "-pbkdf2", "-iter", "100000", "-pass",
                          "pass:another password"], input=bytes(sealed), capture_output=True)
    assert run.returncode == 0 and run.stdout == plain, run.stderr
    layout = Layout()
    layout.add_bytes(plain)
    for chunk in (encryptor.chunk, 1000):  # 1000: many chunks, the counter running on across them
        encryptor.chunk = chunk
        for first, end in ((0, len(sealed)), (3, 9), (15, 17), (16, 40), (100, 50_000), (len(sealed) - 5, len(sealed))):
            end = min(end, len(sealed))
            if 0 <= first < end:
                assert _sent_one_ahead(encryptor.stream(layout.reader(), first, end)) == sealed[first:end]


def _sent_one_ahead(views) -> bytes:
    """What a sender gets that holds each view while the next one is produced (as the export
    writers do): a view reused too early shows as wrong bytes."""
    out = bytearray()
    held = next(views, None)
    while held is not None:
        following = next(views, None)
        out += held
        held = following
    return bytes(out)


def test_password_rules() -> None:
    assert password_problem("12345678") is None
    assert password_problem("x" * 512) is None
    assert "8 to 512" in (password_problem("1234567") or "")
    assert "8 to 512" in (password_problem("x" * 513) or "")
    assert "8 to 512" in (password_problem("é" * 257) or "")  # 514 bytes of UTF-8
    assert "control" in (password_problem("tab\there1") or "")


def test_init_segments_read_back_to_their_tracks() -> None:
    avc = bytes.fromhex("0142c01fffe100166742c01fda014016e840000003004000000783c60ca801000468ce3c80")
    for tracks in (
        [mp4.TrackInfo(1, "video", "H264", 90000, avc, 1280, 720)],
        [mp4.TrackInfo(1, "video", "H264", 90000, avc, 1920, 1080),
         mp4.TrackInfo(2, "audio", "AAC", 48000, bytes.fromhex("1190"), channels=2, sample_rate=48000)],
        [mp4.TrackInfo(1, "video", "H265", 90000, b"\x01" * 40, 640, 480),
         mp4.TrackInfo(2, "audio", "PCMA", 8000, channels=1, sample_rate=8000)],
    ):
        init = mp4.init_segment(tracks)
        assert mp4.parse_init(init) == tracks
        assert mp4.parse_init(mp4.with_fragment_duration(init, 12345)) == tracks
        assert b"mehd" in mp4.with_fragment_duration(init, 12345)


def test_fragment_headers_read_back_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [mp4.TrackRun(1, 123_456, [3000, 3000, 3001], [10, 20, 30], [True, False, False],
                         [b"a" * 10, b"b" * 20, b"c" * 30]),
            mp4.TrackRun(2, 777, [1024, 1024], [5, 6], [True, True], [b"d" * 5, b"e" * 6])]
    data = mp4.fragment(42, runs)
    quick = mp4.parse_moof(data)
    monkeypatch.setattr(mp4, "_parse_own_moof", lambda _data: None)
    general = mp4.parse_moof(data)
    assert quick == general
    assert int.from_bytes(data[quick.sequence_at:quick.sequence_at + 4], "big") == 42
    video, audio = quick.runs
    assert (video.track_id, video.base_time, video.durations, video.sizes, video.keys) == \
        (1, 123_456, (3000, 3000, 3001), (10, 20, 30), (True, False, False))
    assert data[video.data_offset:video.data_offset + 10] == b"a" * 10
    assert data[audio.data_offset:audio.data_offset + 5] == b"d" * 5
    assert int.from_bytes(data[audio.tfdt_at:audio.tfdt_at + 8], "big") == 777
    # What parse_fragment (the recorder's reader) sees agrees.
    samples = mp4.parse_fragment(data)
    assert [s.data for s in samples] == runs[0].data + runs[1].data


@pytest.mark.parametrize(("header", "expected"), [
    (None, None), ("", None), ("bytes=0-99", (0, 100)), ("bytes=100-", (100, 1000)), ("bytes=-10", (990, 1000)),
    ("bytes=900-5000", (900, 1000)), ("bytes=1000-", "unsatisfiable"), ("bytes=-0", "unsatisfiable"),
    ("bytes=5-1", None), ("bytes=0-1,4-5", None), ("items=0-1", None), ("bytes=a-b", None),
])
def test_range_header(header: str | None, expected: object) -> None:
    assert parse_range(header, 1000) == expected


def _joined(parts) -> bytes:
    """What a socket receives for layout parts (FileSpans read as sendfile would send them)."""
    out = b""
    for part in parts:
        out += os.pread(part.fd, part.length, part.offset) if isinstance(part, FileSpan) else bytes(part)
    return out


def test_layout_reads_any_range_across_pieces(tmp_path) -> None:
    source = tmp_path / "segment"
    content = bytearray(bytes(range(256)) * 40)
    content[1000:1012] = (12).to_bytes(4, "big") + b"moof" + b"abcd"  # a 12-byte moof, then its mdat
    source.write_bytes(content)
    fd = os.open(source, os.O_RDONLY)
    try:
        layout = Layout()
        layout.add_bytes(b"HEAD")
        layout.add_span(fd, 10, 100)
        layout.add_span(fd, 110, 50)  # contiguous: merged into one span
        layout.add_bytes(b"--")
        layout.add_fragment(fd, 1000, 20, lambda moof: moof[:8] + moof[8:][::-1])  # the moof only is patched
        layout.add_span(fd, 3, 7)
        stored = bytes(content)
        whole = b"HEAD" + stored[10:160] + b"--" + stored[1000:1008] + b"dcba" + stored[1012:1020] + stored[3:10]
        assert layout.size == len(whole) and len(layout.pieces) == 5
        reader = layout.reader()
        for first in range(0, len(whole), 7):
            for length in (1, 13, 200):
                assert reader.read(first, length) == whole[first:first + length]
                # as sent on plain HTTP: stored spans of 30 bytes or more as FileSpans, the rest as bytes
                parts = list(reader.parts(first, min(first + length, len(whole)), size=120))
                assert _joined(parts) == whole[first:first + length]
        spans = [p for p in reader.parts(0, layout.size, size=120) if isinstance(p, FileSpan)]
        assert [(s.offset, s.length) for s in spans] == [(10, 150)]
        assert b"".join(layout.reader().chunks(0, layout.size, 17)) == whole
        assert _joined(layout.reader().parts(0, layout.size, direct=False, size=17)) == whole
    finally:
        os.close(fd)
