"""SIP recipients: a call from one of the device's SIP accounts to the recipient's SIP address,
placed by the SIP feature (`Caller`, which `vigil.features.sip.service.SipService` is). The
notification is delivered once the far end rings or answers; the call then goes on as the SIP
feature's calls do (the device's audio both ways, or none on a device without a speaker) until
either end hangs up or the SIP settings' call duration limits end it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from vigil.core.proxies import Proxies
from vigil.features.notify.model import Message


class Caller(Protocol):
    async def reach(self, account_id: str | None, uri: str, timeout: float) -> object:
        """Call `uri` from the account (None: the default account); return once it rings or is
        answered, raise with the reason otherwise."""
        ...


def sender(caller: Caller) -> Callable[[dict[str, str], Message, float, Proxies], Awaitable[None]]:
    """The transport (as `vigil.features.notify.transports.TRANSPORTS` holds them) calling through `caller`."""

    async def send(settings: dict[str, str], message: Message, timeout: float, proxies: Proxies) -> None:
        await caller.reach(settings["account"] or None, settings["uri"], timeout * 0.9)  # inside delivery's bound
    return send
