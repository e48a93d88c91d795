"""Global proxies (System > Network): set through network_settings.cgi (the password sealed,
obscured when read back), and used by every outbound client at its next connection: HTTP
recipients (forwarded), SMTP and TCP recipients and the MQTT client (tunnelled with CONNECT),
all through a real tinyproxy with Basic proxy authentication; a host on the no-proxy list goes
direct, and a wrong proxy password is a readable failure."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.conftest import eventually
from tests.mqtt.conftest import configure, connected, mqtt
from tests.network.conftest import call, network_client
from tests.peers.servers import http_server, smtp_server, tcp_server
from tests.peers.tinyproxy import tinyproxy
from vigil.core.proxies import Proxies, Proxy
from vigil.core.vault import is_sealed
from vigil.features.network.service import NETWORK_SERVICE
from vigil.features.notify.model import Recipient, RecipientError
from vigil.features.notify.service import NOTIFY_SERVICE


@pytest.fixture
def proxy(tmp_path):
    with tinyproxy(tmp_path / "proxy") as peer:
        yield peer


async def set_proxies(device, **params) -> dict:
    async with network_client(device) as net:
        return await call(net, "setGlobalProxyConfiguration", params)


async def test_proxy_settings_are_sealed_obscured_and_checked(device):
    reply = await set_proxies(device, httpProxy="http://alice:pa%3Ass@proxy.example:3128",
                              httpsProxy="https://proxy.example:3129", noProxy="10.0.0.0/8, .lan,printer")
    assert reply["data"] == {}
    p = device.params
    assert p.get("Network.Proxy.HTTP") == "http://alice@proxy.example:3128"
    assert p.get("Network.Proxy.HTTPPassword") == "pa%3Ass"
    stored = dict(device.store.query("SELECT name, value FROM params"))
    assert is_sealed(stored["Network.Proxy.HTTPPassword"]) and "pa%3Ass" not in stored["Network.Proxy.HTTPPassword"]
    async with network_client(device) as net:
        shown = (await call(net, "getNetworkInfo"))["data"]["system"]["globalProxies"]
    assert shown == {"httpProxy": "http://alice:******@proxy.example:3128", "httpsProxy": "https://proxy.example:3129",
                     "noProxy": "10.0.0.0/8,.lan,printer"}
    # the obscured value sent back unchanged (a page saving its form) keeps the password
    await set_proxies(device, httpProxy=shown["httpProxy"])
    assert p.get("Network.Proxy.HTTPPassword") == "pa%3Ass"
    for params, sub_code in (({"httpProxy": "proxy.example:3128"}, 100), ({"httpProxy": "ftp://p:21"}, 100),
                             ({"httpsProxy": "https://proxy.example"}, 101), ({"noProxy": "*.lan"}, 102),
                             ({"noProxy": "bad name!"}, 102)):
        reply = await set_proxies(device, **params)
        assert reply["error"]["code"] == 4004 and reply["error"]["details"] == {"subCode": sub_code}, params
    assert p.get("Network.Proxy.HTTP") == "http://alice@proxy.example:3128"
    await set_proxies(device, httpProxy="", httpsProxy="")
    assert device.features[NETWORK_SERVICE].proxies() == Proxies(None, None, ("10.0.0.0/8", ".lan", "printer"))
    device.logs.flush()
    audit = device.logs.text("audit")
    assert "set root.Network.Proxy.HTTP=" in audit and "pa%3Ass" not in audit


def test_the_no_proxy_list() -> None:
    proxies = Proxies(Proxy("http://p:1"), Proxy("http://p:2"), ("10.0.0.0/8", ".lan", "printer", "2001:db8::/32"))
    assert proxies.for_host("10.1.2.3", False) is None and proxies.for_host("nvr.lan", True) is None
    assert proxies.for_host("lan", False) is None and proxies.for_host("printer", False) is None
    assert proxies.for_host("[2001:db8::5]", True) is None
    assert proxies.for_host("11.0.0.1", False) == Proxy("http://p:1")
    assert proxies.for_host("printer2", True) == Proxy("http://p:2")
    assert proxies.for_url("https://vms.example/hook") == Proxy("http://p:2")
    assert Proxy("http://a%40b@p:1", "x:y").with_credentials() == "http://a%40b:x%3Ay@p:1"


async def test_recipients_go_through_the_global_proxy(device, proxy):
    notify = device.features[NOTIFY_SERVICE]
    await set_proxies(device, httpProxy=f"http://{proxy.user}:{proxy.password}@127.0.0.1:{proxy.port}")
    async with http_server() as web:
        await notify.test(Recipient("hook", "http", {"url": f"http://127.0.0.1:{web.port}/alarm"}))
        method, target, headers, _ = web.requests[-1]
        assert method == "POST" and target == "/alarm" and "tinyproxy" in headers.get("via", "")
    with smtp_server() as mail:
        await notify.test(Recipient("mail", "email", {"host": "127.0.0.1", "port": str(mail.port),
                                                     "from": "cam@vigil.test", "to": "ops@example.test",
                                                     "encryption": "none"}))
        assert mail.messages and mail.messages[-1][1] == ["ops@example.test"]
    assert f"CONNECT 127.0.0.1:{mail.port}" in proxy.seen()
    async with tcp_server() as sink:
        await notify.test(Recipient("vms", "tcp", {"host": "127.0.0.1", "port": str(sink.port)}))
        await eventually(lambda: sink.received, 5, "the TCP message")
    assert f"CONNECT 127.0.0.1:{sink.port}" in proxy.seen()


async def test_no_proxy_goes_direct_and_a_wrong_proxy_password_is_said(device, proxy):
    notify = device.features[NOTIFY_SERVICE]
    await set_proxies(device, httpProxy=f"http://{proxy.user}:wrong@127.0.0.1:{proxy.port}")
    async with tcp_server() as sink:
        with pytest.raises(RecipientError, match="proxy refused the proxy user name or password"):
            await notify.test(Recipient("vms", "tcp", {"host": "127.0.0.1", "port": str(sink.port)}))
        assert not sink.received
        before = len(proxy.seen())
        await set_proxies(device, noProxy="127.0.0.0/8")
        await notify.test(Recipient("vms", "tcp", {"host": "127.0.0.1", "port": str(sink.port)}))
        await eventually(lambda: sink.received, 5, "the TCP message, sent directly")
    assert "CONNECT 127.0.0.1" not in proxy.seen()[before:]


async def test_the_mqtt_client_goes_through_the_global_proxy(w401, broker, tmp_path):
    running = asyncio.create_task(mqtt(w401).run())
    try:
        with tinyproxy(tmp_path / "mqtt-proxy") as peer:
            await set_proxies(w401, httpProxy=f"http://{peer.user}:{peer.password}@127.0.0.1:{peer.port}")
            await connected(configure(w401, broker))
            assert f"CONNECT 127.0.0.1:{broker.tcp}" in peer.seen()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await w401.rules.close()
