"""IEEE 802.1X and MACsec (System > Security > Network access control and encryption): the wired
port authenticates with EAP-TLS (a client certificate), PEAP-MSCHAPv2 (an identity and password)
or MACsec with a pre-shared key, and reports whether the network lets it in.

The `Network.Interface.I0.dot1x.*` parameters (params.py, checked as a whole before they are
stored) are the settings; the service (service.py) hands them to the 802.1X hardware
(vigil/hal/dot1x.py) at start and on every change, with the certificates taken by id from the
keystore (certs.py), and follows the port's state (`...dot1x.Status`). The hardware is a
scripted authenticator by default (vigil/hal/sim/dot1x.py, driven through sim_api.py), and
wpa_supplicant on the interface VIGIL_NET_INTERFACE names with VIGIL_HAL=linux
(vigil/hal/linux/dot1x.py).
"""

from __future__ import annotations

import os
from functools import partial
from typing import TYPE_CHECKING

from vigil.features.certificates.service import KEYSTORE
from vigil.features.dot1x import params, sim_api
from vigil.features.dot1x.service import DOT1X_SERVICE, Dot1xService
from vigil.hal.dot1x import DOT1X_HARDWARE, Dot1xError, Dot1xHardware
from vigil.hal.sim.dot1x import SimulatedDot1x

if TYPE_CHECKING:
    from vigil.device import Device


def hardware_for(device: Device) -> Dot1xHardware:
    """wpa_supplicant on VIGIL_NET_INTERFACE with VIGIL_HAL=linux, else the simulated port."""
    interface = os.environ.get("VIGIL_NET_INTERFACE", "")
    if os.environ.get("VIGIL_HAL") == "linux" and interface:
        from vigil.hal.linux.dot1x import WpaSupplicant  # the Linux backend: only where asked for

        try:
            return WpaSupplicant(interface)
        except Dot1xError as err:
            device.logs.system(f"IEEE 802.1X cannot use the interface ({err}): it applies to a simulated port",
                               "error")
    return SimulatedDot1x()


def register(device: Device) -> None:
    hardware = hardware_for(device)
    keystore = device.features[KEYSTORE]
    service = Dot1xService(hardware, device.params, device.logs, keystore)
    device.params.declare(params.param_defs(service.status))
    device.params.vetoes.append(partial(params.veto, device.params, keystore))
    device.params.listeners.append(service.on_params)
    device.hardware[DOT1X_HARDWARE] = hardware
    device.features[DOT1X_SERVICE] = service
    device.on_load.append(service.apply)
    device.services.append(service.run)
    device.router.include(sim_api.ROUTES)
