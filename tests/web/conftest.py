"""Fixtures of the web page tests (tests/peers/browser.py's Chromium): `browser`, one for the
folder, `session`, a fresh browser context per test; the devices, each a real `vigil run` kept for
the folder and handed to every test in factory state (see `Kept`): `w401` with its administrator,
`speaker`, a C1410 with its administrator, and `live`, an S3016 without accounts; `recorder`, a live
S3016 with its administrator, new for each test (its simulated disks outlast a factory default);
and what the tests do on a page: log in, open a page of the menu, read the menu, read a parameter
over the API."""

from __future__ import annotations

import dataclasses
import inspect
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ADMIN, LiveDevice, create_admin_live, start_live, wait_until
from tests.peers.browser import Session, chromium


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Chromium for the folder: its tests are all synchronous (Playwright's sync API holds an event
    loop on the main thread while it runs; another folder's page test imports `module_browser`)."""
    with chromium() as b:
        yield b


@pytest.fixture
def session(browser: Browser) -> Iterator[Session]:
    s = Session(browser)
    yield s
    s.close()


FAILED = pytest.StashKey[bool]()
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The folder's Chromium holds an event loop on the main thread from the first page test to the
    folder's end, where an async test cannot run: say so at collection, not as a loop error later."""
    for item in items:
        if HERE in item.path.parents and inspect.iscoroutinefunction(getattr(item, "obj", None)):
            raise pytest.UsageError(f"{item.nodeid}: the tests of tests/web are synchronous (an async test "
                                    "belongs in the folder of what it tests)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


class Kept:
    """One `vigil run` of a profile kept for the tests of this folder. Each test gets it in factory
    state: after the first test, by a factory default (hardfactorydefault.cgi: the device is rebuilt
    in its process, in a fraction of a new process's start); where that cannot be asked for (the
    process stopped, the test's administrator gone, its HTTP port moved) or the test before failed
    (it may have left what a factory default keeps), by a new process on a new data folder. A test
    that changes what a factory default keeps (the simulated disks, an installed app or a media clip
    it does not delete) must use a device of its own."""

    def __init__(self, folder: Path, profile: str) -> None:
        self.folder, self.profile = folder, profile
        self.server: LiveDevice | None = None
        self.starts = 0

    def fresh(self) -> LiveDevice:
        """The device in factory state, without accounts; a copy of its handle for the test to change."""
        if self.server is not None and not self.reset():
            self.drop()
        if self.server is None:
            self.starts += 1
            data = self.folder / f"data-{self.starts}"
            self.server = start_live(data, self.profile, log=self.folder / "stderr.log")
        return dataclasses.replace(self.server)

    def reset(self) -> bool:
        """A factory default of the kept device; whether it was done."""
        server = self.server
        assert server is not None
        try:
            if server.process.poll() is not None:
                return False
            if setup_required(server):  # the test made no administrator: the reset needs one
                create_admin_live(server)
            r = httpx.get(server.http + "/axis-cgi/hardfactorydefault.cgi", auth=digest(), timeout=10)
            if r.status_code != 200:
                return False
            # The device asked for it has an administrator; the rebuilt one has none.
            wait_until(lambda: answers_setup_required(server), 30, "the device back in factory state")
            return True
        except (httpx.HTTPError, ValueError, TimeoutError, AssertionError):
            return False

    def handed(self, request: pytest.FixtureRequest) -> Iterator[LiveDevice]:
        """The device in factory state for the test of `request`; dropped when the test fails."""
        yield self.fresh()
        if request.node.stash.get(FAILED, False):
            self.drop()

    def drop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def close(self) -> None:
        self.drop()
        shutil.rmtree(self.folder, ignore_errors=True)


def setup_required(server: LiveDevice) -> bool:
    """The device has no administrator yet (it asks for one)."""
    return httpx.get(server.http + "/vigil/session", timeout=5).json()["setupRequired"]


def answers_setup_required(server: LiveDevice) -> bool:
    """The device answers (it is not between two instances) and has no administrator."""
    try:
        return setup_required(server)
    except httpx.TransportError:
        return False


def kept(factory: pytest.TempPathFactory, profile: str) -> Iterator[Kept]:
    device = Kept(factory.mktemp(f"kept-{profile}"), profile)
    yield device
    device.close()


@pytest.fixture(scope="package")
def kept_w401(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kept]:
    yield from kept(tmp_path_factory, "w401")


@pytest.fixture(scope="package")
def kept_c1410(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kept]:
    yield from kept(tmp_path_factory, "c1410")


@pytest.fixture(scope="package")
def kept_s3016(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kept]:
    yield from kept(tmp_path_factory, "s3016")


def with_admin(server: LiveDevice) -> LiveDevice:
    create_admin_live(server)
    return server


@pytest.fixture
def w401(kept_w401: Kept, request: pytest.FixtureRequest) -> Iterator[LiveDevice]:
    """A real `vigil run` W401 in factory state with the test administrator."""
    for server in kept_w401.handed(request):
        yield with_admin(server)


@pytest.fixture
def speaker(kept_c1410: Kept, request: pytest.FixtureRequest) -> Iterator[LiveDevice]:
    """A real `vigil run` C1410 (simulated speaker and microphone) in factory state with the test administrator."""
    for server in kept_c1410.handed(request):
        yield with_admin(server)


@pytest.fixture
def live(kept_s3016: Kept, request: pytest.FixtureRequest) -> Iterator[LiveDevice]:
    """A real `vigil run` S3016 in factory state, without accounts."""
    yield from kept_s3016.handed(request)


def live_with_admin(data: Path, profile: str) -> Iterator[LiveDevice]:
    server = start_live(data, profile)
    create_admin_live(server)
    yield server
    server.stop()


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[LiveDevice]:
    """A real `vigil run` S3016 with the test administrator, its own: the storage tests change its disks."""
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
