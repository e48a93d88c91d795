"""VAPIX RAID management (`POST /axis-cgi/disks/raid.cgi`, JSON): the array's state, sync
progress and components, the levels the device supports, and recreating the array over all
drives (after the explicit unmount VAPIX asks for). Devices with a RAID only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.storage.const import (
    RAID_API_STATE,
    RAID_BAD_JSON,
    RAID_BAD_PARAMS,
    RAID_BAD_VERSION,
    RAID_CREATE_FAILED,
    RAID_INTERNAL,
    RAID_LEVEL_UNSUPPORTED,
    RAID_REFUSED,
    RAID_UNKNOWN_METHOD,
    RAID_WRONG_HTTP_METHOD,
)
from vigil.features.storage.routes import Method, json_methods
from vigil.features.storage.tool_jobs import StorageError
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors

if TYPE_CHECKING:
    from vigil.device import Device
    from vigil.features.storage.service import StorageService

PATH = "/axis-cgi/disks/raid.cgi"
ERRORS = JsonErrors(wrong_http_method=RAID_WRONG_HTTP_METHOD, bad_version=RAID_BAD_VERSION,
                    unknown_method=RAID_UNKNOWN_METHOD, bad_json=RAID_BAD_JSON, bad_params=RAID_BAD_PARAMS,
                    internal=RAID_INTERNAL)
LEVEL = re.compile(r"raid([0-9]{1,2})")


async def get_status(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    assert service.hw is not None  # registered with a RAID only
    array = service.hw.array()
    components = [{"componentStatus": service._component_status(d), "componentId": str(d.slot),
                   "serialNumber": d.serial or "unknown", "capacity": d.capacity // 10**9}
                  for d in service.hw.drives()]
    if array is None:
        return {"raids": []}
    syncing = array.state == "syncing"
    progress = int(array.sync_progress) if syncing else (100 if array.state == "online" else 0)
    return {"raids": [{"status": RAID_API_STATE[array.state], "syncProgress": progress,
                       "syncTimeRemaining": int(array.sync_remaining) if syncing else 0,
                       "raidLevel": f"raid{array.level}", "components": components}]}


async def get_capabilities(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {"raidLevels": [f"raid{n}" for n in service.raid_levels]}


async def recreate(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    level = call.params.get("raidLevel")
    if not isinstance(level, str):
        raise JsonApiError(RAID_BAD_PARAMS, "Required parameter 'raidLevel' missing")
    match = LEVEL.fullmatch(level)
    if match is None or int(match[1]) not in service.raid_levels:
        raise JsonApiError(RAID_LEVEL_UNSUPPORTED, "RAID level not supported")
    onboard = service.onboard()
    if onboard is not None and onboard.mounted:
        # The explicit step VAPIX asks for: unmount (mount.cgi) before the RAID is replaced.
        raise JsonApiError(RAID_REFUSED, "The RAID is mounted: unmount it with /axis-cgi/disks/mount.cgi first. "
                                         "Recreating the RAID erases all recordings on it")
    try:
        service.change_raid(int(match[1]), True, who.name)
    except StorageError as err:
        known = (RAID_REFUSED, RAID_LEVEL_UNSUPPORTED, RAID_CREATE_FAILED)
        raise JsonApiError(err.code if err.code in known else RAID_REFUSED, str(err)) from None
    return {}


async def supported_versions(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {"apiVersions": ["1.0"]}


METHODS = {
    "getStatus": Method(get_status, Role.OPERATOR),
    "getCapabilities": Method(get_capabilities, Role.OPERATOR),
    "recreateRaidOnAllComponents": Method(recreate, Role.ADMIN),
    "getSupportedVersions": Method(supported_versions, Role.OPERATOR),
}


def register(device: Device, service: StorageService) -> None:
    if service.raid and service.hw is not None:
        device.router.json_api(PATH, ["1.0"], json_methods(service, PATH, METHODS), ERRORS)
        device.apis.append(Api("raid", "1.0", "RAID Management"))
