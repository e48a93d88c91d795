"""Manual triggers' names: the event topic, the number of virtual inputs, the VAPIX path, its
error codes and limits."""

from __future__ import annotations

VIRTUAL_INPUT = "tns1:Device/tnsaxis:IO/VirtualInput"
VIRTUAL_INPUTS = 32  # virtual inputs are numbered 1..32
MAX_DURATION = 2_147_483_647  # seconds a virtual input may stay active

# -- virtualinput/*.cgi (XML) -------------------------------------------------------------
VIRTUAL_INPUT_PATH = "/axis-cgi/virtualinput/"
VIRTUAL_INPUT_NS = "http://www.axis.com/vapix/http_cgi/virtualinput1"
VIRTUAL_INPUT_ERRORS = {
    10: "Missing argument",
    20: "The specified virtual input does not exist",
    30: "The specified schema version is not supported",
    40: "Internal server error",
    50: "Invalid duration",
}
