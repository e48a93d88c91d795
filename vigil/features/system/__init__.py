"""The platform every device has: identity, parameters, accounts, logs, maintenance, time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.system import (
    discovery,
    logs_cgi,
    maintenance,
    params_cgi,
    session,
    status,
    time_api,
    users,
)
from vigil.features.system import param_groups as groups

if TYPE_CHECKING:
    from vigil.device import Device


def register_platform(device: Device) -> None:

    profile, identity, params = device.profile, device.identity, device.params
    params.declare(groups.brand(profile))
    params.declare(groups.properties(profile, identity))
    params.declare(groups.network(profile, identity))
    params.declare(groups.time_group())
    params.declare(groups.https_group())
    params.declare(groups.system_group())
    params.declare(groups.remote_service())
    params.declare(groups.stream_profiles())
    params.declare_template(groups.STREAM_PROFILE)
    for module in (discovery, params_cgi, users, maintenance, logs_cgi, time_api, session, status):
        module.register(device)
