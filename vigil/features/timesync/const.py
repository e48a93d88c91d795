"""Names and limits of the Time and location chapter: the Time parameters, the NTP API's error
codes and sub-codes, the geolocation API's error codes, the polling and stepping limits."""

from __future__ import annotations

# -- parameters --------------------------------------------------------------------------
SYNC_SOURCE = "Time.SyncSource"  # NTP | None: automatic time on or off
OBTAIN_FROM_DHCP = "Time.ObtainFromDHCP"  # servers from the DHCP lease (static ones as fallback)
TIME_ZONE = "Time.TimeZone"  # an IANA name; empty: the POSIX rule applies
POSIX_TIME_ZONE = "Time.POSIXTimeZone"
DST_ENABLED = "Time.DST.Enabled"
NTP_SERVERS = "Time.NTP.Server"  # comma separated host[:port]
NTS_ENABLED = "Time.NTP.NTS"
NTS_KE_SERVERS = "Time.NTP.NTSKEServer"  # comma separated host[:port]
NTS_KE_CA_CERTS = "Time.NTP.NTSKECACerts"  # comma separated aliases of CA certificates in the keystore
MIN_POLL = "Time.NTP.MinPoll"  # log2 seconds
MAX_POLL = "Time.NTP.MaxPoll"
DHCP_SERVERS = "Time.NTP.VolatileServer"  # read-only: what the DHCP lease gave
SETTINGS = (SYNC_SOURCE, OBTAIN_FROM_DHCP, NTP_SERVERS, NTS_ENABLED, NTS_KE_SERVERS, NTS_KE_CA_CERTS,
            MIN_POLL, MAX_POLL)
ZONE_SETTINGS = (TIME_ZONE, POSIX_TIME_ZONE, DST_ENABLED)

# -- synchronisation -----------------------------------------------------------------------
NTP_PORT = 123
NTS_KE_PORT = 4460
MAX_STATIC_SERVERS = 5  # NTP servers and NTS-KE servers each
POLL_RANGE = (0, 24)  # log2 seconds, as the NTP API allows
DEFAULT_MIN_POLL, DEFAULT_MAX_POLL = 6, 10  # 64 s .. 17 min
STEP_THRESHOLD = 1.0  # seconds: a larger offset is stepped at once, a smaller one slewed
BURST = 4  # requests to each server per poll; the one with the shortest round trip counts
REPLY_TIMEOUT = 1.0  # seconds to wait for one reply
LOST_AFTER = 3  # polls in a row without any answer: the clock is no longer synchronised
MAX_DELAY = 1.0  # seconds of round trip beyond which a sample says little about the offset

# -- ntp.cgi -------------------------------------------------------------------------------
NTP_PATH = "/axis-cgi/ntp.cgi"
NTP_VERSIONS = ["1.5"]
# error.details.subCode of INVALID: which parameter was wrong
SUB_ENABLED, SUB_SOURCE, SUB_SERVERS, SUB_NTS, SUB_NTS_KE = 1, 2, 3, 5, 6
SUB_MIN_POLL, SUB_MAX_POLL, SUB_CA_CERTS = 7, 8, 9

# -- geolocation ---------------------------------------------------------------------------
GEO_GET = "/axis-cgi/geolocation/get.cgi"
GEO_SET = "/axis-cgi/geolocation/set.cgi"
GEO_INVALID_PARAMETER, GEO_INVALID_VALUE, GEO_INTERNAL = 1, 2, 3
MAX_LOCATION_TEXT = 255
KV_LOCATION = "timesync.location"
