"""Time and location (manual chapter System > Time and location): the device's date, time and
time zone, automatic time from NTP or NTS servers, and where the device is.

- `params`: the Time parameters; `const`: their names, limits and the APIs' error codes.
- `servers`: time server addresses (`host[:port]`); `ntp`: one NTP exchange; `nts`: NTS key
  establishment and NTS-protected exchanges.
- `service`: the client that polls the servers and steps or slews the device's clock
  (`vigil.core.clock`), its status, the DHCP lease's servers from the network feature (`on_lease`),
  and the one local zone (`vigil.core.zones`) kept consistent.
- `location`: the device location; `http_geolocation`: /axis-cgi/geolocation/get.cgi, set.cgi.
- `http_ntp`: /axis-cgi/ntp.cgi. time.cgi (date, time, zone) is the platform's
  (`features/system/http_time.py`) and reads the same parameters.

Every profile has it.
"""

from __future__ import annotations

from vigil.device import Device
from vigil.features.certificates.service import KEYSTORE
from vigil.features.network.service import NETWORK_SERVICE
from vigil.features.timesync import http_geolocation, http_ntp, params
from vigil.features.timesync.service import TIMESYNC_SERVICE, TimeSyncService


def register(device: Device) -> None:
    service = TimeSyncService(device.params, device.clock, device.store, device.logs,
                              device.features[KEYSTORE])
    device.params.declare(params.param_defs(service.dhcp_server_list))
    device.features[TIMESYNC_SERVICE] = service
    device.services.append(service.run)
    network = device.features.get(NETWORK_SERVICE)
    if network is not None:  # loaded before: the DHCP lease's NTP servers (option 42)
        network.on_lease(service.on_lease)
    device.router.include(http_geolocation.ROUTES)
    http_ntp.register(device)
