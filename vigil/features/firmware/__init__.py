"""Maintenance > AXIS OS upgrade, for Vigil: the software the device runs, upgraded from a
signed release into the other of two slots, tried, and committed or rolled back.

What flows: an uploaded release (firmwaremanagement.cgi `upgrade`, firmwareupgrade.cgi, the
Maintenance page) is unpacked safely (vigil.core.archive), verified against the release keys
and the custom signed OS certificates of the keystore (vigil.release.package), installed in the
inactive slot (vigil.release.slots); the device then reboots into it through the launcher
(vigil.release.launcher). At the trial boot the service checks the device's health, commits as
asked, and runs the rollback timer.

- `const`: paths, bounds, error codes. `service`: the `Firmware` service. `http_fwmgr`: the CGIs.
Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from vigil.core.params import ParamDef
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.certificates.service import KEYSTORE
from vigil.features.firmware import http_fwmgr
from vigil.features.firmware.const import API_ID, API_VERSION, HEALTH_TIMEOUT
from vigil.features.firmware.service import BUILT_IN_KEYS, FIRMWARE_SERVICE, Firmware
from vigil.release.package import public_key_der, signer_public_key

if TYPE_CHECKING:
    from vigil.device import Device


def trusted_keys(device: Device) -> list[bytes]:
    """The keys a release may be signed with: the release keys this program ships, and the
    custom signed OS certificates installed in the keystore."""
    keys = [public_key_der(signer_public_key(p.read_bytes())) for p in sorted(BUILT_IN_KEYS.glob("*.pem"))]
    keystore = device.features.get(KEYSTORE)
    if keystore is not None:
        keys += [public_key_der(cert.public_key()) for cert in keystore.os_certificates()]
    return keys


async def health(device: Device) -> str | None:
    """The device answers itself over HTTP (or HTTPS when HTTP is off) and its database reads."""
    try:
        device.store.query("SELECT 1")
    except Exception as err:  # any failure of the database is a failed check
        return f"the database does not answer ({err})"
    host = device.listening.host
    host = "127.0.0.1" if host in ("", "0.0.0.0") else ("::1" if host == "::" else host)
    name = f"[{host}]" if ":" in host else host
    url = (f"http://{name}:{device.listening.http}" if device.listening.http
           else f"https://{name}:{device.listening.https}")
    try:
        async with httpx.AsyncClient(verify=False, timeout=HEALTH_TIMEOUT) as client:
            reply = await client.get(url + "/vigil/session")
    except httpx.HTTPError as err:
        return f"it does not answer HTTP ({err.__class__.__name__})"
    try:  # an internal error is a 200 too (VAPIX style): the answer must be the session's
        answered = reply.status_code == 200 and "setupRequired" in reply.json()
    except ValueError:
        answered = False
    return None if answered else f"its web server does not answer properly ({reply.status_code} {reply.text[:80]!r})"


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
