"""Finding 3 in a real browser: the device reached by a name on plain HTTP (no `Sec-Fetch-*`
headers, as on a LAN), logged in through the web pages' own API module, and a page on another
port of the same host (same-site, so the SameSite=Strict cookie goes along) that tries to change
a setting with an `<img>` GET and a form-like POST."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import ADMIN, LiveDevice, create_admin_live, free_port, start_live
from tests.peers.browser import chromium

pytestmark = pytest.mark.browser

NAME = "Network.UPnP.FriendlyName"


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDevice]:
    server = start_live(tmp_path_factory.mktemp("csrf") / "data")
    create_admin_live(server)
    yield server
    server.stop()


def friendly_name(server: LiveDevice) -> str:
    r = httpx.get(server.http + "/axis-cgi/param.cgi", params={"action": "list", "group": NAME},
                  auth=httpx.DigestAuth(*ADMIN))
    return r.text.strip().split("=", 1)[1]


@pytest.fixture
def attacker() -> Iterator[tuple[int, dict[str, bytes]]]:
    """Another web server on the same host: (its port, the pages it serves by path)."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], pages
    server.shutdown()
    server.server_close()


def test_pages_work_and_a_same_site_page_cannot_change_settings(device: LiveDevice, attacker) -> None:
    site = f"http://vigil.test:{device.http_port}"
    evil_port, evil_pages = attacker
    evil = f"http://vigil.test:{evil_port}"  # another port of the same host: same-site, another origin
    with chromium("--host-resolver-rules=MAP vigil.test 127.0.0.1") as browser:
        page = browser.new_page()
        sent: list[dict[str, str]] = []
        page.on("request", lambda request: sent.append(request.headers) if "/axis-cgi/" in request.url else None)
        page.goto(site + "/index.html")
        value = page.evaluate("""async ([user, password, name]) => {
            const api = await import("/api.js");
            await api.login(user, password);
            await api.updateParams({[name]: "set by the page"});
            return (await api.listParams([name]))[name];
        }""", [*ADMIN, NAME])
        assert value == "set by the page"
        assert friendly_name(device) == "set by the page"
        assert not any("sec-fetch-site" in h for h in sent)  # plain HTTP by name: the browser sends no such mark

        evil_pages["/attack.html"] = (f"""
            <img id="img" src="{site}/axis-cgi/param.cgi?action=update&{NAME}=csrf-get">
            <script>
              window.done = Promise.all([
                new Promise(r => {{ img.onload = img.onerror = r; }}),
                fetch("{site}/axis-cgi/param.cgi", {{method: "POST", mode: "no-cors", credentials: "include",
                  body: new URLSearchParams({{action: "update", "{NAME}": "csrf-post"}})}}),
              ]);
            </script>""").encode()
        page.goto(evil + "/attack.html")
        page.evaluate("() => window.done")
        assert friendly_name(device) == "set by the page"
        # The session itself still works for the device's own pages.
        page.goto(site + "/index.html")
        assert page.evaluate("async () => (await (await import('/api.js')).getSession()).user") == "root"
    r = httpx.get(device.http + "/axis-cgi/accesslog.cgi", auth=httpx.DigestAuth(*ADMIN))
    assert r.text.count("cross-origin request refused") >= 2
