"""The platform every device has: identity and product properties, the parameter tree's
platform groups (param_groups.py), accounts, logs, maintenance, time, the browser session.

Each HTTP API family has its module (http_params.py for param.cgi, http_time.py for time.cgi,
http_users.py, http_logs.py, http_discovery.py, http_maintenance.py, http_session.py,
http_status.py, http_streamprofile.py); the manual triggers (virtual inputs, vigil/features/triggers)
load with it; device_info.py and report.py hold what the device says about itself.
"""

from __future__ import annotations

from vigil.device import Device
from vigil.features import triggers
from vigil.features.system import (
    http_discovery,
    http_logs,
    http_maintenance,
    http_params,
    http_session,
    http_status,
    http_streamprofile,
    http_time,
    http_users,
)
from vigil.features.system import param_groups as groups
from vigil.features.system.pending import note_pending_changes
from vigil.rtsp import profiles
from vigil.rtsp.profiles import StreamProfiles

ROUTES = (*http_params.ROUTES, *http_users.ROUTES, *http_maintenance.ROUTES, *http_logs.ROUTES,
          *http_session.ROUTES, *http_status.ROUTES)


def register_platform(device: Device) -> None:
    profile, identity, params = device.profile, device.identity, device.params
    params.declare(groups.brand(profile))
    params.declare(groups.properties(profile, identity))
    params.declare(groups.network(profile, identity))
    params.declare(groups.https_group())
    params.declare(groups.system_group())
    params.declare(groups.remote_service())
    params.vetoes.append(groups.refuse_o3c)
    params.declare(profiles.max_groups())
    params.declare_template(profiles.template(device.rtsp))
    params.vetoes.append(StreamProfiles(params).names_clash)
    note_pending_changes(params, device.logs)
    device.router.include(ROUTES)
    http_discovery.register(device)  # JSON APIs: their method tables go through router.json_api
    http_time.register(device)
    http_streamprofile.register(device)
    triggers.register(device)  # manual triggers: every device has them, with or without I/O
