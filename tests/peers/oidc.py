"""An OpenID provider for the tests: npm `oidc-provider` (OpenID-certified, MIT) on the machine's
Node.js, run from tests/peers/oidc_op.mjs. The package is installed once into a cache folder
(`$XDG_CACHE_HOME/vigil-test-peers`, else ~/.cache/vigil-test-peers) when it is missing; the
test is skipped where Node.js or npm is not installed.

`Provider` holds the configuration the script reads (clients, accounts with their "roles"
claim, API clients for the client-credentials grant) and `login()` walks the provider's own
login and consent forms with httpx, as a browser would, up to the redirect to the device."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from lxml import html

from tests.peers.processes import free_port, stop_process, wait_port

PACKAGE = "oidc-provider@9.13.3"
SCRIPT = Path(__file__).with_name("oidc_op.mjs")
CLIENT_ID, CLIENT_SECRET = "vigil-device", "device-s3cret-Kx9"
RESOURCE = "urn:vigil:device"
ACCOUNTS = {
    "alice": {"roles": ["vigil-admin"], "email": "alice@example.test"},
    "olle": {"roles": ["vigil-operator"], "email": "olle@example.test"},
    "vera": {"roles": ["vigil-viewer"], "email": "vera@example.test"},
    "nobody": {"roles": ["printer-users"], "email": "nobody@example.test"},
}
API_CLIENTS = {
    "vms-admin": {"secret": "vms-admin-s3cret", "roles": ["vigil-admin"]},
    "vms-viewer": {"secret": "vms-viewer-s3cret", "roles": ["vigil-viewer"]},
    "vms-other": {"secret": "vms-other-s3cret", "roles": ["printer-users"]},
}


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vigil-test-peers" / PACKAGE.replace("@", "-")


def installed() -> Path:
    """The folder holding node_modules/oidc-provider and the script, installed when missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not installed (Debian: nodejs npm)")
    folder = cache_dir()
    if not (folder / "node_modules" / "oidc-provider" / "package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix",
                               str(folder), PACKAGE], capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"npm could not install {PACKAGE}: {done.stderr.strip()[-300:]}")
    # ES modules resolve packages next to the script, so it runs from the cache folder.
    shutil.copyfile(SCRIPT, folder / SCRIPT.name)
    return folder


@dataclass
class Provider:
    redirect_uris: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def start(self) -> Provider:
        folder = installed()
        config = {"issuer": self.issuer, "port": self.port, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
                  "redirectUris": self.redirect_uris, "accounts": ACCOUNTS, "apiClients": API_CLIENTS,
                  "resource": RESOURCE}
        self.process = subprocess.Popen(["node", SCRIPT.name, json.dumps(config)], cwd=folder,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 20, self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def client_credentials(self, client_id: str) -> str:
        """An access token (a JWT) for API client `client_id`, by the client-credentials grant."""
        r = httpx.post(self.issuer + "/token", auth=(client_id, API_CLIENTS[client_id]["secret"]),
                       data={"grant_type": "client_credentials", "scope": "vapix"})
        r.raise_for_status()
        return r.json()["access_token"]


def _submit(client: httpx.Client, page: httpx.Response, fields: dict[str, str]) -> httpx.Response:
    form = html.fromstring(page.text).forms[0]
    values = {name: value for name, value in form.form_values()} | fields
    return client.post(urljoin(str(page.url), form.action), data=values)


def login(authorization_url: str, user: str, client: httpx.Client | None = None) -> dict[str, str]:
    """Walk the provider's login and consent forms from `authorization_url` as `user`; return the
    query the provider sends the browser back to the device with (code, state, iss)."""
    own = client is None
    client = client or httpx.Client()
    try:
        r = client.get(authorization_url)
        for _ in range(12):
            if r.status_code in (302, 303):
                location = urljoin(str(r.url), r.headers["location"])
                if "/oidc/oauth2callback" in location:
                    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                r = client.get(location)
            elif 'name="login"' in r.text:
                r = _submit(client, r, {"login": user, "password": "any"})
            elif r.status_code == 200 and "<form" in r.text:
                r = _submit(client, r, {})  # consent
            else:
                raise AssertionError(f"unexpected answer from the provider: {r.status_code} {r.text[:300]}")
        raise AssertionError("the provider never sent the browser back")
    finally:
        if own:
            client.close()
