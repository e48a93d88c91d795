"""Recording (S3008, S3016, S4000): camera ingest, durable recording, playback and export.

Footage flows camera -> ingest -> recorder -> vigil.footage (writer, index) onto the volumes the
storage feature provides (`VOLUMES`, registered before this feature loads; none: data/recordings),
and back out through playback and export (vigil.footage.reader). The same ingest feeds the live
relay (relay.py), mounted on the device's RTSP server as `/axis-media/media.amp?camera=N`; stored
footage replays there as `?recordingid=ID` (replay.py); and the snapshots (snapshot.py: a JPEG of
each camera's latest key frame, `/axis-cgi/jpg/image.cgi`); the same frames go to browsers as
fragmented MP4 (live.py, `/vigil/live`). Exports go to the client, to the
data folder (background jobs) or to the drive in the USB port (usb.py over vigil/hal/usb.py:
simulated unless VIGIL_HAL=linux, where it is a removable block device, or the ones named in
VIGIL_USB_DEVICES, mounted under VIGIL_USB_MOUNT_ROOT, by default the data folder's `media/`)."""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.features.recording import (
    actions,
    http_export,
    http_live,
    http_play,
    http_record,
    http_recorder,
    http_snapshot,
    http_timeline,
    relay,
    replay,
    sim_api,
)
from vigil.features.recording.recorder import RECORDING_SERVICE, RecordingService
from vigil.features.recording.sources import Source
from vigil.features.recording.testcams import TestCameraServer, load_clip, make_clip
from vigil.features.recording.usb import UsbPort
from vigil.footage.volumes import VOLUMES
from vigil.hal.sim.usb import SimulatedUsb
from vigil.hal.usb import USB_HARDWARE, UsbHardware
from vigil.rtsp.mounts import AXIS_MEDIA

if TYPE_CHECKING:
    from vigil.device import Device


def params() -> list[ParamDef]:
    return [
        ParamDef("Recording.SegmentSeconds", "60", "int", minimum=2, maximum=600, owner=applied("recording")),
        ParamDef("Recording.FreeSpaceFloorMB", "1024", "int", minimum=0, maximum=10_000_000, owner=applied("recording")),
        ParamDef("Recording.QuotaMB", "0", "int", minimum=0, maximum=1_000_000_000, owner=applied("recording")),
        ParamDef("Recording.DefaultDiskId", "default", read=Role.VIEWER, write=None),
    ]


def usb_hardware(device: Device) -> UsbHardware:
    if os.environ.get("VIGIL_HAL") == "linux":
        from vigil.hal.linux.usb import LinuxUsb

        named = os.environ.get("VIGIL_USB_DEVICES")
        root = os.environ.get("VIGIL_USB_MOUNT_ROOT") or str(device.data / "media")
        return LinuxUsb(Path(root), [d for d in named.split(",") if d] if named is not None else None)
    return SimulatedUsb(device.data / "sim" / "usb")


def register(device: Device) -> None:

    device.params.declare(params())
    service = RecordingService(device.store, device.events, device.logs, device.params, device.clock, device.data,
                               device.vault, volumes=device.features.get(VOLUMES),
                               prebuffer_for=functools.partial(actions.prebuffer_seconds, device.rules))
    device.features[RECORDING_SERVICE] = service
    device.rtsp.add(AXIS_MEDIA, functools.partial(replay.recording_tracks, device.store))  # first: it refuses camera=
    device.rtsp.add(AXIS_MEDIA, service.relays.tracks, keys=relay.KEYS)
    if device.ports.test_cameras:
        device.services.append(lambda: run_with_test_cameras(device, service))
    else:
        device.services.append(service.run)
    for action in actions.action_types(service):
        device.rules.register(action)
    http_recorder.register(device, service)
    http_record.register(device)
    http_play.register(device)
    hardware = usb_hardware(device)
    usb = UsbPort(hardware, device.events, device.logs)
    device.hardware[USB_HARDWARE] = hardware
    device.on_load.append(usb.declare)
    device.services.append(usb.run)
    if isinstance(hardware, SimulatedUsb):
        device.router.include(sim_api.ROUTES)
    http_export.register(device, usb)
    http_live.register(device)
    http_snapshot.register(device)
    http_timeline.register(device)


async def run_with_test_cameras(device: Device, service) -> None:
    """Serve the built-in test cameras, make sure a source records each, then record."""
    clip_path = device.data / "testcams" / "clip-1280x720-15.mp4"
    if not clip_path.exists():
        await asyncio.to_thread(make_clip, clip_path)
    server = TestCameraServer(await asyncio.to_thread(load_clip, clip_path), device.ports.test_cameras)
    await server.start()
    try:
        for n in range(1, device.ports.test_cameras + 1):
            current = service.sources.all.get(f"testcam{n}")
            if current is None or current.url != server.url(n):
                service.sources.put(Source(f"testcam{n}", f"Test camera {n}", server.url(n)), "system")
        service.declare()
        await service.run()
    finally:
        await server.close()
