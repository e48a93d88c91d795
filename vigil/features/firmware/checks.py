"""What the firmware service asks of the device: the keys a release may be signed with, and
whether the device it runs in is healthy (the trial's health check)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from vigil.features.certificates.service import KEYSTORE
from vigil.features.firmware.const import HEALTH_TIMEOUT
from vigil.features.firmware.service import BUILT_IN_KEYS
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
