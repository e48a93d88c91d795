"""The device location over VAPIX's geolocation API: kept as written in DD, DDMM or DDMMSS,
refused with a SetError when a value cannot be taken (nothing changes), administrators only,
audited, and kept over a restart."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import asgi_client, client_as, make_device
from vigil.features.timesync.location import Location, LocationError, coordinate_format

GET, SET = "/axis-cgi/geolocation/get.cgi", "/axis-cgi/geolocation/set.cgi"


def position(text: str) -> dict[str, str]:
    root = etree.fromstring(text.encode())
    assert root.tag == "PositionResponse" and root.get("SchemaVersion") == "1.0"
    found = root.find("Success/GetSuccess")
    assert found is not None, text
    return {e.tag: e.text or "" for e in found.iter() if len(e) == 0}


async def test_a_new_device_has_no_position(admin):
    r = await admin.get(GET)
    assert r.headers["content-type"].startswith("application/xml")
    assert position(r.text) == {"Lat": "0", "Lng": "0", "Heading": "0", "Text": "", "ValidPosition": "false",
                                "ValidHeading": "false"}


@pytest.mark.parametrize(("lat", "lng"), [("51.1234", "013.1234"), ("5112.3456", "01312.3456"),
                                          ("511234.5678", "0131234.5678"), ("-33.5", "-110.25"), ("+03.5", "2.5")])
async def test_the_position_is_kept_as_written(device, admin, lat, lng):
    r = await admin.get(SET, params={"lat": lat, "lng": lng, "heading": "30", "text": "floor 2 <east>"})
    assert "<GeneralSuccess />" in r.text
    assert position((await admin.get(GET)).text) == {"Lat": lat, "Lng": lng, "Heading": "30",
                                                      "Text": "floor 2 <east>", "ValidPosition": "true",
                                                      "ValidHeading": "true"}
    assert "user=root set the device location: lat=" in device.logs.text("audit")


async def test_a_set_changes_what_it_names(admin):
    await admin.post(SET, data={"lat": "51.0", "lng": "-0.1", "heading": "90", "text": "roof"})
    await admin.get(SET, params={"text": "lobby"})
    got = position((await admin.get(GET)).text)
    assert (got["Lat"], got["Heading"], got["Text"]) == ("51.0", "90", "lobby")
    await admin.get(SET, params={"heading": ""})  # cleared
    assert position((await admin.get(GET)).text)["ValidHeading"] == "false"


@pytest.mark.parametrize(("query", "code"), [
    ({"lat": "91.0", "lng": "0"}, 2), ({"lat": "45", "lng": "181"}, 2), ({"lat": "4560.0", "lng": "01300"}, 2),
    ({"lat": "north", "lng": "0"}, 2), ({"lat": "123.4", "lng": "0"}, 2), ({"lat": "51.0", "lng": "01312.34"}, 2),
    ({"lat": ""}, 2), ({"lat": "5100.0"}, 2), ({"heading": "361"}, 2), ({"heading": "-1"}, 2), ({"heading": "east"}, 2),
    ({"text": "x" * 256}, 2), ({"text": "a\nb"}, 2), ({"altitude": "3"}, 1), ({}, 1),
])
async def test_bad_values_change_nothing(device, admin, query, code):
    await admin.get(SET, params={"lat": "10.5", "lng": "20.5", "heading": "45", "text": "kept"})
    r = await admin.get(SET, params=query)
    root = etree.fromstring(r.text.encode())
    assert root.findtext("Error/SetError/ErrorCode") == str(code), r.text
    assert root.findtext("Error/SetError/ErrorDescription")
    assert position((await admin.get(GET)).text)["Text"] == "kept"
    assert "geolocation/set.cgi refused for root" in device.logs.text("system")


async def test_only_administrators(device):
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            assert (await c.get(GET)).status_code == 403
            assert (await c.get(SET, params={"text": "x"})).status_code == 403
    async with asgi_client(device) as anon:
        assert (await anon.get(GET)).status_code == 401


async def test_the_location_survives_a_restart(tmp_path, clock):
    device = make_device(tmp_path, clock)
    async with client_as(device, "admin") as admin:
        await admin.get(SET, params={"lat": "59.3293", "lng": "018.0686", "text": "Stockholm"})
    device.close()
    again = make_device(tmp_path, clock)
    try:
        async with client_as(again, "admin") as admin:
            assert position((await admin.get(GET)).text)["Lng"] == "018.0686"
    finally:
        again.close()


def test_coordinate_forms():
    assert [coordinate_format(t, False) for t in ("5", "51.5", "5112", "511234.5")] == ["DD", "DD", "DDMM", "DDMMSS"]
    assert [coordinate_format(t, True) for t in ("13.5", "013.5", "01312.5", "0131234")] == ["DD", "DD", "DDMM", "DDMMSS"]
    assert Location("5112.3456", "01312.3456").format == "DDMM" and Location().format == "DD"
    with pytest.raises(LocationError, match="different forms"):
        Location().updated({"lat": "51.5", "lng": "01312.5"})


async def test_the_geolocation_properties(admin):
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "list", "group": "Properties.Geolocation"})
    assert r.text == "root.Properties.Geolocation.Geolocation=yes\r\nroot.Properties.Geolocation.Version=0.01\r\n"
