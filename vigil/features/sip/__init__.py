"""SIP (the C1410 manual's SIP chapter): settings and accounts (accounts.py, stored sealed) over
the SIP API (http_sip.py), the user agent (ua.py: messages in message.py, SDP in sdp.py) whose
calls carry audio through the audio layer (media.py: the far end at the speaker through the
playback player, the microphone to the far end), and call state, DTMF and registration events
for the rules (service.py). Over TLS the agent takes the device's certificate and each account's
own from the keystore (tls.py); requests go through an account's proxies and a dialog's route set
(routing.py); registrations fail over to a secondary server (registration.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.device import Api
from vigil.features.audio.service import AUDIO_SERVICE
from vigil.features.certificates.https import HTTPS_SETTINGS
from vigil.features.certificates.service import KEYSTORE
from vigil.features.playback.service import PLAYBACK_SERVICE
from vigil.features.sip import actions, http_sip
from vigil.features.sip.accounts import SipStore
from vigil.features.sip.service import SIP_SERVICE, SipService
from vigil.features.sip.tls import DeviceCertificate

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    keystore = device.features.get(KEYSTORE)
    certificate = DeviceCertificate(keystore, device.features.get(HTTPS_SETTINGS), device.data,
                                    device.params.get("Network.HostName"))
    service = SipService(SipStore(device.store, device.vault), device.events, device.logs,
                         device.features[PLAYBACK_SERVICE].player, device.features[AUDIO_SERVICE], device.ports.host,
                         certificate)
    device.features[SIP_SERVICE] = service
    if keystore is not None:
        keystore.register_use(service.certificate_use)  # an account's certificate is not deleted under it
    for action in actions.action_types(service):
        device.rules.register(action)
    device.on_load.append(service.declare)
    device.services.append(service.run)
    http_sip.register(device)
    device.apis.append(Api("sip", "1.0", "SIP"))
