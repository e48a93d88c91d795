"""Names and limits of the remote system log: the parameters of the VAPIX Remote Syslog API
(`API.RemoteSyslog1.*`), its error codes, the choices and default ports, and the bounds that
keep logging from ever holding the device up."""

from __future__ import annotations

from dataclasses import astuple, dataclass

VERSIONS = ["1.2"]  # /axis-cgi/remotesyslog.cgi (API discovery: remote-syslog 1.2); serves 1.0 to 1.2
PATH = "/axis-cgi/remotesyslog.cgi"

# Error codes (the API page's general and method-specific codes)
NO_SERVER = 2200
IDENTICAL = 2201
DISABLED = 2202
TOO_MANY = 2203


@dataclass(frozen=True)
class ServerParams:
    """The parameter names of one server (`API.RemoteSyslog1.Server<n>.*`)."""

    address: str
    port: str
    protocol: str
    format: str
    severity: str
    type: str


GROUP = "API.RemoteSyslog1."
ENABLED = "API.RemoteSyslog1.Enabled"
SERVERS = (
    ServerParams("API.RemoteSyslog1.Server1.Address", "API.RemoteSyslog1.Server1.Port",
                 "API.RemoteSyslog1.Server1.Protocol", "API.RemoteSyslog1.Server1.SyslogFormat",
                 "API.RemoteSyslog1.Server1.Severity", "API.RemoteSyslog1.Server1.Type"),
    ServerParams("API.RemoteSyslog1.Server2.Address", "API.RemoteSyslog1.Server2.Port",
                 "API.RemoteSyslog1.Server2.Protocol", "API.RemoteSyslog1.Server2.SyslogFormat",
                 "API.RemoteSyslog1.Server2.Severity", "API.RemoteSyslog1.Server2.Type"),
)
PARAMS = (ENABLED, *(name for server in SERVERS for name in astuple(server)))
TRUE, FALSE = "true", "false"  # Enabled, as the API page spells it

PROTOCOLS = ("UDP", "TCP", "TLS")
FORMATS = ("AXIS", "RFC3164", "RFC5424")
SEVERITIES = ("Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug")  # 0..7
TYPES = ("All", "Audit")
DEFAULT_PROTOCOL, DEFAULT_FORMAT, DEFAULT_SEVERITY, DEFAULT_TYPE = "TLS", "RFC5424", "Warning", "All"
# The API page's default port list: by protocol, and for TCP by format.
DEFAULT_PORTS = {("UDP", "AXIS"): 514, ("UDP", "RFC3164"): 514, ("UDP", "RFC5424"): 514,
                 ("TCP", "AXIS"): 514, ("TCP", "RFC3164"): 514, ("TCP", "RFC5424"): 601,
                 ("TLS", "AXIS"): 6514, ("TLS", "RFC3164"): 6514, ("TLS", "RFC5424"): 6514}
SERVER_KEYS = ("address", "port", "protocol", "syslogFormat", "severity", "type")

# The CA certificates a TLS server is verified against (aliases in the keystore, see
# vigil/features/certificates): the "RemoteSyslog" certificate set. Kept in the key-value table.
KV_CA_CERTIFICATES = "syslog.ca_certificates"
MAX_CA_CERTIFICATES = 8

# Bounds: logging never waits for a server.
MAX_QUEUE = 10_000  # entries waiting for one server while it is reachable; more are dropped, counted
BATCH = 32  # entries formatted and written in one go before the sender lets others run: ~0.2 ms of
# the event loop at most (bench/system_syslog.py: 256 raised the event path's p99 by ~0.1 ms at
# 5,000 log messages/s; 32 keeps the same 40,000 messages/s)
CONNECT_TIMEOUT = 5.0  # seconds for a TCP connection and the TLS handshake
BACKOFF_MIN, BACKOFF_MAX = 1.0, 60.0  # seconds between attempts to reach a server that is down
MAX_MESSAGE = 8192  # bytes of a formatted message (rsyslog's default maximum); longer ones are cut
MAX_MESSAGE_3164 = 1024  # RFC 3164's limit
