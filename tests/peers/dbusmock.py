"""D-Bus services for the Linux hardware backends, since no radio exists on these machines:
python-dbusmock's templates (`bluez5`, `networkmanager`) served on a private system bus (a
dbus-daemon of its own, on a socket in a temporary folder), and a dbus-python connection to it
for the test's side. No tests here."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

dbusmock = pytest.importorskip("dbusmock", reason="python-dbusmock is not installed (pip install -e '.[test]')")
import dbus  # noqa: E402 - python-dbusmock's own dependency, there once it is
from dbusmock.testcase import BusType, PrivateDBus, SpawnedMock  # noqa: E402

needs_dbus_daemon = pytest.mark.skipif(shutil.which("dbus-daemon") is None,
                                       reason="dbus-daemon is not installed (make debs installs it)")
SYSTEM_BUS_VARIABLE = "DBUS_SYSTEM_BUS_ADDRESS"


@dataclass
class MockService:
    """One template's mock on the private bus: `address` for the backend under test, `bus` and
    `mock` (the template's main object) for the test."""

    address: str
    bus: dbus.bus.BusConnection
    mock: Any
    process: SpawnedMock

    def obj(self, name: str, path: str) -> Any:
        return self.bus.get_object(name, path)


@contextlib.contextmanager
def mock_service(template: str, parameters: dict[str, Any] | None = None) -> Iterator[MockService]:
    """A private system bus with `template` on it; the process environment is left as it was."""
    before = os.environ.get(SYSTEM_BUS_VARIABLE)
    try:
        with PrivateDBus(BusType.SYSTEM) as private:
            server = SpawnedMock.spawn_with_template(template, parameters, BusType.SYSTEM)
            bus = dbus.bus.BusConnection(private.address)
            try:
                yield MockService(private.address, bus, server.obj, server)
            finally:
                bus.close()
                server.terminate()
    finally:
        if before is None:
            os.environ.pop(SYSTEM_BUS_VARIABLE, None)
        else:
            os.environ[SYSTEM_BUS_VARIABLE] = before
