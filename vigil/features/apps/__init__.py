"""Apps (manual: Apps; VAPIX Application API): ACAP-style packages uploaded, checked (signature,
archive, manifest), installed, run as processes of their own and removed.

- `const`: paths, storage keys, limits, the API's error codes.
- `manifest`: manifest.json read and checked. `package`: the .eap (archive + appended
  signature): verify, unpack (through `vigil.core.archive`), build and sign.
- `runner`: one app's process: own uid, bubblewrap sandbox, run modes, backoff.
- `service`: the installed apps, their accounts, licenses and AllowUnsigned.
- `http_applications`: upload/control/list/config/license.cgi and the page's JSON.
  `http_local`: /local/<app>/ (settings pages, the app's API over its socket).

Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.core.params import ParamDef
from vigil.core.roles import Role
from vigil.features.apps import http_applications, http_local
from vigil.features.apps.service import KEY, AppsService
from vigil.features.certificates.service import KEYSTORE

if TYPE_CHECKING:
    from vigil.device import Device

EMBEDDED_VERSION = "3.0"  # Properties.EmbeddedDevelopment.Version: list.cgi needs 1.20 and up


def register(device: Device) -> None:
    keystore = device.features[KEYSTORE]
    service = AppsService(device, lambda: [entry.leaf for entry in keystore.ca_certificates()])
    device.features[KEY] = service
    device.services.append(service.run)
    device.params.declare([
        ParamDef("Properties.EmbeddedDevelopment.EmbeddedDevelopment", "yes", read=Role.VIEWER, write=None),
        ParamDef("Properties.EmbeddedDevelopment.Version", EMBEDDED_VERSION, read=Role.VIEWER, write=None),
    ])
    device.router.include(http_applications.ROUTES)
    device.router.include(http_local.ROUTES)
