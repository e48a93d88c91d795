#!/usr/bin/python3
"""An ONVIF audio backchannel client with GStreamer: `rtspsrc backchannel=onvif` (it sends
`Require: www.onvif.org/ver20/backchannel`), the backchannel stream chosen by its `a-sendonly`
caps, and a tone (audiotestsrc, µ-law, RTP PCMU) pushed with `push-backchannel-buffer`, as
gst-rtsp-server's examples/test-onvif-client does. The streams the device sends are dropped.

Run with Debian's /usr/bin/python3 (it has the GObject bindings):
    /usr/bin/python3 gst_backchannel.py rtsp://user:pass@127.0.0.1:8554/axis-media/media.amp?audio=1 \
        --seconds 1 --frequency 1000
Exit status 0 once the tone was sent, 1 with the reason on stderr otherwise."""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import GLib, Gst, GstApp  # noqa: E402

GST = ctypes.CDLL(ctypes.util.find_library("gstreamer-1.0"))
GST.gst_mini_object_ref.argtypes = [ctypes.c_void_p]
GST.gst_mini_object_ref.restype = ctypes.c_void_p
BOXED_POINTER = 16  # PyGBoxed: the object head (refcount, type), then the boxed pointer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--frequency", type=float, default=1000.0)
    args = parser.parse_args()
    Gst.init(None)
    loop = GLib.MainLoop()
    state = {"stream": None, "error": None, "sending": False}

    receive = Gst.Pipeline.new("receive")
    src = Gst.ElementFactory.make("rtspsrc")
    src.set_property("location", args.url)
    src.set_property("latency", 0)
    Gst.util_set_object_arg(src, "backchannel", "onvif")  # enum and flags properties, by their nicks
    Gst.util_set_object_arg(src, "protocols", "tcp")
    receive.add(src)

    def select_stream(_src, index, caps) -> bool:  # noqa: ANN001
        if caps.get_structure(0).has_field("a-sendonly"):
            state["stream"] = index
        return True

    def pad_added(_src, pad) -> None:  # noqa: ANN001
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("async", False)
        receive.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        if not state["sending"]:  # the device streams: the session plays, so talk
            state["sending"] = True
            GLib.idle_add(start_sending)

    def start_sending() -> bool:
        if state["stream"] is None:
            state["error"] = "the device offered no backchannel stream"
            loop.quit()
        else:
            send.set_state(Gst.State.PLAYING)
        return False

    src.connect("select-stream", select_stream)
    src.connect("pad-added", pad_added)
    buffers = int(args.seconds * 50)  # 20 ms each
    send = Gst.parse_launch(
        f"audiotestsrc is-live=true wave=sine freq={args.frequency} volume=0.35 samplesperbuffer=160 "
        f"num-buffers={buffers} ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay ! "
        "appsink name=out emit-signals=true sync=true")
    out = send.get_by_name("out")

    def new_sample(sink) -> Gst.FlowReturn:  # noqa: ANN001
        sample = GstApp.AppSink.pull_sample(sink)
        # GStreamer 1.22's rtspsrc drops a reference of the sample it is given (the C example hands
        # it over); the binding drops its own too: one more reference keeps the count right.
        GST.gst_mini_object_ref(ctypes.c_void_p.from_address(id(sample) + BOXED_POINTER).value)
        return src.emit("push-backchannel-buffer", state["stream"], sample)

    out.connect("new-sample", new_sample)

    def on_message(_bus, message) -> None:  # noqa: ANN001
        if message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            state["error"] = f"{error.message} ({debug})"
            loop.quit()
        elif message.type == Gst.MessageType.EOS:
            loop.quit()

    for pipeline in (receive, send):
        bus = pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", on_message)
    receive.set_state(Gst.State.PLAYING)
    GLib.timeout_add_seconds(int(args.seconds) + 15, lambda: (state.update(error="timed out"), loop.quit()))
    loop.run()
    send.set_state(Gst.State.NULL)
    receive.set_state(Gst.State.NULL)
    if state["error"]:
        print(state["error"], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
