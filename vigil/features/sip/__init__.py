"""SIP (the C1410 manual's SIP chapter): settings and accounts (accounts.py, stored sealed) over
the SIP API (http_sip.py), the user agent (ua.py: messages in message.py, SDP in sdp.py) whose
calls carry audio through the audio layer (media.py: the far end at the speaker through the
playback player, the microphone to the far end; STUN/TURN/ICE in nat.py), and call state, DTMF and registration events
for the rules (service.py). Over TLS the agent takes the device's certificate and each account's
own from the keystore (tls.py); requests go through an account's proxies and a dialog's route set
(routing.py); registrations fail over to a secondary server (registration.py).

Every profile loads it: the "SIP" recipient of the Events page calls from any device. A device
without a speaker (no playback feature: W401, recorders) gets the calling part only: outgoing
calls without audio, no incoming calls (no TLS listener either), and no SIP page (its manual shows none; the API stays,
so the recipient's "From SIP account" list and the accounts can be read and set)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.device import Api
from vigil.features.audio.service import AUDIO_SERVICE
from vigil.features.certificates.https import HTTPS_SETTINGS
from vigil.features.certificates.service import KEYSTORE
from vigil.features.playback.service import PLAYBACK_SERVICE
from vigil.features.sip import actions, call_events, http_call, http_sip
from vigil.features.sip import const as c
from vigil.features.sip.accounts import SipStore
from vigil.features.sip.service import SIP_SERVICE, SipService
from vigil.features.sip.tls import DeviceCertificate

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    playback = device.features.get(PLAYBACK_SERVICE)
    calls_only = playback is None
    store = SipStore(device.store, device.vault, c.CALLS_ONLY_DEFAULTS if calls_only else None)
    keystore = device.features.get(KEYSTORE)  # None on a profile without the certificates feature
    certificate = DeviceCertificate(keystore, device.features.get(HTTPS_SETTINGS), device.data,
                                    device.params.get("Network.HostName"))
    service = SipService(store, device.events, device.logs, None if playback is None else playback.player,
                         device.features.get(AUDIO_SERVICE), device.ports.host, certificate, device.store,
                         call_events.source_of(device.profile.prod_type))
    device.features[SIP_SERVICE] = service
    if keystore is not None:
        keystore.register_use(service.certificate_use)  # an account's certificate is not deleted under it
    for action in actions.action_types(service):
        device.rules.register(action)
    device.on_load.append(service.declare)
    device.services.append(service.run)
    http_sip.register(device)
    device.router.include(http_call.ROUTES)  # Axis's Call service API over the same service
    if not calls_only:
        device.apis.append(Api("sip", "1.0", "SIP"))  # the SIP page shows where this is listed
