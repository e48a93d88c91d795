"""Liveness over the real listeners: a watchdog thread asks basicdeviceinfo all along the walk and
charges a late answer (or none) to the longest request of its time; the WebSocket event stream and
the RTSP server are asked after each batch."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.fuzzing.rig import ACCOUNTS
from vigil.core.roles import Role

BDI = "/axis-cgi/basicdeviceinfo.cgi"
BDI_BODY = b'{"apiVersion":"1.0","method":"getAllUnrestrictedProperties"}'


def _probe_http(port: int, timeout: float, bound: float, late: Callable[[], None]) -> bool:
    """Anonymous basicdeviceinfo over the real listener; `late()` is called once when no answer
    came within `bound` seconds (the walk then looks at what the event loop is doing)."""
    request = (f"POST {BDI} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(BDI_BODY)}\r\nConnection: close\r\n\r\n").encode() + BDI_BODY
    deadline = time.monotonic() + timeout
    warned = False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            s.settimeout(bound if not warned else max(0.1, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                if warned:
                    raise
                warned = True
                late()
                continue
            if not chunk:
                break
            data += chunk
    return data.startswith(b"HTTP/1.1 200") and b'"data"' in data


def _stack_of(thread_id: int, depth: int = 4) -> str:
    """Where a thread is now: its innermost frames, innermost first."""
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return ""
    frames = traceback.extract_stack(frame)[-depth:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))


def _schedstat(tid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds waiting for one) of thread `tid` of this process; zeros when
    the kernel does not tell."""
    try:
        ran, waited = Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[:2]
        return int(ran) / 1e9, int(waited) / 1e9
    except (OSError, ValueError):
        return 0.0, 0.0


class Watchdog(threading.Thread):
    """Asks the real HTTP listener for basicdeviceinfo, anonymously, all along the walk: an answer
    later than `bound` seconds (or none) is a hang, charged to the longest request of that time."""

    def __init__(self, bound: float, period: float = 0.5) -> None:
        super().__init__(name="fuzz-watchdog", daemon=True)
        self.bound, self.period = bound, period
        self.port: int | None = None
        self.stopping: asyncio.Event | None = None  # the device's: a closed listener is then expected
        self.generation = 0
        self.recent: list[tuple[float, float, str, str, str]] = []  # start, end, target, role, params
        self.current: tuple[float, str, str, str] | None = None
        self.hangs: list[tuple[float, str]] = []
        self.busy: list[str] = []  # stalls of the whole machine (other processes), not the device's
        self.main = threading.get_native_id()  # the thread that runs the device's event loop
        self.main_ident = threading.get_ident()
        self.seen_at = ""
        self._halt = threading.Event()

    def aim(self, port: int | None, stopping: asyncio.Event | None = None) -> None:
        self.port, self.stopping = port, stopping
        self.generation += 1

    def begin(self, start: float, target: str, role: str, params: str) -> None:
        self.current = (start, target, role, params)

    def done(self, start: float, end: float, target: str, role: str, params: str) -> None:
        self.recent.append((start, end, target, role, params))
        self.current = None
        if len(self.recent) > 256:
            del self.recent[:128]

    def run(self) -> None:
        due = time.monotonic() + self.period
        stat = _schedstat(self.main)
        while not self._halt.wait(max(0.0, due - time.monotonic())):
            # Woken late: the process held the GIL (a long C call such as a regular expression) and
            # its event loop could answer no one meanwhile.
            late = time.monotonic() - due
            due = time.monotonic() + self.period
            port, generation = self.port, self.generation
            before, stat = stat, _schedstat(self.main)
            if port is None:
                continue
            if late > self.bound:
                self.judge(due - self.period - late, late, before, stat, f"the process was frozen for {late:.1f} s")
                continue
            start = time.monotonic()
            self.seen_at = ""

            def late() -> None:
                self.seen_at = _stack_of(self.main_ident)

            try:
                ok = _probe_http(port, max(self.bound * 4, 10.0), self.bound, late)
            except OSError:
                ok = False
            took = time.monotonic() - start
            if generation != self.generation or (self.stopping is not None and self.stopping.is_set()):
                continue  # the device stopped or was rebuilt meanwhile
            if not ok or took > self.bound:
                before, stat = stat, _schedstat(self.main)
                at = f" (the event loop was at {self.seen_at})" if self.seen_at else ""
                self.judge(start, took, before, stat,
                           f"basicdeviceinfo {'answered after' if ok else 'unanswered after'} {took:.1f} s{at}")

    def judge(self, start: float, took: float, before: tuple[float, float], after: tuple[float, float],
              what: str) -> None:
        """A hang, unless the device's thread, running less than the bound itself, spent most of
        that time waiting for a CPU: then other processes had the machine and the device had no
        chance to answer."""
        ran, starved = after[0] - before[0], after[1] - before[1]
        if ran < self.bound and starved > took / 2:
            self.busy.append(f"{what}, while the machine was busy ({starved:.1f} s waiting for a CPU)")
        else:
            self.blame(start, took, what)

    def blame(self, start: float, took: float, what: str) -> None:
        """Charge a hang to the longest request of its time."""
        recent = list(self.recent)
        if self.current is not None:  # still running (or not yet recorded): counts until now
            recent.append((self.current[0], time.monotonic(), *self.current[1:]))
        window = [r for r in recent if r[1] >= start - self.bound and r[0] <= start + took]
        culprit = max(window, key=lambda r: r[1] - r[0], default=None)
        during = f"{culprit[2]} as {culprit[3]}: {culprit[4]} ({culprit[1] - culprit[0]:.1f} s)" if culprit else "?"
        self.hangs.append((took, f"{what}, during {during}"))

    def stop(self) -> None:
        self._halt.set()


async def probe_stream(port: int, bound: float) -> str | None:
    """The WebSocket event stream answers a configure; None when fine, else what went wrong."""
    from websockets.asyncio.client import connect

    auth = "Basic " + base64.b64encode(":".join(ACCOUNTS[Role.VIEWER]).encode()).decode()
    uri = f"ws://127.0.0.1:{port}/vapix/ws-data-stream?sources=events"
    message = json.dumps({"apiVersion": "1.0", "method": "events:configure",
                          "params": {"eventFilterList": [{"topicFilter": "//."}]}})
    try:
        async with asyncio.timeout(bound):
            async with connect(uri, additional_headers={"Authorization": auth}, open_timeout=bound,
                               max_queue=None) as ws:
                await ws.send(message)
                reply = json.loads(await ws.recv())
        return None if "data" in reply else f"WebSocket configure answered {reply}"
    except TimeoutError:
        return f"WebSocket stream: no answer within {bound} s"
    except Exception as err:  # noqa: BLE001 - any failure to talk is the finding
        return f"WebSocket stream: {type(err).__name__}: {err}"


async def rtsp_exchange(port: int, raw: bytes, bound: float) -> str:
    """Send one raw RTSP request; the status line, '(closed)' or '(no answer)'."""
    try:
        async with asyncio.timeout(bound):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(raw)
                await writer.drain()
                head = await reader.readuntil(b"\r\n")
                return head.decode("latin-1").strip()
            finally:
                writer.close()
    except TimeoutError:
        return "(no answer)"
    except (asyncio.IncompleteReadError, ConnectionError):
        return "(closed)"
