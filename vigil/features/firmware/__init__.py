"""Maintenance > AXIS OS upgrade, for Vigil: the software the device runs, upgraded from a
signed release into the other of two slots, tried, and committed or rolled back.

What flows: an uploaded release (firmwaremanagement.cgi `upgrade`, firmwareupgrade.cgi, the
Maintenance page) is unpacked safely (vigil.core.archive), verified against the release keys
and the custom signed OS certificates of the keystore (vigil.release.package), installed in the
inactive slot (vigil.release.slots); the device then reboots into it through the launcher
(vigil.release.launcher). At the trial boot the service checks the device's health, commits as
asked, and runs the rollback timer.

- `const`: paths, bounds, error codes. `service`: the `Firmware` service. `checks`: the keys it
  trusts and the device's health check. `http_fwmgr`: the CGIs.
Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.core.params import ParamDef
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.firmware import http_fwmgr
from vigil.features.firmware.checks import health, trusted_keys
from vigil.features.firmware.const import API_ID, API_VERSION
from vigil.features.firmware.service import FIRMWARE_SERVICE, Firmware

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    firmware = Firmware(device.data, device.profile.name, device.profile.hardware_id, device.logs,
                        lambda: trusted_keys(device), device.request_stop, lambda: health(device))
    device.features[FIRMWARE_SERVICE] = firmware
    device.params.declare([ParamDef("Properties.FirmwareManagement.Version", API_VERSION, read=Role.VIEWER,
                                    write=None)])
    device.on_load.append(firmware.at_boot)
    device.services.append(firmware.run)
    device.router.include(http_fwmgr.ROUTES)
    device.apis.append(Api(API_ID, "1.0", "Firmware management"))
