"""SRTP for calls (RFC 3711) keyed by SDP security descriptions (SDES, RFC 4568): each side
announces the master key and salt it sends with (`a=crypto:<tag> AES_CM_128_HMAC_SHA1_80
inline:<base64>`), so a call has two keys, the device's for what it sends and the far end's for
what it receives. libsrtp does the cipher and authentication (through pylibsrtp, as the
multicast controller does); a packet that fails authentication is dropped and counted.

The account's media encryption (const.MEDIA_ENCRYPTION) decides what is offered and accepted:
`none` plain RTP only, `srtp-optional` keys offered on RTP/AVP and used when the far end
answers with its own (best effort), `srtp-mandatory` RTP/SAVP only: a call without keys is
refused (488) or ended."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

import pylibsrtp

SUITE = "AES_CM_128_HMAC_SHA1_80"
KEY_BYTES = 30  # 128-bit master key + 112-bit master salt


@dataclass(frozen=True)
class Crypto:
    """One a=crypto line: its tag, suite and inline master key + salt."""

    tag: int
    suite: str
    key: bytes

    def attribute(self) -> str:
        return f"crypto:{self.tag} {self.suite} inline:{base64.b64encode(self.key).decode()}"


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def parse_crypto(value: str) -> Crypto | None:
    """The value of an a=crypto attribute (after `crypto:`); None when malformed or not a suite
    and key the device can use (another suite, a key of another length, several keys, or
    session parameters that turn encryption or authentication off)."""
    parts = value.split()
    if len(parts) < 3 or not parts[0].isdigit() or parts[1] != SUITE or not parts[2].startswith("inline:"):
        return None
    if any(p.startswith("UNENCRYPTED_") or p.startswith("UNAUTHENTICATED_") for p in parts[3:]):
        return None
    key_params = parts[2][len("inline:"):]
    if ";" in key_params:
        return None  # more than one key
    try:
        key = base64.b64decode(key_params.split("|")[0], validate=True)
    except (binascii.Error, ValueError):
        return None
    return Crypto(int(parts[0]), SUITE, key) if len(key) == KEY_BYTES else None


def srtp_session(key: bytes, inbound: bool) -> pylibsrtp.Session:
    """An AES_CM_128_HMAC_SHA1_80 session with `key` for packets in (from any SSRC) or out."""
    ssrc = pylibsrtp.Policy.SSRC_ANY_INBOUND if inbound else pylibsrtp.Policy.SSRC_ANY_OUTBOUND
    return pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=ssrc,
                                              srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80))


class SrtpContext:
    """The two SRTP sessions of a call: out with the device's key, in with the far end's."""

    def __init__(self, local_key: bytes, remote_key: bytes) -> None:
        self.local_key, self.remote_key = local_key, remote_key
        self.outbound = srtp_session(local_key, inbound=False)
        self.inbound = srtp_session(remote_key, inbound=True)
        self.refused = 0  # RTP packets in that failed authentication or replay checks
        self.refused_control = 0  # RTCP packets in the same (and plain ones: baresip's keep-alive APP "PING")

    def receive_with(self, remote_key: bytes) -> None:
        """The far end's new key (a re-INVITE re-keyed). The outbound session is kept: a new one
        with the same key would start its rollover counter again and could reuse keystream."""
        self.remote_key = remote_key
        self.inbound = srtp_session(remote_key, inbound=True)

    def protect(self, packet: bytes) -> bytes:
        return self.outbound.protect(packet)

    def protect_rtcp(self, packet: bytes) -> bytes:
        return self.outbound.protect_rtcp(packet)

    def unprotect(self, packet: bytes) -> bytes | None:
        try:
            return self.inbound.unprotect(packet)
        except pylibsrtp.Error:
            self.refused += 1
            return None

    def unprotect_rtcp(self, packet: bytes) -> bytes | None:
        try:
            return self.inbound.unprotect_rtcp(packet)
        except pylibsrtp.Error:
            self.refused_control += 1
            return None
