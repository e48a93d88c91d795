"""network_settings.cgi over the simulated interface: what getNetworkInfo reports, each set
method applied to the interface and to the `Network.*` parameters, the API's error codes and
sub-codes for bad input (nothing changed), the administrator-only rule, the audit log, and a
change that would cut off its caller refused unless confirmed."""

from __future__ import annotations

from tests.conftest import client_as, eventually
from tests.network.conftest import API, call, network_client
from vigil.features.network.service import NETWORK_SERVICE
from vigil.hal.network import NETWORK_HARDWARE, Lease


def addresses(device) -> set[str]:
    return {f"{a.address}/{a.prefix}" for a in device.hardware[NETWORK_HARDWARE].state().addresses}


async def test_get_network_info_reports_the_interface_in_use(device, net):
    reply = await call(net, "getNetworkInfo")
    data = reply["data"]
    eth0 = data["devices"][0]
    assert eth0["name"] == "eth0" and eth0["type"] == "wired" and eth0["link"] is True
    assert eth0["macAddress"] == device.identity.mac.lower()
    v4 = eth0["IPv4"]
    assert v4["configurationMode"] == "dhcp" and v4["linkLocalMode"] == "on"
    origins = {a["origin"] for a in v4["addresses"]}
    assert origins == {"dhcp", "linkLocal"}
    assert v4["defaultRouter"] == "192.168.0.1"
    assert v4["staticAddressConfigurations"] == [{"address": "192.168.0.90", "prefixLength": 24,
                                                  "broadcast": "192.168.0.255"}]
    assert eth0["IPv6"]["addresses"][0]["address"].startswith("fe80::")
    system = data["system"]
    assert system["hostname"] == {"useDhcpHostname": True, "hostname": f"vigil-{device.identity.serial.lower()}",
                                  "staticHostname": f"vigil-{device.identity.serial.lower()}"}
    assert system["resolver"]["nameServers"] == ["192.168.0.1"]  # from the simulated DHCP server
    assert system["globalProxies"] == {"httpProxy": "", "httpsProxy": "", "noProxy": ""}


async def test_supported_versions_and_bad_envelopes(net):
    r = await net.post(API, json={"method": "getSupportedVersions", "context": "t"})
    assert r.json()["data"] == {"apiVersions": ["1.0", "1.21"]}
    r = await net.post(API, json={"apiVersion": "9.0", "context": "t", "method": "getNetworkInfo"})
    assert r.json()["error"]["code"] == 4001
    r = await net.post(API, content=b"{not json")
    assert r.json()["error"]["code"] == 3000
    r = await net.post(API, json={"apiVersion": "1.0", "method": "addVlan", "params": {}})
    assert r.json()["error"]["code"] == 4000
    r = await net.get(API)
    assert r.json()["error"]["code"] == 2000


async def test_static_ipv4_is_applied_and_stored(device, net):
    reply = await call(net, "setIPv4AddressConfiguration", {
        "deviceName": "eth0", "configurationMode": "static", "staticDefaultRouter": "10.20.0.1",
        "staticAddressConfigurations": [{"address": "10.20.0.5", "prefixLength": 16}]})
    assert reply["data"] == {}
    await eventually(lambda: "10.20.0.5/16" in addresses(device), 5, "the static address on the interface")
    p = device.params
    assert (p.get("Network.BootProto"), p.get("Network.IPAddress"), p.get("Network.SubnetMask"),
            p.get("Network.Broadcast"), p.get("Network.DefaultRouter")) == (
        "none", "10.20.0.5", "255.255.0.0", "10.20.255.255", "10.20.0.1")
    assert p.get("Network.eth0.IPAddress") == "10.20.0.5" and p.get("Network.Routing.DefaultRouter") == "10.20.0.1"
    assert "192.168.0.90/24" not in addresses(device)  # the DHCP lease is let go
    device.logs.flush()
    assert "set root.Network.IPAddress=10.20.0.5" in device.logs.text("audit")
    info = (await call(net, "getNetworkInfo"))["data"]["devices"][0]["IPv4"]
    assert info["configurationMode"] == "static" and info["defaultRouter"] == "10.20.0.1"


async def test_bad_ipv4_input_is_refused_with_its_sub_code_and_nothing_changes(device, net):
    before = dict(device.params._values)
    cases = [
        ({"staticAddressConfigurations": [{"address": "10.0.0.300", "prefixLength": 24}]}, 104, "not an IPv4"),
        ({"staticAddressConfigurations": [{"address": "10.0.0.5", "prefixLength": 33}]}, 105, "prefix length"),
        ({"staticAddressConfigurations": [{"address": "10.0.0.0", "prefixLength": 24}]}, 107, "network address"),
        ({"staticAddressConfigurations": [{"address": "224.0.0.5", "prefixLength": 24}]}, 104, "multicast"),
        ({"staticAddressConfigurations": [{"address": "10.0.0.5", "prefixLength": 24, "broadcast": "10.0.0.127"}]},
         107, "broadcast address of 10.0.0.0/24 is 10.0.0.255"),
        ({"staticDefaultRouter": "10.9.9.1", "staticAddressConfigurations": [{"address": "10.0.0.5",
                                                                               "prefixLength": 24}]},
         102, "outside the subnet 10.0.0.0/24"),
        ({"configurationMode": "bootp"}, 101, "dhcp or static"),
        ({"linkLocalMode": "sometimes"}, 109, "off, on or fallback"),
        ({"configurationMode": 1}, 101, "wrong type"),
    ]
    for params, sub_code, words in cases:
        reply = await call(net, "setIPv4AddressConfiguration", {"deviceName": "eth0", **params})
        assert reply["error"]["code"] == 4004, (params, reply)
        assert reply["error"]["details"] == {"subCode": sub_code}, (params, reply)
        assert words in reply["error"]["message"], (params, reply)
    reply = await call(net, "setIPv4AddressConfiguration", {"deviceName": "eth9", "configurationMode": "dhcp"})
    assert reply["error"]["code"] == 5000
    reply = await call(net, "setIPv4AddressConfiguration", {"configurationMode": "dhcp"})
    assert reply["error"]["code"] == 4003
    assert dict(device.params._values) == before


async def test_param_cgi_refuses_a_router_outside_the_subnet(device):
    async with client_as(device, "admin") as admin:
        r = await admin.get("/axis-cgi/param.cgi", params={
            "action": "update", "Network.BootProto": "none", "Network.IPAddress": "10.1.2.3",
            "Network.SubnetMask": "255.255.255.0", "Network.DefaultRouter": "10.1.3.1"})
        assert "Error setting 'root.Network.DefaultRouter'" in r.text and "outside the subnet" in r.text
        assert device.params.get("Network.BootProto") == "dhcp"  # nothing of the update was applied
        r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Network.SubnetMask": "255.0.255.0"})
        assert "not a subnet mask" in r.text
        # the same move, whole, is taken and applied
        r = await admin.get("/axis-cgi/param.cgi", params={
            "action": "update", "Network.BootProto": "none", "Network.IPAddress": "10.1.2.3",
            "Network.SubnetMask": "255.255.255.0", "Network.Broadcast": "10.1.2.255",
            "Network.DefaultRouter": "10.1.2.1"})
        assert r.text == "OK\r\n"
    await eventually(lambda: "10.1.2.3/24" in addresses(device), 5, "the address applied from param.cgi")


async def test_the_device_ftp_server_cannot_be_turned_on(device):
    """The device has no FTP server of its own: "yes" is refused with the reason, "no" is taken."""
    async with client_as(device, "admin") as admin:
        r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Network.FTP.Enabled": "yes"})
        assert "Error setting 'root.Network.FTP.Enabled' to 'yes'" in r.text and "no FTP server" in r.text
        assert device.params.get("Network.FTP.Enabled") == "no"
        r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Network.FTP.Enabled": "no"})
        assert r.text == "OK\r\n"


async def test_dhcp_without_a_server_falls_back(device, net):
    sim = device.hardware[NETWORK_HARDWARE]
    sim.offer(None)  # no DHCP server answers
    state = sim.state()
    assert state.dhcp_failed and [a.origin for a in state.ipv4()] == ["linkLocal"]
    await call(net, "setIPv4AddressConfiguration", {"deviceName": "eth0", "useStaticDHCPFallback": True})
    await eventually(lambda: "192.168.0.90/24" in addresses(device), 5, "the static fallback address")
    await call(net, "setIPv4AddressConfiguration", {"deviceName": "eth0", "linkLocalMode": "fallback"})
    await eventually(lambda: not any(a.startswith("169.254.") for a in addresses(device)), 5,
                     "no link-local address while the static fallback holds")
    sim.offer(Lease("192.168.7.20", 24, ("192.168.7.1",), ("192.168.7.1",)))
    assert "192.168.7.20/24" in addresses(device)


async def test_hostname_static_or_from_dhcp(device, net):
    service = device.features[NETWORK_SERVICE]
    sim = device.hardware[NETWORK_HARDWARE]
    reply = await call(net, "setHostnameConfiguration", {"useDhcpHostname": True, "staticHostname": "lobby-nvr"})
    assert reply["data"] == {}
    assert service.hostname() == "lobby-nvr" and sim.hostname == "lobby-nvr"  # DHCP gives none
    sim.offer(Lease("192.168.0.91", 24, ("192.168.0.1",), ("192.168.0.1",), hostname="from-dhcp",
                    ntp_servers=("192.168.0.5",)))
    assert service.hostname() == "from-dhcp" and sim.hostname == "from-dhcp"
    assert device.params.get("Network.VolatileHostName.HostName") == "from-dhcp"
    assert device.params.get("Network.HostName") == "lobby-nvr"  # the certificate and %hostname% read it
    await call(net, "setHostnameConfiguration", {"useDhcpHostname": False})
    assert service.hostname() == "lobby-nvr"
    for bad in ("lobby nvr", "-lobby", "lobby.example.com", "x" * 64, ""):
        reply = await call(net, "setHostnameConfiguration", {"staticHostname": bad})
        assert reply["error"]["code"] == 4004 and reply["error"]["details"] == {"subCode": 100}, bad
    assert device.params.get("Network.HostName") == "lobby-nvr"


async def test_dhcp_lease_reaches_other_features(device):
    """The typed port the time feature uses: the NTP servers DHCP gives, and a callback."""
    service = device.features[NETWORK_SERVICE]
    seen = []
    service.on_lease(seen.append)
    assert service.ntp_servers_from_dhcp() == ()
    lease = Lease("192.168.0.91", 24, ("192.168.0.1",), ("192.168.0.1",), ntp_servers=("192.168.0.5", "192.168.0.6"))
    device.hardware[NETWORK_HARDWARE].offer(lease)
    assert seen == [lease] and service.ntp_servers_from_dhcp() == ("192.168.0.5", "192.168.0.6")
    device.hardware[NETWORK_HARDWARE].offer(None)
    assert seen == [lease, None] and service.ntp_servers_from_dhcp() == ()


async def test_resolver_static_or_from_dhcp(device, net):
    service = device.features[NETWORK_SERVICE]
    sim = device.hardware[NETWORK_HARDWARE]
    reply = await call(net, "setResolverConfiguration", {
        "useDhcpResolverInfo": False, "staticNameServers": ["10.0.0.53", "2001:db8::53"],
        "staticSearchDomains": ["example.com", "lab.example.com"], "staticDomainName": "example.com"})
    assert reply["data"] == {}
    assert sim.resolver.name_servers == ("10.0.0.53", "2001:db8::53")
    assert sim.resolver.search == ("example.com", "lab.example.com")
    assert device.params.get("Network.Resolver.NameServerList") == "10.0.0.53 2001:db8::53"
    await call(net, "setResolverConfiguration", {"useDhcpResolverInfo": True})
    assert sim.resolver.name_servers == ("192.168.0.1",)  # DHCP gives one: it is used
    resolver = (await call(net, "getNetworkInfo"))["data"]["system"]["resolver"]
    assert resolver["nameServers"] == ["192.168.0.1"] and resolver["staticNameServers"] == ["10.0.0.53", "2001:db8::53"]
    for params, sub_code in (({"staticNameServers": ["not-an-ip"]}, 101),
                             ({"staticNameServers": ["1.1.1.1", "1.0.0.1", "9.9.9.9"]}, 101),
                             ({"staticSearchDomains": ["bad domain"]}, 102),
                             ({"staticDomainName": "-x-"}, 103),
                             ({"useDhcpResolverInfo": "yes"}, 100)):
        reply = await call(net, "setResolverConfiguration", params)
        assert reply["error"]["details"] == {"subCode": sub_code}, params
    assert service.static_resolver().name_servers == ("10.0.0.53", "2001:db8::53")


async def test_ipv6_static_addresses_and_router(device, net):
    sim = device.hardware[NETWORK_HARDWARE]
    sim.ra_prefix = "2001:db8:1::/64"
    reply = await call(net, "setIPv6AddressConfiguration", {
        "deviceName": "eth0", "staticAddressConfigurations": [{"address": "2001:db8:5::10", "prefixLength": 64}],
        "staticDefaultRouter": "2001:db8:5::1"})
    assert reply["data"] == {}
    await eventually(lambda: "2001:db8:5::10/64" in addresses(device), 5, "the static IPv6 address")
    assert any(a.startswith("2001:db8:1:") for a in addresses(device))  # from the router advertisement
    assert device.params.get("Network.IPv6.IPAddress") == "2001:db8:5::10/64"
    await call(net, "setIPv6AddressConfiguration", {"deviceName": "eth0", "acceptRA": False})
    await eventually(lambda: not any(a.startswith("2001:db8:1:") for a in addresses(device)), 5, "RA ignored")
    reply = await call(net, "setIPv6AddressConfiguration", {
        "deviceName": "eth0", "staticAddressConfigurations": [{"address": "fe80::5"}]})
    assert reply["error"]["code"] == 4004
    await call(net, "setIPv6AddressConfiguration", {"deviceName": "eth0", "enabled": False})
    await eventually(lambda: not any(":" in a for a in addresses(device)), 5, "IPv6 off")
    reply = await call(net, "setIPv4AddressConfiguration", {"deviceName": "eth0", "enabled": False})
    assert reply["error"]["code"] == 4004 and "IPv6 is off" in reply["error"]["message"]


async def test_only_administrators(device):
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            r = await c.post(API, json={"apiVersion": "1.0", "method": "getNetworkInfo"})
            assert r.status_code == 403
    async with client_as(device, "operator") as c:
        r = await c.post(API, json={"apiVersion": "1.0", "method": "setHostnameConfiguration",
                                    "params": {"staticHostname": "x"}})
        assert r.status_code == 403
    assert device.params.get("Network.HostName") != "x"


async def test_a_change_that_would_cut_off_the_caller_is_refused_unless_confirmed(device):
    """The client at 192.168.0.20 reaches the device at its DHCP address 192.168.0.90."""
    static = {"deviceName": "eth0", "configurationMode": "static", "linkLocalMode": "off",
              "staticAddressConfigurations": [{"address": "10.50.0.5", "prefixLength": 24}],
              "staticDefaultRouter": "10.50.0.1"}
    async with network_client(device, client="192.168.0.20", server="192.168.0.90") as lan:
        reply = await call(lan, "setIPv4AddressConfiguration", static)
        assert reply["error"]["code"] == 4004
        assert "cut you off" in reply["error"]["message"] and "confirm" in reply["error"]["message"]
        assert device.params.get("Network.BootProto") == "dhcp"
        device.logs.flush()
        assert "Network change by root refused" in device.logs.text("system")
        # turning the interface off is the same
        reply = await call(lan, "setDeviceConfiguration", {"deviceName": "eth0", "staticState": "down"})
        assert reply["error"]["code"] == 4004 and "turns the network interface off" in reply["error"]["message"]
        # a new address on the client's own subnet keeps a path: taken
        same_subnet = {**static, "staticAddressConfigurations": [{"address": "192.168.0.77", "prefixLength": 24}],
                       "staticDefaultRouter": "192.168.0.1"}
        assert (await call(lan, "setIPv4AddressConfiguration", same_subnet))["data"] == {}
        await eventually(lambda: "192.168.0.77/24" in addresses(device), 5, "the new address")
    async with network_client(device, client="192.168.0.20", server="192.168.0.77") as lan:
        assert (await call(lan, "setIPv4AddressConfiguration", {**static, "confirm": True}))["data"] == {}
    await eventually(lambda: "10.50.0.5/24" in addresses(device), 5, "the confirmed change")
    # over loopback the caller keeps its path whatever changes
    async with network_client(device) as local:
        assert (await call(local, "setDeviceConfiguration", {"deviceName": "eth0", "staticState": "down"}))["data"] == {}
    await eventually(lambda: not addresses(device), 5, "the interface down")
