"""Fixtures of the web page tests (tests/peers/browser.py's Chromium): `browser`, one per
module, `session`, a fresh browser context per test, `w401`, a real `vigil run --profile w401`
with its administrator, `recorder`, a live S3016, and `speaker`, a live C1410; and what the tests do on a page: log in,
open a page of the menu, read the menu, read a parameter over the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ADMIN, LiveDevice, create_admin_live, start_live
from tests.peers.browser import Session, chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def session(browser: Browser) -> Iterator[Session]:
    s = Session(browser)
    yield s
    s.close()


@pytest.fixture
def w401(tmp_path: Path) -> Iterator[LiveDevice]:
    server = start_live(tmp_path / "w401-data", "w401")
    try:
        create_admin_live(server)
        yield server
    finally:
        server.stop()


def live_with_admin(data: Path, profile: str) -> Iterator[LiveDevice]:
    server = start_live(data, profile)
    create_admin_live(server)
    yield server
    server.stop()


@pytest.fixture
def speaker(tmp_path: Path) -> Iterator[LiveDevice]:
    """A real `vigil run` C1410 (simulated speaker and microphone) with the test administrator."""
    yield from live_with_admin(tmp_path / "c1410", "c1410")


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[LiveDevice]:
    """A real `vigil run` S3016 with the test administrator."""
    yield from live_with_admin(tmp_path / "data", "s3016")


def digest(user: str = ADMIN[0], password: str = ADMIN[1]) -> httpx.DigestAuth:
    return httpx.DigestAuth(user, password)


def log_in(page: Page, server: LiveDevice, user: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    """Log in on the device's own page (opened unless the page shows the device already)."""
    if not page.url.startswith(server.http):
        page.goto(server.http + "/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("main h1")).to_be_visible()


def open_page(page: Page, title: str) -> None:
    page.locator("#nav").get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()


def nav_links(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("#nav a").all_inner_texts()]


def param(server: LiveDevice, name: str) -> str:
    r = httpx.get(server.http + "/axis-cgi/param.cgi", params={"action": "list", "group": name}, auth=digest())
    return r.text.strip().split("=", 1)[1]
