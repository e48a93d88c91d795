"""Automatic date and time: the NTP (or NTS) client that keeps the device's clock on its servers.

Which servers: with NTS on, the NTS-KE servers; else those of the DHCP lease when the settings
say so and the network part has given some (`set_dhcp_servers`), falling back to the static ones.
Each poll asks every server a short burst and keeps the reply with the shortest round trip;
the device's clock follows the median offset of the servers that answered: a correction beyond
STEP_THRESHOLD is stepped at once, a smaller one slewed (`vigil.core.clock`), and the offset the
clock settles on is stored, as a battery-backed clock keeps its time over a restart.

The poll interval starts at 2^MinPoll seconds and doubles after each good poll up to 2^MaxPoll;
a poll without an answer goes back to the shortest. Polls are timed on the clock's monotonic
time (tests move a FakeClock). The status says whether the clock is synchronised (since the last
settings change, and until LOST_AFTER polls in a row went unanswered), the last offset, the
servers and when the next poll is due; changes of that state go to the system log.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.clock import OFFSET_KEY, Clock, in_range
from vigil.core.logs import Logs
from vigil.core.params import Change, ParamTree
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.core.zones import posix_rule_of, posix_zone_problem
from vigil.features.certificates.service import Keystore
from vigil.features.mqtt.transport import ConnectFailure, resolve_certificate
from vigil.features.timesync import servers as addresses
from vigil.features.timesync.const import (
    BURST,
    DST_ENABLED,
    LOST_AFTER,
    MAX_DELAY,
    MAX_POLL,
    MIN_POLL,
    NTP_PORT,
    NTP_SERVERS,
    NTS_ENABLED,
    NTS_KE_CA_CERTS,
    NTS_KE_PORT,
    NTS_KE_SERVERS,
    OBTAIN_FROM_DHCP,
    POSIX_TIME_ZONE,
    REPLY_TIMEOUT,
    SETTINGS,
    STEP_THRESHOLD,
    SYNC_SOURCE,
    TIME_ZONE,
)
from vigil.features.timesync.ntp import NtpError, Sample, exchange, sample_of
from vigil.features.timesync.nts import NtsSource
from vigil.features.timesync.servers import Server
from vigil.hal.network import Lease


@dataclass(frozen=True)
class Settings:
    """The synchronisation settings, as the parameters hold them now."""

    enabled: bool
    from_dhcp: bool
    static: tuple[Server, ...]
    nts: bool
    nts_ke: tuple[Server, ...]
    ca_certs: tuple[str, ...]
    min_poll: int
    max_poll: int  # never below min_poll

    @classmethod
    def read(cls, params: ParamTree) -> Settings:
        def listed(name: str, port: int) -> tuple[Server, ...]:
            return tuple(addresses.parse_list(params.get(name), port))

        low = params.get_int(MIN_POLL)
        return cls(params.get(SYNC_SOURCE) == "NTP", params.get_bool(OBTAIN_FROM_DHCP),
                   listed(NTP_SERVERS, NTP_PORT), params.get_bool(NTS_ENABLED), listed(NTS_KE_SERVERS, NTS_KE_PORT),
                   tuple(addresses.split_list(params.get(NTS_KE_CA_CERTS))), low, max(low, params.get_int(MAX_POLL)))


class PlainSource:
    """An NTP server without NTS."""

    def __init__(self, server: Server, timeout: float) -> None:
        self.server = server
        self.timeout = timeout
        self.name = str(server)

    async def sample(self, clock: Clock) -> Sample:
        reply, t1, t4, _sent = await exchange(self.server.host, self.server.port, clock, self.timeout)
        return sample_of(self.name, reply, t1, t4, clock.host_time())


@dataclass
class SyncState:
    """What the status reports; times are the clock's monotonic time unless named otherwise."""

    synced: bool = False
    offset: float | None = None  # the last correction, seconds
    adjustment: str = ""  # step | slew: how it was applied
    servers: list[str] = field(default_factory=list)  # those that answered the last good poll
    samples: list[Sample] = field(default_factory=list)
    last_sync: float | None = None  # device time of the last good poll
    next_poll: float | None = None
    poll_exponent: int = 0
    failures: int = 0  # polls in a row without an answer
    error: str = ""  # why the last poll failed, or why nothing is polled


class TimeSyncService:
    def __init__(self, params: ParamTree, clock: Clock, store: Store, logs: Logs, keystore: Keystore,
                 reply_timeout: float = REPLY_TIMEOUT) -> None:
        self.params = params
        self.clock = clock
        self.store = store
        self.logs = logs
        self.keystore = keystore
        self.reply_timeout = reply_timeout
        self.dhcp_servers: tuple[Server, ...] = ()
        self.state = SyncState()
        self._nts: dict[tuple, NtsSource] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        params.listeners.append(self._on_change)

    # -- inputs --------------------------------------------------------------------------
    def set_dhcp_servers(self, servers: Sequence[str]) -> None:
        """The NTP servers of the current DHCP lease (empty when it has none): the network part
        calls this when a lease comes, changes or goes. Used when Time.ObtainFromDHCP is yes."""
        parsed = []
        for text in servers:
            try:
                parsed.append(addresses.parse_server(text, NTP_PORT))
            except ValueError as err:
                self.logs.system(f"NTP server {text!r:.80} from DHCP ignored: {err}", "warning")
        if tuple(parsed) != self.dhcp_servers:
            self.dhcp_servers = tuple(parsed)
            self._restart("the DHCP lease's NTP servers changed")

    def on_lease(self, lease: Lease | None) -> None:
        """The network feature's DHCP lease changed (`NetworkService.on_lease`)."""
        self.set_dhcp_servers(lease.ntp_servers if lease is not None else ())

    def dhcp_server_list(self) -> str:
        """Time.NTP.VolatileServer: the DHCP lease's servers, comma separated."""
        return ",".join(str(s) for s in self.dhcp_servers)

    def _on_change(self, changes: list[Change], actor: str) -> None:
        names = {c.name for c in changes}
        if names & set(SETTINGS):
            self._restart("the synchronisation settings changed")
        self._keep_zones_consistent(changes, actor)

    def _restart(self, why: str) -> None:
        """New settings or servers: the clock counts as synchronised again only after a poll with them."""
        was_synced = self.state.synced
        self.state = SyncState()
        self._nts.clear()
        if was_synced:
            self.logs.system(f"time synchronisation starts over: {why}")
        self._wake.set()

    def _keep_zones_consistent(self, changes: list[Change], actor: str) -> None:
        """One local zone applies (vigil.core.zones): a new IANA zone also sets the POSIX rule the
        tz database gives it, and a new POSIX rule alone makes the IANA zone give way to it."""
        new = {c.name: c.new for c in changes}
        zone = self.params.get(TIME_ZONE)
        if TIME_ZONE in new and zone:
            rule = posix_rule_of(zone)
            if rule and self.params.get(POSIX_TIME_ZONE) != rule:
                self.params.set_internal({POSIX_TIME_ZONE: rule, DST_ENABLED: "yes"}, actor)
        elif POSIX_TIME_ZONE in new and TIME_ZONE not in new and zone and posix_rule_of(zone) != new[POSIX_TIME_ZONE]:
            self.params.set_internal({TIME_ZONE: ""}, actor)

    # -- which servers -------------------------------------------------------------------
    def servers_in_use(self, settings: Settings) -> tuple[str, tuple[Server, ...]]:
        """(where they come from, the servers) for the current settings."""
        if settings.nts:
            return "NTS-KE", settings.nts_ke
        if settings.from_dhcp and self.dhcp_servers:
            return "DHCP", self.dhcp_servers
        return ("fallback" if settings.from_dhcp else "static"), settings.static

    def _sources(self, settings: Settings) -> list[PlainSource | NtsSource]:
        kind, chosen = self.servers_in_use(settings)
        if kind != "NTS-KE":
            return [PlainSource(server, self.reply_timeout) for server in chosen]
        ca_files = [self._ca_file(ident) for ident in settings.ca_certs]
        sources = []
        for server in chosen:
            key = (server, tuple(ca_files))
            if key not in self._nts:
                self._nts[key] = NtsSource(server, ca_files, self.reply_timeout)
            sources.append(self._nts[key])
        return sources

    def _ca_file(self, ident: str) -> Path:
        try:
            return resolve_certificate(ident, self.keystore)
        except ConnectFailure as failure:
            raise NtpError(f"NTS-KE CA certificate: {failure.message}") from None

    # -- polling -------------------------------------------------------------------------
    async def poll(self) -> SyncState:
        """One poll of every server in use, and the clock's correction from their answers."""
        async with self._lock:
            state = self.state
            try:
                settings = Settings.read(self.params)
            except ValueError as err:  # a stored value from before the rules: the user sets it again
                self._set_error(state, f"the settings cannot be used: {err}")
                state.next_poll = None
                return state
            if not settings.enabled:
                self._set_error(state, "")
                state.next_poll = None
                return state
            kind, chosen = self.servers_in_use(settings)
            if not chosen:
                what = "NTS-KE server" if kind == "NTS-KE" else "NTP server"
                self._set_error(state, f"no {what} is set")
                state.next_poll = None
                return state
            samples, errors = await self._ask(settings)
            if samples:
                first = state.last_sync is None
                self._apply(state, samples)
                # Poll less often while all is well; soon again after a first sync or a step.
                exponent = settings.min_poll if first or state.adjustment == "step" else state.poll_exponent + 1
                state.poll_exponent = min(max(exponent, settings.min_poll), settings.max_poll)
            else:
                state.failures += 1
                state.poll_exponent = settings.min_poll
                self._set_error(state, "; ".join(errors))
                if state.synced and state.failures >= LOST_AFTER:
                    state.synced = False
                    self.logs.system(f"time synchronisation lost: no NTP server answered {LOST_AFTER} polls "
                                     f"in a row ({state.error})", "warning")
            state.next_poll = self.clock.monotonic() + 2 ** state.poll_exponent
            return state

    async def _ask(self, settings: Settings) -> tuple[list[Sample], list[str]]:
        try:
            sources = self._sources(settings)
        except NtpError as err:
            return [], [str(err)]
        best: list[Sample] = []
        errors: list[str] = []
        for source in sources:
            found: list[Sample] = []
            for _ in range(BURST):
                try:
                    sample = await source.sample(self.clock)
                except NtpError as err:
                    errors.append(f"{source.name}: {err}")
                    break
                if not in_range(self.clock.time() + sample.offset):
                    errors.append(f"{source.name}: its time is outside the dates the device can hold")
                    break
                found.append(sample)
            usable = [s for s in found if s.delay <= MAX_DELAY]
            if usable:
                best.append(min(usable, key=lambda s: s.delay))
            elif found:
                errors.append(f"{source.name}: round trips over {MAX_DELAY:g} s")
        return best, errors

    def _apply(self, state: SyncState, samples: list[Sample]) -> None:
        offset = statistics.median(s.offset for s in samples)
        if abs(offset) > STEP_THRESHOLD:
            self.clock.step(offset)
            state.adjustment = "step"
        else:
            self.clock.slew(offset)
            state.adjustment = "slew"
        self.store.set_kv(OFFSET_KEY, repr(self.clock.settled_offset))
        names = [s.server for s in samples]
        if state.adjustment == "step" or not state.synced or names != state.servers:
            how = ("stepped" if state.adjustment == "step" else "slewing") + f" {offset:+.6f} s"
            self.logs.system(f"time synchronised with {', '.join(names)}: {how}")
        state.synced = True
        state.offset = offset
        state.samples = samples
        state.servers = names
        state.failures = 0
        state.error = ""
        state.last_sync = self.clock.time()

    def _set_error(self, state: SyncState, error: str) -> None:
        if error and error != state.error:
            self.logs.system(f"time synchronisation: {error}", "warning")
        state.error = error

    async def run(self) -> None:
        """The client: poll when due, at once after a settings change."""
        while True:
            state = self.state
            due = state.next_poll is None and not state.error or (
                state.next_poll is not None and self.clock.monotonic() >= state.next_poll)
            if due and self.params.get(SYNC_SOURCE) == "NTP":
                await self.poll()
                continue
            self._wake.clear()
            # Short waits: a FakeClock moved by a test is seen within a second.
            wait = 1.0 if state.next_poll is None else min(1.0, max(0.01, state.next_poll - self.clock.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    # -- manual time ---------------------------------------------------------------------
    def set_manual(self, utc: float | None, zone: str | None, dst: bool | None, actor: str) -> None:
        """Manual date and time (ONVIF SetSystemDateAndTime): synchronisation off, the POSIX
        zone and its DST flag when given (an IANA zone gives way to it), and the clock set to
        `utc` (seconds since the epoch, within the clock's range) when given. Checked in full
        before anything changes; ValueError says what is wrong."""
        if zone is not None and (problem := posix_zone_problem(zone)):
            raise ValueError(f"invalid POSIX time zone {zone[:64]!r}: {problem}")
        if utc is not None and not in_range(utc):
            raise ValueError("the date and time are outside the range the device keeps")
        values = {SYNC_SOURCE: "None"}
        if zone is not None:
            values |= {TIME_ZONE: "", POSIX_TIME_ZONE: zone}
        if dst is not None:
            values[DST_ENABLED] = "yes" if dst else "no"
        self.params.set_internal(values, actor)
        if utc is not None:
            self.clock.set_time(utc)
            self.store.set_kv(OFFSET_KEY, repr(self.clock.offset))
            self.logs.audit(actor, f"set date and time to {utc:.0f} (seconds since 1970, UTC)", "time")

    def set_automatic(self, actor: str) -> None:
        """Date and time from the NTP servers (ONVIF SetSystemDateAndTime with NTP)."""
        self.params.set_internal({SYNC_SOURCE: "NTP"}, actor)

    # -- status --------------------------------------------------------------------------
    def time_to_next_sync(self) -> int:
        """Seconds until the next poll; 0 when none is planned."""
        if self.state.next_poll is None:
            return 0
        return max(0, round(self.state.next_poll - self.clock.monotonic()))


TIMESYNC_SERVICE: Key[TimeSyncService] = Key("timesync")
