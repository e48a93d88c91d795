#!/usr/bin/python3
"""An RTSP client for tests and benchmarks: GStreamer's `rtspsrc` (what `gst-launch-1.0 rtspsrc
... ! fakesink` runs), counting the video access units it receives.

Run with Debian's /usr/bin/python3 (it has the GObject bindings):
    /usr/bin/python3 gst_rtsp_client.py URL --frames 30 [--user u --password p] [--protocols tcp|udp]
    [--codec h264|h265] [--timeout 20] [--latency-probe]
Prints one JSON line: {"frames": n, "keys": k, "first_key": bool, "error": "..."}; with
--latency-probe, also the receive time (CLOCK_MONOTONIC, s) and RTP timestamp of each frame.
"""

import argparse
import json
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("--frames", type=int, default=30)
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--protocols", default="tcp", choices=("tcp", "udp"))
parser.add_argument("--codec", default="h264", choices=("h264", "h265"))
parser.add_argument("--timeout", type=float, default=20)
parser.add_argument("--latency-probe", action="store_true")
args = parser.parse_args()
Gst.init(None)
auth = f" user-id={args.user} user-pw={args.password}" if args.user else ""
pipeline = Gst.parse_launch(
    f'rtspsrc name=src location="{args.url}" protocols={args.protocols} latency=0{auth} ! '
    f"rtp{args.codec}depay ! {args.codec}parse ! appsink name=sink emit-signals=true sync=false")
result = {"frames": 0, "keys": 0, "first_key": None, "error": "", "arrivals": []}
loop = GLib.MainLoop()


def on_sample(sink):
    sample = sink.emit("pull-sample")
    if result["frames"] >= args.frames:  # frames that came in the same burst, before the loop quit
        return Gst.FlowReturn.OK
    buffer = sample.get_buffer()
    key = not buffer.has_flags(Gst.BufferFlags.DELTA_UNIT)
    if result["first_key"] is None:
        result["first_key"] = key
    result["frames"] += 1
    result["keys"] += int(key)
    if args.latency_probe:
        result["arrivals"].append(time.monotonic())
    if result["frames"] >= args.frames:
        GLib.idle_add(loop.quit)
    return Gst.FlowReturn.OK


def on_message(bus, message):
    if message.type == Gst.MessageType.ERROR:
        err, _debug = message.parse_error()
        result["error"] = err.message
        loop.quit()
    elif message.type == Gst.MessageType.EOS:
        loop.quit()


pipeline.get_by_name("sink").connect("new-sample", on_sample)
bus = pipeline.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
GLib.timeout_add(int(args.timeout * 1000), lambda: (result.update(error=result["error"] or "timeout"), loop.quit()))
pipeline.set_state(Gst.State.PLAYING)
loop.run()
pipeline.set_state(Gst.State.NULL)
if not args.latency_probe:
    del result["arrivals"]
print(json.dumps(result), flush=True)
