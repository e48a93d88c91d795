"""What the device says about itself: product, firmware and serial numbers, as the basic
device information API and the server report show them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.system.param_groups import BUILD_DATE

if TYPE_CHECKING:
    from vigil.device import Device

# The properties anyone may read, without logging in.
UNRESTRICTED = ("Brand", "BuildDate", "HardwareID", "ProdFullName", "ProdNbr", "ProdShortName", "ProdType",
                "ProdVariant", "SerialNumber", "Version", "WebURL")


def device_properties(device: Device) -> dict[str, str]:
    p = device.params.get
    return {
        "Architecture": p("Properties.System.Architecture"),
        "Brand": p("Brand.Brand"),
        "BuildDate": BUILD_DATE,
        "HardwareID": p("Properties.System.HardwareID"),
        "ProdFullName": p("Brand.ProdFullName"),
        "ProdNbr": p("Brand.ProdNbr"),
        "ProdShortName": p("Brand.ProdShortName"),
        "ProdType": p("Brand.ProdType"),
        "ProdVariant": p("Brand.ProdVariant"),
        "SerialNumber": device.identity.serial,
        "Soc": p("Properties.System.Soc"),
        "SocSerialNumber": device.identity.soc_serial,
        "Version": p("Properties.Firmware.Version"),
        "WebURL": p("Brand.WebURL"),
    }
