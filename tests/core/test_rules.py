"""The rule engine's semantics, with a W401 device and its simulated I/O."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import make_device
from tests.conftest import record_actions as recorder
from tests.conftest import settle_rules as settle
from vigil.core.clock import FakeClock
from vigil.core.rules import MAX_RULES, ActionContext, ActionType, Condition, Rule, RuleError
from vigil.device import Device
from vigil.features.triggers.service import VIRTUAL_INPUTS_SERVICE
from vigil.hal.io import IO_HARDWARE

INPUT = "tns1:Device/Trigger/DigitalInput"
VIRTUAL = "tns1:Device/tnsaxis:IO/VirtualInput"


@pytest.fixture
def w401(w401: Device) -> Device:
    """tests/conftest.py's W401 with I1 and I2 as outputs."""
    w401.params.set_internal({"IOPort.I1.Direction": "output", "IOPort.I2.Direction": "output"})
    return w401


def virtual(n: str, *more: tuple[str, str], invert: bool = False) -> Condition:
    return Condition(VIRTUAL, (("port", n), *more), invert)


async def test_all_conditions_must_hold_and_unlimited_action_follows(w401: Device) -> None:
    calls = recorder(w401)
    triggers = w401.features[VIRTUAL_INPUTS_SERVICE]
    action = w401.rules.add_action("a", "test.unlimited", {}, "t")
    w401.rules.add_rule(Rule(0, "both", True, action.id, (virtual("1"), virtual("2"))), "t")
    triggers.set_virtual(1, True, "t")
    await settle(w401)
    assert calls == []
    triggers.set_virtual(2, True, "t")
    await settle(w401)
    assert calls == ["start:both"]
    triggers.set_virtual(1, False, "t")
    await settle(w401)
    assert calls == ["start:both", "stop:both"]


async def test_inverted_condition(w401: Device) -> None:
    calls = recorder(w401)
    triggers = w401.features[VIRTUAL_INPUTS_SERVICE]
    action = w401.rules.add_action("a", "test.fixed", {}, "t")
    w401.rules.add_rule(Rule(0, "not1", True, action.id, (virtual("1", invert=True),)), "t")
    await settle(w401)
    assert calls == ["run:not1"]  # virtual input 1 is inactive at start: the inverted condition holds
    triggers.set_virtual(1, True, "t")
    triggers.set_virtual(1, False, "t")
    await settle(w401)
    assert calls == ["run:not1", "run:not1"]


async def test_trigger_fires_once_per_event_only_while_conditions_hold(w401: Device) -> None:
    calls = recorder(w401)
    triggers = w401.features[VIRTUAL_INPUTS_SERVICE]
    action = w401.rules.add_action("a", "test.fixed", {}, "t")
    w401.rules.add_rule(Rule(0, "trig", True, action.id, (virtual("2"),), trigger=virtual("1")), "t")
    triggers.set_virtual(1, True, "t")
    await settle(w401)
    assert calls == []  # condition 2 does not hold
    triggers.set_virtual(1, False, "t")
    triggers.set_virtual(2, True, "t")
    triggers.set_virtual(1, True, "t")
    await settle(w401)
    assert calls == ["run:trig"]


async def test_wait_between_actions(w401: Device, clock: FakeClock) -> None:
    calls = recorder(w401)
    triggers = w401.features[VIRTUAL_INPUTS_SERVICE]
    action = w401.rules.add_action("a", "test.fixed", {}, "t")
    w401.rules.add_rule(Rule(0, "w", True, action.id, (), trigger=virtual("1"), wait=5), "t")
    for _ in range(3):
        triggers.set_virtual(1, True, "t")
        triggers.set_virtual(1, False, "t")
    await settle(w401)
    assert calls == ["run:w"]
    clock.advance(6)
    triggers.set_virtual(1, True, "t")
    await settle(w401)
    assert calls == ["run:w", "run:w"]


async def test_disabled_rule_does_nothing(w401: Device) -> None:
    calls = recorder(w401)
    action = w401.rules.add_action("a", "test.fixed", {}, "t")
    w401.rules.add_rule(Rule(0, "off", False, action.id, (), trigger=virtual("1")), "t")
    w401.features[VIRTUAL_INPUTS_SERVICE].set_virtual(1, True, "t")
    await settle(w401)
    assert calls == []


async def test_toggle_io_once_returns_after_duration(w401: Device) -> None:
    hw = w401.hardware[IO_HARDWARE]
    action = w401.rules.add_action("pulse", "com.axis.action.fixed.io.toggle",
                                   {"port": "1", "state": "high", "duration": "1"}, "t")
    w401.rules.add_rule(Rule(0, "pulse", True, action.id, (), trigger=virtual("1")), "t")
    w401.features[VIRTUAL_INPUTS_SERVICE].set_virtual(1, True, "t")
    await settle(w401)
    assert hw.output(1) == "closed"
    await asyncio.sleep(1.1)
    assert hw.output(1) == "open"


async def test_failing_action_reports_action_failed_and_others_run(w401: Device) -> None:
    calls = recorder(w401)

    async def broken(ctx: ActionContext) -> None:
        raise RuntimeError("recipient unreachable")

    w401.rules.register(ActionType("test.broken", "Broken", (), run=broken))
    failed = []
    w401.events.subscribe(lambda e: failed.append(e) if e.topic.endswith("ActionFailed") else None)
    bad = w401.rules.add_action("b", "test.broken", {}, "t")
    good = w401.rules.add_action("g", "test.fixed", {}, "t")
    w401.rules.add_rule(Rule(0, "bad", True, bad.id, (), trigger=virtual("1")), "t")
    w401.rules.add_rule(Rule(0, "good", True, good.id, (), trigger=virtual("1")), "t")
    w401.features[VIRTUAL_INPUTS_SERVICE].set_virtual(1, True, "t")
    await settle(w401)
    assert calls == ["run:good"]
    assert "recipient unreachable" in failed[0].data["description"]


def test_bad_rules_are_refused_and_nothing_is_stored(w401: Device) -> None:
    recorder(w401)
    fixed = w401.rules.add_action("a", "test.fixed", {}, "t")
    unlimited = w401.rules.add_action("u", "test.unlimited", {}, "t")
    cases = [
        Rule(0, "x", True, fixed.id, (Condition("tns1:Nope"),)),
        Rule(0, "x", True, fixed.id, (Condition(VIRTUAL, (("colour", "red"),)),)),
        Rule(0, "x", True, 999, (virtual("1"),)),
        Rule(0, "", True, fixed.id, (virtual("1"),)),
        Rule(0, "x", True, fixed.id, ()),
        Rule(0, "x", True, unlimited.id, (), trigger=Condition("tns1:Device/tnsaxis:SystemMessage/ActionFailed")),
    ]
    for rule in cases:
        with pytest.raises(RuleError):
            w401.rules.add_rule(rule, "t")
    assert w401.rules.rules == {}
    assert w401.store.query("SELECT count(*) FROM rules") == [(0,)]
    with pytest.raises(RuleError):
        w401.rules.add_action("a", "no.such.template", {}, "t")
    with pytest.raises(RuleError):
        w401.rules.add_action("a", "com.axis.action.fixed.io.toggle", {"port": "77"}, "t")


def test_rule_limit(w401: Device) -> None:
    recorder(w401)
    fixed = w401.rules.add_action("a", "test.fixed", {}, "t")
    for n in range(MAX_RULES):
        w401.rules.add_rule(Rule(0, f"r{n}", True, fixed.id, (virtual("1"),)), "t")
    with pytest.raises(RuleError, match="256"):
        w401.rules.add_rule(Rule(0, "one too many", True, fixed.id, (virtual("1"),)), "t")
    assert len(w401.rules.rules) == MAX_RULES


async def test_rules_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    dev = make_device(tmp_path, clock, "w401")
    dev.params.set_internal({"IOPort.I1.Direction": "output"})
    action = dev.rules.add_action("lamp", "com.axis.action.unlimited.io.toggle", {"port": "1", "state": "high"}, "t")
    dev.rules.add_rule(Rule(0, "lamp", True, action.id, (virtual("3"),)), "t")
    dev.close()
    again = make_device(tmp_path, clock, "w401")
    try:
        assert [r.name for r in again.rules.rules.values()] == ["lamp"]
        again.features[VIRTUAL_INPUTS_SERVICE].set_virtual(3, True, "t")
        await settle(again)
        assert again.hardware[IO_HARDWARE].output(1) == "closed"
    finally:
        again.close()


@pytest.mark.parametrize("wait", [float("nan"), float("inf"), -float("inf"), -1.0, 86400.5, True, "5"])
def test_a_wait_that_is_not_0_to_86400_seconds_is_refused(w401: Device, wait: object) -> None:
    recorder(w401)
    action = w401.rules.add_action("a", "test.fixed", {}, "t")
    with pytest.raises(RuleError, match="Wait between actions must be 0 to 86400 seconds"):
        w401.rules.add_rule(Rule(0, "r", True, action.id, (virtual("1"),), None, wait), "t")  # type: ignore[arg-type]
    assert not w401.rules.rules and w401.store.query("SELECT count(*) FROM rules") == [(0,)]


def test_a_rule_stored_with_a_nan_wait_is_repaired_at_load(tmp_path: Path, clock: FakeClock, w401: Device) -> None:
    """An older version stored NaN: the device starts, the rule runs with no wait, the row is fixed."""
    recorder(w401)
    action = w401.rules.add_action("a", "test.fixed", {}, "t")
    rule = w401.rules.add_rule(Rule(0, "nan wait", True, action.id, (virtual("1"),), None, 5.0), "t")
    with w401.store.transaction() as db:
        db.execute("UPDATE rules SET body=? WHERE id=?", (rule.to_json().replace('"wait": 5.0', '"wait": NaN'),
                                                           rule.id))
        db.execute("INSERT INTO rules(body) VALUES(?)", ("{not json",))
    w401.close()
    again = make_device(tmp_path, clock, "w401")
    try:
        assert again.rules.rules[rule.id].wait == 0.0 and again.rules.rules[rule.id].name == "nan wait"
        assert len(again.rules.rules) == 1  # the unreadable row is skipped, not fatal
        (body,) = again.store.query("SELECT body FROM rules WHERE id=?", (rule.id,))[0]
        assert "NaN" not in body
        log = again.logs.text("system")
        assert f"rule {rule.id} 'nan wait': its stored wait between actions (nan) is not 0 to 86400 seconds; it is " \
               "set to 0" in log
        assert "could not be read and is skipped" in log
    finally:
        again.close()


def test_a_rule_is_never_stored_with_a_non_finite_wait() -> None:
    with pytest.raises(ValueError):
        Rule(1, "r", True, 1, (virtual("1"),), None, float("nan")).to_json()
