"""The firewall's state: on or off, the confirmed ("active") rule set, and a rule set under test
("pending") with the time it has left.

Rules set with a fallback time are tested: they are enforced at once, and unless confirmed within
that time the firewall returns to the confirmed rules by itself (`tick`, run by `run`). Only the
confirmed settings are stored, in one transaction each, so a device that stops or crashes during
a test comes back on the confirmed rules. A rule set that would drop the connection of the client
that sends it (its address, the port it came in on) is refused unless it is tested, and so is
turning the firewall on with such rules: the test's rollback is what lets that client back in.
"""

from __future__ import annotations

import asyncio
import json
import math

from vigil.core.clock import Clock
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.features.firewall.const import (
    ERR_INVALID_REQUEST,
    MAX_TEST_SECONDS,
    STORE_KEY,
)
from vigil.features.firewall.model import RuleError, ruleset_from_json, ruleset_json
from vigil.hal.firewall import FirewallError, FirewallHardware, Packet, Ruleset

TICK_SECONDS = 0.25  # how often a test's end is looked for


def _summary(ruleset: Ruleset) -> str:
    return f"{len(ruleset.rules)} rule(s), default policy {ruleset.default_policy}"


class FirewallService:
    def __init__(self, hardware: FirewallHardware, store: Store, logs: Logs, clock: Clock) -> None:
        self.hardware = hardware
        self.store = store
        self.logs = logs
        self.clock = clock
        self.activated = False
        self.active = Ruleset()
        self.pending: Ruleset | None = None
        self.deadline = 0.0  # clock.monotonic() at which the pending rules roll back

    # -- what is enforced -------------------------------------------------------------------
    def enforced(self) -> Ruleset | None:
        if not self.activated:
            return None
        return self.pending if self.pending is not None else self.active

    def time_left(self) -> int:
        if self.pending is None:
            return 0
        return max(0, math.ceil(self.deadline - self.clock.monotonic()))

    def load(self) -> None:
        """Start on the stored (confirmed) settings; a test under way when the device stopped is gone."""
        raw = self.store.get_kv(STORE_KEY)
        if raw:
            try:
                data = json.loads(raw)
                self.active = ruleset_from_json(data)
                self.activated = data.get("activated") is True
            except (ValueError, RuleError) as err:
                self.logs.system(f"The stored firewall rules cannot be read ({err}): the firewall is off", "error")
                self.active, self.activated = Ruleset(), False
        try:
            self.hardware.apply(self.enforced())
        except FirewallError as err:
            self.logs.system(f"The firewall rules cannot be applied: {err}", "error")
        if self.activated:
            self.logs.system(f"Firewall on ({self.hardware.name}): {_summary(self.active)}")

    def _store(self) -> None:
        data = {"activated": self.activated, **ruleset_json(self.active)}
        self.store.set_kv(STORE_KEY, json.dumps(data, sort_keys=True))

    def _enforce(self, activated: bool, pending: Ruleset | None, active: Ruleset) -> None:
        """Apply that state to the hardware; RuleError (nothing changed) when it cannot."""
        wanted = (pending if pending is not None else active) if activated else None
        try:
            self.hardware.apply(wanted)
        except FirewallError as err:
            self.logs.system(f"The firewall rules cannot be applied: {err}", "error")
            raise RuleError(ERR_INVALID_REQUEST, f"the rules cannot be applied: {err}") from None

    def _locks_out(self, ruleset: Ruleset, client: Packet | None) -> bool:
        return client is not None and not self.hardware.lets_in(ruleset, client)

    # -- changes ----------------------------------------------------------------------------
    def set_activated(self, on: bool, client: Packet | None, actor: str) -> None:
        if on and self._locks_out(self.active, client):
            raise RuleError(ERR_INVALID_REQUEST, f"the firewall rules would lock out this client ({client.source}, "
                                                 f"TCP port {client.port}): change them first")
        if on == self.activated:
            return
        self._enforce(on, None, self.active)
        if self.pending is not None:
            self.logs.audit(actor, "firewall test ended: the firewall was turned off", "firewall")
        self.activated, self.pending = on, None
        self._store()
        self.logs.audit(actor, f"firewall turned {'on' if on else 'off'}", "firewall")

    def set_rules(self, ruleset: Ruleset, fallback: int, client: Packet | None, actor: str) -> None:
        """Apply `ruleset` now (fallback 0) or test it for `fallback` seconds."""
        if not 0 <= fallback <= MAX_TEST_SECONDS:
            raise RuleError(ERR_INVALID_REQUEST, f"fallbackTime is from 0 to {MAX_TEST_SECONDS} seconds")
        if fallback and not self.activated:
            raise RuleError(ERR_INVALID_REQUEST, "the firewall is off: turn it on before testing rules")
        if not fallback and self.activated and self._locks_out(ruleset, client):
            raise RuleError(ERR_INVALID_REQUEST, f"these rules would lock out this client ({client.source}, TCP port "
                                                 f"{client.port}): test them with a fallback time instead")
        if fallback:
            self._enforce(True, ruleset, self.active)
            self.pending, self.deadline = ruleset, self.clock.monotonic() + fallback
            self.logs.audit(actor, f"firewall rules under test for {fallback} s: {_summary(ruleset)}", "firewall")
            return
        self._enforce(self.activated, None, ruleset)
        was_testing = self.pending is not None
        self.active, self.pending = ruleset, None
        self._store()
        ended = " (the test under way ended)" if was_testing else ""
        self.logs.audit(actor, f"firewall rules applied: {_summary(ruleset)}{ended}", "firewall")

    def confirm(self, actor: str) -> None:
        if self.pending is None:
            raise RuleError(ERR_INVALID_REQUEST, "no rules are being tested (a test that ran out has rolled back)")
        self.active, self.pending = self.pending, None
        self._store()
        self.logs.audit(actor, f"firewall rules confirmed: {_summary(self.active)}", "firewall")

    def roll_back(self, actor: str, why: str) -> None:
        if self.pending is None:
            raise RuleError(ERR_INVALID_REQUEST, "no rules are being tested")
        self._enforce(self.activated, None, self.active)
        self.pending = None
        self.logs.audit(actor, f"firewall rules rolled back to the confirmed ones: {why}", "firewall")

    # -- the test timer ---------------------------------------------------------------------
    def tick(self) -> None:
        """Roll back a test whose time has run out."""
        if self.pending is not None and self.clock.monotonic() >= self.deadline:
            try:
                self.roll_back("system", "the test time ran out without a confirmation")
            except RuleError:
                pass  # logged by _enforce; tried again at the next tick
            else:
                self.logs.system("Firewall test not confirmed in time: back on the confirmed rules", "warning")

    async def run(self) -> None:
        """The device service: ends tests on time; the firewall's rules go when the device stops."""
        try:
            while True:
                await asyncio.sleep(TICK_SECONDS)
                self.tick()
        finally:
            self.hardware.close()


FIREWALL_SERVICE: Key[FirewallService] = Key("firewall")
