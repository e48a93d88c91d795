"""Recipients over the VAPIX action service (templates, configurations, the Test operation
against real servers of every type) and the notification actions that deliver through them."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import parse_qs, urlsplit

import asyncssh
import httpx
import pytest
from lxml import etree

from tests.conftest import client_as, eventually, free_port, make_device
from tests.peers.certs import ca_signed, self_signed_context
from tests.peers.samba import PASSWORD as SAMBA_PASSWORD
from tests.peers.samba import USER as SAMBA_USER
from tests.peers.samba import Samba, needs_samba
from tests.peers.servers import (
    NS,
    add_action,
    add_action_xml,
    add_recipient,
    add_recipient_xml,
    add_rule,
    call,
    envelope,
    fault,
    ftp_server,
    http_server,
    item_filter,
    param_update,
    parse_fault,
    post,
    run_recipient_test,
    sftp_server,
    smtp_server,
    tcp_server,
)
from vigil.core.events import Item, Topic
from vigil.device import Device
from vigil.features.certificates.service import KEYSTORE
from vigil.features.storage.network import ShareConfig
from vigil.features.storage.service import STORAGE_SERVICE
from vigil.hal.io import IO_HARDWARE

VIRTUAL = "tns1:Device/tnsaxis:IO/VirtualInput"
DOOR = "tnsaxis:Test/Door"
HTTP = "com.axis.recipient.http"
TCP = "com.axis.recipient.tcp"
SHARE = "com.axis.recipient.networkshare"


async def add_share(device: Device, samba: Samba, share_id: str = "nas1") -> None:
    """A network share under System > Storage (not tested on adding: the tests do that)."""
    await device.features[STORAGE_SERVICE].network_shares.add(
        ShareConfig(share_id, "NAS", samba.address, "footage", SAMBA_USER, SAMBA_PASSWORD), "test", test=False)


def stored(device: Device, table: str) -> int:
    return device.store.query(f"SELECT count(*) FROM {table}")[0][0]


def test_xml(template: str, params: dict[str, str], name: str = "probe") -> str:
    """A TestRecipientConfiguration of settings not saved yet."""
    return add_recipient_xml(template, params, name).replace("AddRecipientConfiguration",
                                                             "TestRecipientConfiguration")


test_xml.__test__ = False  # type: ignore[attr-defined]


async def recipient_test(client: httpx.AsyncClient, template: str, params: dict[str, str]) -> httpx.Response:
    return await post(client, test_xml(template, params))


# -- templates and configurations --------------------------------------------------------
async def test_recipient_templates(admin):
    r = await call(admin, "<aa:GetRecipientTemplates/>")
    templates = {t.findtext("aa:TemplateToken", namespaces=NS): [p.get("Name") for p in t.iterfind(
        "aa:Parameters/aa:Parameter", NS)] for t in r.iterfind("aa:RecipientTemplates/aa:RecipientTemplate", NS)}
    assert set(templates) == {f"com.axis.recipient.{k}" for k in
                              ("http", "https", "smtp", "ftp", "sftp", "tcp", "networkshare", "sip")}
    assert templates["com.axis.recipient.sip"] == ["sip_account", "sip_uri"]
    assert templates[HTTP] == ["upload_url", "login", "password", "proxy_host", "proxy_port", "proxy_login",
                               "proxy_password", "qos"]
    assert "validate_server_cert" in templates["com.axis.recipient.https"]
    assert {"email_to", "email_from", "encryption", "pop_host"} <= set(templates["com.axis.recipient.smtp"])
    assert {"ssh_host_pub_key_md5", "ssh_host_pub_key_sha256", "ssh_auth_type"} <= set(
        templates["com.axis.recipient.sftp"])
    assert templates["com.axis.recipient.networkshare"] == ["upload_path", "share_id", "qos"]


async def test_the_pages_ftp_example_is_stored_listed_and_removed(device, admin):
    # Exactly the "Adding recipients / FTP recipient" example of the VAPIX page.
    body = b"""<?xml version="1.0" encoding="UTF-8" ?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope">
    <SOAP-ENV:Header /><SOAP-ENV:Body xmlns:act="http://www.axis.com/vapix/ws/action1"><act:AddRecipientConfiguration>
    <act:NewRecipientConfiguration><act:Name>FTP-Server</act:Name><act:TemplateToken>com.axis.recipient.ftp</act:TemplateToken>
    <act:Parameters><act:Parameter Name="host" Value="172.25.200.100" /><act:Parameter Name="upload_path" Value="" />
    <act:Parameter Name="port" Value="21" /><act:Parameter Name="login" Value="test" />
    <act:Parameter Name="password" Value="test" /><act:Parameter Name="passive" Value="0" />
    <act:Parameter Name="temporary" Value="0" /><act:Parameter Name="qos" Value="0" /></act:Parameters>
    </act:NewRecipientConfiguration></act:AddRecipientConfiguration></SOAP-ENV:Body></SOAP-ENV:Envelope>"""
    r = await post(admin, body)
    assert r.status_code == 200, r.text
    rid = etree.fromstring(r.content).findtext(".//aa:ConfigurationID", namespaces=NS)
    listing = await call(admin, "<aa:GetRecipientConfigurations/>")
    (config,) = listing.iterfind("aa:RecipientConfigurations/aa:RecipientConfiguration", NS)
    assert config.findtext("aa:ConfigurationID", namespaces=NS) == rid
    assert config.findtext("aa:Name", namespaces=NS) == "FTP-Server"
    params = {p.get("Name"): p.get("Value") for p in config.iterfind("aa:Parameters/aa:Parameter", NS)}
    assert params == {"host": "172.25.200.100", "upload_path": "", "port": "21", "login": "test",
                      "password": "test", "passive": "0", "temporary": "0", "qos": "0"}
    # Operators see the configuration but not its secrets; the database holds no clear password.
    async with client_as(device, "operator") as operator:
        listing = await call(operator, "<aa:GetRecipientConfigurations/>")
        shown = {p.get("Name"): p.get("Value") for p in listing.iterfind(".//aa:Parameter", NS)}
        assert shown["password"] == "" and shown["login"] == "test"
    (raw,) = device.store.query("SELECT params FROM recipients")
    assert '"password": "test"' not in raw[0] and "sealed" in raw[0]
    await call(admin, f"<aa:RemoveRecipientConfiguration><aa:ConfigurationID>{rid}</aa:ConfigurationID>"
                      "</aa:RemoveRecipientConfiguration>")
    assert stored(device, "recipients") == 0
    audit = device.logs.text("audit")
    assert "added recipient 1 'FTP-Server'" in audit and "removed recipient 1" in audit
    f = await fault(admin, f"<aa:RemoveRecipientConfiguration><aa:ConfigurationID>{rid}</aa:ConfigurationID>"
                           "</aa:RemoveRecipientConfiguration>")
    assert "Unknown recipient configuration" in f.reason


async def test_the_21st_recipient_is_refused(device, admin):
    for n in range(20):
        await add_recipient(admin, TCP, {"host": "127.0.0.1", "port": str(5000 + n), "qos": "0"}, f"tcp {n}")
    f = await fault(admin, add_recipient_xml(TCP, {"host": "127.0.0.1", "port": "6000"}, "one too many"))
    assert f.code == "SOAP-ENV:Sender" and "At most 20 recipients" in f.reason
    assert stored(device, "recipients") == 20


@pytest.mark.parametrize("template, params, reason", [
    ("com.axis.recipient.pigeon", {}, "Unknown recipient template"),
    (TCP, {"host": "127.0.0.1", "port": "1", "colour": "red"}, "has no parameter(s) colour"),
    (TCP, {"host": "127.0.0.1", "port": "70000"}, "out of range"),
    (TCP, {"host": "", "port": "80"}, "host: this field is required"),
    (TCP, {"host": "127.0.0.1", "port": "80", "qos": "99"}, "qos"),
    (HTTP, {"upload_url": ""}, "URL: this field is required"),
    (HTTP, {"upload_url": "ftp://example.com/"}, "needs a URL starting with http://"),
    ("com.axis.recipient.smtp", {"email_to": "a@example.com", "email_from": "b@example.com", "host": "mail",
                                 "pop_host": "pop.example.com"}, "POP authentication is not supported"),
    ("com.axis.recipient.smtp", {"email_to": "not-an-address", "email_from": "b@example.com", "host": "mail"},
     "not a valid email address"),
    ("com.axis.recipient.sftp", {"host": "h", "login": "u", "ssh_auth_type": "1",
                                 "ssh_host_pub_key_md5": "0" * 32}, "only password authentication"),
    ("com.axis.recipient.sftp", {"host": "h", "login": "u"}, "fingerprint of the server's host key"),
    ("com.axis.recipient.networkshare", {"share_id": "relative/path"}, "there is no network share 'relative/path'"),
])
async def test_bad_recipients_store_nothing(device, admin, template, params, reason):
    f = await fault(admin, add_recipient_xml(template, params))
    assert f.code == "SOAP-ENV:Sender" and reason in f.reason, f.reason
    assert stored(device, "recipients") == 0
    f = await fault(admin, test_xml(template, params))  # Test refuses the same settings the same way
    assert f.code == "SOAP-ENV:Sender" and reason in f.reason


async def test_name_is_required(admin):
    f = await fault(admin, add_recipient_xml(TCP, {"host": "127.0.0.1", "port": "1"}, name=""))
    assert "needs a Name" in f.reason


# -- Test against a real server of every type -----------------------------------------------
async def test_http_and_https_recipients(admin, tmp_path):
    async with http_server() as web:
        r = await recipient_test(admin, HTTP, {"upload_url": f"http://127.0.0.1:{web.port}/cgi-bin/notify.cgi",
                                               "login": "", "password": "", "qos": "0"})
        assert r.status_code == 200, r.text
        (method, target, headers, body) = web.requests[0]
        assert (method, target) == ("POST", "/cgi-bin/notify.cgi")
        assert b"test message from Vigil" in body
        web.status = 500
        r = await recipient_test(admin, HTTP, {"upload_url": f"http://127.0.0.1:{web.port}/x"})
        f = parse_fault(r)
        assert f.code == "SOAP-ENV:Receiver" and "The test message was not delivered" in f.reason
        assert "HTTP 500" in f.reason
    tls = self_signed_context(tmp_path)
    async with http_server(tls) as web:
        url = f"https://127.0.0.1:{web.port}/hook"
        r = await recipient_test(admin, "com.axis.recipient.https", {"upload_url": url, "validate_server_cert": "0"})
        assert r.status_code == 200, r.text
        assert len(web.requests) == 1
        r = await recipient_test(admin, "com.axis.recipient.https", {"upload_url": url, "validate_server_cert": "1"})
        f = parse_fault(r)
        assert f.code == "SOAP-ENV:Receiver" and "certificate" in f.reason


async def test_https_recipient_trusts_the_keystores_ca_certificates(device, admin, tmp_path):
    """A server whose certificate a CA of the keystore signed is trusted once that CA is installed."""
    certs = ca_signed(tmp_path / "certs")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certs.cert, certs.key)
    params = {"upload_url": "", "validate_server_cert": "1"}
    async with http_server(tls) as web:
        params["upload_url"] = f"https://localhost:{web.port}/hook"
        f = parse_fault(await recipient_test(admin, "com.axis.recipient.https", params))
        assert "certificate" in f.reason and not web.requests
        device.features[KEYSTORE].add_ca("recipients-ca", certs.ca.read_bytes(), "test")
        r = await recipient_test(admin, "com.axis.recipient.https", params)
        assert r.status_code == 200, r.text
        assert len(web.requests) == 1


async def test_smtp_recipient(device, admin):
    with smtp_server() as mail:
        rid = await add_recipient(admin, "com.axis.recipient.smtp", {
            "email_to": "ops@example.com, night@example.com", "email_from": "vigil@example.com", "host": "127.0.0.1",
            "port": str(mail.port), "encryption": "none"}, "Ops mail")
        r = await run_recipient_test(admin, rid)
        assert r.status_code == 200, r.text
        sender, to, message = mail.messages[0]
        assert sender == "vigil@example.com" and to == ["ops@example.com", "night@example.com"]
        assert "Ops mail" in message.get_payload(decode=True).decode()
    assert f"tested recipient {rid} 'Ops mail': delivered" in device.logs.text("audit")


async def test_ftp_recipient(admin, tmp_path):
    home = tmp_path / "ftp"
    (home / "incoming").mkdir(parents=True)
    async with ftp_server(home, "alice", "ftp-secret") as server:
        params = {"host": "127.0.0.1", "upload_path": "incoming", "port": str(server.port), "login": "alice",
                  "password": "ftp-secret", "passive": "1", "temporary": "1", "qos": "0"}
        rid = await add_recipient(admin, "com.axis.recipient.ftp", params, "FTP")
        r = await run_recipient_test(admin, rid)
        assert r.status_code == 200, r.text
        (uploaded,) = (home / "incoming").iterdir()
        assert uploaded.name.startswith("vigil_test_") and b"test message" in uploaded.read_bytes()
        r = await recipient_test(admin, "com.axis.recipient.ftp", {**params, "password": "wrong"})
        assert parse_fault(r).code == "SOAP-ENV:Receiver"


async def test_sftp_recipient(admin, tmp_path):
    root = tmp_path / "sftp"
    (root / "upload").mkdir(parents=True)
    async with sftp_server(root, "bob", "sftp-secret") as server:
        base = {"host": "127.0.0.1", "upload_path": "upload", "port": str(server.port), "login": "bob",
                "password": "sftp-secret", "ssh_auth_type": "2", "temporary": "0", "qos": "0"}
        sha256, md5 = server.sha256, server.md5.upper()
        for fingerprint in ({"ssh_host_pub_key_sha256": sha256}, {"ssh_host_pub_key_md5": md5}):
            r = await recipient_test(admin, "com.axis.recipient.sftp", {**base, **fingerprint})
            assert r.status_code == 200, r.text
        assert len(list((root / "upload").iterdir())) == 2
        other = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
        r = await recipient_test(admin, "com.axis.recipient.sftp", {**base, "ssh_host_pub_key_sha256": other})
        f = parse_fault(r)
        assert f.code == "SOAP-ENV:Receiver" and "host key does not match" in f.reason


async def test_tcp_recipient(device, admin):
    async with tcp_server() as tcp:
        rid = await add_recipient(admin, TCP, {"host": "127.0.0.1", "port": str(tcp.port), "qos": "0"}, "Listener")
        assert (await run_recipient_test(admin, rid)).status_code == 200
        await eventually(lambda: tcp.received, what="the TCP message")
        assert b"test message from Vigil" in tcp.received[0]


@needs_samba
async def test_network_share_recipient(device, admin, samba):
    await add_share(device, samba)
    r = await recipient_test(admin, SHARE, {"share_id": "nas1", "upload_path": "events/w401", "qos": "0"})
    assert r.status_code == 200, r.text
    (written,) = (samba.share / "events" / "w401").iterdir()
    assert written.name.startswith("vigil_test_")
    rid = await add_recipient(admin, SHARE, {"share_id": "nas1", "upload_path": "stored"}, "NAS")
    assert (await run_recipient_test(admin, rid)).status_code == 200
    assert len(list((samba.share / "stored").iterdir())) == 1
    samba.stop()  # the share's server is gone: the test says so
    f = parse_fault(await recipient_test(admin, SHARE, {"share_id": "nas1"}))
    assert f.code == "SOAP-ENV:Receiver" and "Cannot connect to 127.0.0.1 port" in f.reason


async def test_failed_test_is_a_receiver_fault_and_audited(device, admin):
    port = free_port()  # nothing listens there
    rid = await add_recipient(admin, TCP, {"host": "127.0.0.1", "port": str(port)}, "Nobody")
    f = parse_fault(await run_recipient_test(admin, rid))
    assert f.status == 500 and f.code == "SOAP-ENV:Receiver"
    assert f"connection refused by 127.0.0.1:{port}" in f.reason
    assert f"tested recipient {rid} 'Nobody': failed" in device.logs.text("audit")
    f = await fault(admin, "<aa:TestRecipientConfiguration><aa:ConfigurationID>99</aa:ConfigurationID>"
                           "</aa:TestRecipientConfiguration>")
    assert f.code == "SOAP-ENV:Sender" and "Unknown recipient configuration 99" in f.reason


# -- notification actions --------------------------------------------------------------------
async def virtual(admin: httpx.AsyncClient, port: int, active: bool) -> None:
    await call(admin, f"<aev:ChangeVirtualInputState><aev:port>{port}</aev:port><aev:active>{int(active)}"
                      "</aev:active></aev:ChangeVirtualInputState>")


async def test_http_notification_with_inline_recipient(w401, admin401):
    async with http_server() as web:
        aid = await add_action(admin401, "com.axis.action.fixed.notification.http", {
            "message": "Virtual input {source.port} is {data.active}", "parameters": "camera=1&zone=door",
            "method": "", "http_headers": "", "body": "",
            "upload_url": f"http://127.0.0.1:{web.port}/cgi-bin/notify.cgi", "login": "hook", "password": "h00k-pw",
            "proxy_host": "", "proxy_port": "", "proxy_login": "", "proxy_password": "", "qos": "0"}, "Notify")
        await add_rule(admin401, "virtual 2", aid, start=(VIRTUAL, item_filter(port="2", active="1")))
        await virtual(admin401, 2, True)
        await eventually(lambda: web.requests, what="the notification")
        method, target, headers, body = web.requests[0]
        url = urlsplit(target)
        assert method == "POST" and url.path == "/cgi-bin/notify.cgi"
        assert parse_qs(url.query) == {"Message": ["Virtual input 2 is 1"], "camera": ["1"], "zone": ["door"]}
        assert body == b"Virtual input 2 is 1"
    # The password is sealed at rest, shown to administrators and hidden from operators.
    (raw,) = w401.store.query("SELECT params FROM actions")
    assert "h00k-pw" not in raw[0]
    configs = await call(admin401, "<aa:GetActionConfigurations/>")
    assert {p.get("Name"): p.get("Value") for p in configs.iterfind(".//aa:Parameter", NS)}["password"] == "h00k-pw"
    async with client_as(w401, "operator") as operator:
        configs = await call(operator, "<aa:GetActionConfigurations/>")
        assert {p.get("Name"): p.get("Value") for p in configs.iterfind(".//aa:Parameter", NS)}["password"] == ""


async def test_tcp_notification_through_a_stored_recipient(w401, admin401):
    async with tcp_server() as tcp:
        rid = await add_recipient(admin401, TCP, {"host": "127.0.0.1", "port": str(tcp.port)}, "Alarm panel")
        aid = await add_action(admin401, "com.axis.action.fixed.notification.tcp", {
            "recipient_id": str(rid), "message": "ALARM {topic.name} {source.port}"})
        await add_rule(admin401, "to the panel", aid, start=(VIRTUAL, item_filter(port="4", active="1")))
        await virtual(admin401, 4, True)
        await eventually(lambda: tcp.received, what="the TCP notification")
        assert tcp.received == [b"ALARM VirtualInput 4"]
        # The recipient cannot go while an action sends to it.
        f = await fault(admin401, f"<aa:RemoveRecipientConfiguration><aa:ConfigurationID>{rid}"
                                  "</aa:ConfigurationID></aa:RemoveRecipientConfiguration>")
        assert "is used by action configuration(s)" in f.reason and stored(w401, "recipients") == 1


@needs_samba
async def test_file_notification_to_a_network_share(device, admin, samba):
    device.events.declare(Topic(DOOR, "Door", False, (Item("port", "xsd:int", "Door"),), ()))
    await add_share(device, samba)
    aid = await add_action(admin, "com.axis.action.fixed.notification.networkshare", {
        "subject": "Door", "message": "Door {source.port} changed", "filename": "door_{source.port}.txt",
        "share_id": "nas1", "upload_path": "s3016"})
    await add_rule(admin, "file", aid, start=(DOOR, item_filter(port="6")))
    device.events.publish(DOOR, {"port": "6"}, {})
    await eventually(lambda: (samba.share / "s3016" / "door_6.txt").exists(), what="the file")
    assert (samba.share / "s3016" / "door_6.txt").read_text() == "Door\n\nDoor 6 changed"


async def test_network_share_recipients_write_only_to_configured_shares(device, admin, tmp_path):
    """A share_id is a share of System > Storage, never a folder of the device: the probe's
    share_id=/tmp/outside, upload_path=cron.d wrote there; now it is refused and nothing is written."""
    outside = tmp_path / "outside"
    outside.mkdir()
    probe = {"share_id": str(outside), "upload_path": "cron.d"}
    for body in (test_xml(SHARE, probe), add_recipient_xml(SHARE, probe)):
        f = await fault(admin, body)
        assert f.code == "SOAP-ENV:Sender" and "there is no network share '/tmp/" in f.reason, f.reason
    f = await fault(admin, add_action_xml("com.axis.action.fixed.notification.networkshare",
                                          {**probe, "message": "* * * * * root id"}))
    assert f.code == "SOAP-ENV:Sender" and "there is no network share" in f.reason
    assert list(outside.iterdir()) == [] and stored(device, "recipients") == 0 and stored(device, "actions") == 0
    # A configured share: the folder below it may not leave it.
    await device.features[STORAGE_SERVICE].network_shares.add(ShareConfig("nas1", "NAS", "127.0.0.1:1", "footage"), "test",
                                                      test=False)
    for folder, reason in (("../../etc/cron.d", "'..' is not allowed"), ("/etc/cron.d", "is an absolute path")):
        f = await fault(admin, add_recipient_xml(SHARE, {"share_id": "nas1", "upload_path": folder}))
        assert f.code == "SOAP-ENV:Sender" and reason in f.reason, f.reason
    assert stored(device, "recipients") == 0


async def test_network_share_recipients_need_storage(w401, admin401):
    f = await fault(admin401, add_recipient_xml(SHARE, {"share_id": "nas1"}))
    assert f.code == "SOAP-ENV:Sender" and "this device has no network shares" in f.reason
    f = await fault(admin401, test_xml(SHARE, {"share_id": "/tmp"}))
    assert f.code == "SOAP-ENV:Sender" and "this device has no network shares" in f.reason


async def test_operators_see_no_url_secrets(device, admin):
    """Webhook tokens in a URL's query (or its user info) are secrets: hidden below administrator."""
    rid = await add_recipient(admin, HTTP, {"upload_url": "http://127.0.0.1:1/hook?token=UrlToken456",
                                            "login": "hook", "password": "HookPw789"}, "Hook")
    await add_action(admin, "com.axis.action.fixed.notification.http", {
        "upload_url": "http://127.0.0.1:1/other?key=InlineToken1", "parameters": "token=ParamToken2",
        "message": "door"}, "Inline hook")
    await add_action(admin, "com.axis.action.fixed.notification.http", {"recipient_id": str(rid), "message": "x"})
    admin_view = (await post(admin, envelope("<aa:GetRecipientConfigurations/>"))).text
    assert "http://127.0.0.1:1/hook?token=UrlToken456" in admin_view and "HookPw789" in admin_view
    async with client_as(device, "operator") as operator:
        listing = await call(operator, "<aa:GetRecipientConfigurations/>")
        shown = {p.get("Name"): p.get("Value") for p in listing.iterfind(".//aa:Parameter", NS)}
        assert shown["upload_url"] == "http://127.0.0.1:1/hook" and shown["password"] == ""
        actions = (await post(operator, envelope("<aa:GetActionConfigurations/>"))).text
        assert "http://127.0.0.1:1/other" in actions
        for secret in ("UrlToken456", "HookPw789", "InlineToken1", "ParamToken2"):
            assert secret not in actions and secret not in etree.tostring(listing).decode()


async def test_huge_and_odd_numbers_are_sender_faults(w401, admin401):
    """A 5,000-digit recipient_id was a Receiver fault "Internal error"; so was a qos of "²"."""
    await add_recipient(admin401, TCP, {"host": "127.0.0.1", "port": "9"}, "panel")
    huge = "9" * 5000
    for params, reason in (({"recipient_id": huge, "message": "x"}, "must be a recipient ConfigurationID"),
                           ({"recipient_id": "\u00b2", "message": "x"}, "must be a recipient ConfigurationID"),
                           ({"host": "127.0.0.1", "port": "9", "qos": "\u00b2"}, "qos"),
                           ({"host": "127.0.0.1", "port": huge}, "port")):
        r = await post(admin401, envelope(add_action_xml("com.axis.action.fixed.notification.tcp", params)))
        f = parse_fault(r)
        assert (r.status_code, f.code) == (400, "SOAP-ENV:Sender") and reason in f.reason, f.reason
        assert len(f.reason) < 400  # the huge value is not echoed back
    f = await fault(admin401, add_recipient_xml(TCP, {"host": "127.0.0.1", "port": "9", "qos": "\u00b2"}))
    assert f.code == "SOAP-ENV:Sender" and "qos" in f.reason
    f = await fault(admin401, f"<aa:RemoveRecipientConfiguration><aa:ConfigurationID>{huge}</aa:ConfigurationID>"
                              "</aa:RemoveRecipientConfiguration>")
    assert f.code == "SOAP-ENV:Sender" and len(f.reason) < 400
    assert stored(w401, "actions") == 0 and stored(w401, "recipients") == 1


async def test_a_failing_recipient_reports_action_failed_and_blocks_nothing(w401, admin401):
    failures = []
    w401.events.subscribe(lambda e: failures.append(e) if e.topic.endswith("ActionFailed") else None)
    await param_update(admin401, **{"IOPort.I1.Direction": "output"})
    dead = await add_action(admin401, "com.axis.action.fixed.notification.tcp", {
        "host": "127.0.0.1", "port": str(free_port()), "message": "nobody listens"})
    toggle = await add_action(admin401, "com.axis.action.fixed.io.toggle", {"port": "1", "state": "high"})
    start = (VIRTUAL, item_filter(port="7", active="1"))
    await add_rule(admin401, "dead end", dead, start=start)
    await add_rule(admin401, "light", toggle, start=start)
    await virtual(admin401, 7, True)
    await eventually(lambda: w401.hardware[IO_HARDWARE].output(1) == "closed", what="the other rule's action")
    await eventually(lambda: failures, what="ActionFailed")
    description = failures[0].data["description"]
    assert "rule 'dead end'" in description and "connection refused" in description


@pytest.mark.parametrize("params, reason", [
    ({"recipient_id": "77", "message": "x"}, "Unknown recipient configuration 77"),
    ({"recipient_id": "abc", "message": "x"}, "must be a recipient ConfigurationID"),
    ({"recipient_id": "1", "host": "127.0.0.1", "message": "x"}, "either recipient_id or the recipient parameters"),
    ({"message": "x"}, "host: this field is required"),
])
async def test_bad_notification_actions_store_nothing(w401, admin401, params, reason):
    await add_recipient(admin401, TCP, {"host": "127.0.0.1", "port": "9"}, "panel")
    f = await fault(admin401, add_action_xml("com.axis.action.fixed.notification.tcp", params))
    assert f.code == "SOAP-ENV:Sender" and reason in f.reason, f.reason
    assert stored(w401, "actions") == 0


async def test_http_action_limits_and_recipient_kind(w401, admin401):
    rid = await add_recipient(admin401, TCP, {"host": "127.0.0.1", "port": "9"}, "panel")
    url = {"upload_url": "http://127.0.0.1:9/x"}
    f = await fault(admin401, add_action_xml("com.axis.action.fixed.notification.http", {**url, "method": "GET"}))
    assert "method" in f.reason and "POST" in f.reason
    f = await fault(admin401, add_action_xml("com.axis.action.fixed.notification.http",
                                             {**url, "http_headers": "X-Token: 1"}))
    assert "http_headers" in f.reason
    f = await fault(admin401, add_action_xml("com.axis.action.fixed.notification.smtp", {"recipient_id": str(rid)}))
    assert "is a com.axis.recipient.tcp recipient" in f.reason
    assert stored(w401, "actions") == 0


async def test_recipients_survive_a_restart(tmp_path, clock, w401, admin401):
    async with tcp_server() as tcp:
        await add_recipient(admin401, TCP, {"host": "127.0.0.1", "port": str(tcp.port)}, "Kept")
        w401.close()
        again = make_device(tmp_path, clock, "w401")
        try:
            async with client_as(again, "admin") as c:
                listing = await call(c, "<aa:GetRecipientConfigurations/>")
                assert listing.findtext(".//aa:Name", namespaces=NS) == "Kept"
                assert (await run_recipient_test(c, 1)).status_code == 200
                await eventually(lambda: tcp.received, what="the test message after a restart")
        finally:
            again.close()


async def test_soap11_test_operation(admin):
    async with tcp_server() as tcp:
        body = envelope(test_xml(TCP, {"host": "127.0.0.1", "port": str(tcp.port)}), "1.1")
        r = await post(admin, body, version="1.1")
        assert r.status_code == 200 and b"TestRecipientConfigurationResponse" in r.content
        await asyncio.sleep(0)
