"""The rule action "Record video while the rule is active", with pre- and post-event buffers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import suppress

from vigil.core.rules import ActionContext, ActionType, RuleEngine, RuleError, Stop
from vigil.features.recording.recorder import RecordingService

TOKEN = "com.axis.action.unlimited.recording.storage"
MAX_PRE_SECONDS = 30
MAX_POST_SECONDS = 300
# ASCII digits only, and few: int() also reads "٣", "0_1" and " 5", and a 4,000-digit number
# overflows the division into seconds.
MILLISECONDS = re.compile(r"[0-9]{1,9}")


def buffer_seconds(params: Mapping[str, str], key: str, most: int) -> float:
    """A buffer setting (`pre_duration`, `post_duration`: milliseconds) in seconds, 0 to `most`."""
    raw = params.get(key, "0") or "0"
    if not MILLISECONDS.fullmatch(raw) or int(raw) > most * 1000:
        raise RuleError(f"{key} is a whole number of milliseconds, 0 to {most * 1000} "
                        f"(pre-event buffer at most {MAX_PRE_SECONDS} s, post-event at most {MAX_POST_SECONDS} s)")
    return int(raw) / 1000


def action_types(service: RecordingService) -> list[ActionType]:
    def parse(params: Mapping[str, str]) -> tuple[str, float, float]:
        source = params.get("source", "")
        if source not in service.sources.all:
            raise RuleError(f"Unknown camera source {source!r}")
        pre = buffer_seconds(params, "pre_duration", MAX_PRE_SECONDS)
        post = buffer_seconds(params, "post_duration", MAX_POST_SECONDS)
        return source, pre, post

    def validate(params: Mapping[str, str]) -> None:
        source, pre, _ = parse(params)
        recorder = service.recorders.get(source)
        if recorder is not None:  # keep enough GOPs in memory for the longest pre-event buffer
            recorder.prebuffer_seconds = max(recorder.prebuffer_seconds, pre)

    async def start(ctx: ActionContext) -> Stop:
        source, pre, post = parse(ctx.config.params)
        topic = ctx.event.topic if ctx.event else ""
        recording = service.start_recording(source, "triggered", event=f"{ctx.rule.name}: {topic}", pre=pre,
                                            trigger=ctx.event)

        async def stop() -> None:
            service.end_recording(source, recording, post=post)
        return stop

    return [ActionType(TOKEN, "Record video while the rule is active",
                       ("source", "storage_id", "stream_options", "pre_duration", "post_duration"),
                       start=start, validate=validate)]


def prebuffer_seconds(rules: RuleEngine, source_id: str) -> float:
    """The longest pre-event buffer any stored recording action asks of a source. An action
    stored before today's check whose buffer it refuses never starts (`start` checks again), so
    it needs no buffer."""
    longest = 0.0
    for action in rules.actions.values():
        if action.template == TOKEN and action.params.get("source") == source_id:
            with suppress(RuleError):
                longest = max(longest, buffer_seconds(action.params, "pre_duration", MAX_PRE_SECONDS))
    return longest
