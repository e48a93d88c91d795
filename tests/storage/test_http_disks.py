"""VAPIX disk management beyond the tools' own tests (test_tools.py): the API families are
registered with named handlers, and discovery lists them on every storage profile."""

from __future__ import annotations

import pytest

from tests.conftest import make_device
from tests.storage.conftest import storage
from vigil.core.clock import FakeClock
from vigil.features.storage import http_disks, http_properties, http_raid, http_shares, http_storage

APIS = {"s3008": {"disk-management", "storage"}, "s3016": {"raid", "disk-management", "storage"},
        "s4000": {"raid", "disk-management", "storage"}, "c1410": {"disk-management", "storage"}}


@pytest.mark.parametrize("profile", sorted(APIS))
def test_each_storage_url_has_a_named_handler_and_discovery_lists_the_apis(tmp_path, profile: str) -> None:
    device = make_device(tmp_path, FakeClock(), profile)
    try:
        assert {a.id for a in device.apis} & {"raid", "disk-management", "storage"} == APIS[profile]
        service = storage(device)
        tables = [*http_disks.ROUTES, *http_properties.ROUTES, *http_shares.ROUTES]
        if service.onboard() is not None:
            tables += http_properties.ENCRYPTION_ROUTES
        cgis = {c.path: c for c in tables}
        endpoints = {e.path: e for e in device.router.endpoints
                     if e.path.startswith("/axis-cgi/disks/") or e.path == http_storage.PATH}
        json_apis = {http_storage.PATH} | ({http_raid.PATH} if "raid" in APIS[profile] else set())
        assert set(endpoints) == set(cgis) | json_apis
        for path, cgi in cgis.items():  # the table's named handler, bound to the one service
            assert endpoints[path].handler.func is cgi.handler and endpoints[path].handler.args == (service,)
            assert endpoints[path].role == cgi.role and cgi.handler.__qualname__ == cgi.handler.__name__
    finally:
        device.close()
