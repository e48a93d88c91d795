"""Apps: paths of the VAPIX Application API, storage keys, limits and the API's error replies."""

from __future__ import annotations

import re

BASE = "/axis-cgi/applications"
UPLOAD_PATH = f"{BASE}/upload.cgi"
CONTROL_PATH = f"{BASE}/control.cgi"
LIST_PATH = f"{BASE}/list.cgi"
CONFIG_PATH = f"{BASE}/config.cgi"
LICENSE_PATH = f"{BASE}/license.cgi"
LOCAL_PREFIX = "/local"  # /local/<app>/...: the app's settings page and its own API

UPLOAD_FIELDS = ("packfil", "file")  # Axis's web interface and most clients say packfil, the API page file
LICENSE_FIELDS = ("fileData", "licenseKey")  # the web interface, the API page

APPS_KEY = "apps.installed"  # kv: {name: {"manifest": {...}, "signed": bool, "running": bool, ...}}
LICENSE_KEY = "apps.license."  # kv per app: the license key XML
ALLOW_UNSIGNED_KEY = "apps.allow_unsigned"  # kv: "true" | "false"
ALLOW_UNSIGNED = "AllowUnsigned"  # config.cgi's name

MAX_PACKAGE = 64 * 1024 * 1024  # an uploaded .eap, signature included
MAX_LICENSE = 64 * 1024
MAX_APPS = 20
MAX_LOG_LINE = 1000
LOG_BURST = 200  # lines an app may write at once into the system log; then LOG_RATE per second
LOG_RATE = 20.0
APP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,25}$")
RUN_MODES = ("never", "once", "respawn")

# Restarting an app that keeps exiting: waits double from BACKOFF_FIRST up to BACKOFF_MAX; an app
# that ran BACKOFF_RESET seconds counts as healthy again. CRASH_LOOP exits in a row: reported.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 300.0
BACKOFF_RESET = 60.0
CRASH_LOOP = 3
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL

# The device runs apps as their own user (when it runs as root): uid APP_UID_BASE + slot.
APP_UID_BASE = 64000

# The Application API's text replies (the API page: "OK" or "Error: <code>").
OK = "OK\n"
ERR_UPLOAD = 1  # the upload failed: no file, cut short, too large
ERR_INVALID = 10  # not a valid package: archive, manifest, executable
ERR_SIGNATURE = 12  # unsigned (while unsigned apps are refused) or the signature does not verify
ERR_NOT_FOUND = 4  # no such application
ERR_RUNNING = 6  # already running
ERR_NOT_RUNNING = 7  # not running
ERR_START = 8  # could not start
ERR_TOO_MANY = 9  # too many applications installed
ERR_LICENSE_INVALID = 31  # the license key is not valid for this application
ERR_LICENSED = 30  # a license key is installed already (the API page)
ERR_NO_LICENSE = 32  # no license key to remove
