"""HTTP throughput of a real `vigil run`, next to a bare Starlette+uvicorn app.

    .venv/bin/python bench/http.py                 # 5 s per case
    .venv/bin/python bench/http.py -d 10 -c 64     # longer, more connections
    .venv/bin/python bench/http.py --profile /tmp/prof   # also sample the server with py-spy

The bench starts the servers itself (temporary data folder, free ports on 127.0.0.1),
creates the first administrator, pins each server to one core and the load generator to
the other, runs every case for a bounded time, prints a table and stops everything.
The load generator is `wrk` (with a small Lua script per case; Digest responses are
computed in Lua, one nonce per case with an increasing nc, a range of counts per thread); without wrk, or
with `--client python`, an asyncio client in a few processes stands in for it.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script, this file's folder is first on sys.path and its name would hide the
# standard library's `http` package (used by urllib and uvicorn): drop the folder.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
TREE = HERE.parent  # the source tree whose `vigil` the servers run (see --tree)

USER, PASSWORD = "root", "bench-pass-1234"
BDI = "/axis-cgi/basicdeviceinfo.cgi"
PARAM = "/axis-cgi/param.cgi"


# -- cases ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    target: str  # "bare" or "vigil"
    method: str
    path: str  # with the query
    auth: str = "none"  # none | basic | digest
    body: str = ""
    content_type: str = ""
    expect: str = ""  # a piece of the body the sanity check looks for


def _bdi(method: str) -> str:
    return json.dumps({"apiVersion": "1.3", "method": method}, separators=(",", ":"))


CASES = [
    Case("bare GET / (baseline)", "bare", "GET", "/", expect="ok"),
    Case("bdi getAllUnrestrictedProperties anon", "vigil", "POST", BDI, "none",
         _bdi("getAllUnrestrictedProperties"), "application/json", '"propertyList"'),
    Case("bdi getAllProperties basic", "vigil", "POST", BDI, "basic",
         _bdi("getAllProperties"), "application/json", '"SocSerialNumber"'),
    Case("bdi getAllProperties digest", "vigil", "POST", BDI, "digest",
         _bdi("getAllProperties"), "application/json", '"SocSerialNumber"'),
    Case("param list (all) basic", "vigil", "GET", PARAM + "?action=list", "basic", expect="root.Brand.Brand="),
    Case("param list (all) digest", "vigil", "GET", PARAM + "?action=list", "digest", expect="root.Brand.Brand="),
    Case("param list group=root.Brand basic", "vigil", "GET", PARAM + "?action=list&group=root.Brand", "basic",
         expect="root.Brand.Brand="),
    Case("param list group=root.Brand digest", "vigil", "GET", PARAM + "?action=list&group=root.Brand", "digest",
         expect="root.Brand.Brand="),
]


@dataclass
class Result:
    case: Case
    rps: float
    requests: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    server_cpu: float  # share of one core the server used during the run
    foreign_cpu: float  # share of the server's core taken by anything else (other processes, steal)
    writes_per_request: float  # write system calls of the server per request
    rss_mb: float

    @property
    def per_cpu_second(self) -> float:
        """Requests per second of server CPU: steadier than req/s when other work shares the core."""
        return self.rps / self.server_cpu if self.server_cpu else 0.0


# -- servers -------------------------------------------------------------------------
BARE_APP = """
import sys
import uvloop
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from vigil.http.server import bind, listener

async def hello(request):
    return PlainTextResponse("ok\\n")

app = Starlette(routes=[Route("/", hello, methods=["GET", "POST"])])

async def main():
    sock = bind("127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await listener(app).serve(sockets=[sock])

uvloop.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pin(cpu: int | None, nice: int = 0):
    def setup() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)

    return setup if cpu is not None or nice else None


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path
    peak_rss_mb: float = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status_kb(self, key: str) -> int:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def write_calls(self) -> int:
        """write/writev system calls so far (/proc/PID/io syscw): libuv writes sockets with them."""
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.process.pid}/io").read_text().splitlines():
                if line.startswith("syscw:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: {self.name} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                request("GET", self.base + path, timeout=1.0)
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"bench: {self.name} did not start listening:\n{self.tail()}")

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.peak_rss_mb = self.status_kb("VmHWM") / 1024
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_vigil(work: Path, cpu: int | None, nice: int = 0) -> Server:
    port = free_port()
    log = work / "vigil.log"
    cmd = [sys.executable, "-m", "vigil", "run", "--profile", "s3016", "--data", str(work / "data"),
           "--host", "127.0.0.1", "--http-port", str(port), "--https-port", str(free_port()),
           "--rtsp-port", str(free_port())]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=TREE, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_pin(cpu, nice),
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    server = Server("vigil", process, port, log)
    server.wait_ready("/vigil/session")
    status, body, _ = request("POST", server.base + "/axis-cgi/pwdgrp.cgi",
                              f"action=add&user={USER}&pwd={PASSWORD}&grp=users&sgrp=admin:operator:viewer:ptz",
                              {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200 or "Created account" not in body:
        server.stop()
        raise SystemExit(f"bench: could not create the administrator: {status} {body!r}")
    return server


def start_bare(work: Path, cpu: int | None, nice: int = 0) -> Server:
    port = free_port()
    log = work / "bare.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)], cwd=TREE, stdout=out,
                                   stderr=subprocess.STDOUT, preexec_fn=_pin(cpu, nice))
    server = Server("bare", process, port, log)
    server.wait_ready("/")
    return server


# -- plain requests (set-up and sanity checks) ------------------------------------------
def request(method: str, url: str, body: str = "", headers: dict[str, str] | None = None,
            timeout: float = 5.0) -> tuple[int, str, dict[str, list[str]]]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            status, text, msg = reply.status, reply.read().decode(errors="replace"), reply.headers
    except urllib.error.HTTPError as err:
        status, text, msg = err.code, err.read().decode(errors="replace"), err.headers
    found: dict[str, list[str]] = {}
    for key, value in msg.items():
        found.setdefault(key.lower(), []).append(value)
    return status, text, found


@dataclass
class Digest:
    realm: str
    nonce: str
    cnonce: str = field(default_factory=lambda: secrets.token_hex(8))

    @classmethod
    def fetch(cls, base: str) -> Digest:
        """A fresh nonce from a challenge (no credentials sent, so no failed login)."""
        status, _, headers = request("GET", base + PARAM + "?action=list&group=root.Brand")
        for value in headers.get("www-authenticate", []):
            if value.startswith("Digest") and "algorithm=MD5" in value:
                fields = dict(re.findall(r'(\w+)="([^"]*)"', value))
                return cls(fields["realm"], fields["nonce"])
        raise SystemExit(f"bench: no MD5 Digest challenge in the {status} reply")

    def header(self, method: str, uri: str, nc: int) -> str:
        def h(s: str) -> str:
            return hashlib.md5(s.encode()).hexdigest()

        ha1, ha2 = h(f"{USER}:{self.realm}:{PASSWORD}"), h(f"{method}:{uri}")
        count = f"{nc:08x}"
        response = h(f"{ha1}:{self.nonce}:{count}:{self.cnonce}:auth:{ha2}")
        return (f'Digest username="{USER}", realm="{self.realm}", nonce="{self.nonce}", uri="{uri}", '
                f'algorithm=MD5, response="{response}", qop=auth, nc={count}, cnonce="{self.cnonce}"')


BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def static_headers(case: Case) -> dict[str, str]:
    headers = {}
    if case.content_type:
        headers["Content-Type"] = case.content_type
    if case.auth == "basic":
        headers["Authorization"] = BASIC
    return headers


def sanity_check(server: Server, case: Case, digest: Digest | None) -> None:
    headers = static_headers(case)
    if digest is not None:
        headers["Authorization"] = digest.header(case.method, case.path, 1)
    status, body, _ = request(case.method, server.base + case.path, case.body, headers)
    if status != 200 or case.expect not in body:
        raise SystemExit(f"bench: {case.name}: unexpected reply {status}: {body[:300]!r}")


# -- wrk -----------------------------------------------------------------------------
_MD5_K = ", ".join(str(int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF) for i in range(64))
LUA_MD5 = """
local bit = require("bit")
local band, bor, bxor, bnot, rol, lshift, rshift, tobit =
  bit.band, bit.bor, bit.bxor, bit.bnot, bit.rol, bit.lshift, bit.rshift, bit.tobit
local K = {%K%}
for i = 1, 64 do K[i] = tobit(K[i]) end
local S = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
           5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21}
local function hexle(x)
  return string.format("%02x%02x%02x%02x", band(x, 255), band(rshift(x, 8), 255),
                       band(rshift(x, 16), 255), band(rshift(x, 24), 255))
end
local M = {}
function md5(msg)
  local n = #msg
  local bits = n * 8
  msg = msg .. "\\128" .. string.rep("\\0", (55 - n) % 64)
        .. string.char(band(bits, 255), band(rshift(bits, 8), 255), band(rshift(bits, 16), 255),
                       band(rshift(bits, 24), 255), 0, 0, 0, 0)
  local a0, b0, c0, d0 = tobit(0x67452301), tobit(0xefcdab89), tobit(0x98badcfe), tobit(0x10325476)
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do
      local b1, b2, b3, b4 = msg:byte(chunk + i * 4, chunk + i * 4 + 3)
      M[i] = bor(b1, lshift(b2, 8), lshift(b3, 16), lshift(b4, 24))
    end
    local A, B, C, D = a0, b0, c0, d0
    for i = 0, 63 do
      local F, g
      if i < 16 then F = bor(band(B, C), band(bnot(B), D)); g = i
      elseif i < 32 then F = bor(band(D, B), band(bnot(D), C)); g = (5 * i + 1) % 16
      elseif i < 48 then F = bxor(B, C, D); g = (3 * i + 5) % 16
      else F = bxor(C, bor(B, bnot(D))); g = (7 * i) % 16 end
      F = tobit(F + A + K[i + 1] + M[g])
      A = D; D = C; C = B
      B = tobit(B + rol(F, S[i + 1]))
    end
    a0, b0, c0, d0 = tobit(a0 + A), tobit(b0 + B), tobit(c0 + C), tobit(d0 + D)
  end
  return hexle(a0) .. hexle(b0) .. hexle(c0) .. hexle(d0)
end
""".replace("%K%", _MD5_K)

LUA_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests": %.0f, "duration_us": %.0f, "connect": %.0f, "read": %.0f, '
    .. '"write": %.0f, "status": %.0f, "timeout": %.0f, "p50": %.0f, "p99": %.0f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_str(value: str) -> str:
    return '"' + "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\{ord(c):03d}"
                         for c in value) + '"'


def lua_script(case: Case, digest: Digest | None) -> str:
    lines = [f"wrk.method = {lua_str(case.method)}", f"wrk.body = {lua_str(case.body)}" if case.body else ""]
    lines += [f"wrk.headers[{lua_str(k)}] = {lua_str(v)}" for k, v in static_headers(case).items()]
    if digest is not None:
        # Check the Lua MD5 against Python's before trusting it, then answer the challenge
        # with the same nonce on every request and an increasing nc (one cnonce per thread).
        probe = "x" * 200
        lines += [LUA_MD5, f"""
assert(md5("") == "d41d8cd98f00b204e9800998ecf8427e", "Lua md5 is broken")
assert(md5({lua_str(probe)}) == "{hashlib.md5(probe.encode()).hexdigest()}", "Lua md5 is broken")
local user, realm, nonce = {lua_str(USER)}, {lua_str(digest.realm)}, {lua_str(digest.nonce)}
local uri = {lua_str(case.path)}
local ha1 = md5(user .. ":" .. realm .. ":" .. {lua_str(PASSWORD)})
local ha2 = md5(wrk.method .. ":" .. uri)
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("cnonce", string.format("%s%04x", {lua_str(digest.cnonce)}, threads))
  thread:set("ncbase", threads * 16777216)  -- each thread its own counts: the device refuses a count twice
end
local nc = 0
function request()
  nc = nc + 1
  local count = string.format("%08x", (ncbase or 0) + nc)
  local response = md5(ha1 .. ":" .. nonce .. ":" .. count .. ":" .. cnonce .. ":auth:" .. ha2)
  local headers = {{}}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Authorization"] = 'Digest username="' .. user .. '", realm="' .. realm .. '", nonce="' .. nonce
    .. '", uri="' .. uri .. '", algorithm=MD5, response="' .. response .. '", qop=auth, nc=' .. count
    .. ', cnonce="' .. cnonce .. '"'
  return wrk.format(nil, uri, headers, wrk.body)
end
"""]
    lines.append(LUA_DONE)
    return "\n".join(line for line in lines if line) + "\n"


def run_wrk(server: Server, case: Case, digest: Digest | None, seconds: float, args: argparse.Namespace,
            work: Path) -> dict:
    script = work / "case.lua"
    script.write_text(lua_script(case, digest))
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s",
           "-s", str(script), server.base + case.path]
    out = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=_pin(args.client_cpu),
                         timeout=seconds + 30)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON "):])
            return {"requests": int(data["requests"]), "seconds": data["duration_us"] / 1e6,
                    "errors": int(sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))),
                    "p50_ms": data["p50"] / 1000, "p99_ms": data["p99"] / 1000}
    raise SystemExit(f"bench: wrk failed for {case.name}:\n{out.stdout}\n{out.stderr}")


# -- the Python stand-in for wrk ---------------------------------------------------------
async def _py_connection(port: int, case: Case, digest: Digest | None, nc_start: int, stop_at: float,
                         latencies: list[float], errors: Counter) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"{case.method} {case.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in static_headers(case).items())
    body = case.body.encode()
    tail = f"Content-Length: {len(body)}\r\n\r\n".encode() + body if body else b"\r\n"
    nc = nc_start
    loop = asyncio.get_running_loop()
    try:
        while loop.time() < stop_at:
            auth = ""
            if digest is not None:
                nc += 1
                auth = f"Authorization: {digest.header(case.method, case.path, nc)}\r\n"
            started = loop.time()
            writer.write((head + auth).encode() + tail)
            status_line = await reader.readline()
            length = None
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length is None:
                errors["read"] += 1
                return
            await reader.readexactly(length)
            latencies.append(loop.time() - started)
            if status_line[9:12] != b"200":
                errors["status"] += 1
    except (OSError, asyncio.IncompleteReadError):
        errors["read"] += 1
    finally:
        writer.close()


def _py_worker(spec: tuple) -> tuple[list[float], dict]:
    port, case, digest, connections, seconds, cpu, index = spec
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    latencies: list[float] = []
    errors: Counter = Counter()

    async def main() -> None:
        stop_at = asyncio.get_running_loop().time() + seconds
        await asyncio.gather(*(_py_connection(port, case, digest, (index * 1000 + i) << 20, stop_at,
                                              latencies, errors) for i in range(connections)))

    asyncio.run(main())
    return latencies, dict(errors)


def run_python(server: Server, case: Case, digest: Digest | None, seconds: float,
               args: argparse.Namespace) -> dict:
    procs = max(1, args.processes)
    per = max(1, args.connections // procs)
    specs = [(server.port, case, digest, per, seconds, args.client_cpu, i) for i in range(procs)]
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        results = pool.map(_py_worker, specs)
    elapsed = time.monotonic() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(sum(e.values()) for _, e in results)

    def pct(p: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else None

    return {"requests": len(latencies), "seconds": min(elapsed, seconds) if latencies else elapsed,
            "errors": errors, "p50_ms": pct(0.50), "p99_ms": pct(0.99)}


def core_busy_seconds(cpu: int | None) -> float:
    """Time the core spent on processes or stolen (interrupt time left out: loopback traffic)."""
    if cpu is None:
        return 0.0
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            user, nice, system, _idle, _iowait, _irq, _softirq, steal = (int(x) for x in line.split()[1:9])
            return (user + nice + system + steal) / os.sysconf("SC_CLK_TCK")
    return 0.0


# -- profiling -----------------------------------------------------------------------
def start_profiler(server: Server, case: Case, seconds: float, args: argparse.Namespace) -> tuple | None:
    if not args.profile:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("bench: --profile needs py-spy (pip install py-spy)")
    out = Path(args.profile) / (re.sub(r"[^A-Za-z0-9]+", "_", case.name).strip("_") + ".txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [spy, "record", "--pid", str(server.process.pid), "--rate", str(args.profile_rate), "--duration",
           str(max(1, round(seconds))), "--format", "raw", "--nonblocking", "--output", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_pin(args.client_cpu)), out


def summarize_profile(handle: tuple | None, top: int = 12) -> None:
    if handle is None:
        return
    process, out = handle
    process.wait(60)
    if not out.exists():
        print(f"  (no profile written to {out})")
        return
    own: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        own[_frame(frames[-1])] += n
        for name in {_frame(f) for f in frames}:
            inclusive[name] += n
    print(f"  profile {out} ({total} samples; Runner.run's own time is the event loop's C code: "
          "epoll, recv)")
    print("    self%  frame")
    for name, n in own.most_common(top):
        print(f"    {100 * n / total:5.1f}  {name}")
    print("    incl%  vigil frame")
    entry = ("(vigil/__main__.py)", "(vigil/cli.py)")  # on every stack: not informative
    for name, n in [(k, v) for k, v in inclusive.most_common() if "vigil/" in k and not k.endswith(entry)][:top]:
        print(f"    {100 * n / total:5.1f}  {name}")


def _frame(frame: str) -> str:
    # py-spy: "function (path/to/file.py:line)"; keep the function and the file's tail.
    m = re.match(r"(.*?) \((.*?)(?::\d+)?\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    parts = path.split("/")
    tail = "/".join(parts[parts.index("vigil"):]) if "vigil" in parts[:-1] else "/".join(parts[-2:])
    return f"{func} ({tail})"


# -- main ----------------------------------------------------------------------------
def measure(server: Server, case: Case, args: argparse.Namespace, work: Path) -> Result:
    digest = Digest.fetch(server.base) if case.auth == "digest" else None
    sanity_check(server, case, digest)
    if args.warmup > 0:
        _load(server, case, digest, args.warmup, args, work)
    runs = []
    for _ in range(max(1, args.repeat)):
        profiler = start_profiler(server, case, args.duration, args) if not runs else None
        cpu_before, busy_before, wall_before = (server.cpu_seconds(), core_busy_seconds(args.server_cpu),
                                                time.monotonic())
        writes_before = server.write_calls()
        stats = _load(server, case, digest, args.duration, args, work)
        wall = time.monotonic() - wall_before
        cpu = server.cpu_seconds() - cpu_before
        writes = (server.write_calls() - writes_before) / max(1, stats["requests"])
        foreign = max(0.0, core_busy_seconds(args.server_cpu) - busy_before - cpu) if args.server_cpu is not None \
            else 0.0
        result = Result(case, stats["requests"] / stats["seconds"], stats["requests"], stats["errors"],
                        stats["p50_ms"], stats["p99_ms"], cpu / wall, foreign / wall, writes,
                        server.status_kb("VmRSS") / 1024)
        print(f"  {case.name:40} {result.rps:8.0f} req/s {result.per_cpu_second:8.0f} req/CPU-s  "
              f"server CPU {100 * result.server_cpu:3.0f}%  others on its core {100 * result.foreign_cpu:3.0f}%  "
              f"writes/req {result.writes_per_request:.2f}  errors {result.errors}", flush=True)
        summarize_profile(profiler)
        runs.append(result)
    return max(runs, key=lambda r: r.per_cpu_second)


def _load(server: Server, case: Case, digest: Digest | None, seconds: float, args: argparse.Namespace,
          work: Path) -> dict:
    if digest is not None:  # a fresh nonce for every run: the device accepts each nonce count once
        digest = Digest.fetch(server.base)
    if args.client == "wrk":
        return run_wrk(server, case, digest, seconds, args, work)
    return run_python(server, case, digest, seconds, args)


def print_table(results: list[Result], servers: list[Server]) -> None:
    bare = next((r for r in results if r.case.target == "bare"), None)
    print()
    print("req/CPU-s: requests per second of server CPU time (what one fully available core would serve);")
    print("others: share of the server's core used by other processes or stolen by the hypervisor;")
    print("vs bare: req/CPU-s as a fraction of the bare Starlette+uvicorn app's; writes: write system calls "
          "of the server per request.")
    header = (f"{'case':40} {'req/s':>7} {'req/CPU-s':>9} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'srv CPU':>7} "
              f"{'others':>6} {'writes':>6} {'vs bare':>7}")
    print(header)
    print("-" * len(header))
    for r in results:
        p50 = f"{r.p50_ms:7.2f}" if r.p50_ms is not None else f"{'-':>7}"
        p99 = f"{r.p99_ms:7.2f}" if r.p99_ms is not None else f"{'-':>7}"
        ratio = f"{r.per_cpu_second / bare.per_cpu_second:7.2f}" if bare and bare.per_cpu_second else f"{'-':>7}"
        print(f"{r.case.name:40} {r.rps:7.0f} {r.per_cpu_second:9.0f} {p50} {p99} {r.errors:6d} "
              f"{100 * r.server_cpu:6.0f}% {100 * r.foreign_cpu:5.0f}% {r.writes_per_request:6.2f} {ratio}")
    for s in servers:
        print(f"peak RSS of the {s.name} server: {s.peak_rss_mb:.1f} MiB")
    if any(r.foreign_cpu > 0.10 for r in results):
        print("note: other work used more than 10% of the server's core in some cases; the figures are noisy "
              "(compare req/CPU-s, use --repeat, or --nice -10 as root)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cpus = sorted(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--duration", type=float, default=5.0, help="seconds per case (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before each case (default 1)")
    parser.add_argument("-r", "--repeat", type=int, default=1, help="runs per case; the one with the most "
                        "req/CPU-s (least disturbed) is kept")
    parser.add_argument("-c", "--connections", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument("-t", "--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--client", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--processes", type=int, default=3, help="client processes of --client python")
    parser.add_argument("--server-cpu", type=int, default=cpus[0] if len(cpus) > 1 else None)
    parser.add_argument("--client-cpu", type=int, default=cpus[1] if len(cpus) > 1 else None)
    parser.add_argument("--nice", type=int, default=0, help="niceness of the servers, e.g. -10 (as root) "
                        "so that other work on a busy machine disturbs the figures less")
    parser.add_argument("-k", "--cases", default="", help="only cases whose name contains this (the baseline "
                        "always runs)")
    parser.add_argument("--profile", metavar="DIR", help="record each Vigil case with py-spy into DIR and "
                        "print the hottest frames")
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--tree", metavar="DIR", help="run the vigil package of another source tree (a copy "
                        "with a proposed change, for A/B runs); default: this one")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.tree:
        global TREE
        TREE = Path(args.tree).resolve()
        if not (TREE / "vigil" / "__main__.py").exists():
            raise SystemExit(f"bench: no vigil package in {TREE}")
    if len(cpus) < 2:
        print("bench: fewer than 2 CPUs available: server and load generator share them", file=sys.stderr)
    if args.client == "python" and not shutil.which("wrk"):
        print("bench: wrk not found (apt-get install wrk); using the slower Python client", file=sys.stderr)
    if args.duration > 240:
        raise SystemExit("bench: a case may last at most 240 s (Digest nonces live 300 s)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cases = [c for c in CASES if c.target == "bare" or args.cases.lower() in c.name.lower()]
    print(f"bench: {args.client}, {args.connections} connections, {args.duration:g} s per case, "
          f"server on CPU {args.server_cpu}, client on CPU {args.client_cpu}", flush=True)
    results: list[Result] = []
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        work = Path(tmp)
        try:
            for target in ("bare", "vigil"):
                chosen = [c for c in cases if c.target == target]
                if not chosen:
                    continue
                server = (start_bare if target == "bare" else start_vigil)(work, args.server_cpu, args.nice)
                servers.append(server)
                try:
                    for case in chosen:
                        results.append(measure(server, case, args, work))
                finally:
                    server.stop()
        finally:
            for server in servers:
                server.stop()
    print_table(results, servers)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "settings": {k: v for k, v in vars(args).items() if k != "json"},
            "results": [{"case": r.case.name, "rps": round(r.rps, 1), "requests": r.requests, "errors": r.errors,
                         "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "server_cpu": round(r.server_cpu, 3),
                         "rps_per_cpu_second": round(r.per_cpu_second, 1), "others_cpu": round(r.foreign_cpu, 3),
                         "writes_per_request": round(r.writes_per_request, 3)}
                        for r in results],
            "peak_rss_mb": {s.name: round(s.peak_rss_mb, 1) for s in servers},
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
