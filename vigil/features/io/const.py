"""The I/O feature's names: event topics, parameter names, API paths, error codes and limits."""

from __future__ import annotations

# -- event topics -------------------------------------------------------------------------
PORT = "tns1:Device/tnsaxis:IO/Port"
DIGITAL_INPUT = "tns1:Device/Trigger/DigitalInput"
RELAY = "tns1:Device/Trigger/Relay"
SUPERVISED = "tns1:Device/tnsaxis:IO/SupervisedPort"


# -- parameters ---------------------------------------------------------------------------
def port_group(index: int) -> str:
    """The parameter group of port `index` (0-based), e.g. `IOPort.I0.`."""
    return f"IOPort.I{index}."


DIRECTION = "Direction"
USAGE = "Usage"
CONFIGURABLE = "Configurable"
INPUT_NAME = "Input.Name"
INPUT_TRIG = "Input.Trig"  # the circuit that makes an input active
INPUT_SUPERVISED = "Input.Supervised"
OUTPUT_NAME = "Output.Name"
OUTPUT_ACTIVE = "Output.Active"  # the circuit of an active output
OUTPUT_BUTTON = "Output.Button"  # the Accessories page's button: actinact, pulse or none
OUTPUT_PULSE_TIME = "Output.PulseTime"  # milliseconds of the page's pulse
MAX_PULSE_MILLIS = 65535
CIRCUITS = ("open", "closed")  # the circuits a user sets (a supervised input also reads cut, short)

# -- io/portmanagement.cgi (JSON) ---------------------------------------------------------
PORT_MANAGEMENT = "/axis-cgi/io/portmanagement.cgi"
PORT_MANAGEMENT_VERSIONS = ["1.0"]
PORT_MANAGEMENT_ERRORS = {
    1100: "Internal error",
    2100: "API version not supported",
    2101: "Invalid JSON",
    2102: "Method not supported",
    2103: "Required parameter missing",
    2104: "Invalid parameter value specified",
    2105: "Authorization failed",
    2200: "State sequence already ongoing",
}
MAX_PORTS_PER_REQUEST = 256  # the page's limit for one setPorts request
MAX_STEP_MILLIS = 65535  # the page's limit for one setStateSequence delay
MAX_SEQUENCE_STEPS = 1000

# -- io/port.cgi (legacy, ports numbered from 1) ------------------------------------------
PORT_CGI = "/axis-cgi/io/port.cgi"
MAX_WAIT_MILLIS = 86_400_000  # the longest wait of an action=<n>:/<ms>\ pulse

MAX_DURATION = 2_147_483_647  # seconds an output may stay toggled by a rule action

# -- the simulation API -------------------------------------------------------------------
SIM_IO = "/vigil/sim/io"
