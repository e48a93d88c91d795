"""Feature packages, one per manual chapter, and the table that loads them.

A feature loads where the profile lists its name (`features = [...]` in the profile's TOML); the
table's order is the load order: a feature comes after the features whose services it uses.
Adding a feature package: see docs/adding-a-feature.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vigil.device import Device
from vigil.features import (
    apps,
    audio,
    beacon,
    cameraevents,
    certificates,
    discovery,
    dot1x,
    events,
    eventstream,
    firewall,
    firmware,
    io,
    light,
    mqtt,
    multicast,
    network,
    notify,
    oidc,
    onvif,
    panel,
    playback,
    poe,
    power,
    recording,
    sip,
    snmp,
    ssh,
    storage,
    syslog,
    timesync,
    troubleshoot,
    wlan,
)


@dataclass(frozen=True)
class Feature:
    name: str  # as the profiles list it
    register: Callable[[Device], None]


FEATURES: tuple[Feature, ...] = (
    Feature("certificates", certificates.register),  # first: every TLS client and server takes its certificates from it
    Feature("network", network.register),  # first: every outbound client asks it for the global proxies
    Feature("eventstream", eventstream.register),
    Feature("io", io.register),
    Feature("poe", poe.register),
    Feature("storage", storage.register),  # before recording: it gives the recorder its volumes
    Feature("recording", recording.register),
    Feature("audio", audio.register),
    Feature("light", light.register),  # before events: its action types are in the rules
    Feature("playback", playback.register),  # after audio: it plays through its hardware
    Feature("sip", sip.register),  # after playback and audio: calls take the speaker and the microphone
    Feature("multicast", multicast.register),  # after playback and network: it plays through the player
    Feature("notify", notify.register),  # after storage: network share recipients write to its shares
    Feature("beacon", beacon.register),  # after io: its rules use the outputs; before events
    Feature("power", power.register),
    Feature("wlan", wlan.register),  # after network: it switches over from the wired interface
    Feature("events", events.register),  # after io and recording: their action types are in the rules
    Feature("mqtt", mqtt.register),
    Feature("panel", panel.register),  # after storage and poe: its LEDs show their state
    Feature("snmp", snmp.register),  # after storage: it reads the volumes and the disk hardware
    Feature("discovery", discovery.register),
    Feature("timesync", timesync.register),
    Feature("syslog", syslog.register),
    Feature("troubleshoot", troubleshoot.register),
    Feature("firmware", firmware.register),  # after certificates: releases are verified against its keystore
    Feature("oidc", oidc.register),  # after network: it asks for the global proxies
    Feature("ssh", ssh.register),
    Feature("firewall", firewall.register),
    Feature("dot1x", dot1x.register),
    Feature("apps", apps.register),  # after certificates: its CA certificates vouch for signed apps
    Feature("onvif", onvif.register),  # last: it uses io, recording, discovery and timesync
    Feature("cameraevents", cameraevents.register),  # after recording and onvif (its client)
)


def register_features(device: Device) -> None:
    for feature in FEATURES:
        if device.profile.has(feature.name):
            feature.register(device)
