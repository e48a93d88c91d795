"""Camera sources: credentials never in a URL, passwords sealed at rest (and sealed when an
older device's sources are loaded), and setSource refusing JSON of the wrong type with an
API error, storing nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import make_device
from tests.recording.conftest import call
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source, SourceError, check_source

CAMERA = {"id": "cam9", "name": "Lobby", "url": "rtsp://192.0.2.50:554/axis-media/media.amp", "enabled": False}


def stored(device: Device) -> list[tuple[str, str]]:
    return device.store.query("SELECT id, body FROM sources ORDER BY id")


def system_log(device: Device) -> str:
    device.logs.flush()
    return "\n".join(m for (m,) in device.store.query("SELECT message FROM log WHERE kind='system'"))


async def test_a_url_with_credentials_is_refused_and_viewers_see_none(device: Device) -> None:
    url = "rtsp://camadmin:CamSecret9@192.0.2.50:554/axis-media/media.amp"
    reply = await call(device, "admin", "setSource", {"source": {**CAMERA, "url": url}})
    assert reply["error"]["code"] == 1000
    assert "put the user name and password in their own fields" in reply["error"]["message"]
    assert stored(device) == []
    for userinfo in ("camadmin@", "camadmin:@", ":CamSecret9@"):
        reply = await call(device, "admin", "setSource", {"source": {**CAMERA, "url": f"rtsp://{userinfo}192.0.2.50/x"}})
        assert reply["error"]["code"] == 1000, userinfo
    reply = await call(device, "admin", "setSource",
                       {"source": {**CAMERA, "username": "camadmin", "password": "CamSecret9"}})
    assert reply["data"]["source"]["password"] == "******"
    listed = (await call(device, "viewer", "listSources"))["data"]["sources"]
    assert [s["url"] for s in listed] == [CAMERA["url"]]
    assert "CamSecret9" not in json.dumps(listed)


async def test_source_passwords_are_stored_sealed(device: Device, tmp_path: Path) -> None:
    reply = await call(device, "admin", "setSource", {"source": {**CAMERA, "username": "u2", "password": "CamPw2"}})
    assert "error" not in reply, reply
    (sid, body), = stored(device)
    assert "CamPw2" not in body and "password" not in json.loads(body)
    # "******" keeps the stored password; the recorder reads the clear one, after a restart too.
    await call(device, "admin", "setSource", {"source": {"id": "cam9", "name": "Hall", "password": "******"}})
    device.close()
    again = make_device(tmp_path, FakeClock())
    try:
        source = again.features[RECORDING_SERVICE].sources.all["cam9"]
        assert (source.name, source.username, source.password) == ("Hall", "u2", "CamPw2")
        assert "CamPw2" not in stored(again)[0][1]
    finally:
        again.close()


def test_sources_stored_in_clear_are_sealed_at_start_up(tmp_path: Path) -> None:
    device = make_device(tmp_path, FakeClock())
    old = [("cam1", {"id": "cam1", "name": "Door", "url": "rtsp://192.0.2.7/s", "username": "u", "password": "OldPw1",
                     "transport": "tcp", "enabled": False, "continuous": True, "retention_days": 0, "volume": "default"}),
           ("cam2", {"id": "cam2", "name": "Yard", "url": "rtsp://yard%40cam:Yard%3APw@192.0.2.8:8554/s",
                     "enabled": False})]
    with device.store.transaction() as db:
        for sid, body in old:
            db.execute("INSERT INTO sources(id, body) VALUES(?, ?)", (sid, json.dumps(body)))
    device.close()
    device = make_device(tmp_path, FakeClock())
    try:
        sources = device.features[RECORDING_SERVICE].sources.all
        assert (sources["cam1"].username, sources["cam1"].password) == ("u", "OldPw1")
        assert sources["cam2"].url == "rtsp://192.0.2.8:8554/s"
        assert (sources["cam2"].username, sources["cam2"].password) == ("yard@cam", "Yard:Pw")
        rows = dict(stored(device))
        assert "OldPw1" not in rows["cam1"] and "Yard:Pw" not in rows["cam2"] and "Yard%3APw" not in rows["cam2"]
        assert all("password" not in json.loads(body) for body in rows.values())
        log = system_log(device)
        assert "camera source cam1: its password is now stored encrypted" in log
        assert "camera source cam2: the user name and password in its URL moved to their own fields" in log
    finally:
        device.close()


def test_a_stored_source_of_the_wrong_types_is_not_recorded_and_says_so(tmp_path: Path) -> None:
    device = make_device(tmp_path, FakeClock())
    with device.store.transaction() as db:  # what setSource stored before it checked types
        db.execute("INSERT INTO sources(id, body) VALUES(?, ?)", ("cam8", json.dumps(
            {"id": "cam8", "name": "x", "url": "rtsp://192.0.2.1/x", "enabled": True, "volume": ["a"]})))
    device.close()
    device = make_device(tmp_path, FakeClock())
    try:
        assert "cam8" not in device.features[RECORDING_SERVICE].sources.all
        assert "camera source cam8 is not valid (volume must be a string)" in system_log(device)
        assert len(stored(device)) == 1  # kept, so that nothing is lost: setSource replaces it
    finally:
        device.close()


WRONG_TYPES = [
    ({"name": ["x"]}, "name must be a string"),
    ({"enabled": "no"}, "enabled must be true or false"),
    ({"enabled": 1}, "enabled must be true or false"),
    ({"username": ["a", "b"]}, "username must be a string"),
    ({"password": {"a": 1}}, "password must be a string"),
    ({"retention_days": True}, "retention_days must be a whole number"),
    ({"retention_days": 1.5}, "retention_days must be a whole number"),
    ({"continuous": "false"}, "continuous must be true or false"),
    ({"volume": ["a"]}, "volume must be a string"),
    ({"transport": 1}, "transport must be a string"),
    ({"id": 9}, "id must be a string"),
    ({"url": True}, "url must be a string"),
    ({"url": 1}, "url must be a string"),
    ({"url": 1.5}, "url must be a string"),
    ({"url": []}, "url must be a string"),
    ({"url": {}}, "url must be a string"),
    ({"url": None}, "url must be a string"),
]


@pytest.mark.parametrize(("change", "message"), WRONG_TYPES)
async def test_set_source_refuses_the_wrong_types_and_stores_nothing(device: Device, change: dict,
                                                                     message: str) -> None:
    reply = await call(device, "admin", "setSource", {"source": {**CAMERA, **change}})
    assert reply["error"]["code"] == 1000 and message in reply["error"]["message"], reply
    assert stored(device) == [] and device.features[RECORDING_SERVICE].sources.all == {}


@pytest.mark.parametrize("value", ["1e999", "-1e999", "NaN", "1E400"])
async def test_set_source_refuses_non_finite_numbers(device: Device, value: str) -> None:
    raw = ('{"apiVersion":"1.0","method":"setSource","params":{"source":{"id":"cam9","name":"Lobby",'
           f'"url":"rtsp://192.0.2.50/x","retention_days":{value}}}}}}}')
    reply = await call(device, "admin", "setSource", raw=raw)
    assert reply["error"]["code"] == 1000 and "retention_days must be a whole number" in reply["error"]["message"]
    assert stored(device) == []


async def test_a_change_of_the_wrong_type_keeps_the_stored_source(device: Device) -> None:
    assert "error" not in await call(device, "admin", "setSource", {"source": CAMERA})
    before = stored(device)
    for change in ({"enabled": "no"}, {"volume": ["a"]}, {"name": ""}, {"url": "http://192.0.2.50/x"},
                   {"url": "rtsp://192.0.2.50:99999/x"}, {"url": "rtsp://[::1/x"}, {"url": "rtsp://host/a b"},
                   {"name": "a\nb"}, {"volume": "../x"}, {"retention_days": 10**6}):
        reply = await call(device, "admin", "setSource", {"source": {"id": "cam9", **change}})
        assert reply["error"]["code"] == 1000, change
    reply = await call(device, "admin", "setSource", {"source": {"id": "cam9", "bogus": 1}})
    assert reply["error"]["code"] == 4002 and "Unknown source fields: bogus" in reply["error"]["message"]
    assert stored(device) == before


def test_check_source_checks_what_code_builds_too() -> None:
    assert check_source(Source("cam1", "Camera", "rtsp://192.0.2.1:8554/x")).id == "cam1"
    with pytest.raises(SourceError, match="enabled must be true or false"):
        check_source(Source("cam1", "Camera", "rtsp://192.0.2.1/x", enabled="no"))  # type: ignore[arg-type]
    with pytest.raises(SourceError, match="own fields"):
        check_source(Source("cam1", "Camera", "rtsp://u:p@192.0.2.1/x"))


def test_cameras_are_numbered_by_id_with_numbers_compared_as_numbers(device: Device) -> None:
    sources = device.features[RECORDING_SERVICE].sources
    for sid in ("testcam10", "lobby", "testcam2", "testcam1", "gate-b", "gate-a"):
        sources.put(Source(sid, sid, "rtsp://192.0.2.50/x", enabled=False), "test")
    assert [s.id for s in sources.numbered()] == ["gate-a", "gate-b", "lobby", "testcam1", "testcam2", "testcam10"]
