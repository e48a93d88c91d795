"""Message templates: placeholders for the event, time and device."""

from __future__ import annotations

import datetime as dt

from vigil.core.events import Event
from vigil.features.notify.templates import render

T = dt.datetime(2024, 5, 1, 12, 30, 15, tzinfo=dt.UTC).timestamp()
EVENT = Event("tns1:Device/Trigger/DigitalInput", {"port": "1"}, {"state": "1"}, T, "Changed")
DEVICE = {"serial": "B8A44F000001", "model": "AXIS S3016", "hostname": "nvr-1", "timezone": "Europe/Stockholm"}


def test_event_and_device_placeholders() -> None:
    text = render("{device.model} {device.serial} on {device.hostname}: {topic.name} port {source.port} "
                  "is {data.state} ({operation}) at {time}", EVENT, DEVICE)
    assert text == ("AXIS S3016 B8A44F000001 on nvr-1: DigitalInput port 1 is 1 (Changed) "
                    "at 2024-05-01T12:30:15Z")
    assert render("{topic}|{topic.short}|{source}|{data}", EVENT, DEVICE) == (
        "tns1:Device/Trigger/DigitalInput|onvif:Device/Trigger/DigitalInput|port=1|state=1")


def test_times() -> None:
    assert render("{time.utc} {time.epoch}", EVENT, {}) == f"2024-05-01T12:30:15Z {int(T)}"
    assert render("{time.local} {time.date} {time.clock}", EVENT, DEVICE) == (
        "2024-05-01T14:30:15+02:00 2024-05-01 14:30:15")
    local = render("{time.local}", EVENT, {"timezone": "Not/AZone"})
    assert local == dt.datetime.fromtimestamp(T).astimezone().isoformat()
    assert render("{time}", None, {}, now=T) == "2024-05-01T12:30:15Z"


def test_unknown_placeholders_stay_visible() -> None:
    template = '{"topic": "{topic}", "x": {data.missing} {device.nothing} {nope} {time.fortnight} {topic.zz} {'
    assert render(template, EVENT, DEVICE) == (
        '{"topic": "tns1:Device/Trigger/DigitalInput", "x": {data.missing} {device.nothing} {nope} '
        '{time.fortnight} {topic.zz} {')


def test_without_event() -> None:
    assert render("Test [{topic}] [{source.port}] [{data}] [{operation}] {device.serial}", None, DEVICE) == (
        "Test [] [] [] [] B8A44F000001")


def test_never_crashes() -> None:
    odd = Event("tns1:X", {"a": "1"}, {"b": "2"}, float("nan"))
    assert render("{time} {time.local} {data.b}", odd, DEVICE) == "{time} {time.local} 2"
    assert render("{device.serial}", None, None) == "{device.serial}"  # type: ignore[arg-type]
    assert render("", EVENT, DEVICE) == ""
