#!/usr/bin/python3
"""GStreamer's RTSP client as an ONVIF replay client, for tests: `rtspsrc onvif-mode=true`
(Require: onvif-replay; a seek is an absolute time and a negative rate a reverse Scale) plays a
replay URL, seeks to --start (Unix seconds) at --rate once it plays, and prints one JSON line per
RTP packet of the video (its sequence number and, where present, the 0xABAC extension's NTP time,
flags and CSeq byte: the seek's packets have the last), then EOS when the stream ended.

Run with Debian's /usr/bin/python3 (it has the GObject bindings):
    /usr/bin/python3 gst_replay_client.py --url rtsp://u:p@127.0.0.1:PORT/... --start 1790000002.5 --rate -1
"""

import argparse
import json
import struct
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

NTP_UNIX = 2_208_988_800
parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--start", type=float, required=True)
parser.add_argument("--rate", type=float, default=1.0)
parser.add_argument("--timeout", type=float, default=20.0)
args = parser.parse_args()
Gst.init(None)
pipeline = Gst.parse_launch(f"rtspsrc name=src location={args.url} onvif-mode=true protocols=tcp latency=200 "
                            "! appsink name=sink emit-signals=true sync=false")
sink = pipeline.get_by_name("sink")
loop = GLib.MainLoop()


def sample(appsink) -> Gst.FlowReturn:
    buffer = appsink.emit("pull-sample").get_buffer()
    ok, info = buffer.map(Gst.MapFlags.READ)
    data = bytes(info.data)
    buffer.unmap(info)
    line = {"seq": struct.unpack_from("!H", data, 2)[0]}
    if data[0] & 0x10:
        at = 12 + 4 * (data[0] & 0x0F)
        profile, length, seconds, fraction, flags, cseq = struct.unpack_from("!HHIIBB", data, at)
        if profile == 0xABAC:
            line.update(ntp=seconds - NTP_UNIX + fraction / 2**32, flags=flags, cseq=cseq)
    print(json.dumps(line), flush=True)
    return Gst.FlowReturn.OK


def message(bus, msg) -> None:
    if msg.type == Gst.MessageType.EOS:
        print("EOS", flush=True)
        loop.quit()
    elif msg.type == Gst.MessageType.ERROR:
        print("ERROR", msg.parse_error()[0].message, file=sys.stderr, flush=True)
        loop.quit()


sink.connect("new-sample", sample)
bus = pipeline.get_bus()
bus.add_signal_watch()
bus.connect("message", message)
pipeline.set_state(Gst.State.PLAYING)
pipeline.get_state(10 * Gst.SECOND)
# onvif-mode: seek positions are nanoseconds since the NTP epoch (1900), and become Range: clock=.
position = int((args.start + NTP_UNIX) * Gst.SECOND)
if args.rate > 0:
    pipeline.seek(args.rate, Gst.Format.TIME, Gst.SeekFlags.FLUSH, Gst.SeekType.SET, position,
                  Gst.SeekType.NONE, -1)
else:
    pipeline.seek(args.rate, Gst.Format.TIME, Gst.SeekFlags.FLUSH, Gst.SeekType.NONE, -1,
                  Gst.SeekType.SET, position)
GLib.timeout_add(int(args.timeout * 1000), loop.quit)
loop.run()
pipeline.set_state(Gst.State.NULL)
