"""Paths, stored keys, event topics, limits and defaults of the SIP feature."""

from __future__ import annotations

# The SIP API: its shape is Vigil's own (the SIP page uses it). Axis's page is the Call service API,
# served at `/vapix/call` over the same service (http_call.py).
CGI_PATH = "/axis-cgi/sip/sip.cgi"
VERSIONS = ["1.0"]

SETTINGS_KEY = "sip.settings"  # the store's key-value table: the settings as JSON
ACCOUNTS_KEY = "sip.accounts"  # the accounts as JSON, passwords sealed
DTMF_KEY = "sip.dtmf"  # the Call service API's DTMF events, triggers and configurations (dtmf_catalogue.py)

# The Call service's call events (VAPIX Call service API, call_events.py says what each carries).
CALL_STATE = "tnsaxis:Call/State"
CALL_STATE_CHANGE = "tnsaxis:Call/StateChange"
DTMF = "tns1:Device/tnsaxis:SIP/DTMF"
REGISTRATION = "tns1:Device/tnsaxis:SIP/Registration"

VMS_KEY = "sip.vms"  # the VMS call configuration as JSON (vms.py)
# VAPIX VMSCallConfiguration: VMS calls on, answered by one audio stream to the device (transmit.cgi,
# the RTSP backchannel), an unanswered one ends after Timeout seconds (the page's default, 30).
VMS_DEFAULTS = {"Enabled": True, "AudioFromDeviceToNetworkStreams": 0, "AudioFromNetworkToDeviceStreams": 1,
                "VideoFromDeviceToNetworkStreams": 0, "Timeout": 30}
MAX_VMS_TIMEOUT = 3600  # VAPIX gives Timeout no maximum; an hour is past any VMS operator's answer

P2P_ID = "p2p"  # the default peer-to-peer account: always there, never registered
CODECS = ("pcmu", "pcma", "g722", "opus")  # codecs.py has each
MEDIA_ENCRYPTION = ("none", "srtp-optional", "srtp-mandatory")  # srtp.py says what each does
TRANSPORTS = ("udp", "tcp", "tls")
TLS_VERSIONS = ("auto", "1.2", "1.3")  # the manual: auto picks the most secure the peer has; older ones are not offered
MAX_PROXIES = 5
MAX_ACCOUNTS = 10
MAX_INCOMING_SECONDS = 600  # the manual: incoming call duration at most 10 minutes
DTMF_PAYLOAD_TYPES = (96, 127)  # the dynamic payload types (RFC 3551)
REGISTER_INTERVALS = (60, 86400)  # seconds: a minute to a day
MAX_RETRANSMISSIONS = 10
MAX_CALL_SECONDS = 3600  # end calls after at most 60 minutes (0: never)
STUN_PORT = 3478  # RFC 8489: STUN and TURN servers listen here unless the address names a port
MIN_CALLING_TIMEOUT = 1  # VAPIX gives CallingTimeout no minimum; the manual none either
DTMF_METHODS = ("rtp", "info")  # RFC 2833/4733 in RTP, SIP INFO (RFC 2976): the manual's per-account protocols
# A device without a speaker (W401, recorders) has SIP only to place the calls of the "SIP"
# recipient and the Make a call action: no incoming calls, no audio, and a call it placed ends
# after a minute unless the far end hangs up first (nothing flows once it is answered).
CALLS_ONLY_DEFAULTS = {"maxCallDuration": 60}
CALLS_ONLY_FIXED = ("enabled", "allowIncoming", "sipPort", "tlsPort", "incomingCallDuration")  # refused there

DEFAULTS = {
    "enabled": False,
    "allowIncoming": True,
    "sipPort": 5060,
    "tlsPort": 5061,
    "rtpPortStart": 4000,
    "callingTimeout": 60,  # seconds a call rings before it is given up (VAPIX CallingTimeout: default 60, max 600)
    "incomingCallDuration": 600,
    "maxCallDuration": 0,
    "codecPriority": list(CODECS),  # G.711 first: what every SIP phone and PBX has
    "natTraversal": {"ice": False, "stun": False, "stunServer": "", "turn": False, "turnServer": "", "turnUser": "",
                     "turnPassword": "", "turnTransport": "udp"},  # the manual's NAT traversal (nat.py); the TURN password stored sealed
    # A call's priority against the multicast controller's sources (their priority 1-10, higher
    # wins): VAPIX ranks internal sources such as SIP calls among them.
    "callPriority": 5,
    "registrationRetry": 30,  # seconds between attempts while an account's registrar(s) cannot be reached
    "failbackSeconds": 300,  # the manual's "seconds until failback": on the secondary server, when to try the primary
    "dtmfPayloadType": 101,  # the manual's "DTMF payload type": the telephone-event type the device offers (sdp.py)
    "registerInterval": 3600,  # the manual's "Register with server every": the Expires asked for in REGISTER
    "maxRetransmissions": 0,  # the manual's "Max retransmissions": unreachable rounds before giving up; 0: never give up
    "udpToTcp": False,  # the manual's "UDP-to-TCP switching": a large request goes over TCP (RFC 3261 18.1.1)
    "contactRewrite": False,  # the manual's "Allow contact rewrite" (rewrite.py): off, the device's own address
    "viaRewrite": False,  # the manual's "Allow via rewrite" (rewrite.py)
}

# rule actions
ACTION_CALL = "com.vigil.action.fixed.sip.call"
ACTION_ANSWER = "com.vigil.action.fixed.sip.answer"
ACTION_HANGUP = "com.vigil.action.fixed.sip.hangup"
