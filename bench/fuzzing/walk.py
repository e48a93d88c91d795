"""The walk of one profile: survey the device as its administrator, then the targets of each
endpoint in a batch on a fresh device (baselines as every role, one bad value at a time, read-backs,
liveness), then the streams; `walk` runs several profiles in parallel processes."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.fuzzing.answers import Answer, Failure, Figures, LoggedExceptions, describe
from bench.fuzzing.liveness import BDI, BDI_BODY, Watchdog, probe_stream, rtsp_exchange
from bench.fuzzing.plausible import Harvest
from bench.fuzzing.requests import PATH_PARAM, Builder, Context, Req
from bench.fuzzing.rig import ROLES, Rig, asgi_request, loopback_only, provision
from bench.fuzzing.streams import fuzz_rtsp, fuzz_stream
from bench.fuzzing.targets import Target, discover
from bench.fuzzing.values import SAMPLE_SECONDS_PER_TARGET, short
from vigil.core.roles import Role
from vigil.device import Device


@dataclass
class Options:
    sample: bool = False  # the bounded form: a sample of values
    bound: float = 3.0  # seconds: liveness
    timeout: float = 30.0  # seconds: one request
    only: str = ""  # walk only targets whose label holds this
    per_target: int = 0  # at most this many requests with a bad value per target (0: no limit)
    customize: Callable[[Device], None] | None = None  # called on every device built (tests plant faults)
    progress: bool = False


def _mentions(reason: str, name: str, whole: bool = False) -> bool:
    """Whether a refusal names a parameter: all of it ("The topic expression is empty" names
    TopicExpression) or, unless `whole`, its first word ("Fallback (failover) actions..."
    names FailoverAction)."""
    text = re.sub(r"[^a-z0-9]", "", reason.lower())
    if re.sub(r"[^a-z0-9]", "", name.lower()) in text:
        return True
    words = re.findall(r"[A-Z]?[a-z]{3,}|[A-Z]{3,}", name.lstrip("@"))
    return not whole and bool(words) and words[0].lower() in text


class Walk:
    """One profile's walk: the device it runs on, what it learned of it, and what it counted."""

    def __init__(self, profile: str, root: Path, options: Options) -> None:
        self.profile, self.root, self.options = profile, root, options
        self.figures = Figures(profile)
        self.harvest = Harvest()
        self.readers: list[tuple[Target, Req]] = []
        self.exceptions = LoggedExceptions()
        self.watchdog = Watchdog(options.bound)
        self.rig: Rig | None = None
        self.retiring: list[asyncio.Task] = []
        self.stops: dict[str, int] = {}  # what the device was asked to do, over all its rebuilds
        self.batches = 0
        self.stoppers: set[str] = set()  # targets that stop the device even without parameters
        self.accepted_log: list[tuple[Target, Req]] = []  # the batch's requests the device accepted
        self.broken: set[str] = set()  # readers found failing in this batch: asked no more
        self.turn = 0  # rotates the non-administrator roles over the requests with a bad value
        self.fully_fuzzed: set[tuple] = set()

    async def run(self) -> Figures:
        started = time.monotonic()
        logging.getLogger().addHandler(self.exceptions)
        self.watchdog.start()
        try:
            await self._run()
        finally:
            await self.retire()
            self.watchdog.stop()
            logging.getLogger().removeHandler(self.exceptions)
        self.figures.notes += self.watchdog.busy
        for took, what in self.watchdog.hangs:
            self.figures.hangs += 1
            self.figures.count(Failure("hang", "(liveness)", "POST " + BDI, what, "anonymous", elapsed=took))
        self.figures.seconds = time.monotonic() - started
        return self.figures

    async def _run(self) -> None:
        rig = await self.fresh("survey")
        self.watchdog.aim(None)  # reading every handler's source holds this loop: the harness's time, not the device's
        targets = discover(rig.dev)
        self.watchdog.aim(rig.dev.ports.http, rig.dev.stopping)
        if self.options.only:
            targets = [t for t in targets if self.options.only in t.label]
        self.figures.endpoints = len({t.endpoint.path for t in targets})
        self.figures.json_methods = sum(1 for t in targets if t.kind == "json-api")
        self.figures.soap_operations = sum(1 for t in targets if t.kind == "soap")
        await self.survey(targets)
        await self.retire()
        batches: dict[str, list[Target]] = {}
        for t in targets:
            batches.setdefault(t.endpoint.path, []).append(t)
        for path, batch in batches.items():
            rig = await self.fresh(path)
            self.accepted_log, self.broken = [], set()
            audits = self.audit_count()
            for target in batch:
                await self.fuzz(target)
                await self.reharvest(path)
            broken = await self.read_back(path) if self.audit_count() != audits or not self.options.sample else []
            await self.liveness(path)
            await self.retire(wait=False)
            for failure, reader in broken:
                culprit = await self.culprit(reader)
                failure.params = (f"{failure.params} (after the walk of {path}; it answered fine before; "
                                  f"stored by: {culprit})")
            if self.options.progress:
                print(f"  {self.profile} {path}: {self.figures.requests} requests so far", file=sys.stderr)
        if not self.options.only or "ws-data-stream" in self.options.only or "rtsp" in self.options.only:
            rig = await self.fresh("streams")
            sample, bound = self.options.sample, self.options.bound
            await fuzz_stream(rig, self.figures, self.exceptions, sample, bound)
            await fuzz_rtsp(rig, self.figures, self.exceptions, sample, bound)
            await self.retire()
        self.figures.stops = dict(self.stops)

    async def fresh(self, name: str) -> Rig:
        self.batches += 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40] or "root"
        rig = Rig(self.profile, self.root / f"{self.batches:03d}-{slug}", self.options.customize)
        rig.stops = self.stops
        await rig.start()
        self.rig = rig
        self.watchdog.aim(rig.dev.ports.http, rig.dev.stopping)
        return rig

    async def retire(self, wait: bool = True) -> None:
        """Stop the current device; without `wait` its shutdown overlaps the next batch."""
        if self.rig is not None:
            self.watchdog.aim(None)
            self.retiring.append(asyncio.create_task(self.rig.close()))
            self.rig = None
        if wait:
            await asyncio.gather(*self.retiring)
            self.retiring.clear()

    # -- requests ------------------------------------------------------------------------
    async def send(self, target: Target, req: Req, role: Role, record: bool = True) -> Answer:
        rig = self.rig
        assert rig is not None
        if rig.device is None or rig.dev.stopping.is_set():
            await rig.supervise()
            self.watchdog.aim(rig.dev.ports.http, rig.dev.stopping)
        effective = rig.effective_role(role)
        before = len(self.exceptions.records)
        start = time.monotonic()
        self.watchdog.begin(start, target.label, role.label, req.shown[:120])
        escaped: BaseException | None = None
        try:
            status, content_type, body = await asyncio.wait_for(
                asgi_request(rig.app, req, role, 41000 + role.value), self.options.timeout)
            answer = Answer(status, content_type, body.decode("utf-8", "replace"), 0.0)
        except TimeoutError:
            answer = Answer(None, "", "", 0.0)
        except Exception as err:  # noqa: BLE001 - an exception out of the app is a finding
            escaped = err
            answer = Answer(None, "", "", 0.0)
        end = time.monotonic()
        answer.elapsed = end - start
        await asyncio.sleep(0)  # let the listeners (and the watchdog's requests) in
        self.watchdog.done(start, end, target.label, role.label, req.shown[:120])
        logged = self.exceptions.records[before:]
        if record:
            self.judge(target, req, role, effective, answer, logged, escaped)
            if role == Role.ADMIN and not answer.error:
                self.accepted_log.append((target, req))
        if rig.dev.stopping.is_set():
            await rig.supervise()
            self.watchdog.aim(rig.dev.ports.http, rig.dev.stopping)
        else:
            provision(rig.dev)
        return answer

    def judge(self, target: Target, req: Req, role: Role, effective: Role, answer: Answer,
              logged: list[logging.LogRecord], escaped: BaseException | None) -> None:
        f = self.figures
        f.requests += 1
        f.per_target[target.label] = f.per_target.get(target.label, 0) + 1
        f.target_seconds[target.label] = f.target_seconds.get(target.label, 0.0) + answer.elapsed
        cause, where = describe(logged[-1]) if logged else ("", "")
        if escaped is not None:
            cause = f"{type(escaped).__name__}: {short(str(escaped), 160)} (out of the app: a bare 500)"
            where = where or "the ASGI app"

        def fail(kind: str) -> None:
            f.count(Failure(kind, target.label, f"{req.method} {req.url.split('?')[0]}", req.shown, role.label,
                            answer.status, answer.text[:200], cause, where, answer.elapsed))

        if answer.status is None and escaped is None:
            f.hangs += 1
            fail("hang")
            return
        if answer.elapsed > self.options.bound:
            f.slow += 1
            fail("slow")
        internal = escaped is not None or answer.internal
        if answer.status is not None and answer.status >= 500:
            if answer.soap_designed:
                f.soap_faults_500 += 1
            else:
                f.other_5xx += 1
                if not internal:
                    fail("5xx")
        if internal:
            f.internal_errors += 1
            fail("internal")
        elif logged:
            f.exceptions_logged += 1
            fail("exception")
        if effective < target.role and not answer.refused and not answer.error:
            f.role_violations += 1
            fail("violation")

    def roles_for(self, req: Req) -> list[Role]:
        if not req.bad:
            return list(ROLES)
        self.turn += 1
        return [Role.ADMIN, ROLES[self.turn % 3]]

    async def fuzz(self, target: Target) -> None:
        repeat = target.code in self.fully_fuzzed
        self.fully_fuzzed.add(target.code)
        builder = Builder(target, self.harvest, self.options.sample, repeat)
        stopper = target.label in self.stoppers
        if stopper:  # each request restarts the device: a few show it ignores them
            budget: int | None = 1 if self.options.sample else 8
        else:
            budget = self.options.per_target or None
        deadline = time.monotonic() + SAMPLE_SECONDS_PER_TARGET if self.options.sample else None
        queues = []
        for ctx in builder.contexts():
            ctx = await self.accepted(target, builder, ctx)
            baseline = builder.baseline(ctx)
            for role in ROLES if builder.fresh(baseline) else ROLES[:-1]:  # accepted() sent it as admin
                await self.send(target, baseline, role)
            queues.append(builder.mutations(ctx))
        while queues and (budget is None or budget > 0):  # the contexts in turn, so a limit cuts evenly
            if deadline is not None and time.monotonic() > deadline:
                break
            for queue in list(queues):
                req = next(queue, None)
                if req is None:
                    queues.remove(queue)
                elif builder.fresh(req):
                    if budget is not None:
                        budget -= 1
                    for role in self.roles_for(req):
                        answer = await self.send(target, req, role)
                        if role == Role.ADMIN and not answer.error:
                            await self.read_back_here(target, req)
        for req in () if stopper else builder.extras():
            if builder.fresh(req):
                for role in self.roles_for(req):
                    await self.send(target, req, role)

    async def accepted(self, target: Target, builder: Builder, ctx: Context) -> Context:
        """A variant of the context whose baseline the device accepts (as the administrator), so
        that one bad value gets past the checks of the others. A small hill-climb: a variant is
        kept when the refusal changes to one that no longer names what was changed (a check
        further on refused it); the furthest variant is used when none is accepted."""
        if not ctx.repairable or target.label in self.stoppers:
            return ctx
        baseline = builder.baseline(ctx)
        builder.fresh(baseline)
        answer = await self.send(target, baseline, Role.ADMIN)
        if not answer.error:
            return ctx
        reason, tries, budget = answer.reason, 0, 12 if self.options.sample else 24
        moved = True
        while moved and tries < budget:
            moved = False
            # The parameters the refusal names first.
            ranked = sorted(builder.variants(ctx), key=lambda vc: (not _mentions(reason, vc[1], whole=True),
                                                                     not _mentions(reason, vc[1]), -len(vc[1])))
            for variant, changed in ranked:
                req = builder.baseline(variant)
                if not builder.fresh(req):
                    continue
                tries += 1
                answer = await self.send(target, req, Role.ADMIN)
                if not answer.error:
                    return variant
                if _mentions(reason, changed) and not _mentions(answer.reason, changed):
                    ctx, reason, moved = variant, answer.reason, True  # past the check that named it
                    break
                if tries >= budget:
                    break
        return ctx

    # -- what the device shows -----------------------------------------------------------
    def plain(self, target: Target) -> list[Req]:
        """Requests without parameters (and each mode of a form-style endpoint)."""
        builder = Builder(target, self.harvest, True)
        if target.kind == "json-api":
            return [builder.json_request({}, None)]
        if target.kind == "soap":
            return [builder.soap_request(Context("plain", [], [], []), None, None)]
        path = PATH_PARAM.sub("index.html", target.endpoint.path)
        method = target.http_method
        reqs = [Req(method, path, shown="")]
        for key, info in target.spec.fields.items():
            if len(key) == 1 and target.kind == "form":
                reqs += [builder.form_request({key[0]: e}, None, None) for e in info.enums[:12] if e]
        return reqs

    async def survey(self, targets: list[Target]) -> None:
        """Ask every target, as the administrator, without parameters: learn what the device
        shows (ids, tokens, versions) and which requests only read (the read-back set)."""
        for target in targets:
            if target.kind == "json-api" and target.endpoint.path not in self.harvest.versions:
                probe = Req("POST", target.endpoint.path, b'{"method":"getSupportedVersions"}',
                            {"Content-Type": "application/json"})
                answer = await self.send(target, probe, Role.ADMIN, record=False)
                versions = (answer.json or {}).get("data", {}).get("apiVersions") if isinstance(answer.json, dict) \
                    else None
                if isinstance(versions, list) and versions:
                    self.harvest.versions[target.endpoint.path] = str(versions[-1])
        for target in targets:
            for req in self.plain(target):
                rig = self.rig
                assert rig is not None
                audits = self.audit_count()
                stops = sum(rig.stops.values())
                answer = await self.send(target, req, Role.ADMIN)
                if not answer.error:  # what a refusal says is no plausible value
                    self.harvest.take(target.endpoint.path, answer.content_type, answer.text.encode())
                if sum(rig.stops.values()) != stops:
                    self.stoppers.add(target.label)
                elif not answer.error and not answer.internal and self.audit_count() == audits \
                        and answer.elapsed < 1.0:
                    self.readers.append((target, req))

    def audit_count(self) -> int:
        rig = self.rig
        if rig is None or rig.device is None:
            return -1
        rig.dev.logs.flush()
        return rig.dev.store.query("SELECT COUNT(*) FROM log WHERE kind='audit'")[0][0]

    async def reharvest(self, path: str) -> None:
        for target, req in self.readers:
            if target.endpoint.path == path:
                answer = await self.send(target, req, Role.ADMIN, record=False)
                if not answer.error:
                    self.harvest.take(path, answer.content_type, answer.text.encode())

    async def read_back(self, path: str) -> list[tuple[Failure, tuple[Target, Req]]]:
        """Every read-only request again: what the batch stored must not break a listing."""
        broken = []
        for target, req in self.readers:
            if target.label in self.broken:
                continue
            before = self.figures.internal_errors + self.figures.other_5xx
            answer = await self.send(target, req, Role.ADMIN)
            if self.figures.internal_errors + self.figures.other_5xx > before:
                failure = self.figures.failures[-1]
                failure.kind = "readback"
                broken.append((failure, (target, req)))
            elif not answer.error:
                self.harvest.take(target.endpoint.path, answer.content_type, answer.text.encode())
        return broken

    async def read_back_here(self, target: Target, accepted: Req) -> None:
        """A bad value was accepted: the endpoint's own listings must still answer."""
        for reader in self.readers:
            if reader[0].endpoint.path != target.endpoint.path or reader[0].label in self.broken:
                continue
            before = len(self.figures.failures)
            await self.send(*reader, Role.ADMIN)
            for failure in self.figures.failures[before:]:
                if failure.kind in ("internal", "5xx"):
                    failure.kind = "readback"
                    failure.params += f" (stored by: {target.label} {accepted.shown})"
                    self.broken.add(reader[0].label)

    async def culprit(self, reader: tuple[Target, Req]) -> str:
        """Replay the batch's accepted requests on a fresh device, the reader after each: the
        first one after which the reader fails stored what breaks it."""
        log, self.accepted_log = self.accepted_log, []
        await self.fresh("culprit")
        found = "not found again on a fresh device"
        try:
            for target, req in log:
                await self.send(target, req, Role.ADMIN, record=False)
                answer = await self.send(reader[0], reader[1], Role.ADMIN, record=False)
                if answer.internal or (answer.status or 0) >= 500:
                    found = f"{target.label} {req.shown}"
                    break
        finally:
            await self.retire()
        self.accepted_log = log
        return found

    async def liveness(self, path: str) -> None:
        rig = self.rig
        assert rig is not None
        if rig.dev.stopping.is_set():
            await rig.supervise()
        bound = self.options.bound
        port, rtsp = rig.dev.ports.http, rig.dev.ports.rtsp
        problems = []
        start = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=bound) as client:
                r = await client.post(f"http://127.0.0.1:{port}{BDI}", content=BDI_BODY)
            if r.status_code != 200 or time.monotonic() - start > bound:
                problems.append(f"basicdeviceinfo: {r.status_code} after {time.monotonic() - start:.1f} s")
        except httpx.HTTPError as err:
            problems.append(f"basicdeviceinfo: {type(err).__name__} after {time.monotonic() - start:.1f} s")
        stream = await probe_stream(port, bound)
        if stream:
            problems.append(stream)
        status = await rtsp_exchange(rtsp, b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n", bound)
        if not status.startswith("RTSP/1.0 200"):
            problems.append(f"RTSP OPTIONS: {status}")
        for problem in problems:
            self.figures.hangs += 1
            self.figures.count(Failure("hang", "(liveness)", "after the batch", path, "anonymous", body=problem))


def walk_profile(profile: str, options: Options, root: Path | None = None) -> Figures:
    """One profile's walk, in a temporary folder (or `root`), on an event loop of its own."""
    own = root is None
    folder = Path(tempfile.mkdtemp(prefix=f"vigil-fuzz-{profile}-")) if own else root
    assert folder is not None
    try:
        with loopback_only():
            return asyncio.run(Walk(profile, folder, options).run())
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def _walk_in_child(args: tuple[str, Options]) -> Figures:
    logging.getLogger().setLevel(logging.WARNING)
    return walk_profile(*args)


def walk(profiles: list[str], options: Options, jobs: int = 1) -> list[Figures]:
    if jobs <= 1 or len(profiles) <= 1:
        return [walk_profile(p, options) for p in profiles]
    # Spawned, not forked: a fork of a process that has run other work (a test session) copies
    # its threads' locks and its libraries' state half-way, and a child could wait forever.
    with multiprocessing.get_context("spawn").Pool(min(jobs, len(profiles))) as pool:
        return pool.map(_walk_in_child, [(p, options) for p in profiles], chunksize=1)
