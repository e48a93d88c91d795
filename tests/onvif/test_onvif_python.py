"""`onvif-python` (in a venv of its own) against a real `vigil run` S3016 recording its built-in
test camera: Media2 (profiles with every configuration, the encoder, source and metadata
configurations, GetStreamUri and GetSnapshotUri, whose URIs then play and show the camera) and
the recording search (GetRecordingSummary, FindRecordings and GetRecordingSearchResults), with
WS-UsernameToken and with HTTP Digest. Every reply the client received is checked against the
ONVIF schemas."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest
from lxml import etree

from tests.conftest import LiveDevice, wait_until
from tests.onvif.schemas import valid_element
from tests.onvif.test_real_client import ONVIF_ADMIN, ONVIF_MEDIA, onvif_device

CLIENT = '''"""Drive a device's Media2 and recording search with onvif-python; print one JSON line with
what it found and every reply body the client received."""
import json
import sys

from lxml import etree
from onvif import CacheMode, ONVIFClient
from zeep import Plugin


class Capture(Plugin):
    def __init__(self):
        self.replies = []

    def ingress(self, envelope, http_headers, operation):
        body = envelope.find("{http://www.w3.org/2003/05/soap-envelope}Body")
        if body is not None and len(body):
            self.replies.append(etree.tostring(body[0]).decode())
        return envelope, http_headers


host, port, user, password, digest = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "1"
capture = Capture()
client = ONVIFClient(host, port, user, password, http_digest=digest, cache=CacheMode.NONE, plugins=[capture])
media2 = client.media2()
profiles = media2.GetProfiles(Type=["All"])
token = profiles[0].token
encoder = profiles[0].Configurations.VideoEncoder
out = {
    "profiles": [p.token for p in profiles],
    "encoder": [encoder.Encoding, encoder.Resolution.Width, encoder.Resolution.Height],
    "encoders": [c.token for c in media2.GetVideoEncoderConfigurations()],
    "sources": [c.token for c in media2.GetVideoSourceConfigurations()],
    "metadata": [c.token for c in media2.GetMetadataConfigurations(ProfileToken=token)],
    "stream": media2.GetStreamUri(Protocol="RtspUnicast", ProfileToken=token),
    "snapshot": media2.GetSnapshotUri(ProfileToken=token),
}
search = client.search()
summary = search.GetRecordingSummary()
out["summary"] = summary.NumberRecordings
found = search.FindRecordings(Scope={}, KeepAliveTime="PT10S", MaxMatches=10)
results = search.GetRecordingSearchResults(SearchToken=found, MinResults=1, MaxResults=10, WaitTime="PT2S")
out["recordings"] = [[r.RecordingToken, [t.TrackType for t in r.Track]] for r in results.RecordingInformation]
out["replies"] = capture.replies
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def recorder(tmp_path_factory) -> Iterator[LiveDevice]:
    devices = onvif_device(tmp_path_factory, "s3016", test_cameras=1)
    try:
        server = next(devices)
        image = f"{server.http}/axis-cgi/jpg/image.cgi?camera=1"
        # Its size is known from the camera's first key frame on, when its snapshot is there too.
        wait_until(lambda: httpx.get(image, auth=httpx.DigestAuth(*ONVIF_MEDIA)).status_code == 200, 20,
                   "the test camera's first key frame")
        # The snapshot can be there a moment before the recorder has read the stream's size from it.
        listing = f"{server.http}/axis-cgi/record/list.cgi?recordingid=all"
        wait_until(lambda: 'width="1280"' in httpx.get(listing, auth=httpx.DigestAuth(*ONVIF_MEDIA)).text, 20,
                   "the test camera's size in its recording")
        yield server
    finally:
        devices.close()  # stops the device


def run_client(python: Path, folder: Path, server: LiveDevice, credentials: tuple[str, str], digest: bool) -> dict:
    script = folder / "onvif_python_client.py"
    script.write_text(CLIENT)
    out = subprocess.run([python, script, "127.0.0.1", str(server.http_port), *credentials, "1" if digest else "0"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("digest", [False, True], ids=["ws-usernametoken", "http-digest"])
def test_media2_and_search(recorder: LiveDevice, onvif_python: Path, tmp_path: Path, digest: bool) -> None:
    got = run_client(onvif_python, tmp_path, recorder, ONVIF_MEDIA if digest else ONVIF_ADMIN, digest)
    checked = [valid_element(etree.fromstring(reply)) for reply in got["replies"]]
    for reply in ("GetProfilesResponse", "GetVideoEncoderConfigurationsResponse", "GetStreamUriResponse",
                  "GetSnapshotUriResponse", "GetRecordingSummaryResponse", "FindRecordingsResponse",
                  "GetRecordingSearchResultsResponse"):
        assert reply in checked, (reply, checked)
    assert got["profiles"] == ["profile_1"] and got["encoder"] == ["H264", 1280, 720]
    assert (got["encoders"], got["sources"], got["metadata"]) == (["videoencoder_1"], ["videosourceconfig_1"],
                                                                  ["metadata_1"])
    assert got["stream"] == f"rtsp://127.0.0.1:{recorder.rtsp_port}/axis-media/media.amp?camera=1"
    assert got["snapshot"] == f"http://127.0.0.1:{recorder.http_port}/axis-cgi/jpg/image.cgi?camera=1"
    assert got["summary"] >= 1 and ["recording_1", ["Video"]] in got["recordings"]
    if digest:  # the URIs the client got work with the same account
        jpeg = httpx.get(got["snapshot"], auth=httpx.DigestAuth(*ONVIF_MEDIA), timeout=20)
        assert jpeg.status_code == 200, jpeg.text
        with av.open(io.BytesIO(jpeg.content)) as picture:
            frame = next(picture.decode(video=0))
            assert (frame.width, frame.height) == (1280, 720)
        user, password = ONVIF_MEDIA
        probe = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_streams", "-of", "json",
                                got["stream"].replace("rtsp://", f"rtsp://{user}:{password}@")],
                               capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr
        assert json.loads(probe.stdout)["streams"][0]["codec_name"] == "h264"
