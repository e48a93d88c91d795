"""Paths, stored keys, event topics, limits and defaults of the SIP feature."""

from __future__ import annotations

# VAPIX: the SIP API (method names after docs/vapix.md §16; the Axis page was not in the corpus)
CGI_PATH = "/axis-cgi/sip/sip.cgi"
VERSIONS = ["1.0"]

SETTINGS_KEY = "sip.settings"  # the store's key-value table: the settings as JSON
ACCOUNTS_KEY = "sip.accounts"  # the accounts as JSON, passwords sealed

CALL_STATE = "tns1:Device/tnsaxis:SIP/CallState"
DTMF = "tns1:Device/tnsaxis:SIP/DTMF"
REGISTRATION = "tns1:Device/tnsaxis:SIP/Registration"

P2P_ID = "p2p"  # the default peer-to-peer account: always there, never registered
CODECS = ("pcmu", "pcma", "g722", "opus")  # codecs.py has each
MEDIA_ENCRYPTION = ("none", "srtp-optional", "srtp-mandatory")  # srtp.py says what each does
TRANSPORTS = ("udp", "tcp")
MAX_ACCOUNTS = 10
MAX_INCOMING_SECONDS = 600  # the manual: incoming call duration at most 10 minutes
MAX_CALL_SECONDS = 3600  # end calls after at most 60 minutes (0: never)

DEFAULTS = {
    "enabled": False,
    "allowIncoming": True,
    "sipPort": 5060,
    "rtpPortStart": 4000,
    "callingTimeout": 90,  # seconds an incoming call rings before it is turned away
    "incomingCallDuration": 600,
    "maxCallDuration": 0,
    "codecPriority": list(CODECS),  # G.711 first: what every SIP phone and PBX has
}

# rule actions
ACTION_CALL = "com.vigil.action.fixed.sip.call"
ACTION_ANSWER = "com.vigil.action.fixed.sip.answer"
ACTION_HANGUP = "com.vigil.action.fixed.sip.hangup"
