"""Paths, parameter names, event topics, action tokens and limits of what the speaker plays."""

from __future__ import annotations

# VAPIX Media clip API
MEDIACLIP = "/axis-cgi/mediaclip.cgi"
PLAYCLIP = "/axis-cgi/playclip.cgi"
STOPCLIP = "/axis-cgi/stopclip.cgi"
# VAPIX Audio API: a stream POSTed to the speaker
TRANSMIT = "/axis-cgi/audio/transmit.cgi"

# The MediaClip parameter group (one MediaClip.M<n> group per clip, made by uploading)
PARENT = "MediaClip"
LETTER = "M"
TEMPLATE = "mediaclip"
MAX_CLIPS = 50  # MediaClip.MaxGroups
MAX_UPLOAD_MB = 10  # MediaClip.MaxUploadSize, megabytes
MAX_UPLOAD = MAX_UPLOAD_MB * 1024 * 1024
MAX_GROUPS_PARAM = f"{PARENT}.MaxGroups"
MAX_UPLOAD_PARAM = f"{PARENT}.MaxUploadSize"
PLAY_OPTIONS_PARAM = "Properties.AudioClip.PlayOptions"
STOP_CLIP_PARAM = "Properties.AudioClip.StopClip"
FORMAT_PARAM = "Properties.AudioClip.Format"
FORMATS = ("au", "wav", "mp3", "opus", "vorbis")
FOLDER = "mediaclips"  # under the device's data folder
NAME_MAX = 64
MAX_SECONDS = 600  # a clip longer than ten minutes is refused (it would hold the speaker for good)

VOLUME_MAX = 1000  # VAPIX: percent on a linear scale, 0 mutes, 100 is the clip as recorded
REPEAT_FOREVER = -1

# Events
CLIP_PLAYING = "tns1:Device/tnsaxis:MediaClip/Playing"

# Rule actions
PLAY_ONCE = "com.axis.action.fixed.play.audioclip"
PLAY_WHILE = "com.axis.action.unlimited.play.audioclip"
STOP = "com.axis.action.fixed.stop.audioclip"
