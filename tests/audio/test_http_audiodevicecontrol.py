"""VAPIX Audio Device Control on the C1410: the device settings read and set through the API
take effect on what the speaker plays and the microphone captures, bad input gets the API's
error codes and changes nothing, viewers are refused, and every change is audited."""

from __future__ import annotations

import pytest

from tests.conftest import client_as
from vigil.device import Device
from vigil.features.audio import const as c
from vigil.hal.audio import AUDIO_HARDWARE, AudioError, level_dbfs, tone
from vigil.http.vapix import ConfigCodes

URL = "/axis-cgi/audiodevicecontrol.cgi"


def body(method: str, params: dict | None = None) -> dict:
    out: dict = {"apiVersion": "1.0", "context": "t", "method": method}
    if params is not None:
        out["params"] = params
    return out


def devices(inputs: list | None = None, outputs: list | None = None) -> dict:
    device: dict = {"id": "0"}
    if inputs is not None:
        device["inputs"] = inputs
    if outputs is not None:
        device["outputs"] = outputs
    return {"devices": [device]}


def channel(gain: int | None = None, mute: bool | None = None, power: str | None = None, kind: str = "internal"):
    ch: dict = {"id": 0}
    if gain is not None:
        ch["gain"] = gain
    if mute is not None:
        ch["mute"] = mute
    signaling: dict = {"id": "unbalanced", "channels": [ch]}
    if power is not None:
        signaling["powerType"] = power
    return [{"id": kind, "signalingTypeSelected": "unbalanced", "signalingTypes": [signaling]}]


async def test_capabilities_and_settings_describe_the_microphone_and_the_speaker(speaker: Device):
    async with client_as(speaker, "operator") as client:
        caps = (await client.post(URL, json=body("getDevicesCapabilities"))).json()["data"]["devices"][0]
        settings = (await client.post(URL, json=body("getDevicesSettings"))).json()["data"]["devices"][0]
        versions = (await client.post(URL, json={"method": "getSupportedVersions"})).json()
    assert caps["inputs"][0]["connectionTypes"][0]["id"] == "internal"
    gains = caps["inputs"][0]["connectionTypes"][0]["signalingTypes"][0]["gainValues"]
    assert gains[0] == -30 and gains[-1] == 30
    assert caps["outputs"][0]["connectionTypes"][0]["signalingTypes"][0]["gainValues"][-1] == 0
    mic = settings["inputs"][0]
    assert mic["enabled"] is True and mic["connectionTypeSelected"] == "internal"
    assert mic["connectionTypes"][0]["signalingTypes"][0]["channels"] == [{"id": 0, "gain": 0, "mute": False}]
    assert settings["outputs"][0]["connectionTypes"][0]["signalingTypes"][0]["channels"][0]["gain"] == 0
    assert versions["data"]["apiVersions"] == ["1.0"]


async def test_output_gain_and_mute_set_through_the_api_change_what_the_speaker_plays(speaker: Device):
    audio = speaker.hardware[AUDIO_HARDWARE]
    async with client_as(speaker, "operator") as client:
        reply = await client.post(URL, json=body("setDevicesSettings", devices(
            outputs=[{"id": "0", "connectionTypes": channel(gain=-10, kind="internal")}])))
        assert reply.json() == {"apiVersion": "1.0", "context": "t", "method": "setDevicesSettings", "data": {}}
        assert speaker.params.get(c.OUTPUT_GAIN) == "-10"
        await audio.play(tone(1000, 0.1, -6.0))
        assert abs(level_dbfs(audio.sink_samples()) - -16.0) < 0.1
        await client.post(URL, json=body("setDevicesSettings", devices(
            outputs=[{"id": "0", "connectionTypes": channel(mute=True)}])))
        audio.clear_sink()
        await audio.play(tone(1000, 0.1, -6.0))
        assert level_dbfs(audio.sink_samples()) < -100
    audit = speaker.logs.text("audit", c.OUTPUT_GAIN)
    assert "operator1" in audit and "-10" in audit


async def test_input_gain_mute_and_off_change_what_the_microphone_captures(speaker: Device):
    audio = speaker.hardware[AUDIO_HARDWARE]
    async with client_as(speaker, "operator") as client:
        await client.post(URL, json=body("setDevicesSettings", devices(
            inputs=[{"id": "0", "connectionTypes": channel(gain=12)}])))
        await audio.open_input()
        audio.feed(tone(500, 0.04, -30.0))
        assert abs(level_dbfs(await audio.read()) - -18.0) < 0.2
        await client.post(URL, json=body("setDevicesSettings", devices(inputs=[{"id": "0", "enabled": False}])))
    assert speaker.params.get(c.INPUT_ENABLED) == "no"
    assert not audio.path.settings.input_enabled
    await audio.close_input()
    with pytest.raises(AudioError, match="turned off"):
        await audio.open_input()


async def test_bad_settings_get_the_api_errors_and_change_nothing(speaker: Device):
    before = {name: speaker.params.get(name) for name in c.SETTINGS}
    bad = [
        devices(inputs=[{"id": "0", "connectionTypes": channel(gain=31)}]),
        devices(inputs=[{"id": "0", "connectionTypes": channel(gain=3.5)}]),
        devices(inputs=[{"id": "0", "connectionTypes": channel(power="P48")}]),
        devices(inputs=[{"id": "0", "connectionTypeSelected": "line"}]),
        devices(inputs=[{"id": "0", "connectionTypes": channel(gain=5, kind="mic")}]),
        devices(outputs=[{"id": "0", "connectionTypes": channel(gain=-5, kind="external")}]),
        devices(inputs=[{"id": "1"}]),
        devices(inputs=[{"id": "0", "name": "Hall"}]),
        devices(outputs=[{"id": "0", "connectionTypes": channel(gain=1)}]),
        devices(outputs=[{"id": "0", "enabled": False}]),
        devices(outputs=[{"id": "0", "connectionTypes": channel(mute="yes")}]),
        {"devices": [{"id": "7"}]},
        {"devices": "all"},
    ]
    async with client_as(speaker, "admin") as client:
        for params in bad:
            reply = (await client.post(URL, json=body("setDevicesSettings", params))).json()
            assert reply["error"]["code"] == ConfigCodes.INVALID, (params, reply)
            assert "Invalid parameter value" in reply["error"]["message"]
        missing = (await client.post(URL, json=body("setDevicesSettings", {}))).json()
        assert missing["error"]["code"] == ConfigCodes.MISSING
        unknown = (await client.post(URL, json=body("setEverything"))).json()
        assert unknown["error"]["code"] == ConfigCodes.BAD_METHOD
        broken = (await client.post(URL, content=b"{")).json()
        assert broken["error"]["code"] == ConfigCodes.BAD_JSON
        old = (await client.post(URL, json={**body("getDevicesSettings"), "apiVersion": "2.0"})).json()
        assert old["error"]["code"] == ConfigCodes.BAD_VERSION
    assert {name: speaker.params.get(name) for name in c.SETTINGS} == before


async def test_viewers_can_neither_read_nor_set_the_audio_device(speaker: Device):
    async with client_as(speaker, "viewer") as client:
        for method in ("getDevicesSettings", "setDevicesSettings"):
            reply = await client.post(URL, json=body(method, devices(outputs=[
                {"id": "0", "connectionTypes": channel(gain=-20)}])))
            assert reply.status_code in (401, 403) or reply.json()["error"]["code"] in (2105, 2106), reply.text
    assert speaker.params.get(c.OUTPUT_GAIN) == "0"


async def test_a_param_cgi_change_the_hardware_cannot_do_is_refused(speaker: Device):
    async with client_as(speaker, "admin") as client:
        reply = await client.get("/axis-cgi/param.cgi", params={"action": "update", c.INPUT_GAIN: "40"})
        assert "Error" in reply.text
        reply = await client.get("/axis-cgi/param.cgi", params={"action": "update", c.ECHO_CANCELLATION: "yes"})
        assert reply.text.strip() == "OK"
    assert speaker.hardware[AUDIO_HARDWARE].path.settings.echo_cancellation
    assert speaker.params.get(c.INPUT_GAIN) == "0"
