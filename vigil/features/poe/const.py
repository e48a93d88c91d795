"""The PoE feature's names: event topics, parameter names, port status codes, the VAPIX NVR PoE
API's paths and error codes."""

from __future__ import annotations

# -- event topics -------------------------------------------------------------------------
POE_FAILURE = "tns1:Device/tnsaxis:HardwareFailure/PoEFailure"  # source port (-1: any), data reason
PORT_POWER = "tns1:Device/tnsaxis:PoE/PortPower"  # source port, state powered: a rule condition
ANY_PORT = "-1"


# -- parameters ---------------------------------------------------------------------------
def port_group(port: int) -> str:
    """The parameter group of PoE port `port` (1-based), e.g. `PoE.Port.P1.`."""
    return f"PoE.Port.P{port}."


ENABLED = "Enabled"  # yes: the port gives power
NETWORK = "Network"  # no: "power only", the port's network is off
FRIENDLY_NAME = "FriendlyName"  # empty: the connected device's model and MAC
KEEP_POWER = "PoE.KeepPower"
ALLOCATION = "PoE.Allocation"
ALLOCATIONS = ("class", "lldp")

# -- port status codes (VAPIX NVR PoE, getportstatuses) -------------------------------------
NOT_CONNECTED, CONNECTED_POE, CONNECTED_NO_POE, DISABLED, BUDGET_EXCEEDED, OTHER_ERROR = range(6)
STATUS_TEXT = {
    NOT_CONNECTED: "Not connected",
    CONNECTED_POE: "Connected - PoE",
    CONNECTED_NO_POE: "Connected - No PoE",
    DISABLED: "Disabled",
    BUDGET_EXCEEDED: "Error: Power budget exceeded",
    OTHER_ERROR: "Error: Other",
}

# -- /axis-cgi/nvr/poe/ (XML) ---------------------------------------------------------------
NVR_POE_PATH = "/axis-cgi/nvr/poe/"
SCHEMA_VERSION = "1.2"
POE_ERRORS = {
    10: "An error occurred while processing the request",
    20: "Invalid request",
    30: "Unauthorized request",
    40: "Specified version not supported",
    50: "Not supported",
}

# -- the simulation API and the page's JSON API ----------------------------------------------
SIM_POE = "/vigil/sim/poe"
PORTS_API = "/config/rest/poe/v1/ports"
