"""ONVIF (the manual's "ONVIF" chapter): the device management and event services on every device, and
Media1 (Profile S) and Media2 (Profile T) on the recorders, as SOAP over the device's HTTP stack.

A request flows: router guard (HTTP Digest/Basic, session) -> `endpoint` (SOAP parsing,
WS-Security UsernameToken `security`, the ONVIF account and access class of the operation) ->
the service's operation: `http_device` (device management: capabilities, date and time through
timesync, network, discovery scopes and mode through discovery, reboot, relay outputs through
io), `http_users` (ONVIF users = accounts with the ONVIF flag), `http_events` (the event service and
its PullPoint subscriptions, kept by `pullpoints` over the device's event bus), `http_media` and `http_media2`
(profiles of `media`: one per recorded camera, GetStreamUri = the live relay of the RTSP server,
GetSnapshotUri = the recording feature's image.cgi; `streams`: Axis's ONVIF RTSP path
`/onvif-media/media.amp?profile=...` over the same relay), `http_search`
(Profile G's recording search over the recorder's footage index).
`wsdl/` holds the ONVIF WSDL/XSD files the tests validate every reply against (see its NOTICE).
"""

from __future__ import annotations

from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.onvif import http_device, http_events, http_media, http_media2, http_search, http_users
from vigil.features.onvif.const import (
    DEVICE_PATH,
    EVENTS_PATH,
    MEDIA2_PATH,
    MEDIA_PATH,
    PULL_POINT_PATH,
    SEARCH_PATH,
)
from vigil.features.onvif.endpoint import OnvifEndpoint, base_address
from vigil.features.onvif.http_device import DeviceService
from vigil.features.onvif.http_events import EventService
from vigil.features.onvif.http_media import MediaService
from vigil.features.onvif.http_media2 import Media2Service
from vigil.features.onvif.http_search import SearchService
from vigil.features.onvif.http_users import UserService
from vigil.features.onvif.pullpoints import PullPoints
from vigil.features.onvif.security import UsernameTokens
from vigil.features.onvif.streams import ONVIF_MEDIA, OnvifStreams
from vigil.features.recording.recorder import RECORDING_SERVICE


def register(device: Device) -> None:
    tokens = UsernameTokens(device.accounts, device.clock)
    recording = device.features.get(RECORDING_SERVICE)
    # Anyone reaches the endpoints (the PRE_AUTH operations); each operation checks its access class.
    endpoint = OnvifEndpoint(device, tokens)
    http_device.register(endpoint, DeviceService(device, has_media=recording is not None))
    http_users.register(endpoint, UserService(device.accounts, device.auth.drop_sessions))
    device.router.add(DEVICE_PATH, endpoint.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
    events, pull_point = OnvifEndpoint(device, tokens), OnvifEndpoint(device, tokens)
    subscriptions = PullPoints(device.events, device.clock)
    http_events.register(events, pull_point, EventService(device.events, subscriptions,
                                                          lambda: base_address(device.listening)))
    device.services.append(subscriptions.run)
    device.router.add(EVENTS_PATH, events.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
    device.router.add(PULL_POINT_PATH, pull_point.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
    if recording is not None:
        media_service = MediaService(recording, lambda: device.listening.rtsp, lambda: base_address(device.listening))
        media = OnvifEndpoint(device, tokens)
        http_media.register(media, media_service)
        device.router.add(MEDIA_PATH, media.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
        media2 = OnvifEndpoint(device, tokens)
        http_media2.register(media2, Media2Service(media_service))
        device.router.add(MEDIA2_PATH, media2.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
        device.rtsp.add(ONVIF_MEDIA, OnvifStreams(device.rtsp).tracks)  # Axis's ONVIF RTSP path
        search = OnvifEndpoint(device, tokens)
        http_search.register(search, SearchService(recording, device.store, device.clock))
        device.router.add(SEARCH_PATH, search.handle, Role.ANONYMOUS, methods=("POST",), kind="xml")
