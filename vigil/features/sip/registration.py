"""Keeping one account registered (RFC 3261 §10.2) with a secondary server (the manual's
"Secondary SIP server", "Seconds until failback", "Register with server every" and "Max
retransmissions": `Policy`).

The registrar is tried first. When it cannot be reached (no answer, a connection refused or
lost: `SipUnreachable`), the secondary server stands in at once; an answer that refuses (a
wrong password, 403, 404) is a failure of the account, not of the server, and does not fail
over. While on the secondary, the registrar is tried again after the failback time; once it
answers, the account is back on it. With neither reachable, the status says failed with the
reason and both are tried again after the retry interval, until `max_rounds` rounds in a row
found no server (then the account stays failed, "gave up after N attempts", until the settings or
the account change and a new Registration starts). REGISTER asks for `expires` seconds; a
registration refreshes at half of the granted expiry, and at once when the connection it was
made over (TCP, TLS) ends: a registrar that stops is noticed when it stops, and one that returns is found at the next retry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vigil.features.sip.errors import SipError, SipUnreachable

log = logging.getLogger("vigil.sip")
RENEW_FLOOR = 5.0  # seconds at least between two registrations renewed because a connection ended
Register = Callable[[str, str, int, int], Awaitable[int]]  # (server, Call-ID, CSeq, expires) -> granted expiry
Changed = Callable[[bool, str, str], None]  # (registered, reason, server)


@dataclass(frozen=True)
class Policy:
    """How accounts keep registered (the SIP settings)."""

    expires: int = 3600  # registerInterval: the Expires asked for
    retry: float = 30.0  # registrationRetry: seconds between rounds while no server answers
    failback: float = 300.0  # failbackSeconds
    max_rounds: int = 0  # maxRetransmissions: rounds in a row with no server reached before giving up; 0: never


class GaveUp(Exception):
    """No server was reached in `Policy.max_rounds` rounds in a row: the account stops trying."""


class Registration:
    def __init__(self, primary: str, secondary: str, register: Register, changed: Changed, policy: Policy) -> None:
        self.primary, self.secondary, self.expires = primary, secondary, policy.expires
        self.register, self.changed = register, changed
        self.retry, self.failback, self.max_rounds = policy.retry, policy.failback, policy.max_rounds
        self.unreached = 0  # rounds in a row that reached no server
        self.server = ""  # where the account is registered now ("" when nowhere)
        self.failback_at = 0.0  # time.monotonic() when the registrar is tried again from the secondary
        self.call_ids = {primary: secrets.token_hex(12), secondary: secrets.token_hex(12)}  # one per registrar
        self.cseq = 1
        self.wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.leaving: set[asyncio.Task] = set()  # unregistering from the secondary

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run())

    def renew(self) -> None:
        """Register again now (the connection of the registration ended)."""
        self.wake.set()

    async def run(self) -> None:
        try:
            while True:
                self.wake.clear()  # a connection that ends during the attempt asks for another at once
                started = time.monotonic()
                try:
                    wait = await self.attempt()
                except GaveUp:
                    log.info("SIP registration with %s given up after %d attempts", self.primary, self.unreached)
                    return
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # Python 3.11's wait_for can swallow a cancellation
                    raise asyncio.CancelledError
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):  # not wait_for: a cancellation is never lost here
                        await self.wake.wait()
                if self.wake.is_set():  # renewed early: still not more often than RENEW_FLOOR (a server
                    # that closes every connection must not make a loop of REGISTERs)
                    await asyncio.sleep(max(started + min(self.retry, RENEW_FLOOR) - time.monotonic(), 0))
        except asyncio.CancelledError:
            for task in self.leaving:
                task.cancel()
            if self.server:  # unregister, as far as it goes in two seconds
                with contextlib.suppress(SipError, TimeoutError, Exception):
                    await asyncio.wait_for(self._send(self.server, 0), 2)
            raise

    def order(self) -> list[str]:
        """The servers to try now, first choice first."""
        if not self.secondary:
            return [self.primary]
        if self.server == self.secondary and time.monotonic() < self.failback_at:
            return [self.secondary, self.primary]
        return [self.primary, self.secondary]

    async def attempt(self) -> float:
        """One round of registering; the seconds until the next."""
        failure = ""
        for server in self.order():
            try:
                granted = await self._send(server, self.expires)
            except SipUnreachable as err:
                failure = failure or str(err)
                continue  # the next server stands in
            except SipError as err:
                self.unreached = 0  # it answered: reached
                self._moved("")
                self.changed(False, str(err), server)
                return self.retry
            except Exception as err:  # a fault here must not end the account's registration for good
                log.exception("SIP registration with %s failed", server)
                self._moved("")
                self.changed(False, f"internal error: {err}", server)
                return self.retry
            if server == self.secondary and (self.server != server or time.monotonic() >= self.failback_at):
                self.failback_at = time.monotonic() + self.failback  # the registrar failed just now
            self.unreached = 0
            self._moved(server)
            self.changed(True, "", server)
            refresh = max(granted / 2, 1)
            return min(refresh, max(self.failback_at - time.monotonic(), 0.1)) if server == self.secondary \
                else refresh
        self._moved("")
        self.unreached += 1
        if self.max_rounds and self.unreached >= self.max_rounds:
            self.changed(False, f"gave up after {self.unreached} attempts: {failure}", "")
            raise GaveUp
        self.changed(False, failure, "")
        return self.retry

    def _moved(self, server: str) -> None:
        """Now registered at `server`: back from the secondary, its binding is removed."""
        old, self.server = self.server, server
        if old and old == self.secondary and server == self.primary:
            task = asyncio.get_running_loop().create_task(self._send(old, 0))
            self.leaving.add(task)
            task.add_done_callback(self._left)

    def _left(self, task: asyncio.Task) -> None:
        self.leaving.discard(task)
        if not task.cancelled():
            task.exception()  # best effort: a secondary that is gone by now keeps its binding until it expires

    async def _send(self, server: str, expires: int) -> int:
        self.cseq += 8  # room for the numbers after: challenges answered (proxy, registrar), a REGISTER again
        # (contact rewrite) and its challenges
        return await self.register(server, self.call_ids[server], self.cseq, expires)
