"""System > Power settings in a real browser against a real `vigil run --profile w401`: the
administrator turns on Delayed shutdown with a delay, the page follows the ignition (the
simulated line) and says when the device will shut down; bad delays are refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice, create_admin_live, start_live
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page, param

pytestmark = pytest.mark.browser






def test_delayed_shutdown_settings_and_state(w401: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, w401)
    open_page(page, "Power settings")
    expect(page.locator("#power-ignition")).to_have_text("On")
    expect(page.locator("#power-now")).to_contain_text("Delayed shutdown is off")

    form = page.locator("#power-form")
    form.get_by_label("Delay time (minutes)").fill("61")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("1 to 60")
    assert param(w401, "PowerSettings.DelayedShutdown.Delay") == "10"

    form.get_by_label("Delayed shutdown", exact=True).check()
    form.get_by_label("Delay time (minutes)").fill("15")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".message.ok")).to_contain_text("Power settings saved")
    assert (param(w401, "PowerSettings.DelayedShutdown.Enabled"), param(w401, "PowerSettings.DelayedShutdown.Delay")) \
        == ("yes", "15")
    # A first start is a start without power: armed after the arm delay.
    expect(page.locator("#power-now")).to_contain_text("armed after a short delay")

    r = httpx.post(w401.http + "/vigil/sim/power", auth=digest(), json={"ignition": False})
    assert r.status_code == 200
    expect(page.locator("#power-ignition")).to_have_text("Off")
    r = httpx.post(w401.http + "/vigil/sim/power", auth=digest(), json={"ignition": True})
    expect(page.locator("#power-ignition")).to_have_text("On")


def test_after_a_clean_stop_the_page_counts_down(tmp_path: Path, session: Session) -> None:
    data = tmp_path / "w401-data"
    first = start_live(data, "w401")
    try:
        create_admin_live(first)
        r = httpx.get(first.http + "/axis-cgi/param.cgi", auth=digest(), params={
            "action": "update", "PowerSettings.DelayedShutdown.Enabled": "yes",
            "PowerSettings.DelayedShutdown.Delay": "15"})
        assert r.text.strip() == "OK", r.text
    finally:
        first.stop()  # a stop, not a power loss: the next start arms at once
    server = start_live(data, "w401")
    try:
        page = session.page
        log_in(page, server)
        open_page(page, "Power settings")
        expect(page.locator("#power-now")).to_contain_text("Armed: the device shuts down 15 min after")
        httpx.post(server.http + "/vigil/sim/power", auth=digest(), json={"ignition": False})
        expect(page.locator("#power-now")).to_contain_text("shuts down in 14 min")
        httpx.post(server.http + "/vigil/sim/power", auth=digest(), json={"ignition": True})
        expect(page.locator("#power-now")).to_contain_text("Armed")
    finally:
        server.stop()
