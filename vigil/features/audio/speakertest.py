"""The speaker test (Audio > Speaker test; VAPIX Auto speaker test service) and Locate device.

Calibrate: the speaker plays a series of test tones while the built-in microphone records; the
level of each tone as heard (the energy in a narrow band around its frequency, over the whole
recording, so that the room's delay does not matter) is stored as the reference, with the time.
Test: the same series again, each tone compared with its reference: the speaker passes (OK)
when every tone is heard within `TOLERANCE_DB` of it, and fails otherwise (a muted, broken or
covered speaker). The result is the `tns1:Device/tnsaxis:SpeakerTest/TestResult` event and the
report (SpeakerTestReport) the API and the Status page show; both survive a restart.

The tones go through the device settings like any sound (output gain and mute, input gain):
calibrate again after changing them, as after moving the speaker.

Locate device plays a beep pattern for a while so that someone on site finds the speaker; the
light layer, where the device has one, registers an indicator (`LocateService.indicators`) that
is switched on and off with it (the manual: "the device will flash a LED")."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.features.audio import const as c
from vigil.features.audio.service import AudioService
from vigil.hal.audio import RATE, AudioError, tone

log = logging.getLogger("vigil.audio")

TONES = (500.0, 1000.0, 2000.0, 4000.0)  # Hz
TONE_SECONDS = 0.25
GAP_SECONDS = 0.05
TONE_LEVEL = -20.0  # dBFS
CAPTURE_START_SECONDS = 5.0
SETTLE_SECONDS = 0.4  # recording goes on after the last tone: the output's queue and the room's echo
BAND = 0.04  # each tone's band: its frequency +-4 %
TOLERANCE_DB = 6.0
INAUDIBLE_DB = -100.0  # a tone heard no louder than this was not heard (the reference of a calibration)
STORE_KEY = "audio.speakertest"

# SpeakerTestStatus (the API's enumeration)
OK, FAILED, CALIBRATED, PENDING, UNCALIBRATED = "OK", "Failed", "Calibrated", "Pending", "Uncalibrated"
DISABLED, INTERNAL_ERROR = "DisabledInHardware", "InternalError"

LOCATE_TONE = 2000.0  # Hz
LOCATE_ON, LOCATE_OFF = 0.2, 0.3  # seconds of beep and pause
MAX_LOCATE_SECONDS = 300


class SpeakerTestError(Exception):
    """A command the speaker test refuses: `code` is the API's fault subcode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def band_levels(samples: np.ndarray, frequencies: tuple[float, ...] = TONES) -> list[float]:
    """The energy (dB relative to full scale over the recording) around each frequency."""
    if len(samples) == 0:
        return [INAUDIBLE_DB - 20] * len(frequencies)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) / 32768.0)) ** 2
    bins = np.fft.rfftfreq(len(samples), 1 / RATE)
    levels = []
    for f in frequencies:
        energy = float(np.sum(spectrum[(bins >= f * (1 - BAND)) & (bins <= f * (1 + BAND))]))
        levels.append(round(10 * np.log10(energy * 2 / len(samples) / RATE + 1e-16), 2))
    return levels


def series() -> np.ndarray:
    gap = np.zeros(int(GAP_SECONDS * RATE), np.int16)
    return np.concatenate([part for f in TONES for part in (tone(f, TONE_SECONDS, TONE_LEVEL), gap)])


@dataclass
class Report:
    """SpeakerTestReport, with what it was decided on."""

    status: str = UNCALIBRATED
    tested: float | None = None  # epoch seconds
    calibrated: float | None = None
    reference: list[float] = field(default_factory=list)  # dB per tone
    measured: list[float] = field(default_factory=list)  # of the last test


def stamp(moment: float | None) -> str:
    return "" if moment is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


class SpeakerTest:
    def __init__(self, service: AudioService, bus: EventBus, store: Store, logs: Logs, wall_clock: Callable[[], float],
                 device_uuid: str) -> None:
        self.service = service
        self.bus = bus
        self.store = store
        self.logs = logs
        self.wall_clock = wall_clock
        self.device_uuid = device_uuid
        self.report = self._load()
        self._task: asyncio.Task | None = None

    def _load(self) -> Report:
        raw = self.store.get_kv(STORE_KEY)
        if not raw:
            return Report()
        try:
            report = Report(**json.loads(raw))
        except (ValueError, TypeError):
            log.warning("the stored speaker test report is unreadable: calibrate again")
            return Report()
        if report.status == PENDING:  # the device stopped during a calibration or test
            report.status = CALIBRATED if report.reference else UNCALIBRATED
        return report

    def _save(self) -> None:
        self.store.set_kv(STORE_KEY, json.dumps(asdict(self.report)))

    def declare(self) -> None:
        self.bus.declare(Topic(c.SPEAKER_TEST_RESULT, "Speaker test result", False,
                               (Item("DeviceUUID", "xsd:string", "Device", (self.device_uuid,)),),
                               (Item("SpeakerTestStatus", "xsd:string", "Speaker test status", (OK, FAILED)),)))

    def as_api(self) -> dict[str, str]:
        r = self.report
        return {"SpeakerTestStatus": r.status, "TestTimestamp": stamp(r.tested),
                "CalibrationTimestamp": stamp(r.calibrated)}

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- commands: they start the work and return at once ------------------------------------
    def _check(self, need_calibration: bool) -> None:
        if not self.service.input_enabled:
            raise SpeakerTestError("axast:DisabledInHardware", "The speaker test needs the microphone: the audio "
                                   "input is turned off (Audio > Device settings)")
        if self.busy:
            raise SpeakerTestError("ter:Failure", "A speaker test or calibration is already running")
        if need_calibration and not self.report.reference:
            raise SpeakerTestError("axast:DeviceNotCalibrated",
                                   "The Auto Speaker Test cannot be done without prior calibration.")

    def calibrate(self, actor: str) -> asyncio.Task:
        self._check(need_calibration=False)
        self.report.status, self.report.tested, self.report.calibrated = PENDING, None, None
        self.logs.audit(actor, "speaker test calibration started", "audio")
        return self._start(self._calibrate())

    def perform(self, actor: str) -> asyncio.Task:
        self._check(need_calibration=True)
        self.report.status, self.report.tested = PENDING, None
        self.logs.audit(actor, "speaker test started", "audio")
        return self._start(self._perform())

    def _start(self, work) -> asyncio.Task:
        self._save()
        self._task = asyncio.get_running_loop().create_task(work)
        return self._task

    # -- the work ------------------------------------------------------------------------------
    async def measure(self) -> list[float]:
        """Play the series and return each tone's level as the microphone heard it."""
        heard: list[np.ndarray] = []
        capturing = asyncio.Event()

        def hear(block: np.ndarray) -> None:
            heard.append(block)
            capturing.set()

        self.service.listen(hear)
        try:
            try:  # the microphone records before the first tone plays
                await asyncio.wait_for(capturing.wait(), CAPTURE_START_SECONDS)
            except TimeoutError:
                raise AudioError("the microphone delivers no sound") from None
            await self.service.hardware.play(series())
            await asyncio.sleep(SETTLE_SECONDS)
        finally:
            self.service.unlisten(hear)
        return band_levels(np.concatenate(heard) if heard else np.zeros(0, np.int16))

    async def _calibrate(self) -> None:
        try:
            levels = await self.measure()
        except AudioError as err:
            self._finish_error(f"Speaker test calibration failed: {err}")
            return
        if min(levels) <= INAUDIBLE_DB:
            self.report.reference, self.report.status = [], UNCALIBRATED
            self._save()
            self.logs.system("Speaker test calibration failed: the microphone did not hear the test tones "
                             f"(levels {levels} dB); check that the speaker plays and is not muted", "warning")
            return
        self.report.reference, self.report.calibrated = levels, self.wall_clock()
        self.report.status, self.report.measured = CALIBRATED, []
        self._save()
        self.logs.system(f"Speaker test calibrated: reference levels {levels} dB", "notice")

    async def _perform(self) -> None:
        try:
            levels = await self.measure()
        except AudioError as err:
            self._finish_error(f"Speaker test failed: {err}")
            return
        worst = max(abs(m - r) for m, r in zip(levels, self.report.reference, strict=True))
        status = OK if worst <= TOLERANCE_DB else FAILED
        self.report.status, self.report.tested, self.report.measured = status, self.wall_clock(), levels
        self._save()
        self.logs.system(f"Speaker test: {status} (levels {levels} dB against the reference "
                         f"{self.report.reference} dB, at most {worst:.1f} dB apart; tolerance {TOLERANCE_DB:g} dB)",
                         "notice" if status == OK else "warning")
        self.bus.publish(c.SPEAKER_TEST_RESULT, {"DeviceUUID": self.device_uuid}, {"SpeakerTestStatus": status})

    def _finish_error(self, message: str) -> None:
        self.report.status = INTERNAL_ERROR
        self._save()
        self.logs.system(message, "error")

    async def run_action(self) -> None:
        """The rule action "Run automatic speaker test": the test, to its end."""
        await self.perform("rule")

    async def run(self) -> None:
        """The device service: a calibration or test still running ends with the device (the
        report, Pending, reads as before it at the next start)."""
        try:
            await asyncio.Event().wait()
        finally:
            if self._task is not None:
                self._task.cancel()


class LocateService:
    """Locate device: a beep pattern for `seconds`, and the registered indicators on meanwhile."""

    def __init__(self, service: AudioService, logs: Logs) -> None:
        self.service = service
        self.logs = logs
        self.indicators: list[Callable[[bool], None]] = []  # the light layer's LED, where there is one
        self._task: asyncio.Task | None = None
        self.until = 0.0  # loop time the locating ends

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, seconds: int, actor: str) -> None:
        self.stop(actor="", quiet=True)
        loop = asyncio.get_running_loop()
        self.until = loop.time() + seconds
        self._indicate(True)
        self._task = loop.create_task(self._beep())
        self._task.add_done_callback(self._ended)
        self.logs.audit(actor, f"locate device for {seconds} s", "audio")

    def stop(self, actor: str, quiet: bool = False) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
            if not quiet:
                self.logs.audit(actor, "locate device stopped", "audio")

    async def run(self) -> None:
        """The device service: locating ends with the device."""
        try:
            await asyncio.Event().wait()
        finally:
            self.stop(actor="", quiet=True)

    def _ended(self, task: asyncio.Task) -> None:
        if self._task in (task, None):  # not when a new locating replaced this one
            self._indicate(False)

    def _indicate(self, on: bool) -> None:
        for indicator in self.indicators:
            try:
                indicator(on)
            except Exception:  # a failing LED must not stop the sound
                log.exception("locate device: an indicator failed")

    async def _beep(self) -> None:
        loop = asyncio.get_running_loop()
        beep = np.concatenate([tone(LOCATE_TONE, LOCATE_ON, -12.0), np.zeros(int(LOCATE_OFF * RATE), np.int16)])
        try:
            while loop.time() < self.until:
                await self.service.hardware.play(beep)
        except AudioError as err:
            self.logs.system(f"Locate device: the speaker cannot play ({err})", "warning")

    def status(self) -> dict[str, object]:
        remaining = max(0.0, self.until - asyncio.get_running_loop().time()) if self.active else 0.0
        return {"active": self.active, "remainingSeconds": round(remaining, 1)}


SPEAKER_TEST: Key[SpeakerTest] = Key("speaker-test")
LOCATE: Key[LocateService] = Key("locate")
