#!/usr/bin/python3
"""Fake RTSP cameras for tests and benchmarks, served by GStreamer's RTSP server.

Run with Debian's /usr/bin/python3 (it has the GObject bindings):
    /usr/bin/python3 gst_rtsp_cams.py --port 8554 --n 4 --file long.mkv [--user u --password p] [--unshared]
URLs rtsp://127.0.0.1:PORT/cam1..camN; prints READY when listening.
"""

import argparse
import signal

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--port", default="8554")
parser.add_argument("--n", type=int, default=1)
parser.add_argument("--file", required=True, help="an H.264 MKV without B-frames")
parser.add_argument("--codec", default="h264", choices=("h264", "h265"))
parser.add_argument("--audio", default="none", choices=("none", "aac", "pcmu"))
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--unshared", action="store_true", help="a pipeline per client (a file server), not one for all")
args = parser.parse_args()
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(args.port)
mounts = server.get_mount_points()
for i in range(1, args.n + 1):
    video = (f"filesrc location={args.file} ! matroskademux name=d d.video_0 ! queue ! {args.codec}parse ! "
             f"rtp{args.codec}pay name=pay0 pt=96 config-interval=-1")
    if args.audio == "aac":
        audio = " d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97"
    elif args.audio == "pcmu":
        audio = (" audiotestsrc is-live=true ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! "
                 "rtppcmupay name=pay1 pt=0")
    else:
        audio = ""
    launch = f"( {video}{audio} )"
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(not args.unshared)
    if args.user:
        factory.add_role_from_structure(Gst.Structure.new_from_string(
            "camuser, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
    mounts.add_factory(f"/cam{i}", factory)
if args.user:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "camuser")
    auth.add_digest(args.user, args.password, token)
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    server.set_auth(auth)
server.attach(None)
loop = GLib.MainLoop()
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
print("READY", flush=True)
loop.run()
