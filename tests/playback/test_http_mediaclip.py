"""The VAPIX Media clip API on an in-process C1410: each clip format uploads (checked by
decoding), lists as MediaClip parameters, downloads as uploaded, plays at the sink with its
volume and repeat, is renamed and removed; bad input gets `Error:` and stores nothing."""

from __future__ import annotations

import asyncio

import numpy as np

from tests.conftest import client_as, eventually
from tests.playback.conftest import TONE_DBFS, TONE_SECONDS, make_tone, sink, upload
from vigil.device import Device
from vigil.features.playback import const as c
from vigil.features.playback.service import PLAYBACK_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency, level_dbfs

MEDIACLIP = "/axis-cgi/mediaclip.cgi"


def heard(device: Device) -> np.ndarray:
    return audible(sink(device).sink_samples(), -60.0)


async def played(device: Device) -> None:
    """Wait until the clip that plays has ended (the event says so)."""
    service = device.features[PLAYBACK_SERVICE]
    await eventually(lambda: service.player.current is None and service.player.playing_clip is None, 10, "clip end")


async def test_each_format_uploads_lists_downloads_and_plays(speaker: Device, clip_files: dict[str, bytes]):
    async with client_as(speaker, "operator") as op:
        for number, (ext, data) in enumerate(clip_files.items()):
            r = await upload(op, data, f"tone.{ext}", name=f"Tone {ext}")
            assert r.status_code == 200 and r.text == f"OK\nuploaded={number}\n", (ext, r.text)
        listing = (await op.get("/axis-cgi/param.cgi", params={"action": "list", "group": "MediaClip"})).text
        assert "root.MediaClip.M4.Name=Tone wav" in listing and "root.MediaClip.M0.Type=audio" in listing
        assert "root.MediaClip.M2.Location=mediaclips/M2.opus" in listing
        assert "root.MediaClip.MaxGroups=50" in listing
        download = await op.get(MEDIACLIP, params={"action": "download", "clip": "1"})
        assert download.content == clip_files["mp3"] and download.headers["content-type"] == "audio/mpeg"
        for number in range(len(clip_files)):
            sink(speaker).clear_sink()
            r = await op.get(MEDIACLIP, params={"action": "play", "clip": str(number)})
            assert r.text == f"OK\nplaying={number}\n"
            await played(speaker)
            tone = heard(speaker)
            assert abs(len(tone) / RATE - TONE_SECONDS) < 0.05, number
            assert abs(dominant_frequency(tone) - 1000) < 20 and abs(level_dbfs(tone) - TONE_DBFS) < 1.0, number


async def test_volume_and_repeat_apply_and_viewers_play_with_playclip(speaker: Device, clip_files: dict[str, bytes]):
    async with client_as(speaker, "operator") as op, client_as(speaker, "viewer") as viewer:
        await upload(op, clip_files["wav"])
        r = await viewer.get("/axis-cgi/playclip.cgi", params={"clip": "0", "volume": "50", "repeat": "1"})
        assert r.text == "OK\nplaying=0\n"
        playing = speaker.events.state(c.CLIP_PLAYING, {})
        await eventually(lambda: speaker.events.state(c.CLIP_PLAYING, {}) != playing, 5, "playing")
        assert speaker.events.state(c.CLIP_PLAYING, {}) == {"Playing": "1", "ClipId": "0"}
        await played(speaker)
        tone = heard(speaker)
        assert abs(len(tone) / RATE - 2 * TONE_SECONDS) < 0.05  # played, then repeated once
        assert abs(level_dbfs(tone) - (TONE_DBFS - 6.02)) < 1.0  # 50 % is -6 dB
        assert speaker.events.state(c.CLIP_PLAYING, {}) == {"Playing": "0", "ClipId": ""}
        # stopclip.cgi stops a clip that repeats until stopped
        await viewer.get("/axis-cgi/playclip.cgi", params={"clip": "0", "repeat": "-1"})
        await eventually(lambda: speaker.features[PLAYBACK_SERVICE].player.playing_clip == "0", 5, "playing")
        assert (await viewer.get("/axis-cgi/stopclip.cgi")).text == "OK\nstopping\n"
        assert speaker.features[PLAYBACK_SERVICE].player.playing_clip is None
        refused = await upload(viewer, clip_files["wav"])
        assert refused.status_code == 403


async def test_a_new_play_replaces_the_clip_that_plays(speaker: Device, tmp_path):
    async with client_as(speaker, "operator") as op:
        await upload(op, make_tone(tmp_path / "long.wav", 500, 5.0))
        await upload(op, make_tone(tmp_path / "short.wav", 2000, 0.2))
        await op.get(MEDIACLIP, params={"action": "play", "clip": "0"})
        await eventually(lambda: len(sink(speaker).sink_samples()) > RATE // 5, 5, "the long clip to start")
        await op.get(MEDIACLIP, params={"action": "play", "clip": "1"})
        await played(speaker)
        samples = sink(speaker).sink_samples()
        assert len(samples) / RATE < 1.0  # the long clip stopped where it was
        assert abs(dominant_frequency(samples[-RATE // 10:]) - 2000) < 30  # and the new one played to its end


async def test_update_and_remove_and_param_cgi_remove_take_the_file(speaker: Device, clip_files: dict[str, bytes]):
    folder = speaker.data / c.FOLDER
    async with client_as(speaker, "operator") as op:
        await upload(op, clip_files["wav"])
        await upload(op, clip_files["mp3"])
        r = await op.get(MEDIACLIP, params={"action": "update", "clip": "0", "name": "Doorbell"})
        assert r.text == "OK\nupdated=0\n" and speaker.params.get("MediaClip.M0.Name") == "Doorbell"
        assert (await op.get(MEDIACLIP, params={"action": "list"})).text == "0=Doorbell\n1=tone\n"
        assert (await op.get(MEDIACLIP, params={"action": "remove", "clip": "0"})).text == "OK\nremoved=0\n"
        assert sorted(p.name for p in folder.iterdir()) == ["M1.mp3"]
        r = await op.get("/axis-cgi/param.cgi", params={"action": "remove", "group": "MediaClip.M1"})
        assert r.text.startswith("OK"), r.text
        assert list(folder.iterdir()) == []
        assert any("uploaded audio clip 0" in e.message for e in speaker.logs.entries("audit"))


BAD_PLAYS = [
    ({"action": "play", "clip": "7"}, "there is no clip 7"),
    ({"action": "play", "clip": "x"}, "clip must be a clip number"),
    ({"action": "play", "clip": "0", "volume": "1001"}, "volume must be"),
    ({"action": "play", "clip": "0", "volume": "-1"}, "volume must be"),
    ({"action": "play", "clip": "0", "repeat": "-2"}, "repeat must be"),
    ({"action": "play", "clip": "0", "audiodeviceid": "1", "audiooutputid": "0"}, "no such audio output"),
    ({"action": "remove", "clip": "3"}, "there is no clip 3"),
    ({"action": "format"}, "action must be one of"),
]


async def test_bad_requests_get_errors_and_store_nothing(speaker: Device, clip_files: dict[str, bytes], tmp_path):
    folder = speaker.data / c.FOLDER
    async with client_as(speaker, "operator") as op:
        await upload(op, clip_files["wav"])
        for params, why in BAD_PLAYS:
            r = await op.get(MEDIACLIP, params=params)
            assert r.status_code == 400 and r.text.startswith("Error: ") and why in r.text, (params, r.text)
        flac = make_tone(tmp_path / "tone.flac")
        truncated = clip_files["wav"][:len(clip_files["wav"]) // 2]
        for data, filename, why in [(b"GIF89a not audio" * 64, "tone.wav", "'gif' is not supported"),
                                    (b"plain text, no audio\n" * 64, "notes.wav", "not audio"),
                                    (flac, "tone.flac", "'flac' is not supported"),
                                    (truncated, "tone.wav", "cut short"),
                                    (b"", "empty.wav", "not audio")]:
            r = await upload(op, data, filename)
            assert r.status_code == 400 and why in r.text, (filename, r.text)
        r = await upload(op, clip_files["wav"], media="video")
        assert r.status_code == 400 and "media=audio" in r.text
        huge = await op.post(MEDIACLIP, params={"action": "upload", "media": "audio"},
                             headers={"content-type": "multipart/form-data; boundary=x"},
                             content=b"x" * (c.MAX_UPLOAD + 128 * 1024))
        assert huge.status_code == 400 and "larger than 10 MB" in huge.text
        added = await op.get("/axis-cgi/param.cgi", params={"action": "add", "template": "mediaclip",
                                                            "group": "MediaClip", "MediaClip.M.Name": "x",
                                                            "MediaClip.M.Location": "/etc/passwd"})
        assert "Error" in added.text and "uploading" in added.text
    assert [p.name for p in folder.iterdir()] == ["M0.wav"]
    assert [n for n in speaker.params.names() if n.endswith(".Location")] == ["MediaClip.M0.Location"]


async def test_the_clip_count_is_limited_and_clips_survive_a_restart(tmp_path, clock, clip_files, monkeypatch):
    from tests.conftest import make_device

    monkeypatch.setattr(c, "MAX_CLIPS", 2)
    device = make_device(tmp_path, clock, "c1410")
    async with client_as(device, "operator") as op:
        for _ in range(2):
            assert (await upload(op, clip_files["wav"])).status_code == 200
        full = await upload(op, clip_files["wav"])
        assert full.status_code == 400 and "holds 2 clips" in full.text
    (device.data / c.FOLDER / "M9.wav").write_bytes(b"left by a crash")
    device.close()
    again = make_device(tmp_path, clock, "c1410")
    try:
        clips = again.features[PLAYBACK_SERVICE].clips.clips()
        assert [(clip.id, clip.path.name) for clip in clips] == [("0", "M0.wav"), ("1", "M1.wav")]
        assert sorted(p.name for p in (again.data / c.FOLDER).iterdir()) == ["M0.wav", "M1.wav"]
        await again.features[PLAYBACK_SERVICE].play(clips[:1])
        await played(again)
        assert len(heard(again))
    finally:
        again.close()


async def test_a_clip_whose_file_went_bad_is_logged_and_the_player_goes_on(speaker, clip_files):
    async with client_as(speaker, "operator") as op:
        await upload(op, clip_files["wav"])
        (speaker.data / c.FOLDER / "M0.wav").write_bytes(b"garbage")
        await op.get(MEDIACLIP, params={"action": "play", "clip": "0"})
        await played(speaker)
        await asyncio.sleep(0)
        assert any("could not be decoded" in e.message for e in speaker.logs.entries("system"))
