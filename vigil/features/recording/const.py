"""The recording APIs' error codes, and how each reason footage gives for not answering reads
in them.

Codes of the VAPIX export API ("General error response", Edge storage API) are used by the
export CGIs, record/export/jobs.cgi and play.cgi; recorder.cgi (Vigil's JSON API) and the
record/*.cgi family have codes of their own.
"""

from __future__ import annotations

from vigil.footage.reader import Reason

XML = "text/xml; charset=utf-8"

# -- VAPIX export API (exportrecording.cgi, properties.cgi, getjobstatus.cgi, download.cgi,
# jobs.cgi, play.cgi)
PROCESSING = 10  # the device failed while doing it
INVALID_REQUEST = 20  # a required argument is missing or unreadable
BAD_SCHEMA = 40  # schemaversion not supported
NOT_FOUND = 110  # no such recording
BAD_START, BAD_STOP = 120, 130
START_AFTER_STOP, START_AFTER_END, STOP_BEFORE_BEGIN = 140, 150, 160
BAD_FORMAT = 170
JOB_NOT_FOUND = 190
TOO_MANY_JOBS = 220
BAD_PASSWORD, BAD_ENCRYPTION, NO_PASSWORD, NO_ENCRYPTION = 240, 250, 260, 270
# Vigil's, in the same family: exports to the USB drive (destination "usb")
NO_USB_DRIVE = 300  # no drive in the port, or it is ejected
USB_READ_ONLY = 310  # the drive is write-protected or mounted read-only
USB_FULL = 320  # not enough free space on the drive
USB_REMOVED = 330  # the drive was pulled out during the export
USB_BUSY = 340  # eject refused: an export is being written to the drive
DESTINATIONS = ("device", "usb")  # where a background export is written

# -- event topics ----------------------------------------------------------------------------
USB_DRIVE_TOPIC = "tns1:Device/tnsaxis:Storage/USBDrive"  # Active: a drive is in the USB port

# Footage's reasons in the export API: (error code, HTTP status where the status matters,
# as for play.cgi, whose errors a media element must see as failures).
FOOTAGE_ERRORS: dict[Reason, tuple[int, int]] = {
    Reason.NO_ID: (INVALID_REQUEST, 400),
    Reason.NO_RECORDING: (NOT_FOUND, 404),
    Reason.LOCKED: (NOT_FOUND, 503),
    Reason.NO_FOOTAGE: (START_AFTER_END, 404),
    Reason.START_AFTER_STOP: (START_AFTER_STOP, 400),
    Reason.START_AFTER_END: (START_AFTER_END, 400),
    Reason.STOP_BEFORE_BEGIN: (STOP_BEFORE_BEGIN, 400),
    Reason.NO_VIDEO: (PROCESSING, 500),
}

# -- recorder.cgi (JSON); the generic codes (4002 bad parameters ...) are JsonErrors'
RECORDER_REFUSED = 1000  # an invalid source, an unknown source or recording
RECORDER_VOLUME_UNAVAILABLE = 1001  # the source's volume is failed, unmounted or write-protected
RECORDER_CAMERA_FAILED = 1002  # testSource: the camera refused, could not be reached or lied in its SDP
RECORDER_ONVIF_FAILED = 1003  # findCameras, getCameraStreams: no ONVIF here, or the device failed

# -- record/list.cgi, record.cgi, stop.cgi, remove.cgi (XML <error code=.. description=../>)
RECORD_BAD_ARGUMENT = 1
RECORD_UNKNOWN_SOURCE = 2
RECORD_NOT_ONGOING = 3
RECORD_ONGOING = 4
RECORD_NOT_FOUND = 5
RECORD_VOLUME_UNAVAILABLE = 6

# -- /vigil/live, live view in the browser (JSON {"error": {"code", "message"}}, with an HTTP status)
LIVE_BAD_ARGUMENT = 2100
LIVE_NO_CAMERA = 2101
LIVE_NOT_CONNECTED = 2102
LIVE_TOO_MANY_VIEWERS = 2103
LIVE_NO_PICTURE = 2104  # the camera has sent no key frame with its parameter sets yet

# -- /vigil/timeline (JSON {"error": {"code", "message"}}, with an HTTP status)
TIMELINE_BAD_ARGUMENT = 2110
TIMELINE_NO_SOURCE = 2111
