"""Device profiles: which model this process is and what hardware it has."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

NAMES = ("s3008", "s3016", "s4000", "c1410", "w401")


@dataclass(frozen=True)
class Hardware:
    disks: int
    disk_tb: int
    raid_levels: tuple[int, ...]
    poe_ports: int
    poe_budget_w: int
    usb_export: bool
    io_inputs: int
    io_outputs: int
    configurable_io: int
    relays: int
    audio_out: bool
    poe_port_class: int = 0  # the highest PoE class one port of the switch powers (PseClassLimit)
    network_ports: tuple[str, ...] = ()  # the network ports of a recorder without a PoE switch

    @property
    def io_ports(self) -> int:
        return self.io_inputs + self.io_outputs + self.configurable_io + self.relays


@dataclass(frozen=True)
class Profile:
    name: str
    model: str
    full_name: str
    prod_type: str
    variant: str
    hardware_id: str
    architecture: str
    soc: str
    features: frozenset[str]
    hardware: Hardware

    @property
    def short_name(self) -> str:
        return f"{self.full_name.split()[0]} {self.model}"

    def has(self, feature: str) -> bool:
        return feature in self.features


class UnknownProfile(ValueError):
    pass


def load_profile(name: str) -> Profile:
    key = name.lower()
    if key not in NAMES:
        raise UnknownProfile(f"unknown profile {name!r}; choose one of {', '.join(NAMES)}")
    data = tomllib.loads(resources.files(__package__).joinpath(f"{key}.toml").read_text())
    hw = data.pop("hardware")
    hw["raid_levels"] = tuple(hw["raid_levels"])
    hw["network_ports"] = tuple(hw.get("network_ports", ()))
    return Profile(name=key, features=frozenset(data.pop("features")), hardware=Hardware(**hw), **data)
