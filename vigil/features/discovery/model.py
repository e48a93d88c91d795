"""What the discovery protocols announce: the device's fixed facts (`Facts`) and the settings in
force (`Settings`, read from the parameters and the interfaces each time they change)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

from vigil import __version__
from vigil.core.identity import Identity
from vigil.features.discovery.interfaces import Interface
from vigil.profiles import Profile

ONVIF_SCOPE = "onvif://www.onvif.org/"


@dataclass(frozen=True)
class Facts:
    """What a device says about itself on every protocol; fixed while it runs."""

    brand: str  # Vigil
    model: str  # S3016
    full_name: str  # Vigil S3016 Recorder
    prod_type: str  # Network Video Recorder
    serial: str  # the MAC without colons, upper case: 025647ABCDEF
    mac: str  # 02:56:47:AB:CD:EF
    version: str
    endpoint: str  # urn:uuid:..., the WS-Discovery endpoint reference, stable across restarts
    onvif_types: tuple[str, ...]  # the WS-Discovery device types, as qualified names
    scopes: tuple[str, ...]  # the WS-Discovery scopes

    @property
    def model_name(self) -> str:
        return f"{self.brand} {self.model}"

    @classmethod
    def of(cls, profile: Profile, identity: Identity) -> Facts:
        brand = profile.full_name.split()[0]
        scopes = [f"{ONVIF_SCOPE}hardware/{quote(profile.model)}",
                  f"{ONVIF_SCOPE}name/{quote(f'{brand} {profile.model}')}",
                  f"{ONVIF_SCOPE}MAC/{identity.serial.lower()}"]
        if profile.hardware.disks:
            scopes.append(f"{ONVIF_SCOPE}type/Network_Video_Storage")
        if profile.hardware.audio_out:
            scopes.append(f"{ONVIF_SCOPE}type/audio_decoder")
        return cls(brand=brand, model=profile.model, full_name=profile.full_name, prod_type=profile.prod_type,
                   serial=identity.serial, mac=identity.mac, version=__version__,
                   endpoint=endpoint_reference(identity),
                   onvif_types=("dn:NetworkVideoTransmitter", "tds:Device"), scopes=tuple(scopes))


def endpoint_reference(identity: Identity) -> str:
    """The device's WS-Discovery endpoint address: the same on every start, as the ONVIF
    device service must report it too (GetEndpointReference)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_OID, 'vigil:' + identity.device_id)}"


@dataclass(frozen=True)
class Settings:
    """The settings in force, as the protocols need them."""

    interfaces: tuple[Interface, ...]
    http_port: int
    host_name: str
    bonjour: bool
    bonjour_name: str
    upnp: bool
    upnp_name: str
    wsdiscovery: bool
    scopes: tuple[str, ...]  # the WS-Discovery scopes: the fixed ones, then the configured ones
    lldp: bool
