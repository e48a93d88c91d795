"""The Recordings page in a real browser (Debian's Chromium through Playwright) against a real
recorder (`vigil run --test-cameras 1`, S3016): the Status page's "Ongoing recordings" card,
the list, playing a recorded range in <video> (it must actually advance and seek), an encrypted
export with progress and its download, and deleting a recording. Results are checked again over
the public API or with the standard tools (openssl, ffmpeg)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ADMIN, ROLE_USERS
from tests.peers.browser import Session
from tests.recording.live import Recorded, decode_errors
from tests.web.conftest import log_in

pytestmark = pytest.mark.browser

H264 = 'video/mp4; codecs="avc1.42E01E"'
VIDEO_STATE = """() => { const v = document.getElementById('playback-video');
  return {time: v.currentTime, ready: v.readyState, error: v.error ? v.error.code : null, duration: v.duration,
          paused: v.paused, src: v.currentSrc}; }"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    session = Session(browser, accept_downloads=True)
    yield session.page
    session.close()


def wait_video(page: Page, predicate, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate(VIDEO_STATE)
        assert state["error"] is None, f"the video failed: {state}"
        if predicate(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"the video did not get there: {state}")
        time.sleep(0.1)


def test_play_export_and_delete_in_the_browser(recorded: Recorded, page: Page, tmp_path: Path) -> None:
    log_in(page, recorded.server, *ADMIN)
    # Status: the ongoing continuous recording of the test camera.
    ongoing = page.locator("#ongoing-recordings")
    expect(ongoing).to_be_visible()
    expect(ongoing).to_contain_text("testcam1")
    expect(ongoing).to_contain_text("continuous")

    page.locator("#nav").get_by_role("link", name="Recordings").click()
    expect(page.get_by_role("heading", name="Recordings", level=1)).to_be_visible()
    row = page.locator(f'tr[data-recording="{recorded.main}"]')
    expect(row).to_be_visible()
    expect(page.locator(f'tr[data-recording="{recorded.continuous}"]')).to_contain_text("Recording")

    # Play a recorded range: the element must load, decode and advance.
    h264 = page.evaluate(f"() => MediaSource.isTypeSupported('{H264}')")
    row.get_by_role("button", name="Play").click()
    expect(page.locator("#playback-video")).to_be_visible()
    if h264:
        state = wait_video(page, lambda s: s["time"] > 0.5 and s["ready"] >= 2)
        assert state["duration"] > 5 and not state["paused"]
        # Seeking asks the device for another byte range and plays on from there.
        page.evaluate("() => { document.getElementById('playback-video').currentTime = 5.5; }")
        state = wait_video(page, lambda s: s["time"] > 5.7 and s["ready"] >= 2)
        expect(page.locator("#playback-position")).to_contain_text("Showing")
    else:
        # Debian's Chromium without H.264 would only get as far as the metadata.
        state = wait_video(page, lambda s: s["ready"] >= 1 and s["duration"] > 0)
    assert f"recordingid={recorded.main}" in state["src"]

    # Export the recording encrypted, follow the progress, download it, open it with openssl.
    row.get_by_role("button", name="Export").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Export recording")).to_be_visible()
    dialog.get_by_label("Format").select_option("mp4")
    dialog.get_by_label("Encrypt").check()
    dialog.get_by_label("Password", exact=True).fill("short")
    dialog.get_by_label("Repeat password").fill("short")
    dialog.get_by_role("button", name="Export").click()
    expect(dialog.get_by_role("alert")).to_contain_text("8 to 512")
    dialog.get_by_label("Password", exact=True).fill("browser secret")
    dialog.get_by_label("Repeat password").fill("browser secret")
    dialog.get_by_role("button", name="Export").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    job = page.locator("#export-jobs li").first
    expect(job).to_contain_text("Ready", timeout=30_000)
    assert job.locator("progress").get_attribute("value") == "100"
    with page.expect_download() as download_info:
        job.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".mp4.enc")
    sealed = tmp_path / download.suggested_filename
    download.save_as(sealed)
    assert sealed.read_bytes()[:8] == b"Salted__"
    if shutil.which("openssl") and shutil.which("ffmpeg"):
        opened = tmp_path / "opened.mp4"
        run = subprocess.run(["openssl", "enc", "-d", "-aes-256-ctr", "-pbkdf2", "-iter", "100000", "-pass",
                              "pass:browser secret", "-in", str(sealed), "-out", str(opened)], capture_output=True)
        assert run.returncode == 0, run.stderr
        assert decode_errors(opened) == ""

    # Delete a finished recording (administrators only).
    victim = recorded.spares[-1]
    page.locator(f'tr[data-recording="{victim}"]').get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(f'tr[data-recording="{victim}"]')).to_have_count(0)
    with recorded.client("admin") as c:
        listing = c.get("/axis-cgi/record/list.cgi", params={"recordingid": "all"}).text
    assert victim not in listing and recorded.main in listing


def test_viewers_play_but_cannot_export_or_delete(recorded: Recorded, page: Page) -> None:
    log_in(page, recorded.server, *ROLE_USERS["viewer"])
    page.goto(recorded.base + "/#/recordings")
    row = page.locator(f'tr[data-recording="{recorded.main}"]')
    expect(row.get_by_role("button", name="Play")).to_be_visible()
    expect(row.get_by_role("button", name="Export")).to_have_count(0)
    expect(row.get_by_role("button", name="Delete")).to_have_count(0)
    expect(page.locator("#exports-card")).to_have_count(0)
    # Then a range typed in the form: four seconds from the recording's start.
    row.get_by_role("button", name="Play").click()
    before = wait_video(page, lambda s: s["ready"] >= 1 and s["duration"] > 0)
    start = page.locator("#playback-card").get_by_label("From").input_value()
    # A datetime-local value leaves out ":00" when the seconds are zero.
    hours, minutes, seconds = (int(x) for x in (start[11:19].split(":") + ["0"])[:3])
    later = f"{start[:11]}{hours:02d}:{minutes:02d}:{seconds + 4:02d}" if seconds < 50 else None
    if later:
        page.locator("#playback-card").get_by_label("To").fill(later)
        page.get_by_role("button", name="Play range").click()
        state = wait_video(page, lambda s: s["src"] != before["src"] and s["ready"] >= 1 and s["duration"] > 0)
        assert state["duration"] <= 6 < before["duration"]  # from the key frame before, to the fragment after


def test_the_filter_narrows_the_list(recorded: Recorded, page: Page) -> None:
    log_in(page, recorded.server, *ADMIN)
    page.goto(recorded.base + "/#/recordings")
    expect(page.locator(f'tr[data-recording="{recorded.main}"]')).to_be_visible()
    page.get_by_label("Type").select_option("continuous")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f'tr[data-recording="{recorded.main}"]')).to_have_count(0)
    expect(page.locator(f'tr[data-recording="{recorded.continuous}"]')).to_be_visible()
    page.get_by_label("Type").select_option("")
    page.get_by_label("Source").select_option("testcam1")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f'tr[data-recording="{recorded.main}"]')).to_be_visible()


def test_export_to_the_usb_drive_and_eject_it(recorded: Recorded, page: Page) -> None:
    sim = "/vigil/sim/usb"
    log_in(page, recorded.server, *ADMIN)
    page.locator("#nav").get_by_role("link", name="Recordings").click()
    expect(page.locator("#usb-status")).to_contain_text("none")
    row = page.locator(f'tr[data-recording="{recorded.main}"]')
    # No drive in the port: the dialog says so and stays open.
    row.get_by_role("button", name="Export").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Destination").select_option("usb")
    dialog.get_by_role("button", name="Export").click()
    expect(dialog.get_by_role("alert")).to_contain_text("no USB drive in the USB port")
    dialog.get_by_role("button", name="Cancel").click()
    with recorded.client("admin") as c:
        assert c.post(sim, json={"insert": {"label": "BROWSER", "capacity": 4_000_000_000}}).status_code == 200
    try:
        expect(page.locator("#usb-status")).to_contain_text("USB drive BROWSER", timeout=10_000)
        row.get_by_role("button", name="Export").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Destination").select_option("usb")
        dialog.get_by_role("button", name="Export").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
        job = page.locator("#export-jobs li").first
        expect(job).to_contain_text("On the USB drive", timeout=30_000)
        expect(job.get_by_role("link", name="Download")).to_have_count(0)
        name = job.locator("strong").inner_text()
        on_drive = recorded.server.data / "sim" / "usb" / "BROWSER" / name
        assert on_drive.stat().st_size > 0 and decode_errors(on_drive) == ""
        page.locator("#usb-eject").click()
        expect(page.locator("#usb-status")).to_contain_text("ejected, you can pull it out")
        expect(page.locator("#usb-eject")).to_be_hidden()
    finally:
        with recorded.client("admin") as c:
            c.post(sim, json={"remove": True})
    expect(page.locator("#usb-status")).to_contain_text("none", timeout=10_000)


def test_the_event_and_storage_filters(recorded: Recorded, page: Page) -> None:
    log_in(page, recorded.server, *ROLE_USERS["viewer"])
    page.goto(recorded.base + "/#/recordings")
    main = page.locator(f'tr[data-recording="{recorded.main}"]')
    continuous = page.locator(f'tr[data-recording="{recorded.continuous}"]')
    expect(main).to_be_visible()
    with recorded.client("viewer") as c:
        listing = c.get("/axis-cgi/record/list.cgi", params={"recordingid": recorded.main}).text
    disk = listing.split('diskid="')[1].split('"')[0]
    page.get_by_label("Event").select_option(f"manual by {ROLE_USERS['operator'][0]}")
    page.get_by_role("button", name="Filter").click()
    expect(continuous).to_have_count(0)
    expect(main).to_be_visible()
    expect(main).to_contain_text(f"manual by {ROLE_USERS['operator'][0]}")
    page.get_by_label("Event").select_option("")
    page.get_by_label("Storage").select_option(disk)
    page.get_by_role("button", name="Filter").click()
    expect(continuous).to_be_visible()
    expect(main).to_contain_text(disk)


def test_the_timeline_plays_from_the_instant_clicked_and_scrubs(recorded: Recorded, page: Page) -> None:
    log_in(page, recorded.server, *ROLE_USERS["viewer"])
    page.goto(recorded.base + "/#/recordings")
    span = page.locator(f'#timeline-bar .timeline-span[data-recording="{recorded.main}"]')
    expect(span).to_have_count(1)
    expect(page.locator("#timeline-legend")).to_contain_text("span")
    # Click the middle of the manual recording's span: it plays from that instant (the manual
    # recordings started a second apart overlap: the one drawn on top there).
    span.click(force=True)
    manual = (recorded.main, *recorded.spares)
    state = wait_video(page, lambda s: any(f"recordingid={r}&" in s["src"] for r in manual) and s["ready"] >= 1)
    assert "starttime=" in state["src"]
    if page.evaluate(f"() => MediaSource.isTypeSupported('{H264}')"):
        wait_video(page, lambda s: s["time"] > 0.5 and s["duration"] > 3)  # from the middle: seconds to play
        expect(page.locator("#timeline-card .timeline-cursor")).to_be_visible()
    # Scrubbing with the keyboard moves the chosen instant; Enter plays from there.
    bar = page.locator("#timeline-bar")
    before = bar.get_attribute("aria-valuenow")
    bar.focus()
    page.keyboard.press("ArrowRight")
    assert int(bar.get_attribute("aria-valuenow") or 0) == int(before or 0) + 10
    # A click where there is no footage (the day's first minutes, before the recorder started) says so.
    left = page.evaluate("() => parseFloat(document.querySelector('#timeline-bar .timeline-span').style.left)")
    if left > 1:
        box = bar.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
        expect(page.locator("#timeline-card .message.error")).to_contain_text("gap")
