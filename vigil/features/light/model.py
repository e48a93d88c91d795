"""Light and siren settings and profiles as the VAPIX Siren and light API writes them, checked
member by member: each refusal is a `LightError` with the API's code for what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.features.light import const as c
from vigil.http.vapix import ConfigCodes


class LightError(Exception):
    def __init__(self, code: int, why: str = "") -> None:
        text = c.ERROR_TEXTS.get(code, "Error")
        super().__init__(f"{text}: {why}" if why else text)
        self.code = code
        self.message = str(self)


@dataclass(frozen=True)
class Duration:
    unit: str  # seconds | repetitions
    value: int  # 0: until stopped

    def to_json(self) -> dict[str, Any]:
        return {"unit": self.unit, "value": self.value}


@dataclass(frozen=True)
class SirenSetting:
    pattern: str
    intensity: int
    duration: Duration | None
    priority: int

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pattern": self.pattern, "intensity": self.intensity}
        if self.duration is not None:
            out["duration"] = self.duration.to_json()
        out["priority"] = self.priority
        return out

    def cycle(self) -> float:
        return c.SIREN_PATTERNS[self.pattern]


@dataclass(frozen=True)
class LightSetting:
    pattern: str
    speed: int
    colors: tuple[str, ...]
    intensity: int
    duration: Duration | None
    priority: int

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pattern": self.pattern, "speed": self.speed, "colors": list(self.colors),
                               "intensity": self.intensity}
        if self.duration is not None:
            out["duration"] = self.duration.to_json()
        out["priority"] = self.priority
        return out

    def cycle(self) -> float:
        return c.LIGHT_PATTERNS[self.pattern][4] / self.speed


Setting = SirenSetting | LightSetting


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    siren: SirenSetting | None
    light: LightSetting | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.siren is not None:
            out["siren"] = self.siren.to_json()
        if self.light is not None:
            out["light"] = self.light.to_json()
        return out


def whole(value: Any) -> int | None:
    """A whole number as JSON gives it (the API's examples write some as strings); None if not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LightError(ConfigCodes.INVALID, f"{what} must be an object")
    return value


def _level(obj: dict[str, Any], key: str, allowed: tuple[int, ...], code: int, default: int | None = None) -> int:
    raw = obj.get(key, default)
    number = whole(raw)
    if number is None or number not in allowed:
        raise LightError(code, f"{key} {str(raw)[:20]!r}; use one of {', '.join(map(str, allowed))}")
    return number


def _duration(obj: dict[str, Any], unit_code: int, value_code: int) -> Duration | None:
    raw = obj.get("duration")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise LightError(value_code, "duration is an object with unit and value")
    unit = raw.get("unit")
    if unit not in ("seconds", "repetitions"):
        raise LightError(unit_code, f"unit {str(unit)[:20]!r}; use seconds or repetitions")
    most = c.MAX_SECONDS if unit == "seconds" else c.MAX_REPETITIONS
    value = whole(raw.get("value"))
    if value is None or not 0 <= value <= most:
        raise LightError(value_code, f"value {str(raw.get('value'))[:20]!r}; {unit} are 0 to {most}")
    return Duration(unit, value)


def parse_siren(value: Any, priority: int | None = None) -> SirenSetting:
    obj = _object(value, "siren")
    pattern = obj.get("pattern")
    if not isinstance(pattern, str) or pattern not in c.SIREN_PATTERNS:
        raise LightError(c.SIREN_PATTERN, f"{str(pattern)[:60]!r}; the siren plays {', '.join(c.SIREN_PATTERNS)}")
    intensity = _level(obj, "intensity", c.INTENSITIES, c.SIREN_INTENSITY, 2)
    duration = _duration(obj, c.SIREN_UNIT, c.SIREN_DURATION)
    level = _level(obj, "priority", c.PRIORITIES, c.SIREN_PRIORITY, priority or c.DEFAULT_PRIORITY)
    return SirenSetting(pattern, intensity, duration, level)


def parse_light(value: Any, priority: int | None = None) -> LightSetting:
    obj = _object(value, "light")
    pattern = obj.get("pattern")
    if not isinstance(pattern, str) or pattern not in c.LIGHT_PATTERNS:
        raise LightError(c.LIGHT_PATTERN, f"{str(pattern)[:60]!r}; the light shows {', '.join(c.LIGHT_PATTERNS)}")
    speeds, fewest, most, default_colors, _cycle = c.LIGHT_PATTERNS[pattern]
    speed = _level(obj, "speed", speeds, c.SPEED, speeds[0])
    colors = obj.get("colors", list(default_colors))
    if not isinstance(colors, list) or not fewest <= len(colors) <= most:
        raise LightError(c.COLOR_COUNT, f"{pattern} takes {fewest} to {most} colours")
    for color in colors:
        if not isinstance(color, str) or color not in c.COLORS:
            raise LightError(c.COLOR, f"{str(color)[:20]!r}; use {', '.join(c.COLORS)}")
    intensity = _level(obj, "intensity", c.INTENSITIES, c.LIGHT_INTENSITY, 2)
    duration = _duration(obj, c.LIGHT_UNIT, c.LIGHT_DURATION)
    level = _level(obj, "priority", c.PRIORITIES, c.LIGHT_PRIORITY, priority or c.DEFAULT_PRIORITY)
    return LightSetting(pattern, speed, tuple(colors), intensity, duration, level)


def parse_profile(value: Any) -> Profile:
    obj = _object(value, "a profile")
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip() or any(ord(ch) < 32 for ch in name):
        raise LightError(c.BAD_PROFILE, "a profile needs a name, without control characters")
    if len(name) > c.MAX_NAME:
        raise LightError(c.NAME_TOO_LONG, f"at most {c.MAX_NAME} characters")
    description = obj.get("description", "")
    if not isinstance(description, str):
        raise LightError(c.BAD_PROFILE, "description must be text")
    if len(description) > c.MAX_DESCRIPTION:
        raise LightError(c.DESCRIPTION_TOO_LONG, f"at most {c.MAX_DESCRIPTION} characters")
    unknown = set(obj) - {"name", "description", "siren", "light"}
    if unknown:
        raise LightError(c.FUNCTION_TYPE, f"{sorted(unknown)[0][:30]!r}; a profile has a siren and/or a light")
    if obj.get("siren") is None and obj.get("light") is None:
        raise LightError(c.BAD_PROFILE, f"profile {name[:50]!r} has neither a siren nor a light")
    siren = parse_siren(obj["siren"]) if obj.get("siren") is not None else None
    light = parse_light(obj["light"]) if obj.get("light") is not None else None
    return Profile(name, description, siren, light)


def capabilities() -> dict[str, Any]:
    """getCapabilities: every pattern with its choices, as the API page shows them."""
    levels = {"possible": list(c.INTENSITIES), "default": 2}
    priority = {"possible": list(c.PRIORITIES), "default": c.DEFAULT_PRIORITY}
    return {"capabilities": {
        "siren": {"supportedPatterns": [{"name": name, "intensity": levels, "priority": priority}
                                        for name in c.SIREN_PATTERNS]},
        "light": {"supportedPatterns": [
            {"name": name, "speed": {"possible": list(speeds), "default": speeds[0]},
             "colors": {"minNbrColors": fewest, "maxNbrColors": most, "possible": list(c.COLORS),
                        "default": list(default)},
             "intensity": levels, "priority": priority}
            for name, (speeds, fewest, most, default, _cycle) in c.LIGHT_PATTERNS.items()]},
        "healthCheckSupport": True,
        "maintenanceModeSupport": True,
    }}
