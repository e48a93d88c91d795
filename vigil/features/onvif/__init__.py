"""ONVIF (the manual's "ONVIF" chapter): the device management and event services on every device, and
Media1 (Profile S) and Media2 (Profile T) on the recorders, as SOAP over the device's HTTP stack.

A request flows: router guard (HTTP Digest/Basic, session) -> `endpoint` (SOAP parsing,
WS-Security UsernameToken `security`, the ONVIF account and access class of the operation) ->
the service's operation: `http_device` (device management: capabilities, date and time through
timesync, network, discovery scopes and mode through discovery, reboot, relay outputs through
io), `http_users` (ONVIF users = accounts with the ONVIF flag), `http_events` (the event service and
its PullPoint subscriptions, kept by `pullpoints` over the device's event bus; Profile M's event
broker in `http_event_broker`, the MQTT client's broker), `http_media` and `http_media2`
(profiles of `media`: one per recorded camera, GetStreamUri = the live relay of the RTSP server,
GetSnapshotUri = the recording feature's image.cgi; `streams`: Axis's ONVIF RTSP path
`/onvif-media/media.amp?profile=...` over the same relay), `http_search`
(Profile G's recording search over the recorder's footage index, FindEvents in `event_search`),
`http_recording` (recording control: the recorder's cameras as recordings, their recording as jobs),
`http_replay` (Profile G's replay: GetReplayUri = the RTSP server's replay of a recording,
`/onvif-replay?recording=recording_N`, mounted here). On the recorders, the other side too:
`client` (a compact ONVIF client) and `cameras` (the recorder's camera finder: WS-Discovery
probes, GetProfiles/GetStreamUri on a chosen camera).
on a device with audio (the C1410) `http_media_audio`, `http_media2_audio` and `http_deviceio` (the audio
source, encoder, output and decoder configurations of `audio`, over the audio feature's parameters;
GetStreamUri = the microphone's live stream).
`wsdl/` holds the ONVIF WSDL/XSD files the tests validate every reply against (see its NOTICE).
"""

from __future__ import annotations

from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.audio.service import AUDIO_SERVICE
from vigil.features.discovery.service import DISCOVERY_SERVICE
from vigil.features.mqtt.service import MQTT_SERVICE
from vigil.features.onvif import (
    http_device,
    http_deviceio,
    http_event_broker,
    http_events,
    http_media,
    http_media2,
    http_media2_audio,
    http_media_audio,
    http_recording,
    http_replay,
    http_search,
    http_users,
)
from vigil.features.onvif.audio import AudioModel
from vigil.features.onvif.cameras import OnvifCameraFinder
from vigil.features.onvif.const import (
    DEVICE_PATH,
    DEVICEIO_PATH,
    EVENTS_PATH,
    MEDIA2_PATH,
    MEDIA_PATH,
    PULL_POINT_PATH,
    RECORDING_PATH,
    REPLAY_PATH,
    SEARCH_PATH,
)
from vigil.features.onvif.endpoint import OnvifEndpoint, base_address
from vigil.features.onvif.http_device import DeviceService
from vigil.features.onvif.http_deviceio import DeviceIOService
from vigil.features.onvif.http_event_broker import EventBrokers, broker_capabilities
from vigil.features.onvif.http_events import EventService
from vigil.features.onvif.http_media import MediaService
from vigil.features.onvif.http_media2 import Media2Service
from vigil.features.onvif.http_media2_audio import AudioMedia2Service
from vigil.features.onvif.http_media_audio import AudioMediaService
from vigil.features.onvif.http_recording import RecordingControl
from vigil.features.onvif.http_replay import SESSION_TIMEOUT, SESSION_TIMEOUT_RANGE, ReplayService
from vigil.features.onvif.http_search import SearchService
from vigil.features.onvif.http_users import UserService
from vigil.features.onvif.media import REPLAY_PATH as REPLAY_RTSP_PATH
from vigil.features.onvif.pullpoints import PullPoints
from vigil.features.onvif.security import UsernameTokens
from vigil.features.onvif.streams import ONVIF_MEDIA, OnvifStreams
from vigil.features.recording.finder import CAMERA_FINDER
from vigil.features.recording.recorder import RECORDING_SERVICE


def register(device: Device) -> None:
    tokens = UsernameTokens(device.accounts, device.clock)
    recording = device.features.get(RECORDING_SERVICE)
    audio = device.features.get(AUDIO_SERVICE)
    # Anyone reaches the endpoints (the PRE_AUTH operations); each operation checks its access class.
    endpoint = OnvifEndpoint(device, tokens)
    http_device.register(endpoint, DeviceService(device, has_media=recording is not None or audio is not None,
                                                 has_search=recording is not None, has_deviceio=audio is not None,
                                                 media2_types=None if recording else http_media2_audio.TYPES,
                                                 recordings=lambda: len(recording.sources.all) if recording else 0))
    http_users.register(endpoint, UserService(device.accounts, device.auth.drop_sessions))
    device.router.add(DEVICE_PATH, endpoint.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
    events, pull_point = OnvifEndpoint(device, tokens), OnvifEndpoint(device, tokens)
    subscriptions = PullPoints(device.events, device.clock)
    mqtt = device.features.get(MQTT_SERVICE)
    http_events.register(events, pull_point, EventService(device.events, subscriptions,
                                                          lambda: base_address(device.listening),
                                                          broker_capabilities() if mqtt else None))
    if mqtt is not None:
        http_event_broker.register(events, EventBrokers(mqtt))
    device.services.append(subscriptions.run)
    device.router.add(EVENTS_PATH, events.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
    device.router.add(PULL_POINT_PATH, pull_point.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
    media, media2 = OnvifEndpoint(device, tokens), OnvifEndpoint(device, tokens)
    if recording is not None:
        media_service = MediaService(recording, lambda: device.listening.rtsp, lambda: base_address(device.listening))
        http_media.register(media, media_service)
        http_media2.register(media2, Media2Service(media_service))
    if audio is not None:  # the audio profile; the only profile where no cameras are recorded
        model = AudioModel(audio)

        def rtsp_port() -> int:
            return device.listening.rtsp

        http_media_audio.register(media, AudioMediaService(model, rtsp_port), with_profiles=recording is None)
        http_media2_audio.register(media2, AudioMedia2Service(model, rtsp_port), with_profiles=recording is None)
        deviceio = OnvifEndpoint(device, tokens)
        http_deviceio.register(deviceio, DeviceIOService(model))
        device.router.add(DEVICEIO_PATH, deviceio.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
    if recording is not None or audio is not None:
        device.router.add(MEDIA_PATH, media.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
        device.router.add(MEDIA2_PATH, media2.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
    if recording is not None:
        device.features[CAMERA_FINDER] = OnvifCameraFinder(device.features.get(DISCOVERY_SERVICE))
        device.rtsp.add(ONVIF_MEDIA, OnvifStreams(device.rtsp).tracks)  # Axis's ONVIF RTSP path
        search = OnvifEndpoint(device, tokens)
        http_search.register(search, SearchService(recording, device.store, device.clock))
        device.router.add(SEARCH_PATH, search.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
        control = OnvifEndpoint(device, tokens)
        jobs = RecordingControl(recording, device.logs, device.events)
        http_recording.register(control, jobs)
        device.events.subscribe(jobs.on_event)
        device.on_load.append(jobs.publish_states)
        device.router.add(RECORDING_PATH, control.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
        low, high = SESSION_TIMEOUT_RANGE
        device.params.declare([ParamDef(SESSION_TIMEOUT, "60", "int", minimum=low, maximum=high, read=Role.VIEWER,
                                        owner=applied("onvif"))])
        replay = ReplayService(recording, device.store, device.params, lambda: device.listening.rtsp)
        replay_endpoint = OnvifEndpoint(device, tokens)
        http_replay.register(replay_endpoint, replay)
        device.router.add(REPLAY_PATH, replay_endpoint.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
        device.rtsp.add(REPLAY_RTSP_PATH, replay.tracks, session_timeout=replay.session_timeout)
