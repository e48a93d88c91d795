"""The rule actions of the speaker: "Play audio clip" (once, with its repeat count), "Play audio
clip while the rule is active" (repeats until the rule goes inactive) and "Stop playing audio
clip". Parameters: clip_id, volume (0-1000, percent), repeat (-1 until stopped, 0 play once)."""

from __future__ import annotations

from collections.abc import Mapping

from vigil.core.rules import ActionContext, ActionType, RuleError, Stop
from vigil.features.playback import const as c
from vigil.features.playback.clips import ClipNotFound
from vigil.features.playback.player import SpeakerBusy
from vigil.features.playback.service import PlayArgumentError, PlaybackService, parse_repeat, parse_volume

PARAMS = ("clip_id", "volume", "repeat")


def action_types(service: PlaybackService) -> list[ActionType]:
    def validate(params: Mapping[str, str]) -> None:
        try:
            service.clips.get(params.get("clip_id"))
            parse_volume(params.get("volume"))
            parse_repeat(params.get("repeat"))
        except (ClipNotFound, PlayArgumentError) as err:
            raise RuleError(str(err)) from None

    async def start_play(ctx: ActionContext, repeat: int | None = None) -> None:
        params = ctx.config.params
        try:
            clip = service.clips.get(params.get("clip_id"))
            volume = parse_volume(params.get("volume"))
            rounds = parse_repeat(params.get("repeat")) if repeat is None else repeat
            await service.play([clip], volume, rounds, f"rule {ctx.rule.name}")
        except (ClipNotFound, PlayArgumentError, SpeakerBusy) as err:  # the clip was removed since, or talk goes on
            service.logs.system(f"Rule {ctx.rule.name} cannot play its audio clip: {err}", "warning")

    async def once(ctx: ActionContext) -> None:
        await start_play(ctx)

    async def while_active(ctx: ActionContext) -> Stop:
        await start_play(ctx, c.REPEAT_FOREVER)
        playing = service.player.current

        async def stop() -> None:
            if service.player.current is playing:  # not a clip another request started since
                await service.stop()
        return stop

    async def stop_clip(ctx: ActionContext) -> None:
        await service.stop()

    return [
        ActionType(c.PLAY_ONCE, "Play audio clip", PARAMS, run=once, validate=validate),
        ActionType(c.PLAY_WHILE, "Play audio clip while the rule is active", ("clip_id", "volume"),
                   start=while_active, validate=validate),
        ActionType(c.STOP, "Stop playing audio clip", (), run=stop_clip),
    ]
