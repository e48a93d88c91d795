"""A captured Digest Authorization header cannot be replayed (probe finding 18): with qop=auth
each nonce count (nc) is accepted once per nonce, in any order; a count seen before gets a
stale challenge, which a real client answers with a fresh nonce. The memory for it is bounded."""

from __future__ import annotations

import asyncio
import hashlib
import re

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

import vigil.core.auth as auth_module
from tests.conftest import ADMIN, add_account, asgi_client
from vigil.core.auth import NonceCounts, Principal
from vigil.core.roles import Role
from vigil.device import Device

URI = "/axis-cgi/usergroup.cgi"


def challenge_fields(response: httpx.Response) -> dict[str, str]:
    header = next(h for h in response.headers.get_list("www-authenticate") if "algorithm=MD5" in h)
    return dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))


def digest_header(user: str, password: str, realm: str, nonce: str, uri: str, nc: int, cnonce: str = "0a4f113b") -> str:
    def h(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    response = h(f"{h(f'{user}:{realm}:{password}')}:{nonce}:{nc:08x}:{cnonce}:auth:{h(f'GET:{uri}')}")
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5, '
            f'response="{response}", qop=auth, nc={nc:08x}, cnonce="{cnonce}"')


@pytest.fixture
async def challenged(device: Device, anon: httpx.AsyncClient) -> tuple[str, str]:
    add_account(device, *ADMIN, "admin", ptz=True)
    fields = challenge_fields(await anon.get(URI))
    return fields["realm"], fields["nonce"]


def stale(response: httpx.Response) -> bool:
    return response.status_code == 401 and all(
        "stale=TRUE" in h for h in response.headers.get_list("www-authenticate") if h.startswith("Digest"))


async def test_a_replayed_request_is_refused(device: Device, anon: httpx.AsyncClient, challenged) -> None:
    realm, nonce = challenged
    captured = {"Authorization": digest_header(*ADMIN, realm, nonce, URI, nc=1, cnonce="abc")}
    assert (await anon.get(URI, headers=captured)).status_code == 200
    for _ in range(4):
        assert stale(await anon.get(URI, headers=captured))
    # The same count with another cnonce is the same count.
    other = digest_header(*ADMIN, realm, nonce, URI, nc=1, cnonce="other")
    assert stale(await anon.get(URI, headers={"Authorization": other}))
    assert "nonce count 1 used before" in device.logs.text("access")
    # A replay is no password guess: the address is not blocked however often it is tried.
    assert not device.auth.guard.blocked("127.0.0.1")
    assert (await anon.get(URI, headers={"Authorization": digest_header(*ADMIN, realm, nonce, URI, nc=2)})).text \
        .startswith("root\n")


async def test_counts_may_arrive_out_of_order(anon: httpx.AsyncClient, challenged) -> None:
    # Several connections share a nonce: their requests overtake each other.
    realm, nonce = challenged
    for nc in (5, 3, 1, 2, 4, 1000, 6, 999):
        r = await anon.get(URI, headers={"Authorization": digest_header(*ADMIN, realm, nonce, URI, nc=nc,
                                                                          cnonce=f"c{nc}")})
        assert r.status_code == 200, nc
    for nc in (1, 4, 1000, 999):
        assert stale(await anon.get(URI, headers={"Authorization": digest_header(*ADMIN, realm, nonce, URI, nc=nc)}))


async def test_real_clients_keep_working(device: Device, challenged) -> None:
    # httpx (the `axis` library's HTTP client) counts up and answers stale challenges by itself,
    # also with requests in flight at once.
    async with asgi_client(device, httpx.DigestAuth(*ADMIN)) as client:
        replies = await asyncio.gather(*(client.get(URI) for _ in range(20)))
        assert all(r.status_code == 200 for r in replies)
        for _ in range(5):
            assert (await client.get(URI)).status_code == 200


async def test_nonces_are_unique(anon: httpx.AsyncClient, challenged) -> None:
    # Issued in the same second, to two clients: each has its own counts.
    nonces = {challenge_fields(await anon.get(URI))["nonce"] for _ in range(20)}
    assert len(nonces) == 20


async def test_nonce_of_an_earlier_run_is_stale(device: Device, anon: httpx.AsyncClient, challenged) -> None:
    # After a restart no counts are known for the nonces handed out before it.
    realm, nonce = challenged
    header = {"Authorization": digest_header(*ADMIN, realm, nonce, URI, nc=1)}
    device.auth._run = "0" * 16
    assert stale(await anon.get(URI, headers=header))


async def test_forgotten_nonces_are_stale_never_replayable(device: Device, anon: httpx.AsyncClient, challenged,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_module, "NONCE_TABLE", 3)
    realm, first = challenged
    header = {"Authorization": digest_header(*ADMIN, realm, first, URI, nc=1)}
    assert (await anon.get(URI, headers=header)).status_code == 200
    for _ in range(3):  # three more nonces in use push the first one out of the table
        nonce = challenge_fields(await anon.get(URI))["nonce"]
        r = await anon.get(URI, headers={"Authorization": digest_header(*ADMIN, realm, nonce, URI, nc=1)})
        assert r.status_code == 200
    assert not device.auth.nonce_counts.has(first)
    assert stale(await anon.get(URI, headers=header))  # the replay of nc=1
    fresh = {"Authorization": digest_header(*ADMIN, realm, first, URI, nc=2)}
    assert stale(await anon.get(URI, headers=fresh))  # and any other count of it


def test_counts_are_kept_as_runs() -> None:
    counts = NonceCounts()
    for n in range(1, 1001):
        assert counts.use("n1", 1, n) == "ok"
    assert counts._total == 1  # one client counting up: one run
    assert counts.use("n1", 1, 500) == "replay"
    for connection in range(32):  # 32 connections, each counting up from its own start
        for n in range(10):
            assert counts.use("n2", 2, (connection << 20) + n) == "ok"
    assert counts._total == 33


def test_too_many_runs_make_a_nonce_used_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_module, "RUNS_PER_NONCE", 4)
    counts = NonceCounts()
    for n in (1, 3, 5, 7):
        assert counts.use("n", 1, n) == "ok"
    assert counts.use("n", 1, 9) == "full"
    assert counts.use("n", 1, 2) == "ok"  # joins two runs: fewer runs, still fine
    assert counts.use("n", 1, 9) == "ok"


async def test_a_redirect_may_be_followed_with_the_same_header_once(device: Device) -> None:
    # httpx (the `axis` library's client) follows a redirect with the Authorization header it
    # sent; the device redirects to the same path with more query (playback pins a stop time).
    async def pinning(request: Request, who: Principal) -> Response:
        if "pinned" in request.query_params:
            return PlainTextResponse(who.name)
        return RedirectResponse("/test/pinning?pinned=1", 302)

    device.router.add("/test/pinning", pinning, Role.VIEWER, methods=("GET",))
    add_account(device, *ADMIN, "admin", ptz=True)
    async with asgi_client(device, httpx.DigestAuth(*ADMIN)) as client:
        r = await client.get("/test/pinning", follow_redirects=True)
        assert r.status_code == 200 and r.text == "root"
    async with asgi_client(device) as anon:
        fields = challenge_fields(await anon.get(URI))
        header = {"Authorization": digest_header(*ADMIN, fields["realm"], fields["nonce"], "/test/pinning", nc=7)}
        r = await anon.get("/test/pinning", headers=header)
        assert r.status_code == 302
        assert stale(await anon.get("/test/pinning?pinned=2", headers=header))  # only to where it was sent
        assert (await anon.get("/test/pinning?pinned=1", headers=header)).text == "root"
        assert stale(await anon.get("/test/pinning?pinned=1", headers=header))  # and once
