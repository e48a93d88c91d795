"""The recorder's ONVIF camera finder (recording.finder's port): WS-Discovery probes on the
interfaces discovery announces on (the device itself left out), and a chosen device's media
profiles with their stream addresses, read with the credentials the user gives."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from vigil.features.discovery.service import DiscoveryService
from vigil.features.discovery.wsdiscovery import probe
from vigil.features.onvif.client import OnvifClient, OnvifError
from vigil.features.onvif.const import DEVICE_PATH
from vigil.features.recording.finder import FinderError, FoundCamera, StreamOffer


def device_address(address: str) -> str:
    """A device service address from what a user types: a full http(s):// address as it is,
    `host` or `host:port` as `http://host[:port]/onvif/device_service`."""
    address = address.strip()
    if "://" not in address:
        address = f"http://{address}{DEVICE_PATH}"
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 - ValueError for a port that is no number
    except ValueError:
        raise FinderError(f"not a device address: {address[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise FinderError("the address is host[:port] or http://host[:port]/onvif/device_service, without credentials")
    return address


def without_credentials(uri: str) -> str:
    """A stream address as a source stores it: user name and password go in their own fields."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class OnvifCameraFinder:
    def __init__(self, discovery: DiscoveryService | None) -> None:
        self.discovery = discovery

    async def discover(self, timeout: float) -> list[FoundCamera]:
        if self.discovery is None:
            raise FinderError("this device has no WS-Discovery")
        interfaces = self.discovery.read_settings().interfaces
        if not interfaces:
            raise FinderError("the device listens on no local network interface (a loopback address), so there "
                              "is no network to search; enter the camera's address instead")
        try:
            found = await probe(interfaces, timeout)
        except OSError as err:
            raise FinderError(f"the probe could not be sent: {err.strerror or err}") from None
        own = self.discovery.facts.endpoint
        return [FoundCamera(f.xaddrs[0], f.scope("name"), f.scope("hardware"), f.endpoint)
                for f in found if f.endpoint != own]

    async def streams(self, address: str, username: str, password: str) -> list[StreamOffer]:
        try:
            client = OnvifClient(device_address(address), username, password)
        except OnvifError as err:
            raise FinderError(str(err)) from None
        try:
            await client.synchronize()
            offers = []
            for profile in await client.profiles():
                if not profile.encoding:
                    continue  # an audio or metadata profile: nothing to record as video
                uri = await client.stream_uri(profile.token)
                offers.append(StreamOffer(profile.token, profile.name, profile.encoding, profile.width,
                                          profile.height, without_credentials(uri)))
        except OnvifError as err:
            raise FinderError(str(err)) from None
        finally:
            await client.close()
        if not offers:
            raise FinderError("the device has no media profile with video")
        return offers
