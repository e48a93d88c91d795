"""The rule actions of SIP: "Make a call" (account_id, uri: the manual's SIP recipient and the
W401's "call the speaker"), "Answer call" (the ringing incoming call: answering by rule rather
than automatically) and "End call" (every call)."""

from __future__ import annotations

from collections.abc import Mapping

from vigil.core.rules import ActionContext, ActionType, RuleError
from vigil.features.sip import const as c
from vigil.features.sip.accounts import SipConfigError
from vigil.features.sip.service import SipService
from vigil.features.sip.ua import SipError
from vigil.features.sip.vms import VMS_CALL


def action_types(service: SipService) -> list[ActionType]:
    def validate_call(params: Mapping[str, str]) -> None:
        uri = params.get("uri", "")
        if uri != VMS_CALL and (not uri.startswith("sip:") or "@" not in uri):
            raise RuleError("uri must be a SIP URI: sip:user@host[:port], or VMS_CALL for a VMS call")
        if params.get("account_id") and params["account_id"] not in service.store.accounts():
            raise RuleError(f"no SIP account {params.get('account_id')}")

    async def call(ctx: ActionContext) -> None:
        params = ctx.config.params
        try:
            await service.call(params.get("account_id") or None, params["uri"])  # none: the default account
        except (SipError, SipConfigError, OSError) as err:
            service.logs.system(f"Rule {ctx.rule.name} cannot place its SIP call: {err}", "warning")

    async def answer(ctx: ActionContext) -> None:
        for ringing in [x for x in service.calls() if x.state == "ringing" and x.direction == "incoming"]:
            await service.answer(ringing.id)

    async def hangup(ctx: ActionContext) -> None:
        for active in service.calls():
            await service.hangup(active.id)

    return [
        ActionType(c.ACTION_CALL, "Make a SIP call", ("account_id", "uri"), run=call, validate=validate_call),
        ActionType(c.ACTION_ANSWER, "Answer SIP call", (), run=answer),
        ActionType(c.ACTION_HANGUP, "End SIP call", (), run=hangup),
    ]
