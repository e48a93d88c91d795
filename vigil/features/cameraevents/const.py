"""The camera events feature's topics."""

from __future__ import annotations

# One property per event of a recorded camera: source = the camera source's id, event = the
# camera's topic and its source items ("tns1:Device/tnsaxis:IO/VirtualInput port=3"); active
# is the camera's state (a stateless camera event is a pulse: active 1, then 0).
CAMERA_EVENT = "tns1:Device/tnsaxis:Recorder/CameraEvent"
# Whether the recorder receives a camera's events.
CAMERA_EVENTS_CONNECTION = "tns1:Device/tnsaxis:Recorder/CameraEventsConnection"
MAX_BACKOFF = 30.0
MAX_EVENTS_PER_CAMERA = 256  # distinct camera events kept as properties; more are dropped (logged once)
