"""What a SIP call costs on the C1410 (simulated audio hardware), over loopback UDP:

    .venv/bin/python bench/sip.py            # all figures
    .venv/bin/python bench/sip.py -n 200     # more setup samples

- call setup: INVITE sent -> 200 OK received, with the peer-to-peer account answering
  automatically, p50/p99 over N calls (each ended with ACK and BYE) (goal p99 <= 50 ms);
- CPU of one G.711 call for 10 s, the far end sending 20 ms PCMU packets at real time and the
  microphone sent back, in % of one core of this process (the far end's sender runs in it too and
  is counted), against this process idle for as long
  (goal <= 3 %).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # this folder holds bench/http.py, which must not shadow the `http` package

from tests.peers.processes import free_port  # noqa: E402
from vigil.boot import build_device  # noqa: E402
from vigil.core.clock import Clock  # noqa: E402
from vigil.device import Ports  # noqa: E402
from vigil.features.sip.service import SIP_SERVICE  # noqa: E402

SDP = "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"


def request(method: str, port: int, local: int, call: str, cseq: int, body: str = "", tag: str = "") -> bytes:
    head = (f"{method} sip:vigil@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{local};"
            f"branch=z9hG4bK{call}{cseq}{method}\r\nFrom: <sip:b@127.0.0.1>;tag=b\r\n"
            f"To: <sip:vigil@127.0.0.1>{tag and ';tag=' + tag}\r\nCall-ID: {call}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:b@127.0.0.1:{local}>\r\n" + ("Content-Type: application/sdp\r\n" if body else ""))
    return (head + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


async def until(sock: socket.socket, status: str) -> str:
    loop = asyncio.get_running_loop()
    while True:
        reply = (await asyncio.wait_for(loop.sock_recv(sock, 65535), 5)).decode()
        if reply.startswith(f"SIP/2.0 {status}"):
            return reply


def to_tag(reply: str) -> str:
    return next(x for x in reply.split("\r\n") if x.lower().startswith("to:")).split("tag=")[1].split(";")[0]


async def main(samples: int) -> None:
    device = build_device("c1410", Path(tempfile.mkdtemp()) / "data", Ports(host="127.0.0.1"), Clock())
    service = device.features[SIP_SERVICE]
    service.store.save_settings({**service.store.settings(), "enabled": True, "sipPort": free_port(),
                                 "rtpPortStart": 30000})
    await service.apply()
    agent = service.agent
    assert agent is not None
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    sock.connect(("127.0.0.1", agent.port))
    local = sock.getsockname()[1]
    media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    media.bind(("127.0.0.1", 0))
    media.setblocking(False)
    body = SDP.format(port=media.getsockname()[1])

    setups = []
    for n in range(samples):
        call = f"bench{n}"
        start = time.perf_counter()
        await loop.sock_sendall(sock, request("INVITE", agent.port, local, call, 1, body))
        answer = await until(sock, "200")
        setups.append((time.perf_counter() - start) * 1000)
        tag = to_tag(answer)
        await loop.sock_sendall(sock, request("ACK", agent.port, local, call, 1, tag=tag))
        await loop.sock_sendall(sock, request("BYE", agent.port, local, call, 2, tag=tag))
        await until(sock, "200")
    setups.sort()
    print(f"call setup INVITE -> 200 over {samples} calls: p50 {statistics.median(setups):.1f} ms, "
          f"p99 {setups[int(len(setups) * 0.99) - 1]:.1f} ms (goal p99 <= 50 ms)")

    seconds = 10.0
    before = time.process_time()
    await asyncio.sleep(seconds)
    idle = time.process_time() - before
    await loop.sock_sendall(sock, request("INVITE", agent.port, local, "cpu", 1, body))
    answer = await until(sock, "200")
    tag = to_tag(answer)
    await loop.sock_sendall(sock, request("ACK", agent.port, local, "cpu", 1, tag=tag))
    device_rtp = int(answer.split("m=audio ")[1].split()[0])
    before, started = time.process_time(), time.perf_counter()
    packets = int(seconds * 50)
    for i in range(packets):
        header = struct.pack("!BBHII", 0x80, 0, i, i * 160, 1234)
        media.sendto(header + bytes([0xFF]) * 160, ("127.0.0.1", device_rtp))
        wait = started + (i + 1) * 0.02 - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
    busy = time.process_time() - before
    await loop.sock_sendall(sock, request("BYE", agent.port, local, "cpu", 2, tag=tag))
    await until(sock, "200")
    print(f"one G.711 call for {seconds:.0f} s: {100 * (busy - idle) / seconds:.2f} % of a core above idle "
          f"({100 * busy / seconds:.2f} % with it, idle {100 * idle / seconds:.2f} %) (goal <= 3 %)")
    await agent.stop()
    device.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100, help="calls for the setup time")
    asyncio.run(main(parser.parse_args().n))
