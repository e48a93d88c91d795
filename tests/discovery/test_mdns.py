"""Bonjour against a real browser: avahi-daemon and avahi-browse in the peers' namespace see the
device's `_axis-video._tcp` service with the TXT record Home Assistant reads, under the Bonjour
name; a new name shows at once, and turned off the device is gone and answers no query."""

from __future__ import annotations

from tests.discovery.conftest import Served, until
from tests.peers.lan import Avahi, needs_lan

pytestmark = needs_lan


def named(avahi: Avahi, kind: str, name: str):
    return lambda: [s for s in avahi.browse(kind) if s.name == name]


async def test_avahi_finds_the_device_with_the_txt_record_home_assistant_reads(served: Served, avahi: Avahi) -> None:
    device = served.device
    name = f"Vigil S3016 - {device.identity.serial}"
    found = await until(named(avahi, "_axis-video._tcp", name), 15, "the _axis-video._tcp service")
    service = found[0]
    assert service.address == served.lan.device_address
    assert service.port == device.ports.http
    assert service.host == f"vigil-{device.identity.serial.lower()}.local"
    assert f"macaddress={device.identity.serial}" in service.txt
    assert await until(named(avahi, "_http._tcp", name), 15, "the _http._tcp service")
    assert served.discovery.status()["bonjour"] == {"state": "on", "name": name}


async def test_a_new_name_is_announced_at_once_and_the_old_one_leaves(served: Served, avahi: Avahi) -> None:
    old = f"Vigil S3016 - {served.device.identity.serial}"
    await until(named(avahi, "_axis-video._tcp", old), 15, "the first name")
    await served.set(**{"Network.Bonjour.FriendlyName": "Lobby recorder ö"})
    await until(named(avahi, "_axis-video._tcp", "Lobby recorder ö"), 15, "the new name")
    await until(lambda: not named(avahi, "_axis-video._tcp", old)(), 15, "the old name's goodbye")


async def test_turned_off_it_says_goodbye_and_answers_no_query(served: Served, avahi: Avahi) -> None:
    name = f"Vigil S3016 - {served.device.identity.serial}"
    await until(named(avahi, "_axis-video._tcp", name), 15, "the service")
    await served.set(**{"Network.Bonjour.Enabled": "no"})
    await until(lambda: not named(avahi, "_axis-video._tcp", name)(), 15, "the goodbye")
    # A fresh browse queries the network again: nothing answers.
    assert named(avahi, "_axis-video._tcp", name)() == []
    assert named(avahi, "_http._tcp", name)() == []
    assert served.discovery.status()["bonjour"] == {"state": "off"}
    await served.set(**{"Network.Bonjour.Enabled": "yes"})
    await until(named(avahi, "_axis-video._tcp", name), 15, "the service again")
