"""The parameter groups every device shows: Brand, Properties, Network, Time, HTTPS, System,
RemoteService, StreamProfile, and the I/O groups where the profile has I/O ports."""

from __future__ import annotations

from collections.abc import Callable

from vigil import __version__
from vigil.core import checks
from vigil.core.identity import Identity
from vigil.core.params import ParamDef, ParamTemplate
from vigil.core.roles import Role
from vigil.profiles import Profile

BUILD_DATE = "Nov 23 2026 12:00"
BUILD_NUMBER = "1"
V, OP, A = Role.VIEWER, Role.OPERATOR, Role.ADMIN
YESNO = {"kind": "bool"}


def const(name: str, value: str, read: Role = V) -> ParamDef:
    return ParamDef(name, value, read=read, write=None)


def live(name: str, getter: Callable[[], str], read: Role = V) -> ParamDef:
    return ParamDef(name, "", read=read, write=None, dynamic=getter)


def brand(profile: Profile) -> list[ParamDef]:
    return [
        const("Brand.Brand", profile.full_name.split()[0]),
        const("Brand.ProdFullName", profile.full_name),
        const("Brand.ProdNbr", profile.model),
        const("Brand.ProdShortName", profile.short_name),
        const("Brand.ProdType", profile.prod_type),
        const("Brand.ProdVariant", profile.variant),
        const("Brand.WebURL", "https://vigil.invalid/"),
    ]


def properties(profile: Profile, identity: Identity) -> list[ParamDef]:
    p = "Properties."
    defs = [
        const(p + "API.HTTP.Version", "3"),
        const(p + "API.HTTP.AdminPath", "/"),
        const(p + "API.Metadata.Metadata", "yes"),
        const(p + "API.Metadata.Version", "1.0"),
        const(p + "API.Browser.UserGroup", "yes"),
        const(p + "ApiDiscovery.ApiDiscovery", "yes"),
        const(p + "EmbeddedDevelopment.EmbeddedDevelopment", "no"),
        const(p + "Firmware.BuildDate", BUILD_DATE),
        const(p + "Firmware.BuildNumber", BUILD_NUMBER),
        const(p + "Firmware.Version", __version__),
        const(p + "HTTPS.HTTPS", "yes"),
        const(p + "PTZ.PTZ", "no"),
        const(p + "System.Architecture", profile.architecture),
        const(p + "System.HardwareID", profile.hardware_id),
        const(p + "System.Language", "English"),
        const(p + "System.SerialNumber", identity.serial),
        const(p + "System.Soc", profile.soc),
    ]
    if profile.hardware.io_ports:
        defs += [const(p + "IO.ManualTriggerNbr", "6"), const(p + "VirtualInput.VirtualInput", "yes")]
    return defs


def network(profile: Profile, identity: Identity) -> list[ParamDef]:
    n = "Network."
    host = f"vigil-{identity.serial.lower()}"
    friendly = f"{profile.short_name} - {identity.serial}"
    return [
        ParamDef(n + "BootProto", "dhcp", "enum", ("dhcp", "none"), read=V),
        ParamDef(n + "IPAddress", "192.168.0.90", check=checks.ipv4, read=V),
        ParamDef(n + "SubnetMask", "255.255.255.0", check=checks.ipv4),
        ParamDef(n + "Broadcast", "192.168.0.255", check=checks.ipv4),
        ParamDef(n + "DefaultRouter", "192.168.0.1", check=checks.ipv4),
        ParamDef(n + "DNSServer1", "0.0.0.0", check=checks.ipv4),
        ParamDef(n + "DNSServer2", "0.0.0.0", check=checks.ipv4),
        ParamDef(n + "DomainName", "", check=checks.hostname_or_empty),
        ParamDef(n + "HostName", host, check=checks.hostname, read=V),
        ParamDef(n + "Enabled", "yes", **YESNO),
        live(n + "eth0.MACAddress", lambda: identity.mac),
        ParamDef(n + "Bonjour.Enabled", "yes", **YESNO),
        ParamDef(n + "Bonjour.FriendlyName", friendly, maxlen=63),
        ParamDef(n + "UPnP.Enabled", "yes", **YESNO),
        ParamDef(n + "UPnP.FriendlyName", friendly, maxlen=63),
        ParamDef(n + "FTP.Enabled", "no", **YESNO),
        ParamDef(n + "SSH.Enabled", "no", **YESNO),
        ParamDef(n + "HTTP.AuthenticationPolicy", "basic_digest", "enum", ("basic", "digest", "basic_digest")),
        ParamDef(n + "HTTP.Port", "80", "int", minimum=1, maximum=65535, check=checks.service_port),
        # Exhaustion limits of the HTTP and HTTPS listeners (vigil/http/limits.py); they apply to
        # the next connection, without a restart.
        ParamDef(n + "HTTP.MaxHeaderBytes", "16384", "int", minimum=1024, maximum=1048576),
        ParamDef(n + "HTTP.HeaderTimeout", "10", "int", minimum=1, maximum=600),
        ParamDef(n + "HTTP.BodyTimeout", "30", "int", minimum=1, maximum=3600),
        ParamDef(n + "HTTP.IdleTimeout", "5", "int", minimum=1, maximum=3600),
        ParamDef(n + "HTTP.MaxClientConnections", "64", "int", minimum=8, maximum=10000),  # a browser opens 6
        ParamDef(n + "HTTP.MaxConnections", "512", "int", minimum=16, maximum=100000),
        ParamDef(n + "Resolver.ObtainFromDHCP", "yes", **YESNO),
        ParamDef(n + "Resolver.NameServerList", "", check=checks.host_list),
        ParamDef(n + "Resolver.Search", "", check=checks.hostname_or_empty),
        ParamDef(n + "RTSP.Enabled", "yes", **YESNO),
        ParamDef(n + "RTSP.Port", "554", "int", minimum=1, maximum=65535),
        ParamDef(n + "RTSP.ProtViewer", "password", "enum", ("password", "anonymous")),
        # Exhaustion limits of the RTSP metadata server, applied to the next connection.
        ParamDef(n + "RTSP.MaxConnections", "256", "int", minimum=1, maximum=10000),
        ParamDef(n + "RTSP.MaxClientConnections", "32", "int", minimum=1, maximum=10000),
        ParamDef(n + "RTSP.MaxSessions", "256", "int", minimum=1, maximum=10000),
        ParamDef(n + "RTSP.RequestTimeout", "10", "int", minimum=1, maximum=600),
        ParamDef(n + "Interface.I0.dot1x.Enabled", "no", **YESNO),
        ParamDef(n + "Interface.I0.dot1x.EAPOLVersion", "1", "enum", ("1", "2")),
        ParamDef(n + "Interface.I0.dot1x.EAPTLS.Identity", ""),
        ParamDef(n + "Interface.I0.dot1x.EAPTLS.PrivateKeyPassword", "", "password", maxlen=64),
        ParamDef(n + "ZeroConf.Enabled", "yes", **YESNO),
    ]


def time_group() -> list[ParamDef]:
    t = "Time."
    return [
        ParamDef(t + "SyncSource", "NTP", "enum", ("NTP", "None")),
        ParamDef(t + "ObtainFromDHCP", "yes", **YESNO),
        ParamDef(t + "TimeZone", "Etc/UTC", maxlen=64, ascii_only=True, read=OP, check=checks.iana_zone),
        ParamDef(t + "POSIXTimeZone", "UTC0", maxlen=64, ascii_only=True, read=OP),
        ParamDef(t + "DST.Enabled", "no", **YESNO, read=OP),
        ParamDef(t + "NTP.Server", "", check=checks.host_list),
        ParamDef(t + "NTP.NTS", "no", **YESNO),
        const(t + "NTP.VolatileServer", "", read=A),
    ]


def https_group() -> list[ParamDef]:
    return [
        ParamDef("HTTPS.Enabled", "yes", **YESNO),
        ParamDef("HTTPS.Port", "443", "int", minimum=1, maximum=65535, check=checks.service_port),
        ParamDef("HTTPS.AllowAccessThrough", "both", "enum", ("http", "https", "both")),
        ParamDef("HTTPS.AllowTLS12", "yes", **YESNO),
    ]


def system_group() -> list[ParamDef]:
    s = "System."
    return [
        ParamDef(s + "BoaProtViewer", "password", "enum", ("password", "anonymous")),
        ParamDef(s + "BoaProtPTZOperator", "password", "enum", ("password", "anonymous")),
        ParamDef(s + "BruteForce.Enabled", "yes", **YESNO),
        ParamDef(s + "BruteForce.BlockingPeriod", "10", "int", minimum=1, maximum=86400),
        ParamDef(s + "BruteForce.PageFailuresPerSecond", "20", "int", minimum=1, maximum=1000),
        ParamDef(s + "BruteForce.DeviceFailuresPerSecond", "100", "int", minimum=1, maximum=10000),
        # Slow guessing: more than WindowFailures failures from one address within Window seconds
        # block it too (the two above count within one second only).
        ParamDef(s + "BruteForce.WindowFailures", "10", "int", minimum=1, maximum=100000),
        ParamDef(s + "BruteForce.Window", "60", "int", minimum=1, maximum=86400),
        ParamDef(s + "Theme", "light", "enum", ("light", "dark"), read=V, write=V),
    ]


def remote_service() -> list[ParamDef]:
    r = "RemoteService."
    return [
        ParamDef(r + "Enabled", "no", "enum", ("yes", "no", "oneclick")),
        ParamDef(r + "ServerList", "", check=checks.host_list, maxlen=1024),
        ParamDef(r + "ProxyServer", "", check=checks.hostname_or_empty),
        ParamDef(r + "ProxyPort", "3128", "int", minimum=1, maximum=65535),
        ParamDef(r + "ProxyLogin", ""),
        ParamDef(r + "ProxyPassword", "", "password", maxlen=64),
    ]


STREAM_PROFILE = ParamTemplate(
    name="streamprofile",
    parent="StreamProfile",
    letter="S",
    params=(
        ParamDef("Name", "profile", maxlen=32, read=V, write=OP),
        ParamDef("Description", "", maxlen=128, read=V, write=OP),
        ParamDef("Parameters", "videocodec=h264", maxlen=512, read=V, write=OP),
    ),
    max_groups=26,
)


def stream_profiles() -> list[ParamDef]:
    return [const("StreamProfile.MaxGroups", str(STREAM_PROFILE.max_groups))]


def io_ports(profile: Profile) -> list[ParamDef]:
    """IOPort.I<n> for each physical port, with the Input/Output counts."""
    hw = profile.hardware
    defs: list[ParamDef] = []
    kinds = (["input"] * hw.io_inputs + ["output"] * hw.io_outputs
             + ["configurable"] * hw.configurable_io + ["relay"] * hw.relays)
    for index, kind in enumerate(kinds):
        g = f"IOPort.I{index}."
        configurable = kind == "configurable"
        direction = "output" if kind in ("output", "relay") else "input"
        defs += [
            const(g + "Configurable", "yes" if configurable else "no"),
            ParamDef(g + "Direction", direction, "enum", ("input", "output"), read=V,
                     write=A if configurable else None),
            ParamDef(g + "Usage", "Relay" if kind == "relay" else "", maxlen=64, read=V),
            ParamDef(g + "Input.Name", f"I/O {index + 1}" if kind != "relay" else "Relay", maxlen=64, read=V),
            ParamDef(g + "Input.Trig", "closed", "enum", ("closed", "open"), read=V),
            ParamDef(g + "Input.Supervised", "no", **YESNO, read=V),
            ParamDef(g + "Output.Name", f"I/O {index + 1}" if kind != "relay" else "Relay", maxlen=64, read=V),
            ParamDef(g + "Output.Active", "closed", "enum", ("closed", "open"), read=V),
            ParamDef(g + "Output.Button", "none", "enum", ("none", "pulse", "actinact"), read=V),
            ParamDef(g + "Output.PulseTime", "0", "int", minimum=0, maximum=65535, read=V),
        ]
    inputs = sum(1 for k in kinds if k in ("input", "configurable"))
    outputs = sum(1 for k in kinds if k in ("output", "configurable", "relay"))
    return defs + [const("Input.NbrOfInputs", str(inputs)), const("Output.NbrOfOutputs", str(outputs))]


# Settings a "Restore" (soft factory default) keeps, as the manual lists them.
KEPT_ON_RESTORE = (
    "Network.BootProto",
    "Network.IPAddress",
    "Network.DefaultRouter",
    "Network.SubnetMask",
    "Network.Broadcast",
    "Network.DNSServer1",
    "Network.DNSServer2",
    "Network.Resolver.NameServerList",
    "Network.Interface.I0.dot1x.",
    "RemoteService.",
)
