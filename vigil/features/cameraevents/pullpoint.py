"""A camera's events over ONVIF PullPoint: CreatePullPointSubscription at the camera's event
service, PullMessages in a loop (each waits up to PULL_WAIT seconds for events), Renew before
the subscription runs out, Unsubscribe when done."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from vigil.features.cameraevents.model import CameraEventsError, Received
from vigil.features.onvif.client import OnvifClient, OnvifError

KEEP = 60  # seconds a subscription lasts unless renewed
PULL_WAIT = 5
UNSUBSCRIBE_WAIT = 2.0  # a camera that vanished does not hold up the end


async def follow(client: OnvifClient, received: Callable[[Received], None], opened: Callable[[], None]) -> None:
    try:
        await client.synchronize()
        address = await client.create_pull_point(KEEP)
    except OnvifError as err:
        raise CameraEventsError(str(err)) from None
    opened()
    renew_at = time.monotonic() + KEEP / 2
    try:
        while True:
            for message in await client.pull(address, PULL_WAIT):
                received(Received(message.topic, message.source, message.data, message.operation))
            if time.monotonic() >= renew_at:
                await client.renew(address, KEEP)
                renew_at = time.monotonic() + KEEP / 2
    except OnvifError as err:
        raise CameraEventsError(f"the PullPoint subscription ended: {err}") from None
    finally:
        with contextlib.suppress(OnvifError, TimeoutError):
            await asyncio.wait_for(client.unsubscribe(address), UNSUBSCRIBE_WAIT)
