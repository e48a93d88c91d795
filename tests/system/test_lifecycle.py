"""Restart, restore (factorydefault.cgi), factory default (hardfactorydefault.cgi), HTTPS
and "allow access through", against a real `vigil run` process."""

from __future__ import annotations

import sqlite3
import ssl
import time

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.conftest import ADMIN, LiveDevice, create_admin_live, start_live, wait_until
from tests.peers.processes import port_open
from vigil.core.identity import Identity
from vigil.core.params import ParamDef
from vigil.core.vault import Vault, is_sealed
from vigil.device import CERT_FILE, DB_FILE, IDENTITY_FILE, KEY_FILE
from vigil.features.dot1x.params import param_defs as dot1x_defs
from vigil.features.system import param_groups as groups
from vigil.features.system.param_groups import KEPT_ON_RESTORE
from vigil.features.timesync.params import param_defs as time_defs
from vigil.profiles import load_profile

AUTH = httpx.BasicAuth(*ADMIN)
PARAM = "/axis-cgi/param.cgi"
# Settings the walk below leaves alone, because changing them changes how the test reaches the device.
UNTOUCHED = {"HTTPS.Enabled", "HTTPS.AllowAccessThrough", "Network.HTTP.AuthenticationPolicy", "System.BoaProtViewer",
             "RemoteService.Enabled"}  # O3C: only "no" is taken (tests/system/test_param_groups.py)


def get(server: LiveDevice, path: str, https: bool = False, auth: httpx.Auth | None = AUTH, **kw) -> httpx.Response:
    base = server.https if https else server.http
    return httpx.get(base + path, auth=auth, verify=False, timeout=10, **kw)


def listing(server: LiveDevice, group: str) -> dict[str, str]:
    r = get(server, PARAM, params={"action": "list", "group": group})
    assert r.status_code == 200 and not r.text.startswith("#"), r.text
    return dict(line.split("=", 1) for line in r.text.split("\r\n") if line)


def update(server: LiveDevice, https: bool = False, **values: str) -> None:
    r = get(server, PARAM, https=https, params={"action": "update", **values})
    assert r.text == "OK\r\n", r.text


def fingerprint_served(port: int) -> bytes:
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256())


def fingerprint_file(server: LiveDevice) -> bytes:
    cert = x509.load_pem_x509_certificate((server.data / CERT_FILE).read_bytes())
    return cert.fingerprint(hashes.SHA256())


def login(server: LiveDevice) -> httpx.Cookies:
    r = httpx.post(server.http + "/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200, r.text
    return r.cookies


def wait_new_instance(server: LiveDevice, cookies: httpx.Cookies, timeout: float = 20.0, https: bool = True) -> dict:
    """Wait until the device was rebuilt: sessions live in memory, so the old one is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process.poll() is None, "vigil exited instead of restarting"
        try:
            state = httpx.get(server.http + "/vigil/session", cookies=cookies, timeout=1).json()
        except (httpx.TransportError, ValueError):
            time.sleep(0.05)
            continue
        if state["user"] is None:
            if not https:
                return state
            # Both listeners are up once HTTPS answers too.
            try:
                httpx.get(server.https + "/vigil/session", verify=False, timeout=1)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            return state
        time.sleep(0.05)
    raise TimeoutError("the device did not come back")


def platform_defs(server: LiveDevice) -> list[ParamDef]:
    profile = load_profile(server.profile)
    identity = Identity.load(server.data / IDENTITY_FILE)
    # The 802.1X settings a restore keeps; EAPOL version alone, which 802.1X turned off takes in any case.
    dot1x = [d for d in dot1x_defs(lambda: "off") if d.name.endswith(".EAPOLVersion")]
    defs = (groups.network(profile, identity) + time_defs(lambda: "") + groups.https_group() + groups.system_group()
            + groups.remote_service() + dot1x)
    return [d for d in defs if not d.readonly and d.name not in UNTOUCHED]


def other_value(d: ParamDef) -> str:
    """A valid value different from the default."""
    candidates = [*d.choices, *d.truth, "10.9.8.7", "host-1", "Europe/Oslo", "EST5EDT", "changed"]
    if d.kind == "int":
        candidates = [str(d.minimum or 0), str(d.maximum or 1), "1025"]
    for value in candidates:
        if value != d.default and d.validate(value) is None:
            return value
    raise AssertionError(f"no alternative value for {d.name}")


def stored_params(server: LiveDevice) -> dict[str, str]:
    db = sqlite3.connect(f"file:{server.data / DB_FILE}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT name, value FROM params"))
    finally:
        db.close()


def opened(server: LiveDevice, value: str) -> str:
    """A stored parameter value in clear: a password is stored sealed under the device key."""
    return Vault((server.data / KEY_FILE).read_bytes()).unseal(value) if is_sealed(value) else value


def kept_on_restore(name: str) -> bool:
    return any(name == k or (k.endswith(".") and name.startswith(k)) for k in KEPT_ON_RESTORE)


def test_restart_https_and_access_through(tmp_path):
    server = start_live(tmp_path / "data")
    try:
        create_admin_live(server)
        # HTTPS is on, with a self-signed certificate made at first start.
        cert = x509.load_pem_x509_certificate((server.data / CERT_FILE).read_bytes())
        assert cert.issuer == cert.subject
        assert fingerprint_served(server.https_port) == fingerprint_file(server)
        first_cert = fingerprint_file(server)
        r = get(server, "/axis-cgi/usergroup.cgi", https=True)
        assert r.status_code == 200 and r.text.startswith("root\n")
        serial = listing(server, "Properties.System.SerialNumber")["root.Properties.System.SerialNumber"]
        update(server, **{"Network.UPnP.FriendlyName": "Kept over restart", "Network.Proxy.HTTPPassword": "pw1"})
        assert get(server, PARAM, params={"action": "add", "template": "streamprofile", "group": "StreamProfile",
                                          "StreamProfile.S.Name": "kept"}).text == "S0 OK\r\n"

        cookies = login(server)
        r = get(server, "/axis-cgi/restart.cgi")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        state = wait_new_instance(server, cookies)
        assert state["setupRequired"] is False
        assert server.process.poll() is None  # restarted in-process
        got = listing(server, "Network.UPnP.FriendlyName,StreamProfile.S0.Name,Properties.System.SerialNumber")
        assert got == {"root.Network.UPnP.FriendlyName": "Kept over restart", "root.StreamProfile.S0.Name": "kept",
                       "root.Properties.System.SerialNumber": serial}
        assert fingerprint_served(server.https_port) == first_cert == fingerprint_file(server)
        assert get(server, "/axis-cgi/systemlog.cgi", params={"text": "started"}).text.count("started, serial") == 2

        # HTTPS only: HTTP answers with a permanent redirect to the HTTPS port.
        update(server, **{"HTTPS.AllowAccessThrough": "https"})
        r = get(server, "/axis-cgi/usergroup.cgi?x=1", auth=None)
        assert r.status_code == 301
        assert r.headers["location"] == f"https://127.0.0.1:{server.https_port}/axis-cgi/usergroup.cgi?x=1"
        r = httpx.get(r.headers["location"], auth=AUTH, verify=False)  # httpx drops credentials on redirects
        assert r.status_code == 200 and r.text.startswith("root\n")
        # HTTP only: HTTPS refuses.
        update(server, https=True, **{"HTTPS.AllowAccessThrough": "http"})
        r = get(server, "/axis-cgi/usergroup.cgi", https=True)
        assert r.status_code == 403
        assert get(server, "/axis-cgi/usergroup.cgi").status_code == 200
        update(server, **{"HTTPS.AllowAccessThrough": "both"})
        assert get(server, "/axis-cgi/usergroup.cgi", https=True).status_code == 200
        assert get(server, "/axis-cgi/usergroup.cgi").status_code == 200

        # HTTPS turned off closes its port at once, and it stays closed over a restart.
        update(server, **{"HTTPS.Enabled": "no"})
        wait_until(lambda: not port_open(server.https_port), 10, "the HTTPS port to close")
        cookies = login(server)
        assert get(server, "/axis-cgi/restart.cgi").status_code == 200
        wait_new_instance(server, cookies, https=False)
        try:
            get(server, "/axis-cgi/usergroup.cgi", https=True)
            raise AssertionError("HTTPS still answers")
        except httpx.TransportError:
            pass
        update(server, **{"HTTPS.Enabled": "yes"})
        cookies = login(server)
        assert get(server, "/axis-cgi/restart.cgi").status_code == 200
        wait_new_instance(server, cookies)
        assert fingerprint_served(server.https_port) == first_cert
    finally:
        server.stop()
    assert server.process.returncode == 0


def test_restore_and_factory_default(tmp_path):
    server = start_live(tmp_path / "data")
    try:
        create_admin_live(server)
        serial = listing(server, "Properties.System.SerialNumber")["root.Properties.System.SerialNumber"]
        first_cert = fingerprint_served(server.https_port)
        defs = platform_defs(server)
        changed = {d.name: other_value(d) for d in defs}
        assert any(kept_on_restore(n) for n in changed) and any(not kept_on_restore(n) for n in changed)
        update(server, **changed)
        assert get(server, PARAM, params={"action": "add", "template": "streamprofile", "group": "StreamProfile",
                                          "StreamProfile.S.Name": "gone"}).text == "S0 OK\r\n"
        r = httpx.post(server.http + "/axis-cgi/pwdgrp.cgi", auth=AUTH,
                       data={"action": "add", "user": "joe", "pwd": "joe12345", "grp": "users", "sgrp": "viewer"})
        assert "Created account joe." in r.text

        # Restore: keeps exactly the KEPT_ON_RESTORE settings; accounts and all else go.
        cookies = login(server)
        r = get(server, "/axis-cgi/factorydefault.cgi")
        assert r.status_code == 200
        state = wait_new_instance(server, cookies)
        assert state["setupRequired"] is True
        r = httpx.post(server.http + "/axis-cgi/pwdgrp.cgi", data={"action": "get"})
        assert r.status_code == 401 and "initial admin user must be created first" in r.text
        create_admin_live(server)
        everything = listing(server, "root")
        stored = stored_params(server)
        for d in defs:
            expected = changed[d.name] if kept_on_restore(d.name) else d.default
            if d.kind == "password":  # listed masked whatever the value; look in the database (sealed)
                assert everything[f"root.{d.name}"] == "******"
                assert opened(server, stored.get(d.name, d.default)) == expected, d.name
            else:
                assert everything[f"root.{d.name}"] == expected, d.name
        assert not any(k.startswith("root.StreamProfile.S0") for k in everything)
        assert everything["root.Properties.System.SerialNumber"] == serial
        r = httpx.post(server.http + "/axis-cgi/pwdgrp.cgi", data={"action": "get"}, auth=AUTH)
        assert r.text.startswith('admin="root"\n') and "joe" not in r.text
        second_cert = fingerprint_served(server.https_port)
        assert second_cert != first_cert and second_cert == fingerprint_file(server)

        # Factory default: everything goes, the serial number stays.
        cookies = login(server)
        assert get(server, "/axis-cgi/hardfactorydefault.cgi").status_code == 200
        state = wait_new_instance(server, cookies)
        assert state["setupRequired"] is True
        create_admin_live(server)
        everything = listing(server, "root")
        stored = stored_params(server)
        for d in defs:
            if d.kind != "password":
                assert everything[f"root.{d.name}"] == d.default, d.name
            assert stored.get(d.name, d.default) == d.default, d.name
        assert everything["root.Properties.System.SerialNumber"] == serial
        third_cert = fingerprint_served(server.https_port)
        assert third_cert not in (first_cert, second_cert)
        log = get(server, "/axis-cgi/systemlog.cgi").text
        assert "requested" not in log  # the logs went with the rest
    finally:
        server.stop()
