"""Light and siren's names: the API path and versions, error codes, what the C1410's LED and
siren can do (patterns, speeds, colours, intensities), and the limits the manual and the VAPIX
Siren and light page give."""

from __future__ import annotations

from vigil.http.vapix import ConfigCodes

PATH = "/axis-cgi/siren_and_light.cgi"
VERSIONS = ["1.0"]
STATUS_TOPIC = "tns1:Device/tnsaxis:Light/Status"  # source id, data state ON/OFF: the light shows an activity
KV_PROFILES = "light.profiles"
KV_MAINTENANCE = "light.maintenance"
LED = "light"  # the HAL's LED and sound maker this feature drives
SIREN = "siren"

MAX_PROFILES = 30
MAX_ACTIVITIES = 10  # the status list
MAX_NAME = 50
MAX_DESCRIPTION = 250
MAX_SECONDS = 259_200
MAX_REPETITIONS = 20
PRIORITIES = tuple(range(1, 11))
DEFAULT_PRIORITY = 3
MAINTENANCE, IDENTIFY, HEALTH_CHECK = 11, 12, 13  # the activities above every profile
SPECIAL = {MAINTENANCE: "Maintenance", IDENTIFY: "Identify", HEALTH_CHECK: "Health check"}
HEALTH_CHECK_SECONDS = 1.0
UPLOAD_MODES = ("add", "overwrite", "erase_and_add")
MAX_UPLOAD_BYTES = 256 * 1024

COLORS = ("red", "green", "blue", "amber", "white")
INTENSITIES = (1, 2, 3, 4, 5)  # levels; the HAL gets 20 % per level
# pattern -> (speeds, fewest colours, most colours, default colours, seconds of one repetition at speed 1)
LIGHT_PATTERNS: dict[str, tuple[tuple[int, ...], int, int, tuple[str, ...], float]] = {
    "Steady": ((1,), 1, 1, ("red",), 1.0),
    "Pulse": ((1, 2, 3, 4), 1, 1, ("red",), 2.0),
    "Flash": ((1, 2, 3, 4), 1, 1, ("white",), 1.0),
    "Alternate": ((1, 2), 2, 4, ("red", "blue"), 1.0),
}
# pattern -> seconds of one repetition
SIREN_PATTERNS: dict[str, float] = {
    "Siren: Alternate": 2.0,
    "Alarm: Horror": 3.0,
    "Alarm: Classic clock": 2.0,
    "Alarm: Car alarm": 4.0,
}

# -- error codes (VAPIX Siren and light): the general ones are ConfigCodes ------------------
NOT_INITIALIZED = 1200
TOO_MANY_PROFILES = 1201
BAD_PROFILE = 1202
NO_SUCH_PROCESS = 1203
NO_HEALTH_CHECK = 1204
NO_MAINTENANCE = 1205
SIREN_PATTERN, LIGHT_PATTERN = 2200, 2201
SIREN_INTENSITY, LIGHT_INTENSITY = 2202, 2203
SIREN_PRIORITY, LIGHT_PRIORITY = 2204, 2205
SIREN_UNIT, LIGHT_UNIT = 2206, 2207
SIREN_DURATION, LIGHT_DURATION = 2208, 2209
FUNCTION_TYPE = 2210
COLOR_COUNT = 2211
COLOR = 2212
NAME_TOO_LONG = 2213
DESCRIPTION_TOO_LONG = 2214
SPEED = 2215
ERROR_TEXTS = {
    ConfigCodes.INTERNAL: "Internal error", NOT_INITIALIZED: "Service is not initialized",
    TOO_MANY_PROFILES: "Maximum number of profiles reached", BAD_PROFILE: "Requested profile is invalid",
    NO_SUCH_PROCESS: "Requested process id does not exist", NO_HEALTH_CHECK: "Service does not support health check",
    NO_MAINTENANCE: "Service does not support maintenance mode", ConfigCodes.BAD_VERSION: "The API version is not supported",
    ConfigCodes.BAD_JSON: "Invalid JSON", ConfigCodes.BAD_METHOD: "Method not supported", ConfigCodes.MISSING: "Required parameter missing",
    ConfigCodes.INVALID: "Invalid parameter value specified",
    SIREN_PATTERN: "Requested siren pattern is invalid", LIGHT_PATTERN: "Requested light pattern is invalid",
    SIREN_INTENSITY: "Requested siren intensity is invalid", LIGHT_INTENSITY: "Requested light intensity is invalid",
    SIREN_PRIORITY: "Requested siren priority is invalid", LIGHT_PRIORITY: "Requested light priority is invalid",
    SIREN_UNIT: "Requested siren duration unit is invalid", LIGHT_UNIT: "Requested light duration unit is invalid",
    SIREN_DURATION: "Requested siren duration is invalid", LIGHT_DURATION: "Requested light duration is invalid",
    FUNCTION_TYPE: "Requested function type is invalid", COLOR_COUNT: "Requested number of colors is invalid",
    COLOR: "Requested color is invalid", NAME_TOO_LONG: "Profile name is too long",
    DESCRIPTION_TOO_LONG: "Description is too long", SPEED: "Requested speed is invalid.",
}

# -- rule actions ---------------------------------------------------------------------------
ACTION_START = "com.axis.action.fixed.sirenandlight.start"
ACTION_WHILE = "com.axis.action.unlimited.sirenandlight.profile"
ACTION_STOP = "com.axis.action.fixed.sirenandlight.stop"
