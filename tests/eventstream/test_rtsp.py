"""The RTSP metadata event stream, driven by real clients over 127.0.0.1: a raw RTSP client
(UDP and interleaved TCP), bad input, timeouts, many clients, a client that stops reading,
and ffprobe."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import struct

import pytest
from lxml import etree

from tests.conftest import ADMIN
from tests.eventstream.conftest import PORT_TOPIC, PULSE_TOPIC, VIEWER, Running
from tests.peers.rtsp_client import RtspClient as BaseRtspClient
from tests.peers.rtsp_client import control_url

NS = {"tt": "http://www.onvif.org/ver10/schema", "wsnt": "http://docs.oasis-open.org/wsn/b-2"}


# -- the raw RTSP client (tests/peers/rtsp_client.py), reading metadata events -------------
class RtspClient(BaseRtspClient):
    async def next_event(self, match, timeout: float = 5.0) -> dict:
        """The next interleaved event `match` accepts; other devices' properties are skipped."""
        async with asyncio.timeout(timeout):
            while True:
                event = event_of(parse_rtp(await self.frame(timeout))[4])
                if match(event):
                    return event


class UdpReceiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.packets.put_nowait(data)


async def udp_pair() -> tuple[asyncio.DatagramTransport, UdpReceiver, int]:
    """A receiving socket on an even port P whose P+1 is free too (RTP/RTCP)."""
    loop = asyncio.get_running_loop()
    for _ in range(50):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        port = rtp.getsockname()[1]
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if port % 2:
                raise OSError
            probe.bind(("127.0.0.1", port + 1))
        except OSError:
            rtp.close()
            continue
        finally:
            probe.close()
        receiver = UdpReceiver()
        transport, _ = await loop.create_datagram_endpoint(lambda r=receiver: r, sock=rtp)
        return transport, receiver, port
    raise OSError("no UDP port pair")


def parse_rtp(packet: bytes) -> tuple[int, int, int, bool, etree._Element]:
    """(payload type, sequence, timestamp, marker, metadata document root)."""
    first, second, seq, timestamp, _ssrc = struct.unpack("!BBHII", packet[:12])
    assert first >> 6 == 2 and not first & 0x3F, "RTP version 2, no padding/extension/CSRC"
    root = etree.fromstring(packet[12:])
    return second & 0x7F, seq, timestamp, bool(second & 0x80), root


def ours(port: str):
    """Events of the test's own port, or the test pulse (the device has properties of its own)."""
    return lambda e: (e["topic"] == PORT_TOPIC and e["source"] == {"port": port}) or e["topic"] == PULSE_TOPIC


async def next_udp(receiver: UdpReceiver, match, seen: list | None = None, timeout: float = 5.0):
    """The next datagram whose event `match` accepts, parsed; every parsed packet goes to `seen`."""
    async with asyncio.timeout(timeout):
        while True:
            parsed = parse_rtp(await receiver.packets.get())
            if seen is not None:
                seen.append(parsed)
            if match(event_of(parsed[4])):
                return parsed


def event_of(root: etree._Element) -> dict:
    assert root.tag == f"{{{NS['tt']}}}MetadataStream"
    message = root.find("tt:Event/wsnt:NotificationMessage/wsnt:Message/tt:Message", NS)
    topic = root.find("tt:Event/wsnt:NotificationMessage/wsnt:Topic", NS)
    return {
        "topic": topic.text,
        "operation": message.get("PropertyOperation"),
        "time": message.get("UtcTime"),
        "source": {i.get("Name"): i.get("Value") for i in message.findall("tt:Source/tt:SimpleItem", NS)},
        "data": {i.get("Name"): i.get("Value") for i in message.findall("tt:Data/tt:SimpleItem", NS)},
    }


# -- the stream over UDP and TCP -----------------------------------------------------------
async def test_udp_stream_with_digest(running: Running) -> None:
    running.publish("41", "0")
    transport, receiver, port = await udp_pair()
    client = await RtspClient.open(running.ports.rtsp, running.url(), *ADMIN)
    try:
        options = await client.request("OPTIONS", auth=None)
        assert options.status == 200 and "DESCRIBE" in options.header("public")
        first = await client.send_raw(f"DESCRIBE {client.url} RTSP/1.0\r\nCSeq: 9\r\n\r\n".encode())
        assert first.status == 401
        challenge = first.header("www-authenticate").split("\n")[0]
        assert re.fullmatch(r'Digest realm="[^"]+", nonce="[^"]+", stale=FALSE', challenge), challenge
        assert first.header("cseq") == "9"
        setup = await client.start(f"RTP/AVP;unicast;client_port={port}-{port + 1}")
        assert f"client_port={port}-{port + 1}" in setup.header("transport")
        assert re.search(r"server_port=\d+-\d+", setup.header("transport"))
        assert re.fullmatch(r"[0-9A-F]+;timeout=60", setup.header("session"))

        seen: list = []
        initial = await next_udp(receiver, ours("41"), seen)
        assert all(event_of(p[4])["operation"] == "Initialized" for p in seen)  # the state comes first
        running.publish("41", "1")
        running.device.events.publish(PULSE_TOPIC, {}, {"description": "test <&> pulse"})
        changed = await next_udp(receiver, ours("41"), seen)
        pulse = await next_udp(receiver, ours("41"), seen)
        assert all(pt >= 96 and marker for pt, _, _, marker, _ in seen)
        seqs = [seq for _, seq, _, _, _ in seen]
        assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))]
        stamps = [ts for _, _, ts, _, _ in seen]
        assert all((b - a) & 0xFFFFFFFF < 90_000 * 60 for a, b in zip(stamps, stamps[1:], strict=False))
        assert event_of(initial[4]) == {"topic": PORT_TOPIC, "operation": "Initialized",
                                        "time": "2023-11-14T22:13:20.000000Z",
                                        "source": {"port": "41"}, "data": {"state": "0"}}
        assert event_of(changed[4])["operation"] == "Changed" and event_of(changed[4])["data"] == {"state": "1"}
        assert event_of(pulse[4])["topic"] == PULSE_TOPIC and event_of(pulse[4])["operation"] is None
        assert event_of(pulse[4])["data"] == {"description": "test <&> pulse"}

        keepalive = await client.request("OPTIONS", auth=None)  # the axis library's keep-alive
        assert keepalive.status == 200 and keepalive.header("session").startswith(client.session)
        assert (await client.request("GET_PARAMETER")).status == 200
        assert (await client.request("TEARDOWN")).status == 200
        running.publish("41", "0")
        with pytest.raises(TimeoutError):
            await next_udp(receiver, ours("41"), timeout=0.5)
        assert (await client.request("GET_PARAMETER")).status == 454
    finally:
        client.close()
        transport.close()


async def test_interleaved_tcp_with_basic(running: Running) -> None:
    running.publish("42", "1")
    client = await RtspClient.open(running.ports.rtsp, running.url("event=on"), *VIEWER)
    try:
        describe = await client.request("DESCRIBE", auth="basic")
        assert describe.status == 200
        sdp = describe.body.decode()
        assert describe.header("content-type") == "application/sdp"
        assert re.search(r"^m=application 0 RTP/AVP (\d+)\r$", sdp, re.M)
        assert re.search(r"^a=rtpmap:\d+ vnd.onvif.metadata/90000\r$", sdp, re.M)
        control = control_url(sdp)
        assert control.startswith(f"rtsp://127.0.0.1:{running.ports.rtsp}/axis-media/media.amp")
        setup = await client.request("SETUP", control, {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}, "basic")
        assert setup.status == 200 and "interleaved=0-1" in setup.header("transport")
        play = await client.request("PLAY", f"rtsp://127.0.0.1:{running.ports.rtsp}/axis-media/media.amp/",
                                    auth="basic")  # ffmpeg plays the Content-Base URL
        assert play.status == 200
        first = await client.next_event(ours("42"))
        assert first["operation"] == "Initialized" and first["data"] == {"state": "1"}
        running.publish("42", "0")
        second = await client.next_event(ours("42"))
        assert second["operation"] == "Changed" and second["data"] == {"state": "0"}
        # Keep-alives still get their replies in between the data.
        assert (await client.request("GET_PARAMETER", auth="basic")).status == 200
        assert (await client.request("PAUSE", auth="basic")).status == 200
        running.publish("42", "1")
        client.frames.clear()
        assert (await client.request("PLAY", auth="basic")).status == 200
        again = await client.next_event(ours("42"))  # PLAY again: the state once more
        assert again["operation"] == "Initialized" and again["data"] == {"state": "1"}
    finally:
        client.close()


async def test_event_topic_filter_in_url(running: Running) -> None:
    running.publish("43", "0")
    running.device.events.publish(PULSE_TOPIC, {}, {"description": "x"})
    client = await RtspClient.open(running.ports.rtsp, running.url("event=on&eventtopic=onvif:Device/axis:IO/Port"),
                                   *ADMIN)
    try:
        await client.start("RTP/AVP/TCP;unicast;interleaved=0-1")
        assert (await client.next_event(ours("43")))["topic"] == PORT_TOPIC
        running.device.events.publish(PULSE_TOPIC, {}, {"description": "y"})
        running.publish("43", "1")
        event = await client.next_event(lambda e: e["operation"] != "Initialized")
        assert event["topic"] == PORT_TOPIC and event["source"] == {"port": "43"}
    finally:
        client.close()


async def test_anonymous_when_allowed(running: Running) -> None:
    client = await RtspClient.open(running.ports.rtsp, running.url())
    try:
        assert (await client.request("DESCRIBE", auth=None)).status == 401
        running.device.params.set_internal({"Network.RTSP.ProtViewer": "anonymous"})
        assert (await client.request("DESCRIBE", auth=None)).status == 200
        client.user, client.password = "root", "wrong"
        assert (await client.request("DESCRIBE", auth="basic")).status == 401  # wrong credentials still count
    finally:
        client.close()


async def test_wrong_credentials(running: Running) -> None:
    client = await RtspClient.open(running.ports.rtsp, running.url(), "root", "wrong-password")
    try:
        reply = await client.request("DESCRIBE")
        assert reply.status == 401
        assert "stale=FALSE" in reply.header("www-authenticate")
        running.device.logs.flush()
        assert any("RTSP authentication failed for root" in e.message
                   for e in running.device.logs.entries("access"))
        # A Digest signed for another resource is refused too.
        client.password = ADMIN[1]
        client.url = f"rtsp://127.0.0.1:{running.ports.rtsp}/other"
        reply = await client.send_raw(
            f"DESCRIBE {running.url()} RTSP/1.0\r\nCSeq: 5\r\nAuthorization: {client.authorization('DESCRIBE')}\r\n\r\n"
            .encode())
        assert reply.status == 401
    finally:
        client.close()


async def test_session_timeout(running: Running) -> None:
    client = await RtspClient.open(running.ports.rtsp, running.url(), *ADMIN)
    try:
        await client.start("RTP/AVP/TCP;unicast;interleaved=0-1")
        server = running.rtsp
        assert client.session in server.sessions
        running.clock.advance(40)
        assert (await client.request("GET_PARAMETER")).status == 200  # keep-alive
        running.clock.advance(40)
        server.reap()
        assert client.session in server.sessions
        running.clock.advance(61)
        for _ in range(50):  # the reaper runs on its own every second
            if client.session not in server.sessions:
                break
            await asyncio.sleep(0.1)
        assert client.session not in server.sessions
        assert not any(running.fanout.listeners)
        # The connection, idle for longer than the timeout and without a session, goes too.
        assert await asyncio.wait_for(client.reader.read(1), 5) == b""
    finally:
        client.close()


async def test_connection_close_ends_sessions(running: Running) -> None:
    client = await RtspClient.open(running.ports.rtsp, running.url(), *ADMIN)
    await client.start("RTP/AVP/TCP;unicast;interleaved=0-1")
    client.close()
    for _ in range(50):
        if not running.rtsp.sessions:
            break
        await asyncio.sleep(0.05)
    assert not running.rtsp.sessions and not running.fanout.listeners


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "status"), [
    (b"GARBAGE\r\n\r\n", 400),
    (b"DESCRIBE rtsp://x/ HTTP/1.1\r\nCSeq: 1\r\n\r\n", 400),
    (b"OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n", 505),
    (b"OPTIONS * RTSP/1.0\r\n\r\n", 400),
    (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nno colon here\r\n\r\n", 400),
    (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: x\r\n\r\n", 400),
    (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b"\xff\xfe OPTIONS\r\n\r\n", 400),
    (b"DESCRIBE rtsp://127.0.0.1/axis-media/media.amp?event=on\rX:1 RTSP/1.0\r\nCSeq: 1\r\n\r\n", 400),
    (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Bad: a\x01b\r\n\r\n", 400),
    (b"OPTIONS rtsp://h\xc3\xa9/ RTSP/1.0\r\nCSeq: 1\r\n\r\n", 400),
])
async def test_malformed_requests(running: Running, raw: bytes, status: int) -> None:
    client = await RtspClient.open(running.ports.rtsp, running.url())
    try:
        assert (await client.send_raw(raw)).status == status
    finally:
        client.close()
    # the server is still fine
    other = await RtspClient.open(running.ports.rtsp, running.url())
    assert (await other.request("OPTIONS", auth=None)).status == 200
    other.close()


async def test_oversized_header(running: Running) -> None:
    client = await RtspClient.open(running.ports.rtsp, running.url())
    try:
        reply = await client.send_raw(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: " + b"a" * 40000 + b"\r\n\r\n")
        assert reply.status == 400
    finally:
        client.close()


async def test_methods_and_sessions(running: Running) -> None:
    client = await RtspClient.open(running.ports.rtsp, running.url(), *ADMIN)
    try:
        assert (await client.request("BREW")).status == 501
        reply = await client.request("RECORD")
        assert reply.status == 405 and "PLAY" in reply.header("allow")
        assert (await client.request("PLAY")).status == 455  # no session yet
        client.session = "DEADBEEF"
        assert (await client.request("PLAY")).status == 454
        assert (await client.request("OPTIONS", auth=None)).status == 454
        client.session = ""
        assert (await client.request("DESCRIBE", running.url("video=1"))).status == 404
        assert (await client.request("DESCRIBE", f"rtsp://127.0.0.1:{running.ports.rtsp}/nope?event=on")).status == 404
        assert (await client.request("DESCRIBE", headers={"Accept": "text/html"})).status == 406
        assert (await client.request("SETUP")).status == 461  # no Transport
        assert (await client.request("SETUP", headers={"Transport": "RTP/AVP;multicast"})).status == 461
        assert (await client.request("SETUP", headers={"Transport": "RTP/AVP;unicast;client_port=x-y"})).status == 461
        bad_filter = running.url("event=on&eventtopic=" + "a" * 2000)
        assert (await client.request("DESCRIBE", bad_filter)).status == 400
        # The connection still works after all of that.
        await client.start("RTP/AVP/TCP;unicast;interleaved=0-1")
        assert (await client.request("SETUP", headers={"Transport": "RTP/AVP/TCP;interleaved=2-3"})).status == 455
    finally:
        client.close()


async def test_blocked_after_failures(running: Running) -> None:
    running.device.params.set_internal({"System.BruteForce.Enabled": "yes"})
    limit = running.device.params.get_int("System.BruteForce.DeviceFailuresPerSecond")
    client = await RtspClient.open(running.ports.rtsp, running.url(), "root", "wrong")
    try:
        statuses = [(await client.request("DESCRIBE", auth="basic")).status for _ in range(limit + 2)]
        assert statuses[0] == 401 and statuses[-1] == 403
    finally:
        client.close()


# -- many clients, and one that stops reading ----------------------------------------------
async def _read_until_last(client: RtspClient) -> int:
    count = 0
    while True:
        packet = await client.frame(20)
        count += 1
        if b'Value="last"' in packet:
            return count


async def test_many_clients_and_a_stalled_one(running: Running) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", running.ports.rtsp))
    reader, writer = await asyncio.open_connection(sock=sock)
    url = running.url(f"event=on&eventtopic={PULSE_TOPIC}")
    stalled = RtspClient(reader, writer, url, *ADMIN)
    await stalled.start("RTP/AVP/TCP;unicast;interleaved=0-1")
    stalled_session = running.rtsp.sessions[stalled.session]
    clients = []
    for _ in range(20):
        c = await RtspClient.open(running.ports.rtsp, url, *VIEWER)
        await c.start("RTP/AVP/TCP;unicast;interleaved=0-1")
        clients.append(c)
    readers = [asyncio.create_task(_read_until_last(c)) for c in clients]
    try:
        # The stalled client never reads; the bus and everyone else must go on. (Publishing
        # is synchronous: were the bus held up by the stalled client, this loop would not end.)
        big = "x" * 8000
        for i in range(2000):
            running.device.events.publish(PULSE_TOPIC, {}, {"description": f"{i} {big}"})
            if i % 20 == 0:
                await asyncio.sleep(0.002)
        running.device.events.publish(PULSE_TOPIC, {}, {"description": "last"})
        counts = await asyncio.wait_for(asyncio.gather(*readers), 60)
        assert counts == [2001] * len(clients)  # the clients that read lose nothing
        stalled_stream = stalled_session.tracks[0].stream
        assert stalled_stream is not None
        assert stalled_stream.listener.outbox.dropped > 0
        assert len(stalled_stream.listener.outbox) <= stalled_stream.listener.outbox.limit
    finally:
        for task in readers:
            task.cancel()
        stalled.close()
        for c in clients:
            c.close()


# -- ffprobe -------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")
@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_ffprobe_reads_the_stream(running: Running, transport: str) -> None:
    running.publish("44", "0")
    url = f"rtsp://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{running.ports.rtsp}/axis-media/media.amp?video=0&audio=0&event=on"
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rtsp_transport", transport, "-show_packets", "-show_streams",
        "-read_intervals", "%+2", url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def pulse() -> None:  # until ffprobe has read its two seconds
        for i in range(200):
            await asyncio.sleep(0.25)
            running.publish("44", str((i + 1) % 2))

    pulser = asyncio.create_task(pulse())
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        pulser.cancel()
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert "codec_type=data" in text, err.decode()
    assert text.count("[PACKET]") >= 2, (text, err.decode())
