"""Offer/answer of one call (negotiation.py) on SDP texts: the codec the priority list picks,
SRTP keys by the account's media encryption (what is refused 488), hold directions and the
SDP origin's version, and the a=crypto lines the device can use (srtp.py)."""

from __future__ import annotations

import base64

import pytest

from vigil.features.sip import sdp
from vigil.features.sip.negotiation import Negotiation, NotAcceptable
from vigil.features.sip.srtp import KEY_BYTES, parse_crypto

KEY = base64.b64encode(bytes(range(KEY_BYTES))).decode()


def offer(profile: str = "RTP/AVP", types: str = "0 8 9 96 101", crypto: str = "", direction: str = "") -> sdp.Media:
    lines = ["v=0", "o=far 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
             f"m=audio 40000 {profile} {types}", "a=rtpmap:96 opus/48000/2", "a=rtpmap:101 telephone-event/8000"]
    lines += [f"a=crypto:{crypto}"] if crypto else []
    lines += [f"a={direction}"] if direction else []
    return sdp.parse(("\r\n".join(lines) + "\r\n").encode())


def test_the_answer_takes_the_first_codec_of_the_priority_list_the_far_end_offers() -> None:
    body, plan = Negotiation(["g722", "pcmu"], "none", "127.0.0.1", 4000).answer(offer())
    assert (plan.codec.name, plan.payload_type, plan.dtmf_payload) == ("g722", 9, 101)
    assert b"m=audio 4000 RTP/AVP 9 101\r\n" in body and b"a=rtpmap:9 G722/8000" in body
    _, plan = Negotiation(["opus", "pcmu"], "none", "127.0.0.1", 4000).answer(offer())
    assert (plan.codec.name, plan.payload_type) == ("opus", 96)  # the far end's dynamic type
    with pytest.raises(NotAcceptable, match="no codec"):
        Negotiation(["g722"], "none", "127.0.0.1", 4000).answer(offer(types="0 8"))


def test_the_offer_lists_the_codecs_in_priority_order() -> None:
    body = Negotiation(["opus", "pcma", "g722"], "none", "127.0.0.1", 4000).offer()
    assert b"m=audio 4000 RTP/AVP 111 8 9 101\r\n" in body
    assert b"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 " in body
    assert b"crypto" not in body


def test_media_encryption_decides_what_is_offered_accepted_and_refused() -> None:
    savp = offer("RTP/SAVP", crypto=f"7 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")
    with pytest.raises(NotAcceptable, match="media encryption is off"):
        Negotiation(["pcmu"], "none", "127.0.0.1", 4000).answer(savp)
    with pytest.raises(NotAcceptable, match="requires SRTP"):
        Negotiation(["pcmu"], "srtp-mandatory", "127.0.0.1", 4000).answer(offer())
    with pytest.raises(NotAcceptable, match="no SRTP crypto suite"):
        Negotiation(["pcmu"], "srtp-optional", "127.0.0.1", 4000).answer(
            offer("RTP/SAVP", crypto=f"1 AES_256_CM_HMAC_SHA1_80 inline:{KEY}"))
    body, plan = Negotiation(["pcmu"], "srtp-mandatory", "127.0.0.1", 4000).answer(savp)
    assert b"m=audio 4000 RTP/SAVP 0 101" in body and b"a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:" in body
    assert plan.remote_key == bytes(range(KEY_BYTES)) and plan.local_key is not None
    assert plan.local_key != plan.remote_key
    # optional: keys offered on RTP/AVP are used (best effort), a plain offer is answered plain
    body, plan = Negotiation(["pcmu"], "srtp-optional", "127.0.0.1", 4000).answer(
        offer(crypto=f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}"))
    assert b"RTP/AVP" in body and b"a=crypto:1 " in body and plan.remote_key is not None
    body, plan = Negotiation(["pcmu"], "srtp-optional", "127.0.0.1", 4000).answer(offer())
    assert b"crypto" not in body and plan.remote_key is None
    # the device's own offer, and an answer without keys
    mandatory = Negotiation(["pcmu"], "srtp-mandatory", "127.0.0.1", 4000)
    assert b"m=audio 4000 RTP/SAVP 0 101" in mandatory.offer() and b"a=crypto:1 " in mandatory.offer()
    with pytest.raises(NotAcceptable, match="without SRTP keys"):
        mandatory.accept(offer(types="0"))
    optional = Negotiation(["pcmu"], "srtp-optional", "127.0.0.1", 4000)
    assert b"m=audio 4000 RTP/AVP 0 101" in optional.offer() and b"a=crypto:1 " in optional.offer()
    assert optional.accept(offer(types="0")).remote_key is None


def test_hold_answers_and_the_origin_version() -> None:
    talk = Negotiation(["pcmu"], "none", "127.0.0.1", 4000)
    first, plan = talk.answer(offer())
    assert plan.sends and plan.plays
    again, _ = talk.answer(offer())  # a session refresh: the same description, the same version
    assert again.split(b"\r\n")[1] == first.split(b"\r\n")[1]
    held, plan = talk.answer(offer(direction="sendonly"))
    assert b"a=recvonly" in held and not plan.sends and plan.plays
    assert held.split(b"\r\n")[1].split()[2] == b"%d" % (int(first.split(b"\r\n")[1].split()[2]) + 1)
    _, plan = talk.answer(offer(direction="inactive"))
    assert not plan.sends and not plan.plays


def test_crypto_lines_the_device_cannot_use() -> None:
    assert parse_crypto(f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20|1:32") is not None
    for bad in (f"1 AES_CM_128_HMAC_SHA1_32 inline:{KEY}", "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=",
                f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY} UNENCRYPTED_SRTP", "x AES_CM_128_HMAC_SHA1_80 inline:",
                f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY};inline:{KEY}", "1 AES_CM_128_HMAC_SHA1_80 inline:!!"):
        assert parse_crypto(bad) is None, bad
