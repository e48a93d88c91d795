"""SSH: the parameter that turns it on, storage keys, paths, limits, texts and the error codes
of the VAPIX SSH API."""

from __future__ import annotations

import re

ENABLED = "Network.SSH.Enabled"  # the manual's "Enable SSH" (System > Accounts > SSH accounts)

USERS_KEY = "ssh.users"  # kv: {name: {"password": sealed, "comment": text}}
HOST_KEY = "ssh.hostkey"  # kv: the host's private key, OpenSSH format, sealed

CGI_PATH = "/axis-cgi/ssh.cgi"  # VAPIX SSH API: getSshInfo, setSshConfiguration
USERS_PATH = "/config/rest/ssh/v2"  # Device Configuration: SSH Management, the users collection
VERSIONS = ["1.0"]

ROOT = "root"  # the device's root account may log in over SSH with its password; it cannot be removed
MAX_USERS = 100
USERNAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MAX_PASSWORD = 256
MAX_COMMENT = 256
LOGIN_GRACE = 30  # seconds a client has to authenticate

# VAPIX SSH API error codes (the API page's general error codes).
