"""Light and siren (C1410): the profiles (at most 30, kept in the store), the status list of
running activities (at most 10) and what the LED and the siren show.

Each start of a light or a siren is an operation with a priority; per function the operation
with the highest priority shows, the others wait and their time runs on (VAPIX: "Operations with
a specified runtime will count down even when they are not the highest priority"); a start with
the priority of a running operation of the same function replaces it. Above the profiles'
priorities 1-10 are Maintenance (11: the light and siren halt, kept over a restart), Identify
(12: the light flashes white) and Health check (13: a short test of the LED and the siren);
these cannot be stopped from the status list. Durations are seconds or repetitions of the
pattern (0 or none: until stopped).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.core.rules import ActionContext, ActionType, RuleError, Stop
from vigil.core.store import Store
from vigil.features.light import const as c
from vigil.features.light.model import LightError, LightSetting, Profile, Setting, SirenSetting, parse_profile
from vigil.hal.indicators import OFF, Indicators, LedState, SoundState
from vigil.http.vapix import ConfigCodes

FUNCTIONS = ("siren", "light")
# What the activities above the profiles show: (light, siren); None halts the function.
SPECIAL_OUTPUT: dict[int, tuple[LedState | None, SoundState | None]] = {
    c.MAINTENANCE: (None, None),
    c.IDENTIFY: (LedState(("white",), "Flash", 2, 100), None),
    c.HEALTH_CHECK: (LedState(("white",), "Steady", 1, 100), SoundState("beep", 20)),
}


@dataclass
class Operation:
    id: int
    function: str  # siren | light | both (the activities above the profiles)
    setting: Setting | None
    priority: int
    profile: str | None
    label: str
    ends: float | None  # time.monotonic() when it stops by itself
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def left(self) -> int | None:
        return None if self.ends is None else max(0, math.ceil(self.ends - time.monotonic()))

    def covers(self, function: str) -> bool:
        return self.function in (function, "both")


def run_seconds(setting: Setting) -> float | None:
    """How long a setting runs by itself; None: until stopped."""
    d = setting.duration
    if d is None or d.value == 0:
        return None
    return float(d.value) if d.unit == "seconds" else d.value * setting.cycle()


def led_state(setting: LightSetting) -> LedState:
    return LedState(setting.colors, setting.pattern, setting.speed, setting.intensity * 20)


class LightService:
    def __init__(self, hardware: Indicators, store: Store, bus: EventBus, logs: Logs) -> None:
        self.hw = hardware
        self.store = store
        self.bus = bus
        self.logs = logs
        self.profiles: dict[str, Profile] = {}
        self.ops: dict[int, Operation] = {}
        self._next_id = 1
        self.last_health: dict[str, Any] | None = None
        self._shown_light = False

    # -- start-up ------------------------------------------------------------------------------
    def declare(self) -> None:
        stored = json.loads(self.store.get_kv(c.KV_PROFILES) or "[]")
        for raw in stored:
            try:
                profile = parse_profile(raw)
            except LightError as err:  # written by an older version with other patterns: say so, keep the rest
                self.logs.system(f"Light profile {str(raw.get('name'))[:50]!r} could not be read: {err}", "warning")
                continue
            self.profiles[profile.name] = profile
        self.bus.declare(Topic(c.STATUS_TOPIC, "Light status", True, (Item("id", "xsd:int", "Light", ("0",)),),
                               (Item("state", "xsd:string", "State", ("ON", "OFF"), state=True),)))
        self.bus.publish(c.STATUS_TOPIC, {"id": "0"}, {"state": "OFF"})
        if self.store.get_kv(c.KV_MAINTENANCE) == "on":
            self._add_special(c.MAINTENANCE, None)
        self._apply()

    # -- profiles ------------------------------------------------------------------------------
    def _save(self) -> None:
        self.store.set_kv(c.KV_PROFILES, json.dumps([p.to_json() for p in self.profiles.values()]))

    def add_profile(self, profile: Profile, actor: str) -> None:
        if profile.name in self.profiles:
            raise LightError(c.BAD_PROFILE, f"a profile named {profile.name!r} exists (two profiles can't share a name)")
        if len(self.profiles) >= c.MAX_PROFILES:
            raise LightError(c.TOO_MANY_PROFILES, f"at most {c.MAX_PROFILES}")
        self.profiles[profile.name] = profile
        self._save()
        self.logs.audit(actor, f"added light profile {profile.name!r}", "light")

    def remove_profile(self, name: str, actor: str) -> None:
        if name not in self.profiles:
            raise LightError(c.BAD_PROFILE, f"no profile named {name[:60]!r}")
        del self.profiles[name]
        self._save()
        self.logs.audit(actor, f"removed light profile {name!r}", "light")

    def upload(self, raw: Any, mode: str, actor: str) -> None:
        """Import: every profile is checked, and the limit, before anything changes."""
        if mode not in c.UPLOAD_MODES:
            raise LightError(ConfigCodes.INVALID, f"uploadMode {str(mode)[:20]!r}; use {', '.join(c.UPLOAD_MODES)}")
        if not isinstance(raw, list):
            raise LightError(c.BAD_PROFILE, "the file holds a JSON array of profiles")
        new = [parse_profile(item) for item in raw]
        names = [p.name for p in new]
        twice = {n for n in names if names.count(n) > 1}
        if twice:
            raise LightError(c.BAD_PROFILE, f"the file has profile {sorted(twice)[0]!r} twice")
        kept = {} if mode == "erase_and_add" else dict(self.profiles)
        if mode == "add":
            clash = [n for n in names if n in kept]
            if clash:
                raise LightError(c.BAD_PROFILE, f"a profile named {clash[0]!r} exists (import with overwrite "
                                                "to replace it)")
        kept.update((p.name, p) for p in new)
        if len(kept) > c.MAX_PROFILES:
            raise LightError(c.TOO_MANY_PROFILES, f"the import would make {len(kept)}; at most {c.MAX_PROFILES}")
        self.profiles = kept
        self._save()
        self.logs.audit(actor, f"imported {len(new)} light profile(s) ({mode})", "light")

    # -- operations ----------------------------------------------------------------------------
    def start(self, siren: SirenSetting | None, light: LightSetting | None, profile: str | None,
              actor: str) -> dict[str, int]:
        if profile is not None:
            if siren is not None or light is not None:
                raise LightError(ConfigCodes.INVALID, "profile can not be used together with siren or light")
            found = self.profiles.get(profile)
            if found is None:
                raise LightError(c.BAD_PROFILE, f"no profile named {profile[:60]!r}")
            siren, light = found.siren, found.light
        if siren is None and light is None:
            raise LightError(ConfigCodes.MISSING, "start needs a siren, a light or a profile")
        wanted = [(f, s) for f, s in (("siren", siren), ("light", light)) if s is not None]
        replaced = [o for o in self.ops.values() for f, s in wanted if o.function == f and o.priority == s.priority]
        if len(self.ops) - len(replaced) + len(wanted) > c.MAX_ACTIVITIES:
            raise LightError(ConfigCodes.INVALID, f"the status list holds at most {c.MAX_ACTIVITIES} activities; stop one first")
        for old in replaced:
            self._drop(old)
        ids: dict[str, int] = {}
        for function, setting in wanted:
            op = self._add(function, setting, setting.priority, profile,
                           profile or f"{setting.pattern} ({function})", run_seconds(setting))
            ids[f"{function}Id"] = op.id
        self.logs.system(f"{actor} started {profile or 'a light/siren activity'} ({', '.join(f for f, _ in wanted)})")
        self._apply()
        return ids

    def _add(self, function: str, setting: Setting | None, priority: int, profile: str | None, label: str,
             seconds: float | None) -> Operation:
        op = Operation(self._next_id, function, setting, priority, profile, label,
                       None if seconds is None else time.monotonic() + seconds)
        self._next_id += 1
        if seconds is not None:
            op.timer = asyncio.get_running_loop().call_later(seconds, self._expire, op.id)
        self.ops[op.id] = op
        return op

    def _add_special(self, priority: int, seconds: float | None) -> Operation:
        for old in [o for o in self.ops.values() if o.priority == priority]:
            self._drop(old)
        return self._add("both", None, priority, None, c.SPECIAL[priority], seconds)

    def _drop(self, op: Operation) -> None:
        if op.timer is not None:
            op.timer.cancel()
        self.ops.pop(op.id, None)

    def _expire(self, op_id: int) -> None:
        op = self.ops.pop(op_id, None)
        if op is None:
            return
        if op.priority == c.MAINTENANCE:
            self.store.set_kv(c.KV_MAINTENANCE, "off")
        self._apply()

    def stop(self, params: Mapping[str, Any], actor: str) -> None:
        """stop: by sirenId/lightId, every operation of `all`'s functions, or a profile's."""
        doomed: list[Operation] = []
        for key, function in (("sirenId", "siren"), ("lightId", "light")):
            if key in params:
                raw = params[key]
                op = self.ops.get(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
                if op is None or op.function != function:
                    raise LightError(c.NO_SUCH_PROCESS, f"{key} {str(params[key])[:20]}")
                doomed.append(op)
        if "all" in params:
            functions = params["all"]
            if not isinstance(functions, list) or any(f not in FUNCTIONS for f in functions):
                raise LightError(c.FUNCTION_TYPE, "all lists siren and/or light")
            doomed += [o for o in self.ops.values() if o.function in functions]
        if "profile" in params:
            name = params["profile"]
            if not isinstance(name, str) or name not in self.profiles:
                raise LightError(c.BAD_PROFILE, f"no profile named {str(name)[:60]!r}")
            doomed += [o for o in self.ops.values() if o.profile == name]
        if not any(k in params for k in ("sirenId", "lightId", "all", "profile")):
            raise LightError(ConfigCodes.MISSING, "stop needs sirenId, lightId, all or profile")
        for op in doomed:
            self._drop(op)
        if doomed:
            self.logs.system(f"{actor} stopped {len(doomed)} light/siren activit{'y' if len(doomed) == 1 else 'ies'}")
        self._apply()

    def stop_ids(self, ids: Mapping[str, int]) -> None:
        """End the operations a start returned, those still running (a rule's end)."""
        for op_id in ids.values():
            op = self.ops.get(op_id)
            if op is not None:
                self._drop(op)
        self._apply()

    # -- maintenance, identify, health check -----------------------------------------------
    def set_maintenance(self, on: bool, seconds: int | None, actor: str) -> None:
        self.store.set_kv(c.KV_MAINTENANCE, "on" if on else "off")
        if on:
            self._add_special(c.MAINTENANCE, float(seconds) if seconds else None)
        else:
            for op in [o for o in self.ops.values() if o.priority == c.MAINTENANCE]:
                self._drop(op)
        self.logs.audit(actor, f"{'engaged' if on else 'disengaged'} light and siren maintenance mode", "light")
        self._apply()

    def identify(self, seconds: float, actor: str) -> None:
        self._add_special(c.IDENTIFY, seconds)
        self.logs.system(f"{actor} identifies the device: the light flashes for {seconds:g} s")
        self._apply()

    def indicate_locate(self, on: bool) -> None:
        """Locate device (the audio feature's): the Identify flash for as long as the device beeps."""
        if on:
            self._add_special(c.IDENTIFY, None)
        else:
            for op in [o for o in self.ops.values() if o.priority == c.IDENTIFY]:
                self._drop(op)
        self._apply()

    def run_health_check(self, actor: str) -> None:
        """Light the LED and sound the siren briefly, and note the parts that did not answer."""
        self._add_special(c.HEALTH_CHECK, c.HEALTH_CHECK_SECONDS)
        self._apply()
        missing = self.hw.missing()
        errors = [{"code": 1, "message": f"{part}: {why}"} for part, why in missing.items() if part in (c.LED, c.SIREN)]
        self.last_health = {"timestamp": datetime.now(UTC).isoformat(timespec="seconds"), "errors": errors}
        self.logs.system(f"{actor} ran the light and siren health check: "
                         + ("no errors" if not errors else "; ".join(e["message"] for e in errors)))

    # -- what shows ----------------------------------------------------------------------------
    def shown(self, function: str) -> Operation | None:
        candidates = [o for o in self.ops.values() if o.covers(function)]
        return max(candidates, key=lambda o: (o.priority, o.id), default=None)

    def _apply(self) -> None:
        light, siren = self.shown("light"), self.shown("siren")
        if light is None:
            led = OFF
        elif light.setting is None:
            led = SPECIAL_OUTPUT[light.priority][0] or OFF
        else:
            assert isinstance(light.setting, LightSetting)
            led = led_state(light.setting)
        if siren is None:
            sound = None
        elif siren.setting is None:
            sound = SPECIAL_OUTPUT[siren.priority][1]
        else:
            sound = SoundState(siren.setting.pattern, siren.setting.intensity * 20)
        self.hw.set_led(c.LED, led)
        self.hw.set_sound(c.SIREN, sound)
        if led.on != self._shown_light:
            self._shown_light = led.on
            self.bus.publish(c.STATUS_TOPIC, {"id": "0"}, {"state": "ON" if led.on else "OFF"})

    def status(self) -> dict[str, Any]:
        """getStatus: each running siren and light operation, the profiles' (not the activities
        above them, which have no settings to show)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for op in sorted(self.ops.values(), key=lambda o: -o.priority):
            if op.setting is None:
                continue
            entry: dict[str, Any] = {f"{op.function}Id": op.id, **op.setting.to_json()}
            entry.pop("duration", None)
            if op.left() is not None:
                entry["durationLeft"] = op.left()
            if op.profile is not None:
                entry["profile"] = op.profile
            out.setdefault(op.function, []).append(entry)
        return out

    def activities(self) -> list[dict[str, Any]]:
        """The page's status list, highest priority first; `shown` marks what the light shows
        (or, with no light running, the siren)."""
        top = self.shown("light") or self.shown("siren")
        return [{"id": o.id, "name": o.label, "function": o.function, "priority": o.priority,
                 "durationLeft": o.left(), "removable": o.priority <= 10, "shown": o is top}
                for o in sorted(self.ops.values(), key=lambda o: (-o.priority, o.id))]

    # -- rule actions ----------------------------------------------------------------------------
    def _rule_profile(self, params: Mapping[str, str]) -> str:
        name = params.get("profile", "")
        if name not in self.profiles:
            raise RuleError(f"Unknown light and siren profile {name[:60]!r}")
        return name

    def action_types(self) -> list[ActionType]:
        async def start_once(ctx: ActionContext) -> None:
            self.start(None, None, self._rule_profile(ctx.config.params), f"rule {ctx.rule.name}")

        async def start_while(ctx: ActionContext) -> Stop:
            ids = self.start(None, None, self._rule_profile(ctx.config.params), f"rule {ctx.rule.name}")

            async def stop() -> None:
                self.stop_ids(ids)
            return stop

        async def stop_profile(ctx: ActionContext) -> None:
            self.stop({"profile": self._rule_profile(ctx.config.params)}, f"rule {ctx.rule.name}")

        def validate(params: Mapping[str, str]) -> None:
            self._rule_profile(params)

        return [
            ActionType(c.ACTION_START, "Run light and siren profile", ("profile",), run=start_once, validate=validate),
            ActionType(c.ACTION_WHILE, "Run light and siren profile while the rule is active", ("profile",),
                       start=start_while, validate=validate),
            ActionType(c.ACTION_STOP, "Stop light and siren profile", ("profile",), run=stop_profile,
                       validate=validate),
        ]


LIGHT_SERVICE: Key[LightService] = Key("light")
