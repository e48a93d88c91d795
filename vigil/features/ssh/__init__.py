"""SSH (manual: System > Accounts > SSH accounts, and `Network.SSH.Enabled`): an SSH server on
the device while SSH is enabled, for SSH accounts apart from the web interface's (and the
device's root account), each getting a restricted shell of the device's own commands.

- `const`: the parameter, storage keys, paths, limits, API error codes.
- `accounts`: the SSH accounts, passwords sealed. `shell`: the restricted shell's commands.
- `service`: the asyncssh server, on and off with the parameter; the sealed host key.
- `http_ssh`: the VAPIX SSH API (ssh.cgi). `http_users`: SSH Management (`/config/rest/ssh/v2`).

Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.device import Api
from vigil.features.ssh import http_ssh, http_users
from vigil.features.ssh.service import SSH_SERVICE, SshService

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    service = SshService(device)
    device.features[SSH_SERVICE] = service
    device.services.append(service.run)
    http_ssh.register(device)
    device.router.include(http_users.ROUTES)
    device.apis.append(Api("ssh", "1.0", "SSH"))
