"""Message templates: the subject and body of a notification, filled in from an event.

Placeholders are names in braces. Text that is not a known placeholder, such as JSON braces or
a misspelt name, is left exactly as written, and rendering never raises.

Event (empty when there is no event, as for the Test button):
    {topic}          the full topic, e.g. tns1:Device/Trigger/DigitalInput
    {topic.short}    the MQTT/JSON spelling, e.g. onvif:Device/Trigger/DigitalInput
    {topic.name}     the last part without its prefix, e.g. DigitalInput
    {operation}      Initialized, Changed or Deleted for a stateful event, else empty
    {source}         all Source items, "name=value, name=value"
    {source.NAME}    one Source item, e.g. {source.port}
    {data}           all Data items
    {data.NAME}      one Data item, e.g. {data.state}; a name the event does not have stays visible
Time (of the event, or now without an event):
    {time}           UTC, ISO 8601: 2024-05-01T12:00:00Z (same as {time.utc})
    {time.local}     local time, ISO 8601 with offset: 2024-05-01T14:00:00+02:00
    {time.date}      local date, 2024-05-01
    {time.clock}     local time of day, 14:00:00
    {time.epoch}     seconds since 1970 (integer)
    Local time uses device["timezone"] (an IANA name such as Europe/Stockholm, or a POSIX rule
    such as CET-1CEST,M3.5.0,M10.5.0/3) when given and valid, else the system's time zone.
Device (from the `device` mapping, see `device_values`; a key it lacks stays visible):
    {device.serial}  {device.mac}  {device.model}  {device.name}  {device.hostname}  {device.timezone}
"""

from __future__ import annotations

import datetime as dt
import re
import time as _time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from vigil.core.events import Event, to_short
from vigil.core.zones import device_zone_text, known_zone

if TYPE_CHECKING:
    from vigil.device import Device

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)(?:\.([^{}\s]+))?\}")


class _Unknown(Exception):
    """This placeholder is not known: leave it as written."""


def _items(items: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in items.items())


def _zone(device: Mapping[str, str]) -> dt.tzinfo | None:
    name = device.get("timezone") if device else None
    return known_zone(str(name)) if name else None  # an unknown zone falls back to the system's


def _time_value(sub: str | None, when: float, device: Mapping[str, str]) -> str:
    if sub in (None, "utc"):
        return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if sub == "epoch":
        return str(int(when))
    zone = _zone(device)
    local = dt.datetime.fromtimestamp(when, zone) if zone else dt.datetime.fromtimestamp(when).astimezone()
    if sub == "local":
        return local.replace(microsecond=0).isoformat()
    if sub == "date":
        return local.strftime("%Y-%m-%d")
    if sub == "clock":
        return local.strftime("%H:%M:%S")
    raise _Unknown


def _event_value(name: str, sub: str | None, event: Event | None) -> str:
    if name == "topic":
        if sub not in (None, "short", "name"):
            raise _Unknown
        if event is None:
            return ""
        if sub == "short":
            return to_short(event.topic)
        if sub == "name":
            return event.topic.rsplit("/", 1)[-1].split(":")[-1]
        return event.topic
    if name == "operation":
        if sub is not None:
            raise _Unknown
        return (event.operation or "") if event else ""
    # source / data
    if event is None:
        return ""
    items = event.source if name == "source" else event.data
    if sub is None:
        return _items(items)
    if sub not in items:
        raise _Unknown
    return str(items[sub])


def render(template: str, event: Event | None, device: Mapping[str, str], *, now: float | None = None) -> str:
    """Fill the placeholders of `template`; unknown ones are left visible. Never raises."""
    if not isinstance(template, str):
        return "" if template is None else str(template)
    device = device if isinstance(device, Mapping) else {}
    if event is not None and isinstance(getattr(event, "time", None), (int, float)):
        when = float(event.time)
    else:
        when = _time.time() if now is None else now

    def substitute(match: re.Match[str]) -> str:
        name, sub = match.group(1), match.group(2)
        try:
            if name in ("topic", "operation", "source", "data"):
                return _event_value(name, sub, event)
            if name == "time":
                return _time_value(sub, when, device)
            if name == "device" and sub is not None and sub in device:
                return str(device[sub])
        except _Unknown:
            pass
        except Exception:  # noqa: BLE001 - a template must never break a notification
            pass
        return match.group(0)

    return _PLACEHOLDER.sub(substitute, template)


def device_values(device: Device) -> dict[str, str]:
    """The `{device.*}` placeholders of a device (and its time zone for `{time.local}`)."""
    info = {"serial": device.identity.serial, "mac": device.identity.mac, "model": device.profile.model,
            "name": device.profile.full_name}
    for key, param in (("hostname", "Network.HostName"), ("timezone", "Time.TimeZone")):
        if param in device.params.defs:
            info[key] = device.params.get(param)
    if "timezone" in info:  # the IANA zone, or the POSIX rule that applies in its place
        info["timezone"] = device_zone_text(device.params)
    return info
