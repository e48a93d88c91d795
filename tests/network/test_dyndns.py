"""Dynamic DNS (RFC 2136) over the simulated network: the device registers its name and address
at the DNS server in use, follows a new address, and says in the system log (and the API) when
no server takes the update. The real BIND server takes the same messages in test_linux.py."""

from __future__ import annotations

from tests.conftest import client_as, eventually
from tests.network.conftest import call, network_client
from vigil.features.network.service import NETWORK_SERVICE
from vigil.hal.network import NETWORK_HARDWARE, Lease

PARAM = "/axis-cgi/param.cgi"


def records(device) -> dict[tuple[str, str], tuple[int, str]]:
    return {key: (r.ttl, r.value) for key, r in device.hardware[NETWORK_HARDWARE].zone.items()}


async def test_the_name_is_registered_and_follows_the_address(device):
    async with client_as(device, "admin") as admin:
        r = await admin.get(PARAM, params={"action": "update", "Network.DNSUpdate.Enabled": "yes"})
        assert "enter the DNS name to register" in r.text  # no name yet: refused, nothing changed
        r = await admin.get(PARAM, params={"action": "update", "Network.DNSUpdate.Enabled": "yes",
                                           "Network.DNSUpdate.DNSName": "nvr.example.lan",
                                           "Network.DNSUpdate.TTL": "60"})
        assert r.text == "OK\r\n"
    await eventually(lambda: records(device).get(("nvr.example.lan", "A")) == (60, "192.168.0.90"), 5,
                     "the A record at the simulated DNS server")
    service = device.features[NETWORK_SERVICE]
    assert service.dyndns.status == "registered"
    device.hardware[NETWORK_HARDWARE].offer(Lease("192.168.0.133", 24, ("192.168.0.1",), ("192.168.0.1",)))
    await eventually(lambda: records(device).get(("nvr.example.lan", "A")) == (60, "192.168.0.133"), 5,
                     "the new address registered")
    async with network_client(device) as net:
        update = (await call(net, "getNetworkInfo"))["data"]["system"]["dnsUpdate"]
    assert update["enabled"] is True and update["status"] == "registered" and "192.168.0.133" in update["message"]


async def test_no_server_taking_the_update_is_logged(device):
    device.hardware[NETWORK_HARDWARE].dns_servers = set()
    device.params.set_internal({"Network.DNSUpdate.DNSName": "nvr.example.lan", "Network.DNSUpdate.Enabled": "yes"})
    service = device.features[NETWORK_SERVICE]
    await eventually(lambda: service.dyndns.status == "failed", 5, "the update to fail")
    assert "192.168.0.1 did not answer" in service.dyndns.message
    device.logs.flush()
    assert "Dynamic DNS: could not register nvr.example.lan" in device.logs.text("system")
    service.dyndns.close()
