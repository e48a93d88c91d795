"""Paths, limits, codecs, the stored key and the event topic of the multicast controller."""

from __future__ import annotations

# VAPIX Audio Multicast Controller (a Device Configuration API, beta)
API = "/config/rest/audio-multicast-ctrl/v1beta"

KV_SETTINGS = "multicast.controller"  # the enabled switch and the sources, one JSON value

MAX_SOURCES = 20  # the manual gives no figure; an Axis speaker lists about this many
LABEL_MAX = 64
PRIORITY_MIN, PRIORITY_MAX = 1, 10  # as the light profiles: the higher number wins the speaker
PORT_MIN, PORT_MAX = 1024, 65535  # below 1024 are the device's own services, never an RTP stream
VOLUME_MAX = 100  # percent of the stream as sent

# codec name -> (decoder: a playback StreamDecoder encoding or PyAV's framed codec, RTP static
# payload type, RTP clock = sample rate). L16 is RFC 3551's linear 16-bit PCM in network byte
# order, mono only: its static payload type 11 is 44.1 kHz mono (10, stereo, is refused like any
# other type the source's codec is not); the other rates come under a dynamic payload type.
CODECS: dict[str, tuple[str, int, int]] = {
    "pcmu": ("mulaw", 0, 8000),  # G.711 µ-law
    "pcma": ("alaw", 8, 8000),  # G.711 A-law
    "opus": ("libopus", 111, 48000),  # RFC 7587 (mono or stereo sent, played mono)
    "l16-8000": ("s16be", 96, 8000),
    "l16-16000": ("s16be", 96, 16000),
    "l16-44100": ("s16be", 11, 44100),
    "l16-48000": ("s16be", 96, 48000),
}
FRAMED = {"libopus"}  # decoded a packet at a time (PyAV), not as a byte stream
DEFAULT_CODEC = "pcmu"  # the controller's "Audio codec" until it is set: what a source without its own plays
DYNAMIC_PAYLOAD_TYPES = range(96, 128)  # senders that announce a codec under a dynamic number are played too

SRTP_KEY_BYTES = 30  # AES_CM_128_HMAC_SHA1_80: 16 bytes of master key and 14 of salt (base64, as SDES inline keys)

STREAM_TIMEOUT = 1.0  # seconds without a packet after which a stream has stopped

# Events
PLAYING = "tns1:AudioOutput/tnsaxis:MulticastController/Playing"
