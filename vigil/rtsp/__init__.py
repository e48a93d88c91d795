"""The device's RTSP server: one listener on `Network.RTSP.Port` for the mounts that features
register in `Device.rtsp` (mounts.py).

Requests are parsed and answered in protocol.py, authenticated with the device accounts in
auth.py, and served by server.py (connections, sessions of one or more tracks, RTP over TCP
interleaved or UDP, limits). Mounts today: the metadata event stream (features/eventstream/rtsp.py),
the live relay of each recorded camera (features/recording/relay.py over relay.py here), the
replay of stored footage (features/recording/replay.py and the ONVIF replay service over replay.py
here, which packetizes with packetize.py), and the ONVIF path over the live ones
(features/onvif/streams.py). profiles.py: the stream profiles that `streamprofile=NAME` applies.
"""
