"""Storage (the manuals' System > Storage): the onboard volume over the drives (one drive on
the S3008, RAID on the S3016 and S4000), network shares, the disk tools, and where each
camera's footage goes: the service is the `Volumes` port (vigil.footage.volumes) the recorder
receives; the recorder attaches to it, and nothing here imports the recording feature.

The disk hardware is simulated unless VIGIL_HAL=linux, where the bays are the block devices
listed in VIGIL_DISK_BAYS (comma separated) and the array is VIGIL_MD_DEVICE (/dev/md/vigil).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from vigil.features.storage import http_disks, http_properties, http_raid, http_shares, http_storage, sim_api
from vigil.features.storage.service import STORAGE_SERVICE, StorageService
from vigil.footage.volumes import VOLUMES
from vigil.hal.disks import DISK_HARDWARE, DiskHardware
from vigil.hal.sim.disks import SimulatedDisks

if TYPE_CHECKING:
    from vigil.device import Device

TB = 1_000_000_000_000


def make_hardware(device: Device) -> DiskHardware | None:
    hw = device.profile.hardware
    if not hw.disks:
        return None
    if os.environ.get("VIGIL_HAL") == "linux":
        from vigil.hal.linux.disks import LinuxDisks

        bays = [b for b in os.environ.get("VIGIL_DISK_BAYS", "").split(",") if b]
        return LinuxDisks(bays, os.environ.get("VIGIL_MD_DEVICE", "/dev/md/vigil"), hw.raid_levels)

    return SimulatedDisks(hw.disks, hw.disk_tb * TB, hw.raid_levels, device.clock, device.data / "hw" / "disks.json",
                          default_level=5)


def register(device: Device) -> None:

    hardware = make_hardware(device)
    profile = device.profile
    service = StorageService(device.store, device.params, device.events, device.logs, device.clock, device.vault,
                             device.data, hardware, profile.hardware.raid_levels,
                             network_share=profile.has("storage") or profile.has("networkshare"),
                             folder=f"vigil-{device.identity.serial}")
    device.params.declare(service.param_defs())
    device.features[STORAGE_SERVICE] = service
    device.features[VOLUMES] = service  # where the recorder (loaded next) writes footage
    if hardware is not None:
        device.hardware[DISK_HARDWARE] = hardware
    device.on_load.append(service.start)
    device.services.append(service.run)
    http_raid.register(device, service)
    http_disks.register(device, service)
    http_properties.register(device, service)
    http_shares.register(device, service)
    http_storage.register(device, service)
    if isinstance(hardware, SimulatedDisks):
        sim_api.register(device, hardware, service)
