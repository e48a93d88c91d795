"""The firewall's API paths, error codes and bounds."""

from __future__ import annotations

API_ROOT = "/config/rest/firewall/v1"
API_VERSION = "1.0"

# The Firewall configuration API's own error codes.
ERR_INVALID_IP = 100
ERR_INVALID_IP_RANGE = 101
ERR_INVALID_REQUEST = 103
ERR_INVALID_PORT_RANGE = 104

DEFAULT_TEST_SECONDS = 300  # the manual's "Test time in seconds" default
MAX_TEST_SECONDS = 86400
MAX_RULES = 256
STORE_KEY = "firewall"  # the confirmed settings, in the store's key-value table (one transaction a change)
