"""The indicator backends: the simulated one records what the device sets and takes button
presses; the Linux one writes the kernel's LED class (a sysfs tree made in a folder, as the
kernel lays it out) and says which parts the machine lacks."""

from __future__ import annotations

from pathlib import Path

from vigil.hal.indicators import LedState, SoundState
from vigil.hal.linux.indicators import LinuxIndicators
from vigil.hal.sim.indicators import SimulatedIndicators


def fake_led(root: Path, name: str, top: int = 255) -> Path:
    entry = root / name
    entry.mkdir(parents=True)
    for leaf, value in (("brightness", "0"), ("max_brightness", str(top)), ("trigger", "none"),
                        ("delay_on", "0"), ("delay_off", "0")):
        (entry / leaf).write_text(value + "\n")
    return entry


def read(entry: Path, leaf: str) -> str:
    return (entry / leaf).read_text().strip()


def test_linux_leds_by_colour_and_function(tmp_path: Path) -> None:
    root = tmp_path / "leds"
    green, red = fake_led(root, "nvr:green:status"), fake_led(root, "nvr:red:status", top=1)
    buzzer = fake_led(root, "gpio:red:buzzer", top=1)
    hw = LinuxIndicators(("status", "disk1"), ("buzzer",), ("power",), root=root)
    assert set(hw.missing()) == {"disk1", "power"}
    assert "<device>:<colour>:disk1" in hw.missing()["disk1"]
    hw.set_led("status", LedState(("green",), "steady", 1, 40))
    assert (read(green, "brightness"), read(red, "brightness"), read(green, "trigger")) == ("102", "0", "none")
    hw.set_led("status", LedState(("red",), "blink", 2))
    assert (read(green, "brightness"), read(red, "brightness"), read(red, "trigger")) == ("0", "1", "timer")
    assert read(red, "delay_on") == "250"
    hw.set_led("disk1", LedState(("green",)))  # not there: remembered, nothing written
    assert hw.led("disk1").colors == ("green",)
    hw.set_sound("buzzer", SoundState("alarm"))
    assert read(buzzer, "brightness") == "1" and hw.sound("buzzer") == SoundState("alarm")
    hw.set_sound("buzzer", None)
    assert read(buzzer, "brightness") == "0"


def test_linux_without_the_led_class(tmp_path: Path) -> None:
    hw = LinuxIndicators(("light",), ("siren",), root=tmp_path / "absent")
    assert "not there: no LED class on this machine" in hw.missing()["light"]
    hw.set_led("light", LedState(("red",)))  # says so in missing(), and does not fail
    assert hw.led("light").on


def test_simulated_presses_and_history() -> None:
    hw = SimulatedIndicators(("status",), ("buzzer",), ("power",))
    presses: list[tuple[str, float]] = []
    hw.watch_buttons(lambda button, seconds: presses.append((button, seconds)))
    hw.press("power", 0.2)
    assert presses == [("power", 0.2)]
    hw.set_sound("buzzer", SoundState("beep"))
    hw.set_sound("buzzer", None)
    assert hw.history == [("buzzer", "beep"), ("buzzer", "silent")]
