"""The discovery service: keeps each protocol (Bonjour, UPnP, WS-Discovery, LLDP/CDP) in the
state its settings ask for, while the device serves.

A change of a setting (a parameter listener), of the interfaces (the network settings call
`use_interfaces`; for the default choice the interfaces are looked at again every
`RESCAN` seconds) or of the HTTP port (`refresh`) wakes one loop that compares, per protocol,
what should run with what runs, and stops and starts only what differs: a protocol turned off
sends its goodbyes (mDNS goodbye, ssdp:byebye, Bye, an LLDP shutdown frame) and then announces
and answers nothing. A protocol that cannot start (a port taken, no permission) is reported
in `status()` with the reason and logged, and the others go on; it is tried again at the next
change. When the device stops, every protocol says goodbye.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from vigil.core.params import Change
from vigil.core.registry import Key
from vigil.features.discovery.const import (
    BONJOUR_ENABLED,
    BONJOUR_NAME,
    HOST_NAME,
    LLDP_ENABLED,
    SETTINGS,
    UPNP_ENABLED,
    UPNP_NAME,
    WSD_ENABLED,
    WSD_SCOPES,
)
from vigil.features.discovery.interfaces import Interface, from_network, interfaces_for
from vigil.features.discovery.lldp import Lldp
from vigil.features.discovery.mdns import Bonjour
from vigil.features.discovery.model import Facts, Settings
from vigil.features.discovery.ssdp import Upnp
from vigil.features.discovery.wsdiscovery import WsDiscovery
from vigil.hal.network import InterfaceState
from vigil.http.ports import HTTP_PORT

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.discovery")
RESCAN = 30.0  # seconds between two looks at the host's interfaces (default choice only)


class Announcer(Protocol):
    label: str

    def wanted(self, settings: Settings) -> tuple | None:
        """What it should run with (compared for changes), or None: it should not run."""

    async def start(self, settings: Settings) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class State:
    state: str = "off"  # off | on | failed | no-interface
    error: str = ""
    since: float = 0.0


class DiscoveryService:
    def __init__(self, device: Device, announcers: dict[str, Announcer] | None = None) -> None:
        self.params = device.params
        self.logs = device.logs
        self.listening = device.listening  # where the web server serves now: it is announced
        self.facts = Facts.of(device.profile, device.identity)
        start_id = int(time.time()) & 0x7FFFFFFF
        self.bonjour = Bonjour(self.facts)
        self.upnp = Upnp(self.facts, start_id)
        self.wsdiscovery = WsDiscovery(self.facts, start_id)
        self.lldp = Lldp(self.facts)
        self.announcers: dict[str, Announcer] = announcers or {
            "bonjour": self.bonjour, "upnp": self.upnp, "wsdiscovery": self.wsdiscovery, "lldp": self.lldp}
        self.states = {name: State() for name in self.announcers}
        self._running: dict[str, tuple] = {}  # name -> what it runs with
        self._interfaces: tuple[Interface, ...] | None = None  # set by the network settings
        self._default_interfaces: Callable[[], list[Interface]] = lambda: interfaces_for(self.listening.host)
        self._wake: asyncio.Event | None = None
        self.settings: Settings | None = None

    # -- what other parts call ----------------------------------------------------------
    def on_params(self, changes: list[Change], actor: str) -> None:
        """The tree's listener: a discovery setting changed."""
        # The HTTP port too: the announcements name it, and the listener has moved by now
        # (vigil/http/ports.py follows the tree before any feature does).
        if any(c.name in SETTINGS or c.name == HTTP_PORT for c in changes):
            self.refresh()

    def refresh(self) -> None:
        """Compare the settings with what runs, now (e.g. after the HTTP port moved)."""
        if self._wake is not None:
            self._wake.set()

    def use_interfaces(self, interfaces: Sequence[Interface] | None) -> None:
        """The interfaces to announce on, as the network settings configure them (None: back to
        the ones of the address the device listens on)."""
        self._interfaces = tuple(interfaces) if interfaces is not None else None
        self.refresh()

    def on_network(self, state: InterfaceState) -> None:
        """The network settings' interface changed (`NetworkService.on_interface`): announce on its
        addresses when it is one of this machine's interfaces."""
        self.use_interfaces(from_network(state))

    def read_settings(self) -> Settings:
        p = self.params
        interfaces = self._interfaces if self._interfaces is not None else tuple(self._default_interfaces())
        return Settings(interfaces=interfaces, http_port=self.listening.http, host_name=p.get(HOST_NAME),
                        bonjour=p.get_bool(BONJOUR_ENABLED), bonjour_name=p.get(BONJOUR_NAME),
                        upnp=p.get_bool(UPNP_ENABLED), upnp_name=p.get(UPNP_NAME),
                        wsdiscovery=p.get_bool(WSD_ENABLED), scopes=self.scopes(), lldp=p.get_bool(LLDP_ENABLED))

    def scopes(self) -> tuple[str, ...]:
        """The WS-Discovery scopes: the fixed ones (`facts.scopes`), then the configured ones."""
        configured = [s for s in self.params.get(WSD_SCOPES).split() if s not in self.facts.scopes]
        return self.facts.scopes + tuple(dict.fromkeys(configured))

    def status(self) -> dict[str, Any]:
        settings = self.settings or self.read_settings()
        out: dict[str, Any] = {"interfaces": [{"name": i.name, "address": i.address} for i in settings.interfaces]}
        for name, state in self.states.items():
            out[name] = {"state": state.state, **({"error": state.error} if state.error else {})}
        if self.announcers.get("bonjour") is self.bonjour and self.states["bonjour"].state == "on":
            out["bonjour"]["name"] = self.bonjour.name
        return out

    # -- the loop ------------------------------------------------------------------------
    async def run(self) -> None:
        """Runs while the device serves (a `device.services` entry)."""
        self._wake = asyncio.Event()
        try:
            while True:
                await self.reconcile()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), RESCAN)
                self._wake.clear()
        finally:
            self._wake = None
            await asyncio.shield(self._stop_all())

    async def reconcile(self) -> None:
        settings = self.settings = self.read_settings()
        for name, announcer in self.announcers.items():
            wanted = announcer.wanted(settings)
            if name in self._running and self._running[name] == wanted:
                continue
            if name in self._running:
                await self._stop(name)
            state = self.states[name]
            if wanted is None:
                enabled_without_interface = announcer.wanted(_with_any_interface(settings)) is not None
                self._set(name, "no-interface" if enabled_without_interface else "off")
                continue
            try:
                await announcer.start(settings)
            except asyncio.CancelledError:  # the device stops while this one starts: undo what it began
                with contextlib.suppress(Exception):
                    await asyncio.shield(announcer.stop())
                raise
            except Exception as err:  # a port taken, no permission, a library's refusal
                reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
                if state.state != "failed" or state.error != reason:
                    self.logs.system(f"{announcer.label} cannot start: {reason}", "warning")
                self._set(name, "failed", reason)
                with contextlib.suppress(Exception):
                    await announcer.stop()
                continue
            self._running[name] = wanted
            self._set(name, "on")
            shown = ", ".join(i.address for i in settings.interfaces)
            log.info("%s announces on %s", announcer.label, shown)

    async def _stop(self, name: str) -> None:
        self._running.pop(name, None)
        try:
            await self.announcers[name].stop()
        except Exception as err:
            log.warning("%s did not stop cleanly: %s", self.announcers[name].label, err)

    async def _stop_all(self) -> None:
        for name in list(self._running):
            await self._stop(name)
            self._set(name, "off")

    def _set(self, name: str, state: str, error: str = "") -> None:
        current = self.states[name]
        if (current.state, current.error) != (state, error):
            self.states[name] = State(state, error, time.time())


def _with_any_interface(settings: Settings) -> Settings:
    """`settings` as if there were an interface: tells "turned off" from "nowhere to announce"."""
    return dataclasses.replace(settings, interfaces=(Interface("-", "0.0.0.0"),))


DISCOVERY_SERVICE: Key[DiscoveryService] = Key("discovery")
