"""Bonjour: the device announces itself with multicast DNS (python-zeroconf).

Two services under the Bonjour name: `_axis-video._tcp` with the TXT record `macaddress` (what
Home Assistant's Axis integration browses for and reads), and `_http._tcp` for browsers and
other Bonjour clients; both point at the HTTP port on the host `<host name>.local`. A name taken
by another device on the network is changed the Bonjour way ("name (2)"); `name` tells which
one is announced. Stopping sends goodbyes, so browsers drop the device at once.
"""

from __future__ import annotations

import socket

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from vigil.features.discovery.const import AXIS_VIDEO, HTTP_SERVICE
from vigil.features.discovery.model import Facts, Settings


def service_infos(facts: Facts, settings: Settings) -> list[AsyncServiceInfo]:
    addresses = [socket.inet_aton(i.address) for i in settings.interfaces]
    server = f"{settings.host_name}.local."
    return [AsyncServiceInfo(kind, f"{settings.bonjour_name}.{kind}", addresses=addresses,
                             port=settings.http_port, properties=properties, server=server)
            for kind, properties in ((AXIS_VIDEO, {"macaddress": facts.serial}), (HTTP_SERVICE, {"path": "/"}))]


class Bonjour:
    """mDNS announcements; `start` and `stop` as the discovery service asks."""

    label = "Bonjour"

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._zeroconf: AsyncZeroconf | None = None
        self._infos: list[AsyncServiceInfo] = []

    @staticmethod
    def wanted(settings: Settings) -> tuple | None:
        if not settings.bonjour or not settings.interfaces:
            return None
        return settings.interfaces, settings.http_port, settings.host_name, settings.bonjour_name

    @property
    def name(self) -> str:
        """The instance name announced (the Bonjour name, or the name it was changed to)."""
        return self._infos[0].name.removesuffix("." + AXIS_VIDEO) if self._infos else ""

    async def start(self, settings: Settings) -> None:
        zeroconf = AsyncZeroconf(interfaces=[i.address for i in settings.interfaces], ip_version=IPVersion.V4Only)
        self._zeroconf = zeroconf
        for info in service_infos(self.facts, settings):
            await (await zeroconf.async_register_service(info, allow_name_change=True))  # probed and announced
            self._infos.append(info)

    async def stop(self) -> None:
        zeroconf, self._zeroconf, infos, self._infos = self._zeroconf, None, self._infos, []
        if zeroconf is None:
            return
        try:
            for info in infos:
                await (await zeroconf.async_unregister_service(info))  # the goodbye: TTL 0
        finally:
            await zeroconf.async_close()
