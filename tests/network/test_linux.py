"""The Linux backend for real, inside network namespaces the test makes: a `vigil run` process
manages the device side of a veth pair (VIGIL_HAL=linux), with dnsmasq as the LAN's DHCP server
and BIND (named) as its DNS server taking dynamic updates, on the other side. The test drives the
device's API from a thread inside the device's namespace and reads the interface with `ip -j`.
Nothing of the host's own network changes; the namespaces go away at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, wait_until
from tests.network.netns import Lan, can_make_namespaces, inside, ip_json, lan, run
from tests.peers.processes import stop_process

WHY_NOT = can_make_namespaces() or ("" if shutil.which("dnsmasq") and shutil.which("named") else
                                    "dnsmasq and named (make debs installs them) are needed")
pytestmark = pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT or "ok")
API = "/axis-cgi/network_settings.cgi"
HTTP_PORT = 8080  # inside the device's namespace: nothing else listens there


def start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Lan]:
    """The LAN with its DHCP and DNS servers, the device's MAC given the name cam-from-dhcp."""
    with lan("a", "10.77.31") as net:
        mac = ip_json(net.device_ns, "link", "show", "dev", net.device_if)[0]["address"]
        zone = tmp_path / "example.test.zone"
        zone.write_text("$TTL 60\n@ IN SOA ns.example.test. admin.example.test. 1 60 60 600 60\n"
                        f"@ IN NS ns.example.test.\nns IN A {net.server}\n")
        named_conf = tmp_path / "named.conf"
        named_conf.write_text(f"""options {{ directory "{tmp_path}"; listen-on port 53 {{ {net.server}; }};
  listen-on-v6 {{ none; }}; pid-file "{tmp_path}/named.pid"; recursion no; dnssec-validation no; }};
zone "example.test" {{ type master; file "{zone}"; allow-update {{ {net.prefix}.0/24; }}; }};
""")
        dnsmasq = start(["ip", "netns", "exec", net.server_ns, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                         "--port=0", f"--interface={net.server_if}", "--bind-interfaces", "--user=root",
                         f"--dhcp-range={net.prefix}.50,{net.prefix}.60,255.255.255.0,2m",
                         f"--dhcp-option=option:router,{net.server}", f"--dhcp-option=option:dns-server,{net.server}",
                         "--dhcp-option=option:domain-name,example.test",
                         f"--dhcp-option=option:ntp-server,{net.server}",
                         f"--dhcp-host={mac},{net.prefix}.55,cam-from-dhcp",
                         f"--dhcp-leasefile={tmp_path}/leases", f"--pid-file={tmp_path}/dnsmasq.pid"],
                        tmp_path / "dnsmasq.log")
        named = start(["ip", "netns", "exec", net.server_ns, "named", "-g", "-c", str(named_conf)],
                      tmp_path / "named.log")
        try:
            wait_until(lambda: "running" in (tmp_path / "named.log").read_text(), 10, "named to start")
            yield net
        finally:
            stop_process(dnsmasq)
            stop_process(named)


@pytest.fixture
def device(network: Lan, tmp_path: Path) -> Iterator[subprocess.Popen]:
    env = {**os.environ, "VIGIL_HAL": "linux", "VIGIL_NET_INTERFACE": network.device_if,
           "VIGIL_RESOLV_CONF": str(tmp_path / "resolv.conf"), "VIGIL_NET_SET_HOSTNAME": "yes",
           "PYTHONUNBUFFERED": "1"}
    # unshare --uts: the device sets the host name of its own namespace, never the machine's.
    process = subprocess.Popen(
        ["ip", "netns", "exec", network.device_ns, "unshare", "--uts", sys.executable, "-m", "vigil", "run",
         "--profile", "s3016", "--data", str(tmp_path / "data"), "--host", "127.0.0.1", "--http-port",
         str(HTTP_PORT), "--https-port", "8443", "--rtsp-port", "8554"],
        env=env, stdout=(tmp_path / "vigil.log").open("wb"), stderr=subprocess.STDOUT)
    yield process
    stop_process(process, 10)


def http(method: str, path: str, **kw) -> httpx.Response:
    """A request to the device, sent from inside its namespace."""
    return httpx.request(method, f"http://127.0.0.1:{HTTP_PORT}{path}", timeout=10, **kw)


def api(method: str, params: dict | None = None) -> dict:
    body = {"apiVersion": "1.0", "method": method, **({"params": params} if params is not None else {})}
    return http("POST", API, json=body, auth=httpx.DigestAuth(*ADMIN)).json()


def announced(call: Callable[..., Any]) -> list[dict]:
    """The interfaces discovery announces on (/vigil/discovery)."""
    return call(http, "GET", "/vigil/discovery", auth=httpx.DigestAuth(*ADMIN)).json()["interfaces"]


def dig(net: Lan, name: str) -> str:
    return run("ip", "netns", "exec", net.server_ns, "dig", "+short", f"@{net.server}", name, "A").strip()


def test_the_device_configures_a_real_interface(network: Lan, device: subprocess.Popen, tmp_path: Path):
    net = network
    with inside(net.device_ns) as call:
        def ready() -> bool:
            if device.poll() is not None:
                raise RuntimeError((tmp_path / "vigil.log").read_text()[-3000:])
            try:
                return call(http, "GET", "/vigil/session").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, 30, "vigil to listen inside its namespace")
        r = call(http, "POST", "/axis-cgi/pwdgrp.cgi", data={
            "action": "add", "user": ADMIN[0], "pwd": ADMIN[1], "grp": "users", "sgrp": "admin:operator:viewer:ptz"})
        assert "Created account" in r.text

        # DHCP: the lease from dnsmasq, its router, DNS server, domain, host name and NTP server
        wait_until(lambda: f"{net.prefix}.55/24" in net.addresses(), 30, "the DHCP address on the interface")
        assert net.default_router() == net.server
        info = call(api, "getNetworkInfo")["data"]
        eth0 = info["devices"][0]
        assert {"address": f"{net.prefix}.55", "prefixLength": 24, "origin": "dhcp", "scope": "global",
                "broadcast": f"{net.prefix}.255"} in eth0["IPv4"]["addresses"]
        assert any(a["origin"] == "linkLocal" for a in eth0["IPv4"]["addresses"])  # link-local is on by default
        assert any(a["address"].startswith("169.254.") for a in [{"address": x} for x in net.addresses()])
        system = info["system"]
        assert system["dhcpLease"]["ntpServers"] == [net.server]
        assert system["hostname"]["hostname"] == "cam-from-dhcp"
        assert system["resolver"]["nameServers"] == [net.server]
        resolv = (tmp_path / "resolv.conf").read_text()
        assert f"nameserver {net.server}" in resolv and "search example.test" in resolv
        hostname = run("ip", "netns", "exec", net.device_ns, "hostname").strip()
        assert hostname != "cam-from-dhcp"  # the test's own UTS namespace is not the device's
        # ... and the other features follow: the NTP client takes the lease's server, discovery
        # announces on the managed interface's address
        wait_until(lambda: call(http, "GET", "/axis-cgi/param.cgi", auth=httpx.DigestAuth(*ADMIN), params={
            "action": "list", "group": "Time.NTP.VolatileServer"}).text.strip() == f"root.Time.NTP.VolatileServer={net.server}",
            15, "the NTP server from DHCP")
        wait_until(lambda: {"name": net.device_if, "address": f"{net.prefix}.55"} in announced(call), 15,
                   "discovery on the leased address")

        # dynamic DNS to BIND
        r = call(http, "GET", "/axis-cgi/param.cgi", params={
            "action": "update", "Network.DNSUpdate.Enabled": "yes", "Network.DNSUpdate.DNSName": "nvr.example.test"},
            auth=httpx.DigestAuth(*ADMIN))
        assert r.text == "OK\r\n"
        wait_until(lambda: dig(net, "nvr.example.test") == f"{net.prefix}.55", 15, "the A record at named")

        # static: the address, the router, and the record follow; the lease is let go (and with it
        # DHCP's name server: the static one takes over)
        assert call(api, "setResolverConfiguration", {"staticNameServers": [net.server]})["data"] == {}
        reply = call(api, "setIPv4AddressConfiguration", {
            "deviceName": "eth0", "configurationMode": "static", "staticDefaultRouter": f"{net.prefix}.1",
            "staticAddressConfigurations": [{"address": f"{net.prefix}.9", "prefixLength": 24}]})
        assert reply["data"] == {}, reply
        wait_until(lambda: f"{net.prefix}.9/24" in net.addresses() and f"{net.prefix}.55/24" not in net.addresses(),
                   15, "the static address instead of the lease")
        assert net.default_router() == net.server
        wait_until(lambda: dig(net, "nvr.example.test") == f"{net.prefix}.9", 15, "the record updated")
        wait_until(lambda: {"name": net.device_if, "address": f"{net.prefix}.9"} in announced(call)
                   and {"name": net.device_if, "address": f"{net.prefix}.55"} not in announced(call), 15,
                   "discovery on the static address")

        # bad input changes nothing on the interface
        reply = call(api, "setIPv4AddressConfiguration", {
            "deviceName": "eth0", "staticDefaultRouter": "10.99.0.1",
            "staticAddressConfigurations": [{"address": f"{net.prefix}.10", "prefixLength": 24}]})
        assert reply["error"]["details"] == {"subCode": 102}
        assert f"{net.prefix}.9/24" in net.addresses() and f"{net.prefix}.10/24" not in net.addresses()

        # IPv6: a static address on the interface
        reply = call(api, "setIPv6AddressConfiguration", {
            "deviceName": "eth0", "staticAddressConfigurations": [{"address": "fd77:31::9", "prefixLength": 64}]})
        assert reply["data"] == {}, reply
        wait_until(lambda: "fd77:31::9/64" in net.addresses("inet6"), 15, "the static IPv6 address")

        # back to DHCP: the lease again
        reply = call(api, "setIPv4AddressConfiguration", {"deviceName": "eth0", "configurationMode": "dhcp"})
        assert reply["data"] == {}
        wait_until(lambda: f"{net.prefix}.55/24" in net.addresses() and f"{net.prefix}.9/24" not in net.addresses(),
                   30, "the DHCP address again")

        # the interface down and up (asked over loopback, which stays)
        assert call(api, "setDeviceConfiguration", {"deviceName": "eth0", "staticState": "down"})["data"] == {}
        wait_until(lambda: not net.link_up(), 10, "the link down")
        assert call(api, "setDeviceConfiguration", {"deviceName": "eth0", "staticState": "up"})["data"] == {}
        wait_until(lambda: net.link_up() and f"{net.prefix}.55/24" in net.addresses(), 30, "the link up, leased")
