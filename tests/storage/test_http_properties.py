"""VAPIX disk properties: retention and autoformat settings with their errors (the encryption
CGIs are exercised in test_encryption.py). A value out of range is this API's error 20 and
changes nothing, however many digits it has."""

from __future__ import annotations

import pytest

from tests.conftest import client_as
from tests.storage.conftest import audit, xml
from vigil.device import Device

PROPS = "/axis-cgi/disks/properties"


def error_code(root) -> str | None:
    return root.findtext(".//{*}ErrorCode")


async def test_retention_and_autoformat_are_set_with_their_audit(dev: Device) -> None:
    async with client_as(dev, "admin") as admin:
        for cgi, arg, value, param in (("setcleanupmaxage", "maxage", "7000", "CleanupMaxAge"),
                                       ("setcleanuppolicy", "cleanuppolicy", "none", "CleanupPolicyActive"),
                                       ("setrequiredfs", "filesystem", "ext4", "RequiredFileSystem")):
            r = await admin.get(f"{PROPS}/{cgi}.cgi", params={"schemaversion": "1", "diskid": "RAID_DISK", arg: value})
            assert xml(r).find(".//{*}GeneralSuccess") is not None, r.text
            assert dev.params.get(f"Storage.S0.{param}") == value
    assert any("CleanupMaxAge" in m for m in audit(dev))


@pytest.mark.parametrize("maxage", ["9" * 5000, "7001", "²", "١", "-1", "+5", " 5", "5.0", ""])
async def test_cleanup_max_age_out_of_range_is_error_20_and_changes_nothing(dev: Device, maxage: str) -> None:
    """Finding 14: 5,000 digits were an internal error."""
    async with client_as(dev, "admin") as admin:
        r = await admin.get(f"{PROPS}/setcleanupmaxage.cgi",
                            params={"schemaversion": "1", "diskid": "NetworkShare", "maxage": maxage})
    root = xml(r)
    assert error_code(root) == "20" and "maxage is 0 to 7000 days" in r.text, r.text
    assert dev.params.get("Storage.S1.CleanupMaxAge") == "0"
    dev.logs.flush()
    assert "setcleanupmaxage.cgi refused for root: maxage is 0 to 7000 days" in dev.logs.text("system")


@pytest.mark.parametrize(("params", "code"), [({"diskid": "nope", "maxage": "1"}, "50"),
                                               ({"diskid": "RAID_DISK", "maxage": "1", "schemaversion": "2"}, "40"),
                                               ({"diskid": "RAID_DISK"}, "20")])
async def test_property_errors(dev: Device, params: dict[str, str], code: str) -> None:
    async with client_as(dev, "admin") as admin:
        r = await admin.get(f"{PROPS}/setcleanupmaxage.cgi", params={"schemaversion": "1", **params})
    assert error_code(xml(r)) == code, r.text
    assert dev.params.get("Storage.S0.CleanupMaxAge") == "0"
