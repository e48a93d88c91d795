"""Accounts > SSH accounts in a real browser: "Enable SSH" turns the server on, an SSH account
added on the page logs in with an SSH client and gets the restricted shell, the root account
cannot be deleted, and a deleted account no longer logs in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncssh
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice, create_admin_live, start_live
from tests.peers.browser import Session
from tests.peers.processes import free_port, port_open
from tests.web.conftest import log_in


@pytest.fixture
def device(tmp_path) -> Iterator[tuple[LiveDevice, int]]:
    ssh_port = free_port()
    server = start_live(tmp_path / "data", extra=("--ssh-port", str(ssh_port)))
    create_admin_live(server)
    yield server, ssh_port
    server.stop()


def run(port: int, user: str, password: str, command: str) -> str:
    async def go() -> str:
        async with asyncssh.connect("127.0.0.1", port, username=user, password=password, known_hosts=None,
                                    client_keys=None, agent_path=None) as conn:
            return (await conn.run(command)).stdout

    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this one
        return thread.submit(asyncio.run, go()).result()


def test_ssh_accounts_on_the_accounts_page(device: tuple[LiveDevice, int], session: Session) -> None:
    live, ssh_port = device
    page = session.page
    log_in(page, live)
    page.locator("#nav").get_by_role("link", name="Accounts").click()
    expect(page.locator('tr[data-ssh-account="root"]')).to_be_visible()
    expect(page.get_by_role("button", name="Delete SSH account root")).to_be_disabled()
    assert not port_open(ssh_port)
    page.get_by_label("Enable SSH").check()
    expect(page.get_by_text("SSH is on.")).to_be_visible()

    page.get_by_role("button", name="Add SSH account").click()
    dialog = page.get_by_role("dialog", name="Add SSH account")
    dialog.get_by_label("Account", exact=True).fill("maint")
    dialog.get_by_label("New password").fill("maint-1234")
    dialog.get_by_label("Repeat password").fill("maint-1234")
    dialog.get_by_label("Comment").fill("Night shift")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_be_hidden()
    row = page.locator('tr[data-ssh-account="maint"]')
    expect(row).to_contain_text("Night shift")
    assert "Product: Vigil S3016 Recorder" in run(ssh_port, "maint", "maint-1234", "status")

    row.get_by_role("button", name="Delete SSH account maint").click()
    page.get_by_role("dialog", name="Delete SSH account").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    with pytest.raises(asyncssh.PermissionDenied):
        run(ssh_port, "maint", "maint-1234", "status")
    page.get_by_label("Enable SSH").uncheck()
    expect(page.get_by_text("SSH is off.")).to_be_visible()
