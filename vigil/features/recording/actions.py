"""The rule action "Record video while the rule is active", with pre- and post-event buffers."""

from __future__ import annotations

from collections.abc import Mapping

from vigil.core.rules import ActionContext, ActionType, RuleEngine, RuleError, Stop
from vigil.features.recording.recorder import RecordingService

TOKEN = "com.axis.action.unlimited.recording.storage"
MAX_PRE_SECONDS = 30
MAX_POST_SECONDS = 300


def action_types(service: RecordingService) -> list[ActionType]:
    def parse(params: Mapping[str, str]) -> tuple[str, float, float]:
        source = params.get("source", "")
        if source not in service.sources.all:
            raise RuleError(f"Unknown camera source {source!r}")
        try:
            pre = int(params.get("pre_duration", "0") or 0) / 1000
            post = int(params.get("post_duration", "0") or 0) / 1000
        except ValueError:
            raise RuleError("pre_duration and post_duration are milliseconds") from None
        if not 0 <= pre <= MAX_PRE_SECONDS or not 0 <= post <= MAX_POST_SECONDS:
            raise RuleError(f"Buffers: pre-event at most {MAX_PRE_SECONDS} s, post-event at most {MAX_POST_SECONDS} s")
        return source, pre, post

    def validate(params: Mapping[str, str]) -> None:
        source, pre, _ = parse(params)
        recorder = service.recorders.get(source)
        if recorder is not None:  # keep enough GOPs in memory for the longest pre-event buffer
            recorder.prebuffer_seconds = max(recorder.prebuffer_seconds, pre)

    async def start(ctx: ActionContext) -> Stop:
        source, pre, post = parse(ctx.config.params)
        topic = ctx.event.topic if ctx.event else ""
        recording = service.start_recording(source, "triggered", event=f"{ctx.rule.name}: {topic}", pre=pre)

        async def stop() -> None:
            service.end_recording(source, recording, post=post)
        return stop

    return [ActionType(TOKEN, "Record video while the rule is active",
                       ("source", "storage_id", "stream_options", "pre_duration", "post_duration"),
                       start=start, validate=validate)]


def prebuffer_seconds(rules: RuleEngine, source_id: str) -> float:
    """The longest pre-event buffer any stored recording action asks of a source."""
    return max((int(a.params.get("pre_duration") or 0) / 1000 for a in rules.actions.values()
                if a.template == TOKEN and a.params.get("source") == source_id), default=0.0)
