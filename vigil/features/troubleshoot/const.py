"""Names and bounds of Maintenance > Troubleshoot: the CGI paths, how long a ping or a port check
may take, and how long and how large a network trace may grow."""

from __future__ import annotations

PING_PATH = "/axis-cgi/pingtest.cgi"
TCP_PATH = "/axis-cgi/tcptest.cgi"
DEBUG_PATH = "/axis-cgi/debug/debug.tgz"

# Ping: a few echo requests, and an answer within a few seconds whatever happens.
PING_COUNT = 3
PING_INTERVAL = 0.5  # seconds between echo requests
PING_DEADLINE = 5  # seconds: ping gives up then
PING_REACHED, PING_UNREACHED = "got response", "no response"  # the first line of pingtest.cgi's reply

# Port check
PORT_TIMEOUT = 5.0  # seconds for a TCP connection
UDP_WAIT = 1.0  # seconds to wait for an ICMP "port unreachable" after a UDP datagram
PORT_OPEN = "Test successful."  # the first line of tcptest.cgi's reply when the port answers
PORT_FAILED = "Test failed:"

# Network trace
TRACE_CMD = "pcapdump"  # debug.tgz?cmd=pcapdump&duration=<s>[&interface=<name>]
TRACE_MAX_SECONDS = 3600
TRACE_MAX_BYTES = 100 * 1024 * 1024  # the trace stops there (whole packets only)
TRACE_START_TIMEOUT = 5.0  # seconds for the capture tool to start listening
ANY_INTERFACE = "any"  # every interface of the device: the default
PCAP_TYPE = "application/vnd.tcpdump.pcap"
