"""The device management service in process: every reply validates against devicemgmt.wsdl;
access classes per ONVIF user level; date and time, scopes, users, relays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.onvif.conftest import Soap
from tests.onvif.schemas import assert_valid, body_of
from vigil.features.discovery.const import WSD_SCOPES
from vigil.features.onvif.const import TDS, TT

NS = {"tds": TDS, "tt": TT}


async def test_pre_auth_operations_answer_anyone_and_validate(soap: Soap):
    for op, inner in (("GetSystemDateAndTime", ""), ("GetServices", "<op:IncludeCapability>true</op:IncludeCapability>"),
                      ("GetServices", "<op:IncludeCapability>false</op:IncludeCapability>"),
                      ("GetServiceCapabilities", ""), ("GetCapabilities", "<op:Category>All</op:Category>"),
                      ("GetHostname", ""), ("GetWsdlUrl", ""), ("GetEndpointReference", "")):
        r = await soap(op, inner)
        assert r.status_code == 200, (op, r.text)
        assert r.headers["content-type"].startswith("application/soap+xml")
        assert_valid(r.content)
    services = body_of((await soap("GetServices", "<op:IncludeCapability>false</op:IncludeCapability>")).content)
    addresses = [a.text for a in services.iterfind(".//tds:XAddr", NS)]
    assert addresses == ["http://127.0.0.1:80/onvif/device_service", "http://127.0.0.1:80/onvif/events_service",
                         "http://127.0.0.1:80/onvif/media_service",
                         "http://127.0.0.1:80/onvif/media2_service", "http://127.0.0.1:80/onvif/search_service",
                         "http://127.0.0.1:80/onvif/recording_service", "http://127.0.0.1:80/onvif/replay_service"]


async def test_no_credentials_get_a_digest_challenge_and_wrong_ones_not_authorized(soap: Soap):
    r = await soap("GetDeviceInformation")
    assert r.status_code == 401 and "Digest" in r.headers["www-authenticate"]
    r = await soap("GetDeviceInformation", header=_token("onvifadmin", "wrong"))
    assert r.status_code == 400 and "ter:NotAuthorized" in r.text and "Sender" in r.text
    # An empty user name is no credentials (libonvif sends one before it is given a user): the
    # pre-authentication operations answer, the others ask for credentials.
    empty = _token("", "")
    assert (await soap("GetHostname", header=empty)).status_code == 200
    assert (await soap("GetDeviceInformation", header=empty)).status_code == 401
    r = await soap("GetDeviceInformation", as_level="User")
    info = assert_valid(r.content)
    assert info.findtext("tds:Manufacturer", namespaces=NS) and info.findtext("tds:Model", namespaces=NS) == "S3016"


async def test_password_text_works_and_a_vapix_only_account_is_refused(soap: Soap):
    r = await soap("GetDeviceInformation", as_level="Operator", text=True)
    assert r.status_code == 200, r.text
    r = await soap("GetDeviceInformation", header=_token("root", "pass1234"))  # root is no ONVIF account
    assert r.status_code == 400 and "not an ONVIF account" in r.text


async def test_replayed_nonce_and_stale_timestamps_are_refused(soap: Soap):
    nonce = b"0123456789abcdef"
    assert (await soap("GetDeviceInformation", as_level="User", nonce=nonce)).status_code == 200
    r = await soap("GetDeviceInformation", as_level="User", nonce=nonce)
    assert r.status_code == 400 and "used before" in r.text
    now = datetime.fromtimestamp(soap.device.clock.time(), UTC)
    # The same nonce with another Created is another request (libonvif sends them so); its digest differs.
    later = datetime.fromtimestamp(now.timestamp() + 1, UTC)
    assert (await soap("GetDeviceInformation", as_level="User", nonce=nonce, created=later)).status_code == 200
    for shift in (-301, 301):
        late = datetime.fromtimestamp(now.timestamp() + shift, UTC)
        r = await soap("GetDeviceInformation", as_level="User", created=late)
        assert r.status_code == 400 and "ter:NotAuthorized" in r.text and "device's time" in r.text


async def test_access_classes_follow_the_user_level(soap: Soap):
    user = ("<op:User><tt:Username>newone</tt:Username><tt:Password>Pass1234</tt:Password>"
            "<tt:UserLevel>User</tt:UserLevel></op:User>")
    for level in ("User", "Operator"):
        r = await soap("CreateUsers", user, as_level=level)
        assert r.status_code == 400 and "ter:NotAuthorized" in r.text, level
        r = await soap("SystemReboot", as_level=level)
        assert r.status_code == 400 and "ter:NotAuthorized" in r.text
    assert soap.device.accounts.get("newone") is None
    assert (await soap("GetUsers", as_level="Operator")).status_code == 400  # READ_SYSTEM_SECRET
    relay = "<op:RelayOutputToken>0</op:RelayOutputToken><op:LogicalState>active</op:LogicalState>"
    r = await soap("SetRelayOutputState", relay, as_level="User")
    assert r.status_code == 400 and "ter:NotAuthorized" in r.text  # ACTUATE: the operator's


async def test_users_are_created_listed_changed_and_deleted(soap: Soap):
    accounts = soap.device.accounts
    user = ("<op:User><tt:Username>viewer9</tt:Username><tt:Password>Pass1234</tt:Password>"
            "<tt:UserLevel>User</tt:UserLevel></op:User>")
    assert_valid((await soap("CreateUsers", user, as_level="Administrator")).content)
    assert accounts.get("viewer9").onvif and accounts.get("viewer9").role.label == "viewer"
    assert (await soap("GetDeviceInformation", header=_token("viewer9", "Pass1234"))).status_code == 200
    users = assert_valid((await soap("GetUsers", as_level="Administrator")).content)
    listed = {u.findtext("tt:Username", namespaces=NS): u.findtext("tt:UserLevel", namespaces=NS)
              for u in users.iterfind("tds:User", NS)}
    assert listed == {"onvifadmin": "Administrator", "onvifop": "Operator", "onvifmedia": "User", "viewer9": "User"}
    r = await soap("CreateUsers", user, as_level="Administrator")
    assert r.status_code == 400 and "ter:UsernameClash" in r.text
    change = "<op:User><tt:Username>viewer9</tt:Username><tt:UserLevel>Operator</tt:UserLevel></op:User>"
    assert_valid((await soap("SetUser", change, as_level="Administrator")).content)
    assert accounts.get("viewer9").role.label == "operator" and accounts.password("viewer9") == "Pass1234"
    assert_valid((await soap("DeleteUsers", "<op:Username>viewer9</op:Username>", as_level="Administrator")).content)
    assert accounts.get("viewer9") is None
    r = await soap("DeleteUsers", "<op:Username>root</op:Username>", as_level="Administrator")
    assert r.status_code == 400 and "UsernameMissing" in r.text  # root is no ONVIF user
    audit = soap.device.logs.text("audit", "viewer9")
    assert "added account viewer9" in audit and "updated account viewer9" in audit and "removed account viewer9" in audit


@pytest.mark.parametrize("user, detail", [
    ("<tt:Username>a b</tt:Username><tt:Password>Pass1234</tt:Password><tt:UserLevel>User</tt:UserLevel>",
     "UsernameTooLong"),
    ("<tt:Username>anon</tt:Username><tt:Password>Pass1234</tt:Password><tt:UserLevel>Anonymous</tt:UserLevel>",
     "AnonymousNotAllowed"),
    ("<tt:Username>x1</tt:Username><tt:Password>Pass1234</tt:Password><tt:UserLevel>Root</tt:UserLevel>",
     "InvalidArgVal"),
    ("<tt:Username>x2</tt:Username><tt:Password>" + "p" * 65 + "</tt:Password><tt:UserLevel>User</tt:UserLevel>",
     "PasswordTooLong"),
])
async def test_bad_users_are_refused_and_nothing_is_stored(soap: Soap, user: str, detail: str):
    before = [a.name for a in soap.device.accounts.all()]
    r = await soap("CreateUsers", f"<op:User>{user}</op:User>", as_level="Administrator")
    assert r.status_code == 400 and detail in r.text
    assert [a.name for a in soap.device.accounts.all()] == before


async def test_a_password_keeps_its_spaces_and_too_many_users_change_nothing(soap: Soap):
    spaced = ("<op:User><tt:Username>spaced</tt:Username><tt:Password> pass 1234 </tt:Password>"
              "<tt:UserLevel>User</tt:UserLevel></op:User>")
    assert_valid((await soap("CreateUsers", spaced, as_level="Administrator")).content)
    assert soap.device.accounts.password("spaced") == " pass 1234 "
    room = 100 - len(soap.device.accounts.all())
    many = "".join(f"<op:User><tt:Username>u{i}</tt:Username><tt:Password>Pass1234</tt:Password>"
                   "<tt:UserLevel>User</tt:UserLevel></op:User>" for i in range(room + 1))
    r = await soap("CreateUsers", many, as_level="Administrator")
    assert r.status_code == 400 and "TooManyUsers" in r.text
    assert soap.device.accounts.get("u0") is None


async def test_date_and_time_through_timesync(soap: Soap):
    now = assert_valid((await soap("GetSystemDateAndTime")).content)
    assert now.findtext(".//tt:DateTimeType", namespaces=NS) in ("NTP", "Manual")
    manual = ("<op:DateTimeType>Manual</op:DateTimeType><op:DaylightSavings>false</op:DaylightSavings>"
              "<op:TimeZone><tt:TZ>CET-1</tt:TZ></op:TimeZone><op:UTCDateTime><tt:Date><tt:Year>2030</tt:Year>"
              "<tt:Month>5</tt:Month><tt:Day>6</tt:Day></tt:Date><tt:Time><tt:Hour>7</tt:Hour><tt:Minute>8</tt:Minute>"
              "<tt:Second>9</tt:Second></tt:Time></op:UTCDateTime>")
    assert_valid((await soap("SetSystemDateAndTime", manual, as_level="Administrator")).content)
    assert datetime.fromtimestamp(soap.device.clock.time(), UTC).replace(microsecond=0) == \
        datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    p = soap.device.params
    assert p.get("Time.SyncSource") == "None" and p.get("Time.POSIXTimeZone") == "CET-1"
    got = assert_valid((await soap("GetSystemDateAndTime")).content)
    assert got.findtext(".//tt:DateTimeType", namespaces=NS) == "Manual"
    assert got.findtext(".//tt:UTCDateTime/tt:Date/tt:Year", namespaces=NS) == "2030"
    assert got.findtext(".//tt:LocalDateTime/tt:Time/tt:Hour", namespaces=NS) == "8"  # CET
    bad = manual.replace("CET-1", "no zone here!")
    r = await soap("SetSystemDateAndTime", bad, as_level="Administrator")
    assert r.status_code == 400 and "InvalidTimeZone" in r.text and p.get("Time.POSIXTimeZone") == "CET-1"
    ntp = "<op:DateTimeType>NTP</op:DateTimeType><op:DaylightSavings>false</op:DaylightSavings>"
    assert_valid((await soap("SetSystemDateAndTime", ntp, as_level="Administrator")).content)
    assert p.get("Time.SyncSource") == "NTP"


async def test_network_reads_validate(soap: Soap):
    for op in ("GetNetworkInterfaces", "GetDNS", "GetNTP", "GetNetworkProtocols", "GetNetworkDefaultGateway",
               "GetScopes", "GetDiscoveryMode", "GetRelayOutputs"):
        r = await soap(op, as_level="User")
        assert r.status_code == 200, (op, r.text)
        assert_valid(r.content)
    interfaces = body_of((await soap("GetNetworkInterfaces", as_level="User")).content)
    assert interfaces.findtext(".//tt:HwAddress", namespaces=NS) == soap.device.identity.mac


async def test_ntp_servers_by_name_and_address(soap: Soap):
    soap.device.params.set_internal({"Time.NTP.Server": "pool.ntp.org,192.0.2.5:1234,[2001:db8::1]"}, "test")
    info = assert_valid((await soap("GetNTP", as_level="User")).content)
    manual = [(m.findtext("tt:Type", namespaces=NS), m[1].text) for m in info.iterfind(".//tt:NTPManual", NS)]
    assert manual == [("DNS", "pool.ntp.org"), ("IPv4", "192.0.2.5"), ("IPv6", "2001:db8::1")]


async def test_scopes_are_shared_with_ws_discovery(soap: Soap):
    fixed = body_of((await soap("GetScopes", as_level="User")).content)
    fixed_items = [s.findtext("tt:ScopeItem", namespaces=NS) for s in fixed]
    assert all(s.findtext("tt:ScopeDef", namespaces=NS) == "Fixed" for s in fixed)
    add = "<op:ScopeItem>onvif://www.onvif.org/location/hall</op:ScopeItem>"
    assert_valid((await soap("AddScopes", add, as_level="Administrator")).content)
    assert soap.device.params.get(WSD_SCOPES) == "onvif://www.onvif.org/location/hall"
    from vigil.features.discovery.service import DISCOVERY_SERVICE

    assert "onvif://www.onvif.org/location/hall" in soap.device.features[DISCOVERY_SERVICE].scopes()
    r = await soap("RemoveScopes", f"<op:ScopeItem>{fixed_items[0]}</op:ScopeItem>", as_level="Administrator")
    assert r.status_code == 400 and "FixedScope" in r.text
    removed = assert_valid((await soap("RemoveScopes", add, as_level="Administrator")).content)
    assert [e.text for e in removed] == ["onvif://www.onvif.org/location/hall"]
    assert soap.device.params.get(WSD_SCOPES) == ""
    r = await soap("SetScopes", "<op:Scopes>not a uri</op:Scopes>", as_level="Administrator")
    assert r.status_code == 400 and "InvalidArgVal" in r.text


def _token(user: str, password: str) -> str:
    from tests.onvif.schemas import security

    return security(user, password, created=datetime.fromtimestamp(1_700_000_000, UTC))
