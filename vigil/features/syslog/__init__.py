"""Remote system log (manual: Logs > Remote system log): every entry of the system, access and
audit logs flows from the logs' subscriber hook to up to two syslog servers over UDP, TCP or TLS,
as RFC 5424, RFC 3164 or the Axis format, filtered by each server's severity threshold and type.

- `const`: parameter names, error codes, choices, default ports and the bounds of delivery.
- `config`: a server's settings, reading a setup request, the settings in the parameter tree.
- `params`: the `API.RemoteSyslog1.*` parameters. `formats`: the message formats and framing.
- `sender`: delivery to one server (never waits, drops and counts while a server is down).
- `service`: follows the parameters, runs the senders, the test messages.
- `http_remotesyslog`: the VAPIX Remote Syslog API, /axis-cgi/remotesyslog.cgi.

Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.syslog import http_remotesyslog
from vigil.features.syslog.params import param_defs
from vigil.features.syslog.service import SYSLOG_SERVICE, SyslogService

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    device.params.declare(param_defs())
    service = SyslogService(device)
    device.features[SYSLOG_SERVICE] = service
    device.on_load.append(service.load)
    device.services.append(service.run)
    http_remotesyslog.register(device, service)
