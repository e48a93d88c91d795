"""The firmware tests' release key and releases (built once per session), and the multipart
upgrade call of the firmware management API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.release.signing import ReleaseKey, launcher_tree, release, release_key

FWMGR = "/axis-cgi/firmwaremanagement.cgi"


@pytest.fixture(scope="session")
def key() -> ReleaseKey:
    return release_key()


@pytest.fixture(scope="session")
def small_tree(tmp_path_factory) -> Path:
    return launcher_tree(tmp_path_factory.mktemp("tree"))


@pytest.fixture(scope="session")
def releases(tmp_path_factory, key: ReleaseKey, small_tree: Path) -> dict[str, Path]:
    """Small releases (verified exactly as full ones; not started): by name."""
    folder = tmp_path_factory.mktemp("releases")
    return {
        "v2": release(folder / "v2.tgz", key, "0.2.0", source=small_tree, revokes=("0.3.0",)),
        "v3": release(folder / "v3.tgz", key, "0.3.0", source=small_tree),
        "v4": release(folder / "v4.tgz", key, "0.4.0", source=small_tree),
        "old": release(folder / "old.tgz", key, "0.0.9", source=small_tree),
        "w401": release(folder / "w401.tgz", key, "0.2.0", ("w401",), source=small_tree),
        "stranger": release(folder / "stranger.tgz", release_key("a stranger"), "0.2.0", source=small_tree),
    }


def upgrade_files(package: bytes, params: dict | None = None, method: str = "upgrade", browser: bool = False) -> dict:
    """The multipart parts; `browser`: the json part as a browser's FormData sends a Blob (a file name)."""
    body = {"apiVersion": "1.0", "context": "up", "method": method, **({"params": params} if params else {})}
    return {"json": ("blob" if browser else None, json.dumps(body), "application/json"),
            "file": ("vigil.tgz", package, "application/octet-stream")}


def upgrade(client: httpx.Client | httpx.AsyncClient, package: bytes, params: dict | None = None,
            browser: bool = False):
    return client.post(FWMGR, files=upgrade_files(package, params, browser=browser))
