"""The parameter groups every device shows: Brand, Properties, Network, HTTPS, System and
RemoteService, each parameter with the owner that makes it take effect
(read-only ones are informational). The I/O groups are the io feature's (io/params.py), the
interface, host name, resolver and proxy ones the network feature's (network/params.py), the
Time group the timesync feature's (timesync/params.py), the StreamProfile group the RTSP
server's (rtsp/profiles.py); the listeners' ports, HTTPS on or off and
"allow access through" are the HTTP layer's (http/ports.py)."""

from __future__ import annotations

from vigil import __version__
from vigil.core.identity import Identity
from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.profiles import Profile

BUILD_DATE = "Nov 23 2026 12:00"
BUILD_NUMBER = "1"
V, OP, A = Role.VIEWER, Role.OPERATOR, Role.ADMIN
YESNO = {"kind": "bool"}


def const(name: str, value: str, read: Role = V) -> ParamDef:
    return ParamDef(name, value, read=read, write=None)


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
    return [
        const(p + "API.HTTP.Version", "3"),
        const(p + "API.HTTP.AdminPath", "/"),
        const(p + "API.Metadata.Metadata", "yes"),
        const(p + "API.Metadata.Version", "1.0"),
        const(p + "API.Browser.UserGroup", "yes"),
        const(p + "ApiDiscovery.ApiDiscovery", "yes"),
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


# The work that will apply the parameters declared pending below (docs/parameters.md).
SECURITY = "system settings: security"
TLS = "security: TLS versions of the HTTPS listener"
# Where they take effect, once applied: packages under vigil/features/ that do not exist yet,
# or the network feature, the HTTP layer and the RTSP server that hold the listeners.
LATER_SECURITY = "security"

# One-click cloud connection (O3C) needs Axis's own dispatch service, which no one else runs:
# the device has no O3C client. `RemoteService.Enabled` stays, at "no": hardening scripts set it
# to "no" in the same param.cgi update as `Network.SSH.Enabled=no`, and an update is all or
# nothing, so refusing the parameter would keep them from turning SSH off. Turning it on is
# refused with the reason; the dispatcher's address and proxy settings are not in the tree.
O3C_ENABLED = "RemoteService.Enabled"
NO_O3C = "the device has no one-click cloud connection (O3C): there is no dispatch service to connect to"
BY_HTTP = applied("http")


def network(profile: Profile, identity: Identity) -> list[ParamDef]:
    n = "Network."
    limits = applied("http", how="listener")
    return [
        ParamDef(n + "SSH.Enabled", "no", **YESNO, owner=applied("ssh", how="listener")),
        ParamDef(n + "HTTP.AuthenticationPolicy", "basic_digest", "enum", ("basic", "digest", "basic_digest"),
                 owner=applied("core.auth", "rtsp")),
        # Exhaustion limits of the HTTP and HTTPS listeners (vigil/http/limits.py); they apply to
        # the next connection, without a restart.
        ParamDef(n + "HTTP.MaxHeaderBytes", "16384", "int", minimum=1024, maximum=1048576, owner=limits),
        ParamDef(n + "HTTP.HeaderTimeout", "10", "int", minimum=1, maximum=600, owner=limits),
        ParamDef(n + "HTTP.BodyTimeout", "30", "int", minimum=1, maximum=3600, owner=limits),
        ParamDef(n + "HTTP.IdleTimeout", "5", "int", minimum=1, maximum=3600, owner=limits),
        ParamDef(n + "HTTP.MaxClientConnections", "64", "int", minimum=8, maximum=10000, owner=limits),  # a browser opens 6
        ParamDef(n + "HTTP.MaxConnections", "512", "int", minimum=16, maximum=100000, owner=limits),
        ParamDef(n + "RTSP.ProtViewer", "password", "enum", ("password", "anonymous"), owner=applied("rtsp")),
        # Exhaustion limits of the RTSP server, applied to the next connection.
        ParamDef(n + "RTSP.MaxConnections", "256", "int", minimum=1, maximum=10000, owner=applied("rtsp")),
        ParamDef(n + "RTSP.MaxClientConnections", "32", "int", minimum=1, maximum=10000, owner=applied("rtsp")),
        ParamDef(n + "RTSP.MaxSessions", "256", "int", minimum=1, maximum=10000, owner=applied("rtsp")),
        ParamDef(n + "RTSP.RequestTimeout", "10", "int", minimum=1, maximum=600, owner=applied("rtsp")),
    ]


def https_group() -> list[ParamDef]:
    return [
        ParamDef("HTTPS.AllowTLS12", "yes", **YESNO, owner=applied("http", how="listener")),
    ]


def system_group() -> list[ParamDef]:
    s = "System."
    guard = applied("core.auth")
    return [
        ParamDef(s + "BoaProtViewer", "password", "enum", ("password", "anonymous"), owner=BY_HTTP),
        ParamDef(s + "BruteForce.Enabled", "yes", **YESNO, owner=guard),
        ParamDef(s + "BruteForce.BlockingPeriod", "10", "int", minimum=1, maximum=86400, owner=guard),
        ParamDef(s + "BruteForce.PageFailuresPerSecond", "20", "int", minimum=1, maximum=1000, owner=guard),
        ParamDef(s + "BruteForce.DeviceFailuresPerSecond", "100", "int", minimum=1, maximum=10000, owner=guard),
        # Slow guessing: more than WindowFailures failures from one address within Window seconds
        # block it too (the two above count within one second only).
        ParamDef(s + "BruteForce.WindowFailures", "10", "int", minimum=1, maximum=100000, owner=guard),
        ParamDef(s + "BruteForce.Window", "60", "int", minimum=1, maximum=86400, owner=guard),
        ParamDef(s + "Theme", "light", "enum", ("light", "dark"), read=V, write=V,
                 owner=applied("web", note="the web interface's colours")),
    ]


def remote_service() -> list[ParamDef]:
    return [ParamDef(O3C_ENABLED, "no", "enum", ("yes", "no", "oneclick"), owner=applied(
        "system", note="Refused when turned on: the device has no O3C client (no dispatch service exists "
        "to connect to); \"no\" is taken, as hardening scripts set it."))]


def refuse_o3c(new: dict[str, str]) -> tuple[str, str] | None:
    """The tree's veto: one-click cloud connection cannot be turned on."""
    if new.get(O3C_ENABLED, "no") != "no":
        return O3C_ENABLED, NO_O3C
    return None


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
