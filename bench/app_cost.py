"""CPU cost per request of the Vigil ASGI app alone, without sockets or uvicorn.

    .venv/bin/python bench/app_cost.py                  # µs per request, every case
    .venv/bin/python bench/app_cost.py --cprofile param # also cProfile the matching cases
    .venv/bin/python bench/app_cost.py --tree /tmp/copy # the same, for a copy with a change

Each case calls the Starlette app in-process (same requests as bench/http.py) and keeps
the fastest of several rounds, timed in thread CPU time, which keeps the figure steadier on
a busy machine; the difference between two trees is the gain of a code change in the
request path. Add the server's share (bench/http.py, bare app) for a full per-request figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import hashlib
import io
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # see bench/http.py

USER, PASSWORD = "root", "bench-pass-1234"
BDI = "/axis-cgi/basicdeviceinfo.cgi"
PARAM = "/axis-cgi/param.cgi"


def _bdi(method: str) -> bytes:
    return json.dumps({"apiVersion": "1.3", "method": method}, separators=(",", ":")).encode()


# name, method, path?query, auth, body
CASES = [
    ("bare GET / (baseline)", "GET", "/", "none", b""),
    ("bdi getAllUnrestrictedProperties anon", "POST", BDI, "none", _bdi("getAllUnrestrictedProperties")),
    ("bdi getAllProperties basic", "POST", BDI, "basic", _bdi("getAllProperties")),
    ("bdi getAllProperties digest", "POST", BDI, "digest", _bdi("getAllProperties")),
    ("param list (all) basic", "GET", PARAM + "?action=list", "basic", b""),
    ("param list (all) digest", "GET", PARAM + "?action=list", "digest", b""),
    ("param list group=root.Brand basic", "GET", PARAM + "?action=list&group=root.Brand", "basic", b""),
    ("param list group=root.Brand digest", "GET", PARAM + "?action=list&group=root.Brand", "digest", b""),
]


def bare_app():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request):
        return PlainTextResponse("ok\n")

    return Starlette(routes=[Route("/", hello, methods=["GET", "POST"])])


def vigil_app(data: Path):
    from vigil.boot import build_device
    from vigil.core.roles import Role
    from vigil.device import Ports
    from vigil.http.app import create_app

    device = build_device("s3016", data, Ports(http=8080, https=8443))
    device.accounts.add(USER, PASSWORD, Role.ADMIN, True, "", "bench")
    return device, create_app(device)


def digest_headers(device, method: str, uri: str, count: int) -> list[bytes]:
    nonce = device.auth.nonce()
    realm = device.auth.realm

    def h(s: str) -> str:
        return hashlib.md5(s.encode()).hexdigest()

    ha1, ha2 = h(f"{USER}:{realm}:{PASSWORD}"), h(f"{method}:{uri}")
    out = []
    for nc in range(1, count + 1):
        c = f"{nc:08x}"
        response = h(f"{ha1}:{nonce}:{c}:0a4f113b:auth:{ha2}")
        out.append((f'Digest username="{USER}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5, '
                    f'response="{response}", qop=auth, nc={c}, cnonce="0a4f113b"').encode())
    return out


class Runner:
    def __init__(self, app, method: str, target: str, auth: str, body: bytes, auths: list[bytes]) -> None:
        path, _, query = target.partition("?")
        headers = [(b"host", b"127.0.0.1:8080"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
        if body:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if auth == "basic":
            headers.append((b"authorization", b"Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode())))
        self.app, self.body, self.auths = app, body, auths
        self.headers = headers
        self.scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
                      "method": method, "scheme": "http", "path": path, "raw_path": target.encode(),
                      "query_string": query.encode(), "root_path": "", "client": ("127.0.0.1", 50000),
                      "server": ("127.0.0.1", 8080), "state": {}}
        self.status = 0
        self.reply = b""
        self.used = 0  # Digest headers are used once each: the device refuses a nonce count again

    async def one(self, i: int) -> None:
        scope = dict(self.scope)
        if self.auths:
            scope["headers"] = self.headers + [(b"authorization", self.auths[self.used])]
            self.used += 1
        else:
            scope["headers"] = self.headers
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            await asyncio.sleep(3600)

        async def send(message):
            if message["type"] == "http.response.start":
                self.status = message["status"]
            else:
                self.reply = message.get("body", b"")

        await self.app(scope, receive, send)

    async def rounds(self, count: int, rounds: int, profile: cProfile.Profile | None = None) -> float:
        best = float("inf")
        for _ in range(rounds):
            if profile:
                profile.enable()
            started = time.thread_time()
            for i in range(count):
                await self.one(i)
            elapsed = time.thread_time() - started
            if profile:
                profile.disable()
            best = min(best, elapsed / count)
            if self.status != 200:
                raise SystemExit(f"app_cost: status {self.status}: {self.reply[:200]!r}")
        return best


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="vigil-appcost-") as tmp:
        device, app = vigil_app(Path(tmp) / "data")
        bare = bare_app()
        results = []
        for name, method, target, auth, body in CASES:
            if args.cases.lower() not in name.lower() and not name.startswith("bare"):
                continue
            total = min(200, args.count) + args.count * args.rounds  # the warm-up and every round
            auths = digest_headers(device, method, target, total) if auth == "digest" else []
            runner = Runner(bare if name.startswith("bare") else app, method, target, auth, body, auths)
            await runner.rounds(min(200, args.count), 1)  # warm up
            profile = cProfile.Profile() if args.cprofile and args.cprofile.lower() in name.lower() else None
            best = await runner.rounds(args.count, args.rounds, profile)
            results.append((name, best))
            print(f"  {name:40} {best * 1e6:7.1f} µs", flush=True)
            if profile:
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
                print(out.getvalue())
        device.close()
    bare_cost = next(c for n, c in results if n.startswith("bare"))
    print(f"\n{'case':40} {'µs/req':>7} {'app req/s':>9} {'vs bare':>7}")
    for name, cost in results:
        print(f"{name:40} {cost * 1e6:7.1f} {1 / cost:9.0f} {bare_cost / cost:7.2f}")
    print("app req/s: the ceiling if the app were the only cost (add uvicorn and the kernel: bench/http.py)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--count", type=int, default=2000, help="requests per round (default 2000)")
    parser.add_argument("-r", "--rounds", type=int, default=7, help="rounds per case; the fastest is kept")
    parser.add_argument("-k", "--cases", default="", help="only cases whose name contains this")
    parser.add_argument("--cprofile", metavar="TEXT", help="cProfile the cases whose name contains TEXT")
    parser.add_argument("--top", type=int, default=25, help="rows of the cProfile listing")
    parser.add_argument("--tree", metavar="DIR", help="import vigil from this source tree instead")
    args = parser.parse_args()
    if args.tree:
        sys.path.insert(0, str(Path(args.tree).resolve()))
    try:
        import uvloop
    except ImportError:
        uvloop = None
    (uvloop.run if uvloop else asyncio.run)(main_async(args))


if __name__ == "__main__":
    main()
