"""Accounts > OpenID Configuration in a real browser with a real provider (oidc-provider): an
administrator sets the provider up on the page, the login page then offers "Log in with
OpenID", the provider's own login and consent pages let the user in, and the device's pages
open with the role the claims give; local accounts still log in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveDevice, create_admin_live, start_live
from tests.peers.oidc import CLIENT_ID, CLIENT_SECRET, Provider
from tests.peers.processes import free_port
from tests.web.conftest import log_in

HTTP_PORT = free_port()


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    op = Provider([f"http://127.0.0.1:{HTTP_PORT}/oidc/oauth2callback"]).start()
    yield op
    op.stop()


@pytest.fixture
def device(tmp_path) -> Iterator[LiveDevice]:
    server = start_live(tmp_path / "data", ports=(HTTP_PORT, free_port(), free_port()))
    create_admin_live(server)
    yield server
    server.stop()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_openid_login_from_the_login_page(device: LiveDevice, provider: Provider, session) -> None:
    page = session.page
    log_in(page, device)
    page.locator("#nav").get_by_role("link", name="Accounts").click()
    form = page.locator("#oidc-form")
    form.get_by_label("Provider URL").fill(provider.discovery)
    form.get_by_label("Client ID").fill(CLIENT_ID)
    form.get_by_label("Client secret").fill(CLIENT_SECRET)
    form.get_by_label("Admin claim").fill("roles:vigil-admin")
    form.get_by_label("Operator claim").fill("roles:vigil-operator")
    form.get_by_label("Viewer claim").fill("roles:vigil-viewer")
    form.get_by_label("Remote user").fill("email")
    form.get_by_label("Scopes").fill("email roles")
    form.get_by_label("Enable OpenID").check()
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".message")).to_have_text("Saved. The login page offers the provider.")
    expect(form.get_by_label("Client secret")).to_have_value("")  # never shown back

    log_out(page)
    page.get_by_role("link", name="Log in with OpenID").click()
    # The provider's own pages: its login form, then its consent.
    page.locator('input[name="login"]').fill("olle")
    page.locator('input[name="password"]').fill("any")
    page.locator('button[type="submit"]').click()
    page.locator('button[type="submit"]').click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page.url.startswith(device.http)
    expect(page.locator("#user-name")).to_have_text("olle@example.test (Operator)")
    expect(page.locator("#nav").get_by_role("link", name="Accounts")).to_have_count(0)  # administrators only

    log_out(page)
    log_in(page, device)  # the local administrator, as before
    expect(page.locator("#user-name")).to_contain_text("(Administrator)")
