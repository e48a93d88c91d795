"""Certificate enrollment over EST against a small EST server (tests/certificates/est_server.py):
enroll with a user name and password, the CA certificates and the HTTPS assignment that follow,
renewal with the current certificate, renewal at half of the validity by the schedule, and the
server's refusals (wrong password, refused request, untrusted server) said clearly, nothing stored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.certificates.conftest import TestCa
from tests.certificates.est_server import EstServer
from tests.conftest import client_as, eventually
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.certificates.enrollment import ENROLLMENT, ERROR_TOPIC, read_profile, renewal_time
from vigil.features.certificates.service import KEYSTORE

PROFILES = "/config/rest/cert-est/v1/profiles"


@pytest.fixture
def est(tmp_path: Path) -> Iterator[EstServer]:
    server = EstServer(TestCa("EST test CA"), tmp_path / "est").start()
    yield server
    server.stop()


def profile(est: EstServer, ident: str = "web", **changes) -> dict:
    return {"id": ident, "server": est.address, "subject": {"cn": "localhost"},
            "subjectAlternativeNames": ["IP:127.0.0.1", "DNS:localhost"], "caCertificates": ["est-root"],
            "username": est.username, "password": est.password, "services": ["WEBSERVER"], **changes}


async def test_enroll_renew_and_assign_to_https(device: Device, est: EstServer) -> None:
    keystore = device.features[KEYSTORE]
    keystore.add_ca("est-root", est.ca.pem, "test")
    async with client_as(device, "admin") as admin:
        added = (await admin.post(PROFILES, json={"data": profile(est)})).json()
        assert added["status"] == "success" and added["data"]["status"] == "UNCONNECTED"
        enrolled = (await admin.post(f"{PROFILES}/web/enroll")).json()
        assert enrolled["status"] == "success", enrolled
        assert device.events.state(ERROR_TOPIC, {"profile": "web"}) == {"active": "0", "reason": ""}
        assert enrolled["data"]["status"] == "ENROLLED" and enrolled["data"]["error"] == ""
        first = keystore.certificate("EST web").leaf
        assert first.issuer == est.ca.cert.subject and first.subject.rfc4514_string() == "CN=localhost"
        assert keystore.ca_certificate("EST web CA").leaf == est.ca.cert
        assert device.params.get("HTTPS.Certificate") == "EST web"
        assert enrolled["data"]["renewAt"] == int(renewal_time(first))
        assert est.operations() == ["cacerts", "simpleenroll"]
        # Renewal proves itself with the current certificate, and a new key replaces the old one.
        renewed = (await admin.post(f"{PROFILES}/web/enroll")).json()
        assert renewed["data"]["status"] == "ENROLLED"
        assert est.operations() == ["cacerts", "simpleenroll", "cacerts", "simplereenroll"]
        assert est.requests[-1].client_subject == "CN=localhost"
        second = keystore.certificate("EST web").leaf
        assert second.serial_number != first.serial_number and second.public_key() != first.public_key()
        # The stored profile keeps the password sealed.
        assert est.password not in device.store.get_kv("est.profile.web")
        listed = (await admin.get(PROFILES)).json()["data"]
        assert [p["id"] for p in listed] == ["web"] and "password" not in listed[0] and listed[0]["passwordSet"]
        # In use by the profile: its trust anchor cannot be deleted.
        refused = await admin.delete("/config/rest/cert/v1/ca_certificates/est-root")
        assert refused.status_code == 409 and "enrollment profile 'web'" in refused.json()["error"]["message"]
    audit = device.logs.text("audit")
    assert "added enrollment profile 'web'" in audit and "enrolled certificate 'EST web'" in audit
    assert "renewed certificate by enrollment 'EST web'" in audit


async def test_refusals_are_said_and_store_nothing(device: Device, est: EstServer, tmp_path: Path) -> None:
    keystore = device.features[KEYSTORE]
    keystore.add_ca("est-root", est.ca.pem, "test")
    keystore.add_ca("other-root", TestCa("Other CA").pem, "test")
    async with client_as(device, "admin") as admin:
        await admin.post(PROFILES, json={"data": profile(est, "wrongpw", password="nope", services=[])})
        wrong = await admin.post(f"{PROFILES}/wrongpw/enroll")
        assert wrong.status_code == 502
        assert wrong.json()["error"]["message"] == ("the EST server refused simpleenroll: HTTP 401 Unauthorized: "
                                                     "unknown user/password")
        status = (await admin.get(f"{PROFILES}/wrongpw")).json()["data"]
        assert status["status"] == "CONNECTED" and "401 Unauthorized" in status["error"]
        error = device.events.state(ERROR_TOPIC, {"profile": "wrongpw"})
        assert error is not None and error["active"] == "1" and "401 Unauthorized" in error["reason"]

        await admin.post(PROFILES, json={"data": profile(est, "untrusted", caCertificates=["other-root"],
                                                         services=[])})
        untrusted = await admin.post(f"{PROFILES}/untrusted/enroll")
        assert untrusted.status_code == 502 and "is not trusted" in untrusted.json()["error"]["message"]
        assert (await admin.get(f"{PROFILES}/untrusted")).json()["data"]["status"] == "UNCONNECTED"

        est.refuse = (400, "subject not allowed by policy")
        await admin.post(PROFILES, json={"data": profile(est, "refused", services=[])})
        refused = await admin.post(f"{PROFILES}/refused/enroll")
        assert refused.status_code == 502 and refused.json()["error"]["message"] == (
            "the EST server refused simpleenroll: HTTP 400 Bad Request: subject not allowed by policy")
        assert [e.alias for e in keystore.certificates()] == []
        assert device.params.get("HTTPS.Certificate") == ""

        for bad, text in [
            ({"id": "a b"}, "id is 1 to 32"), ({"server": "ftp://x y"}, "EST server is host"),
            ({"subject": {}}, "subject.cn"), ({"services": ["MQTT"]}, "services holds only WEBSERVER"),
            ({"caCertificates": ["missing"]}, "no CA certificate 'missing'"), ({"keyType": "DSA"}, "keyType"),
            ({"subjectAlternativeNames": ["URI:x"]}, "not DNS:"), ({"extra": 1}, "unknown field"),
            ({"id": "refused"}, "exists"),
        ]:
            answer = await admin.post(PROFILES, json={"data": {**profile(est, "new"), **bad}})
            assert answer.status_code in (400, 409) and text in answer.json()["error"]["message"], (bad, answer.text)
        assert (await admin.post(f"{PROFILES}/none/enroll")).status_code == 404
    async with client_as(device, "operator") as operator:
        assert (await operator.get(PROFILES)).status_code == 403
    assert "certificate enrollment 'refused' failed" in device.logs.text("system")


async def test_renewal_at_half_of_the_validity(tmp_path: Path, est: EstServer) -> None:
    est.validity = 4.0  # renewed 2 s after it was issued
    device = build_device("s3016", tmp_path / "data", Ports(http=80, https=443), Clock())
    try:
        keystore = device.features[KEYSTORE]
        keystore.add_ca("est-root", est.ca.pem, "test")
        enrollment = device.features[ENROLLMENT]
        schedule = asyncio.create_task(enrollment.run())
        enrollment.add(read_profile(profile(est, services=[]), keystore), "test")
        await eventually(lambda: "simpleenroll" in est.operations(), 15, "the enrollment at once")
        first = await eventually(lambda: keystore.certificates() and keystore.certificate("EST web").leaf, 15,
                                 "the enrolled certificate")
        assert enrollment.due(enrollment.profile("web")) == renewal_time(first)
        await eventually(lambda: "simplereenroll" in est.operations(), 15, "the renewal")
        renewal = next(s for s in est.requests if s.operation == "simplereenroll")
        assert renewal.at >= renewal_time(first)  # not before half of the validity
        schedule.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await schedule
    finally:
        device.close()
