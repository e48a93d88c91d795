"""Remote syslog against rsyslogd, a strict real server: the audit log over TLS (verified against
the CA chosen from the certificate store) with the fields a server files it by; UDP with RFC 3164
and TCP with the Axis format; a server whose certificate the chosen CA did not sign is refused,
said so in the system log, and nothing reaches it; the Test server setup through the API."""

from __future__ import annotations

import httpx

from tests.conftest import eventually
from tests.peers.certs import Certs
from tests.peers.rsyslog import Record, Rsyslog
from tests.syslog.conftest import CA_ID, configure, install_ca
from vigil.device import Device


async def received(server: Rsyslog, needle: str, what: str = "") -> Record:
    return await eventually(lambda: next((r for r in server.records() if needle in r.msg), None), 15,
                            what or f"rsyslog to receive {needle!r}")


async def test_the_audit_log_arrives_over_tls(dev: Device, rsyslog: Rsyslog, admin: httpx.AsyncClient) -> None:
    service = await configure(dev, {"address": "127.0.0.1", "port": rsyslog.tls, "protocol": "TLS",
                                    "severity": "Notice", "type": "Audit"}, ca=[CA_ID])
    assert service.senders[0].state == "connected", service.senders[0].last_error
    dev.logs.system("a system entry, not for an audit server", "error")
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "System.Theme": "dark"})
    assert r.text.strip() == "OK"
    record = await received(rsyslog, "set root.System.Theme=dark")
    assert record == Record(input="tls", version="1", hostname=dev.logs.host, app="params", procid=record.procid,
                            msgid="AUDIT", severity=5, facility=13, sd='[vigil@32473 user="root"]',
                            msg="user=root set root.System.Theme=dark")
    assert record.procid.isdigit()
    assert not any("not for an audit server" in r.msg for r in rsyslog.records())  # one connection: in order


async def test_udp_rfc3164_and_tcp_axis(dev: Device, rsyslog: Rsyslog) -> None:
    await configure(dev, {"address": "127.0.0.1", "port": rsyslog.udp, "protocol": "UDP",
                          "syslogFormat": "RFC3164"},
                    {"address": "127.0.0.1", "port": rsyslog.tcp, "protocol": "TCP", "syslogFormat": "AXIS"})
    dev.logs.system("disk HDD2 replaced", "warning", "storage")
    await eventually(lambda: len([r for r in rsyslog.records() if "HDD2" in r.msg]) == 2, 15, "both servers")
    legacy = next(r for r in rsyslog.records() if r.input == "udp" and "HDD2" in r.msg)
    assert (legacy.version, legacy.hostname, legacy.app, legacy.severity, legacy.facility) == (
        "0", dev.logs.host, "storage", 4, 3)
    assert legacy.msg == "disk HDD2 replaced"
    axis = next(r for r in rsyslog.records() if r.input == "tcp" and "HDD2" in r.msg)
    assert (axis.version, axis.hostname, axis.app, axis.severity, axis.facility, axis.msg) == (
        "0", dev.logs.host, "storage", 4, 3, "disk HDD2 replaced")


async def test_a_server_the_chosen_ca_did_not_sign_is_refused(dev: Device, rsyslog: Rsyslog,
                                                               certs: Certs) -> None:
    install_ca(dev, Certs(certs.other_ca, certs.cert, certs.key, certs.other_ca), "other-ca")
    service = await configure(dev, {"address": "127.0.0.1", "port": rsyslog.tls, "protocol": "TLS",
                                    "severity": "Debug"}, ca=["other-ca"])
    sender = service.senders[0]
    assert sender.state == "down" and "is not trusted" in sender.last_error, sender.last_error
    assert f"remote syslog: the TLS server 127.0.0.1:{rsyslog.tls} (TLS) is not trusted" in dev.logs.text("system")
    dev.logs.system("never-delivered", "error")
    assert sender.dropped >= 1
    service.setup(service.servers, [CA_ID], "test")  # the right CA: it connects
    await eventually(lambda: service.senders and service.senders[0].state == "connected", 10, "the TLS sender")
    dev.logs.system("delivered-now", "error")
    await received(rsyslog, "delivered-now")
    assert not any("never-delivered" in r.msg for r in rsyslog.records())


async def test_test_server_setup_through_the_api(dev: Device, rsyslog: Rsyslog, admin: httpx.AsyncClient) -> None:
    r = await admin.post("/axis-cgi/remotesyslog.cgi", json={
        "apiVersion": "1.0", "method": "test", "params": {
            "servers": [{"address": "127.0.0.1", "port": rsyslog.tls, "protocol": "TLS", "severity": "Error"},
                        {"address": "localhost", "port": rsyslog.udp, "protocol": "UDP", "severity": "Error"}],
            "caCertificates": [CA_ID]}})
    data = r.json()["data"]
    assert [(x["result"], x["messages"]) for x in data["results"]] == [("sent", 4), ("sent", 4)], data
    await eventually(lambda: len([x for x in rsyslog.records() if "Remote syslog test message" in x.msg]) == 8, 15,
                     "four test messages on each server")
    assert {x.input for x in rsyslog.records() if "test message" in x.msg} == {"tls", "udp"}
    assert data["enabled"] is False  # a test saves nothing
