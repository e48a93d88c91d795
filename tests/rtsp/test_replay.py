"""Replay of stored footage on the RTSP server (ONVIF Streaming Specification, "Playback"), one
S3016 with stored recordings for the whole module: ffprobe reads a whole recording (its id from
the recording list); a raw RTP reader (tests/peers/rtp_reader.py) checks the 0xABAC times against
the stored frame times, Range clock and npt, reverse Scale, Frames intra, the gap between two
recordings and recordings that overlap, PAUSE and resume, a new speed and a seek while playing,
UDP, an encrypted volume's recording; GStreamer's ONVIF client seeks by clock and plays in
reverse; and bad requests get their status while the server serves on."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.conftest import ADMIN
from tests.peers.rtp_reader import C, D, E, T, Unit, is_bye, units, until_bye
from tests.peers.rtsp_client import Reply, RtspClient, control_url
from tests.rtsp.conftest import RECORDINGS, T0, StoredFootage, stored_footage
from vigil.footage import atrest

pytestmark = pytest.mark.asyncio(loop_scope="module")
REPLAY = {"Require": "onvif-replay"}
GST_CLIENT = Path(__file__).parents[1] / "peers" / "gst_replay_client.py"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stored(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StoredFootage]:
    async with stored_footage(tmp_path_factory.mktemp("replay")) as footage:
        yield footage


def clock(moment: float) -> str:
    when = datetime.fromtimestamp(moment, UTC)
    return when.strftime("%Y%m%dT%H%M%S") + f".{when.microsecond // 1000:03d}Z"


async def session(stored: StoredFootage, query: str, path: str = "/axis-media/media.amp") -> RtspClient:
    """A client with the replay's video track set up over TCP (DESCRIBE and SETUP require onvif-replay)."""
    client = await RtspClient.open(stored.port, stored.url(query, None, path), *ADMIN)
    describe = await client.request("DESCRIBE", headers={"Accept": "application/sdp", **REPLAY})
    assert describe.status == 200, describe.raw
    control = control_url(describe.body.decode(), "video", describe.header("content-base"))
    setup = await client.request("SETUP", control, headers={"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1",
                                                            **REPLAY})
    assert setup.status == 200, setup.raw
    return client


async def play_all(stored: StoredFootage, query: str, headers: dict[str, str],
                   path: str = "/axis-media/media.amp") -> tuple[Reply, list[Unit]]:
    client = await session(stored, query, path)
    try:
        reply = await client.request("PLAY", headers={**REPLAY, **headers})
        assert reply.status == 200, reply.raw
        return reply, units(await until_bye(client))
    finally:
        client.close()


async def ffprobe(url: str) -> dict:
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-count_frames", "-show_entries",
        "stream=codec_name,width,height,nb_read_frames:format=duration", "-of", "json", url,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


async def test_ffprobe_reads_a_whole_recording(stored: StoredFootage) -> None:
    async with httpx.AsyncClient(auth=httpx.DigestAuth(*ADMIN)) as http:  # the id as the recording list gives it
        listed = await http.get(f"http://127.0.0.1:{stored.device.ports.http}/axis-cgi/record/list.cgi",
                                params={"recordingid": "all"})
    ids = re.findall(r'recordingid="([^"]+)"', listed.text)
    assert sorted(ids) == sorted(RECORDINGS)
    found = await ffprobe(stored.url("recordingid=camB"))
    assert found["streams"] == [{"codec_name": "h264", "width": 320, "height": 240, "nb_read_frames": "60"}]
    assert float(found["format"]["duration"]) == pytest.approx(4.0)


async def test_extension_times_are_the_stored_frame_times(stored: StoredFootage) -> None:
    reply, got = await play_all(stored, "recordingid=camA", {"Range": f"clock={clock(T0 + 2.5)}-",
                                                            "Rate-Control": "no"})
    assert reply.header("range") == f"clock={clock(T0 + 2.5)}-"
    stored_times = StoredFootage.frame_times("camA")
    # From the key frame at or before the start (2.0 s) to the end, each frame once, in order.
    assert [u.ntp for u in got] == pytest.approx(stored_times[30:], abs=1e-6)
    assert [u.has(C) for u in got] == [n % 15 == 0 for n in range(30, 90)]
    assert [n for n, u in enumerate(got) if u.has(E) or u.has(T)] == [59]  # the end of the footage
    assert not any(u.has(D) for u in got)
    assert {u.cseq for u in got} == {int(reply.header("cseq")) & 0xFF}
    assert all(u.nal_types[:2] == [7, 8] for u in got if u.has(C))  # parameter sets before each key frame
    info = dict(part.split("=", 1) for part in reply.header("rtp-info").split(";")[1:])
    seqs = [s for u in got for s in u.seqs]
    assert seqs == [(int(info["seq"]) + n) & 0xFFFF for n in range(len(seqs))]
    # RTP time is recording time (Rate-Control: no), and RTP-Info's rtptime is the Range start's.
    rtptime = int(info["rtptime"])
    assert [(u.rtp_time - rtptime) & 0xFFFFFFFF for u in got[15:]] == [
        round((t - T0 - 2.5) * 90000) for t in stored_times[45:]]


async def test_npt_range_ends_where_asked(stored: StoredFootage) -> None:
    reply, got = await play_all(stored, "recordingid=camA", {"Range": "npt=1.5-3", "Rate-Control": "no"})
    assert reply.header("range") == "npt=1.500-3.000"
    assert [u.ntp for u in got] == pytest.approx(StoredFootage.frame_times("camA")[15:45], abs=1e-6)
    assert got[-1].has(T) and not got[-1].has(E)  # the last one sent, but no end of the footage


async def test_reverse_sends_gops_backwards(stored: StoredFootage) -> None:
    reply, got = await play_all(stored, "recordingid=camA", {"Range": f"clock={clock(T0 + 3.5)}-",
                                                            "Rate-Control": "no", "Scale": "-1.0"})
    assert reply.header("scale") == "-1"
    times = StoredFootage.frame_times("camA")
    gops = [times[45:53], times[30:45], times[15:30], times[0:15]]  # the first only up to 3.5 s
    assert [u.ntp for u in got] == pytest.approx([t for gop in gops for t in gop], abs=1e-6)
    starts = [sum(len(g) for g in gops[:n]) for n in range(len(gops))]
    assert [n for n, u in enumerate(got) if u.has(D)] == starts  # each GOP follows a discontinuity
    assert [n for n, u in enumerate(got) if u.has(C)] == starts
    assert [n for n, u in enumerate(got) if u.has(E)] == [len(got) - 1]  # the GOP at the footage's start
    assert got[-1].has(T)
    seqs = [s for u in got for s in u.seqs]  # sequence numbers in the order of delivery
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False))
    # RTP times are the recording's: rising within a GOP, falling from one key frame to the next.
    keys = [got[n].rtp_time for n in starts]
    assert all((a - b) & 0xFFFFFFFF == 15 * 6000 for a, b in zip(keys[1:], keys[2:], strict=False))


async def test_intra_frames_only(stored: StoredFootage) -> None:
    times = StoredFootage.frame_times("camA")
    _, got = await play_all(stored, "recordingid=camA", {"Range": "npt=0-", "Rate-Control": "no",
                                                        "Frames": "intra"})
    assert [u.ntp for u in got] == pytest.approx(times[::15], abs=1e-6)
    assert all(u.has(C) for u in got)
    _, spaced = await play_all(stored, "recordingid=camA", {"Range": "npt=0-", "Rate-Control": "no",
                                                           "Frames": "intra/2000"})
    assert [u.ntp for u in spaced] == pytest.approx(times[::30], abs=1e-6)


async def test_a_gap_between_recordings_ends_a_section(stored: StoredFootage) -> None:
    _, got = await play_all(stored, "recording=recording_1", {"Range": f"clock={clock(T0)}-", "Rate-Control": "no"},
                            path="/onvif-replay")
    expected = StoredFootage.frame_times("camA") + StoredFootage.frame_times("camB")
    assert [u.ntp for u in got] == pytest.approx(expected, abs=1e-6)
    assert [n for n, u in enumerate(got) if u.has(E)] == [89, 149]
    # A start in the gap plays from the next section; in reverse, from the one before it.
    _, after = await play_all(stored, "recording=recording_1", {"Range": f"clock={clock(T0 + 8)}-",
                                                               "Rate-Control": "no"}, path="/onvif-replay")
    assert after[0].ntp == pytest.approx(T0 + 10, abs=1e-6)
    _, before = await play_all(stored, "recording=recording_1", {"Range": f"clock={clock(T0 + 8)}-",
                                                                "Rate-Control": "no", "Scale": "-1"},
                               path="/onvif-replay")
    assert before[0].ntp == pytest.approx(T0 + 5, abs=1e-6)
    assert len(before) == 90 and before[14].has(E) is False and before[-1].has(E)


async def test_overlapping_recordings_play_each_instant_once(stored: StoredFootage) -> None:
    a, b = StoredFootage.frame_times("overlapA"), StoredFootage.frame_times("overlapB")
    _, forward = await play_all(stored, "recording=recording_2", {"Range": f"clock={clock(T0 + 200)}-",
                                                                 "Rate-Control": "no"}, path="/onvif-replay")
    assert [u.ntp for u in forward] == pytest.approx(a + b[30:], abs=1e-6)  # overlapB goes on after overlapA
    _, backward = await play_all(stored, "recording=recording_2", {"Range": f"clock={clock(T0 + 206)}-",
                                                                  "Rate-Control": "no", "Scale": "-1"},
                                 path="/onvif-replay")
    gops = [b[n:n + 15] for n in (45, 30, 15, 0)] + [a[n:n + 15] for n in (15, 0)]
    assert [u.ntp for u in backward] == pytest.approx([t for gop in gops for t in gop], abs=1e-6)
    assert [n for n, u in enumerate(forward + backward) if u.has(E)] == [len(forward) - 1, len(forward + backward) - 1]


async def test_pause_and_resume_where_it_paused(stored: StoredFootage) -> None:
    client = await session(stored, "recordingid=camA")
    try:
        assert (await client.request("PLAY", headers={**REPLAY, "Range": "npt=0-", "Scale": "4"})).status == 200
        packets = [(await client.frame()) for _ in range(40)]
        paused = await client.request("PAUSE")
        assert paused.status == 200
        packets += [p for channel, p in client.frames if channel == 0]  # what was on the way before the reply
        client.frames.clear()
        resumed = await client.request("PLAY", headers={**REPLAY, "Scale": "4"})
        assert resumed.status == 200
        after = units(await until_bye(client))
    finally:
        client.close()
    before = units(packets)
    if not before[-1].marker:  # the unit the PAUSE cut (its packets all went before the reply)
        before.pop()
    times = [u.ntp for u in before + after]
    assert times == pytest.approx(StoredFootage.frame_times("camA"), abs=1e-6)  # nothing twice, nothing missed
    assert not after[0].has(D)  # resuming is no discontinuity


async def test_a_new_speed_while_playing_goes_on_from_there(stored: StoredFootage) -> None:
    client = await session(stored, "recordingid=camA")
    try:
        assert (await client.request("PLAY", headers={**REPLAY, "Range": "npt=0-", "Scale": "2"})).status == 200
        packets = [(await client.frame()) for _ in range(30)]
        faster = await client.request("PLAY", headers={**REPLAY, "Scale": "8"})
        assert (faster.status, faster.header("scale")) == (200, "8")
        packets += [p for channel, p in client.frames if channel == 0]
        client.frames.clear()
        after = units(await until_bye(client))
    finally:
        client.close()
    before = units(packets)
    if not before[-1].marker:
        before.pop()
    assert [u.ntp for u in before + after] == pytest.approx(StoredFootage.frame_times("camA"), abs=1e-6)
    # RTP time runs at the new speed from where the new PLAY took over.
    assert (after[15].rtp_time - after[0].rtp_time) & 0xFFFFFFFF == 15 * 6000 // 8


async def test_a_play_with_a_range_seeks_while_playing(stored: StoredFootage) -> None:
    client = await session(stored, "recordingid=camA")
    try:
        assert (await client.request("PLAY", headers={**REPLAY, "Range": "npt=0-"})).status == 200
        await client.frame()
        seek = await client.request("PLAY", headers={**REPLAY, "Range": "npt=4.2-", "Rate-Control": "no"})
        assert seek.status == 200
        client.frames.clear()  # sent before the reply: the first PLAY's
        after = units(await until_bye(client))
    finally:
        client.close()
    assert [u.ntp for u in after] == pytest.approx(StoredFootage.frame_times("camA")[60:], abs=1e-6)
    assert after[0].has(D) and after[0].cseq == int(seek.header("cseq")) & 0xFF


class Datagrams(asyncio.DatagramProtocol):
    def __init__(self, kind: str, queue: asyncio.Queue) -> None:
        self.kind, self.queue = kind, queue

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((self.kind, data))


async def test_replay_over_udp(stored: StoredFootage) -> None:
    loop = asyncio.get_running_loop()
    received: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    rtp, _ = await loop.create_datagram_endpoint(lambda: Datagrams("rtp", received), local_addr=("127.0.0.1", 0))
    rtcp, _ = await loop.create_datagram_endpoint(lambda: Datagrams("rtcp", received), local_addr=("127.0.0.1", 0))
    client = await RtspClient.open(stored.port, stored.url("recordingid=camB", None), *ADMIN)
    try:
        describe = await client.request("DESCRIBE", headers=REPLAY)
        ports = f"{rtp.get_extra_info('sockname')[1]}-{rtcp.get_extra_info('sockname')[1]}"
        setup = await client.request("SETUP", control_url(describe.body.decode(), "video", describe.header("content-base")),
                                     headers={"Transport": f"RTP/AVP;unicast;client_port={ports}", **REPLAY})
        assert setup.status == 200, setup.raw
        # Paced (UDP has no flow control: a client of Rate-Control no reads over TCP), at 8x.
        assert (await client.request("PLAY", headers={**REPLAY, "Scale": "8"})).status == 200
        packets = []
        while True:
            kind, data = await asyncio.wait_for(received.get(), 10)
            if kind == "rtcp" and is_bye(data):
                break
            if kind == "rtp":
                packets.append(data)
    finally:
        client.close()
        rtp.close()
        rtcp.close()
    assert [u.ntp for u in units(packets)] == pytest.approx(StoredFootage.frame_times("camB"), abs=1e-6)


async def test_an_encrypted_volumes_recording_replays(stored: StoredFootage) -> None:
    _, got = await play_all(stored, "recordingid=vaultA", {"Range": "npt=0-", "Rate-Control": "no"})
    assert [u.ntp for u in got] == pytest.approx(StoredFootage.frame_times("vaultA"), abs=1e-6)
    atrest.keyring.set(stored.vault, None)  # locked
    try:
        client = await RtspClient.open(stored.port, stored.url("recordingid=vaultA", None), *ADMIN)
        locked = await client.request("DESCRIBE")
        client.close()
        assert locked.status == 503 and b"locked" in locked.body
    finally:
        atrest.keyring.set(stored.vault, stored.key)


async def test_bad_requests_get_their_status_and_the_server_serves_on(stored: StoredFootage) -> None:
    client = await RtspClient.open(stored.port, stored.url("recordingid=nope", None), *ADMIN)
    assert (await client.request("DESCRIBE")).status == 404
    client.close()
    client = await RtspClient.open(stored.port, stored.url("recordingid=camA&camera=1", None), *ADMIN)
    assert (await client.request("DESCRIBE")).status == 400
    client.close()
    client = await RtspClient.open(stored.port, stored.url("recordingid=camA", None), *ADMIN)
    unknown = await client.request("DESCRIBE", headers={"Require": "onvif-replay, x-teleport"})
    assert (unknown.status, unknown.header("unsupported")) == (551, "x-teleport")
    assert (await client.request("PLAY", headers=REPLAY)).status == 455  # no SETUP yet
    client.close()
    client = await session(stored, "recordingid=camA")
    try:
        for headers, status in (
            ({"Range": f"clock={clock(T0 + 6.5)}-"}, 457),  # after the footage
            ({"Range": f"clock={clock(T0 - 1)}-", "Scale": "-1"}, 457),  # before it, in reverse
            ({"Range": "npt=3-1"}, 457),  # backwards for a forward play
            ({"Range": "npt=abc-"}, 457), ({"Range": "smpte=0:00:01-"}, 457), ({"Range": "clock=2026-"}, 457),
            ({"Scale": "0"}, 400), ({"Scale": "fast"}, 400), ({"Scale": "nan"}, 400),
            ({"Frames": "some"}, 400), ({"Frames": "all/100"}, 400), ({"Rate-Control": "maybe"}, 400),
        ):
            reply = await client.request("PLAY", headers={**REPLAY, **headers})
            assert reply.status == status, (headers, reply.raw)
        huge = await client.send_raw(b"PLAY * RTSP/1.0\r\nCSeq: 99\r\nX-Fill: " + b"a" * 20_000 + b"\r\n\r\n")
        assert huge.status == 400
    finally:
        client.close()
    _, got = await play_all(stored, "recordingid=camB", {"Rate-Control": "no"})  # the server serves on
    assert [u.ntp for u in got] == pytest.approx(StoredFootage.frame_times("camB"), abs=1e-6)


async def gst_replay(url: str, start: float, rate: float) -> tuple[list[dict], bool]:
    """The access units (their first packets) GStreamer's `rtspsrc onvif-mode=true` received after
    its seek (see gst_replay_client.py: the packets of the seek's PLAY carry its CSeq), and whether
    it saw the end of the stream."""
    proc = await asyncio.create_subprocess_exec(
        "/usr/bin/python3", str(GST_CLIENT), "--url", url, "--start", repr(start), "--rate", str(rate),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = out.decode().splitlines()
    assert proc.returncode == 0 and lines, err.decode()[-2000:]
    marked = [p for p in (json.loads(line) for line in lines if line.startswith("{")) if "ntp" in p]
    return [p for p in marked if p["cseq"] == marked[-1]["cseq"]], lines[-1] == "EOS"


def ending(got: list[float], expected: list[float]) -> list[float]:
    """The end of `expected` that `got` should be: GStreamer's jitterbuffer discards the access unit
    that arrives before its clock has a time for it (the first one after a PLAY), none other."""
    assert len(expected) - 1 <= len(got) <= len(expected), (got, expected)
    return expected[len(expected) - len(got):]


async def test_gstreamer_onvif_client_seeks_by_clock_and_plays_reverse(stored: StoredFootage) -> None:
    times = StoredFootage.frame_times("camA")
    seeked, ended = await gst_replay(stored.url("recordingid=camA"), T0 + 4.5, 1.0)
    got = [p["ntp"] for p in seeked]
    assert got == pytest.approx(ending(got, times[60:]), abs=1e-6) and ended
    seeked, ended = await gst_replay(stored.url("recordingid=camA"), T0 + 2.5, -1.0)
    got = [p["ntp"] for p in seeked]
    assert got == pytest.approx(ending(got, times[30:38] + times[15:30] + times[0:15]), abs=1e-6) and ended
    discontinuities = [p["ntp"] for p in seeked if p["flags"] & D]  # each GOP's first frame
    assert discontinuities == pytest.approx(ending(discontinuities, [times[30], times[15], times[0]]), abs=1e-6)
