"""Debian's Chromium driven by Playwright, for the tests of the web pages: the browser launched
headless (the test is skipped where Chromium is not installed), and a `Session`, one browser
context whose page fails the test on script errors. Playwright's `expect` waits TIMEOUT_MS."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 20_000  # generous: these run beside other suites on a busy machine
expect.set_options(timeout=TIMEOUT_MS)


@contextlib.contextmanager
def chromium(*extra_args: str) -> Iterator[Browser]:
    """Chromium (with CHROMIUM_ARGS and `extra_args`), closed afterwards."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module", name="browser")
def module_browser() -> Iterator[Browser]:
    """Chromium as the `browser` fixture of one test module, for a folder whose other tests are
    async: Playwright's sync API holds an event loop on the main thread while it runs, so it must
    be closed before they run (tests/web, all synchronous, keeps one for the folder)."""
    with chromium() as browser:
        yield browser


class Session:
    """One browser context (its own cookies and storage) with a page that fails on script errors."""

    def __init__(self, browser: Browser, **options: object) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def close(self) -> None:
        self.context.close()
        assert not self.errors, self.errors
