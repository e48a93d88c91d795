"""The action-rule engine.

A rule has conditions that must all hold, optionally a trigger (the start event), a wait
between actions, and one action. Actions are *fixed* ("once": toggle an output for 10 s,
send a notification) or *unlimited* ("while the rule is active": record, hold an output),
as in the manuals. Features register the action types they provide.

Semantics:
- Without a trigger the rule is active while every condition holds: a fixed action runs on
  each activation, an unlimited action runs from activation to deactivation.
- With a trigger, a fixed action runs when the trigger's event arrives while the other
  conditions hold. A stateful trigger with an unlimited action keeps the action running
  while the trigger's state and the conditions hold.
- "Invert this condition" negates the condition's state.
- Wait between actions: after an action starts, further activations within that many
  seconds are ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil.core.clock import Clock
from vigil.core.events import Event, EventBus, Item, Topic, normalize
from vigil.core.logs import Logs
from vigil.core.store import Store

log = logging.getLogger("vigil.rules")

MAX_RULES = 256
MAX_ACTIONS = 256
MAX_WAIT = 86400  # seconds: the longest wait between actions
TRUE_STATES = {"1", "true", "active", "high", "yes", "on", "closed"}
ACTION_FAILED = "tns1:Device/tnsaxis:SystemMessage/ActionFailed"


class RuleError(ValueError):
    """A refused rule or action change, with a message for the user."""


@dataclass(frozen=True)
class Condition:
    """An event topic and the items it must carry (all must match); `invert` negates the state."""

    topic: str
    items: tuple[tuple[str, str], ...] = ()
    invert: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "items": [list(i) for i in self.items], "invert": self.invert}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Condition:
        return cls(data["topic"], tuple((str(a), str(b)) for a, b in data.get("items", [])), bool(data.get("invert")))


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    enabled: bool
    action: int  # an action configuration id
    conditions: tuple[Condition, ...] = ()
    trigger: Condition | None = None
    wait: float = 0.0  # seconds between actions

    def to_json(self) -> str:
        # allow_nan=False: a non-finite wait is a bug to stop here, never a value to store.
        return json.dumps({"name": self.name, "enabled": self.enabled, "action": self.action, "wait": self.wait,
                           "conditions": [c.to_json() for c in self.conditions],
                           "trigger": self.trigger.to_json() if self.trigger else None}, allow_nan=False)

    @classmethod
    def from_json(cls, rule_id: int, text: str) -> Rule:
        d = json.loads(text)
        return cls(rule_id, d["name"], d["enabled"], d["action"],
                   tuple(Condition.from_json(c) for c in d["conditions"]),
                   Condition.from_json(d["trigger"]) if d.get("trigger") else None, d.get("wait", 0.0))


@dataclass(frozen=True)
class ActionConfig:
    id: int
    name: str
    template: str
    params: Mapping[str, str]


@dataclass
class ActionContext:
    """What an action gets when it runs: its configuration, the rule and the event behind it."""

    config: ActionConfig
    rule: Rule
    event: Event | None


Stop = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class ActionType:
    """An action a feature provides. Fixed types set `run`; unlimited types set `start`."""

    token: str
    nice: str
    params: tuple[str, ...]
    run: Callable[[ActionContext], Awaitable[None]] | None = None
    start: Callable[[ActionContext], Awaitable[Stop]] | None = None
    validate: Callable[[Mapping[str, str]], None] | None = None  # raises RuleError
    recipient: str | None = None  # the recipient template this action sends to

    @property
    def unlimited(self) -> bool:
        return self.start is not None


def valid_wait(wait: object) -> bool:
    """A wait between actions is a finite number of seconds from 0 to MAX_WAIT (NaN is not)."""
    return (isinstance(wait, (int, float)) and not isinstance(wait, bool) and math.isfinite(wait)
            and 0 <= wait <= MAX_WAIT)


def _truthy(value: str) -> bool:
    return value.strip().lower() in TRUE_STATES


@dataclass
class _RuleState:
    active: bool = False
    last_action: float | None = None
    stop: Stop | None = None
    starting: asyncio.Task | None = None


@dataclass
class RuleEngine:
    store: Store
    bus: EventBus
    clock: Clock
    logs: Logs
    types: dict[str, ActionType] = field(default_factory=dict)
    rules: dict[int, Rule] = field(default_factory=dict)
    actions: dict[int, ActionConfig] = field(default_factory=dict)
    _state: dict[int, _RuleState] = field(default_factory=dict)
    _by_topic: dict[str, set[int]] = field(default_factory=dict)  # rules watching every source of a topic
    _by_source: dict[tuple, set[int]] = field(default_factory=dict)  # (topic, source key) -> rules
    _plans: dict[Condition, tuple] = field(default_factory=dict)  # condition -> (its source, state item)
    _tasks: set[asyncio.Task] = field(default_factory=set)
    fired: int = 0  # actions started, for status and benchmarks

    def __post_init__(self) -> None:
        self.bus.declare(Topic(ACTION_FAILED, "Action failed", False, (), (Item("description", nice="Description"),)))

    # -- setup -------------------------------------------------------------------------
    def register(self, action_type: ActionType) -> None:
        self.types[action_type.token] = action_type

    def load(self) -> None:
        for rid, name, template, params in self.store.query("SELECT id, name, template, params FROM actions"):
            self.actions[rid] = ActionConfig(rid, name, template, json.loads(params))
        for rid, body in self.store.query("SELECT id, body FROM rules"):
            rule = self._stored_rule(rid, body)
            if rule is not None:
                self._install(rule)
        self.bus.subscribe(self.on_event)
        for rule in list(self.rules.values()):
            self._evaluate(rule, None)

    def _stored_rule(self, rule_id: int, body: str) -> Rule | None:
        """A rule as stored; one an older version stored with a wait that is not a number of
        seconds (NaN) is repaired to no wait, and an unreadable one is skipped, each with a
        log line, so that one bad row never stops the device or the rule listing."""
        try:
            rule = Rule.from_json(rule_id, body)
        except (ValueError, KeyError, TypeError) as err:
            self.logs.system(f"rule {rule_id} could not be read and is skipped: {err}", "warning", "events")
            return None
        if not valid_wait(rule.wait):
            self.logs.system(f"rule {rule_id} {rule.name!r}: its stored wait between actions ({rule.wait!r}) is "
                             f"not 0 to {MAX_WAIT} seconds; it is set to 0", "warning", "events")
            rule = Rule(rule.id, rule.name, rule.enabled, rule.action, rule.conditions, rule.trigger, 0.0)
            with self.store.transaction() as db:
                db.execute("UPDATE rules SET body=? WHERE id=?", (rule.to_json(), rule_id))
        return rule

    # -- validation --------------------------------------------------------------------
    def _check_condition(self, c: Condition, what: str) -> Topic:
        topic = self.bus.topic(normalize(c.topic))
        if topic is None:
            raise RuleError(f"{what}: unknown event topic {c.topic!r}")
        known = {i.name for i in topic.source + topic.data}
        for name, _ in c.items:
            if name not in known:
                raise RuleError(f"{what}: topic {topic.topic} has no item {name!r}")
        return topic

    def _check_rule(self, rule: Rule) -> Rule:
        if not rule.name or len(rule.name) > 128:
            raise RuleError("A rule needs a name of 1 to 128 characters")
        if rule.action not in self.actions:
            raise RuleError(f"Unknown action configuration {rule.action}")
        if not valid_wait(rule.wait):
            raise RuleError(f"Wait between actions must be 0 to {MAX_WAIT} seconds")
        if not rule.conditions and rule.trigger is None:
            raise RuleError("A rule needs at least one condition")
        conditions = []
        for n, c in enumerate(rule.conditions, 1):
            topic = self._check_condition(c, f"condition {n}")
            if not topic.stateful:
                raise RuleError(f"condition {n}: {topic.topic} is a stateless event; use it as the trigger")
            conditions.append(Condition(topic.topic, c.items, c.invert))
        trigger = None
        if rule.trigger is not None:
            topic = self._check_condition(rule.trigger, "trigger")
            if self.types[self.actions[rule.action].template].unlimited and not topic.stateful:
                raise RuleError("A stateless trigger cannot keep an action running: choose a fixed action")
            trigger = Condition(topic.topic, rule.trigger.items, rule.trigger.invert)
        return Rule(rule.id, rule.name, rule.enabled, rule.action, tuple(conditions), trigger, rule.wait)

    # -- changing ----------------------------------------------------------------------
    def add_action(self, name: str, template: str, params: Mapping[str, str], actor: str) -> ActionConfig:
        kind = self.types.get(template)
        if kind is None:
            raise RuleError(f"Unknown action template {template!r}")
        if len(self.actions) >= MAX_ACTIONS:
            raise RuleError(f"At most {MAX_ACTIONS} action configurations are allowed")
        unknown = set(params) - set(kind.params)
        if unknown:
            raise RuleError(f"Action {template} has no parameter(s) {', '.join(sorted(unknown))}")
        if kind.validate:
            kind.validate(params)
        with self.store.transaction() as db:
            cur = db.execute("INSERT INTO actions(name, template, params) VALUES(?,?,?)",
                             (name, template, json.dumps(dict(params))))
            config = ActionConfig(cur.lastrowid, name, template, dict(params))
        self.actions[config.id] = config
        self.logs.audit(actor, f"added action configuration {config.id} {template}", "events")
        return config

    def remove_action(self, action_id: int, actor: str) -> None:
        if action_id not in self.actions:
            raise RuleError(f"Unknown action configuration {action_id}")
        users = [r.name for r in self.rules.values() if r.action == action_id]
        if users:
            raise RuleError(f"Action configuration {action_id} is used by rule(s): {', '.join(users)}")
        with self.store.transaction() as db:
            db.execute("DELETE FROM actions WHERE id=?", (action_id,))
        del self.actions[action_id]
        self.logs.audit(actor, f"removed action configuration {action_id}", "events")

    def add_rule(self, rule: Rule, actor: str) -> Rule:
        if len(self.rules) >= MAX_RULES:
            raise RuleError(f"At most {MAX_RULES} rules are allowed")
        checked = self._check_rule(rule)
        with self.store.transaction() as db:
            cur = db.execute("INSERT INTO rules(body) VALUES(?)", (checked.to_json(),))
            checked = Rule(cur.lastrowid, *[getattr(checked, f) for f in
                                            ("name", "enabled", "action", "conditions", "trigger", "wait")])
        self._install(checked)
        self.logs.audit(actor, f"added rule {checked.id} {checked.name!r}", "events")
        self._evaluate(checked, None)
        return checked

    def replace_rule(self, rule: Rule, actor: str) -> Rule:
        """Change a rule; as on the device, a changed rule starts over from inactive."""
        if rule.id not in self.rules:
            raise RuleError(f"Unknown rule {rule.id}")
        checked = self._check_rule(rule)
        with self.store.transaction() as db:
            db.execute("UPDATE rules SET body=? WHERE id=?", (checked.to_json(), checked.id))
        self._uninstall(checked.id)
        self._install(checked)
        self.logs.audit(actor, f"changed rule {checked.id} {checked.name!r}", "events")
        self._evaluate(checked, None)
        return checked

    def remove_rule(self, rule_id: int, actor: str) -> None:
        if rule_id not in self.rules:
            raise RuleError(f"Unknown rule {rule_id}")
        with self.store.transaction() as db:
            db.execute("DELETE FROM rules WHERE id=?", (rule_id,))
        self._uninstall(rule_id)
        self.logs.audit(actor, f"removed rule {rule_id}", "events")

    def _install(self, rule: Rule) -> None:
        self.rules[rule.id] = rule
        self._state[rule.id] = _RuleState()
        for c in rule.conditions + ((rule.trigger,) if rule.trigger else ()):
            source = self._source_of(c)
            if source is None:
                self._by_topic.setdefault(c.topic, set()).add(rule.id)
            else:
                self._by_source.setdefault((c.topic, tuple(sorted(source.items()))), set()).add(rule.id)

    def _uninstall(self, rule_id: int) -> None:
        self.rules.pop(rule_id, None)
        state = self._state.pop(rule_id, None)
        for ids in (*self._by_topic.values(), *self._by_source.values()):
            ids.discard(rule_id)
        if state is not None:
            self._stop(state)

    # -- evaluation --------------------------------------------------------------------
    def _item_match(self, c: Condition, items: Mapping[str, str], state_name: str | None) -> bool | None:
        """None when the event is not this condition's source; else whether its state holds."""
        state_value: str | None = None
        for name, value in c.items:
            if name == state_name:
                state_value = value
            elif items.get(name) != value:
                return None
        if state_name is None:
            return not c.invert
        current = items.get(state_name, "")
        holds = current == state_value if state_value is not None else _truthy(current)
        return holds != c.invert

    def _state_item(self, topic: str) -> str | None:
        declared = self.bus.topic(topic)
        if declared is None:
            return None
        for item in declared.data:
            if item.state:
                return item.name
        return declared.data[0].name if declared.stateful and declared.data else None

    def _source_of(self, c: Condition) -> dict[str, str] | None:
        """The one source a condition names (every declared source item given), else None."""
        declared = self.bus.topic(c.topic)
        if declared is None or not declared.source:
            return None
        names = {i.name for i in declared.source}
        source = {name: value for name, value in c.items if name in names}
        return source if len(source) == len(names) else None

    def _holds(self, c: Condition) -> bool:
        plan = self._plans.get(c)
        if plan is None:
            plan = self._plans[c] = (self._source_of(c), self._state_item(c.topic))
        source, state_name = plan
        if source is not None:
            # A condition naming its source (port 1, schedule S0...) reads that one property.
            data = self.bus.state(c.topic, source)
            if data is not None:
                return bool(self._item_match(c, {**source, **data}, state_name))
        for event in self.bus.states(c.topic):
            if self._item_match(c, {**event.source, **event.data}, state_name):
                return True
        return False

    def on_event(self, event: Event) -> None:
        # Rules whose conditions on this topic name another source cannot change: skip them.
        ids = self._by_topic.get(event.topic, set()) | self._by_source.get(event.key, set())
        for rule_id in list(ids):
            rule = self.rules.get(rule_id)
            if rule is not None and rule.enabled:
                self._evaluate(rule, event)

    def _evaluate(self, rule: Rule, event: Event | None) -> None:
        state = self._state[rule.id]
        config = self.actions.get(rule.action)
        kind = self.types.get(config.template) if config else None
        if config is None or kind is None or not rule.enabled:
            return
        conditions_hold = all(self._holds(c) for c in rule.conditions)
        if rule.trigger is not None and not kind.unlimited:
            if event is None or event.topic != rule.trigger.topic or event.operation == "Deleted":
                return
            matched = self._item_match(rule.trigger, {**event.source, **event.data}, self._state_item(event.topic))
            if matched and conditions_hold:
                self._fire(rule, state, kind, config, event)
            return
        active = conditions_hold and (rule.trigger is None or self._holds(rule.trigger))
        if active and not state.active:
            state.active = True
            self._fire(rule, state, kind, config, event)
        elif not active and state.active:
            state.active = False
            self._stop(state)

    def _fire(self, rule: Rule, state: _RuleState, kind: ActionType, config: ActionConfig,
              event: Event | None) -> None:
        now = self.clock.monotonic()
        if state.last_action is not None and rule.wait and now - state.last_action < rule.wait:
            return
        state.last_action = now
        self.fired += 1
        context = ActionContext(config, rule, event)
        if kind.unlimited:
            assert kind.start is not None
            state.starting = self._spawn(self._start(kind.start, context, state), rule)
        else:
            assert kind.run is not None
            self._spawn(kind.run(context), rule)

    async def _start(self, start: Callable[[ActionContext], Awaitable[Stop]], context: ActionContext,
                     state: _RuleState) -> None:
        stop = await start(context)
        if state.active and self._state.get(context.rule.id) is state:
            state.stop = stop
        else:  # the rule went inactive while the action was starting
            await stop()

    def _stop(self, state: _RuleState) -> None:
        stop, state.stop = state.stop, None
        if stop is not None:
            self._spawn(stop(), None)

    def _spawn(self, work: Awaitable[None], rule: Rule | None) -> asyncio.Task:
        task = asyncio.ensure_future(self._guarded(work, rule))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, work: Awaitable[None], rule: Rule | None) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a failing action is reported, never fatal
            what = f"rule {rule.name!r}" if rule else "stopping an action"
            log.warning("action of %s failed: %s", what, err)
            self.bus.publish(ACTION_FAILED, {}, {"description": f"{what}: {err}"})

    async def drain(self) -> None:
        """Wait for running action tasks (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for state in self._state.values():
            self._stop(state)
        await self.drain()
