"""One source's reception: a UDP socket bound to its group and port that has joined the group
on the device's interfaces, SRTP removed when the source has a key (libsrtp, through pylibsrtp),
the RTP header parsed by the ONVIF backchannel's parser, and the payload decoded to the
speaker's rate by playback's decoders (G.711 and L16 as a byte stream, Opus a packet at a time)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pylibsrtp

from vigil.features.multicast import const as c
from vigil.features.playback.backchannel import rtp_payload
from vigil.features.playback.decode import PacketDecoder, StreamDecoder
from vigil.features.sip.srtp import srtp_session


class Depacketizer:
    """RTP (or SRTP with `key`) packets of one source into samples at the speaker's rate."""

    def __init__(self, codec: str, key: bytes | None) -> None:
        encoding, self.payload_type, rate = c.CODECS[codec]
        self.decoder = PacketDecoder(encoding, rate) if encoding in c.FRAMED else StreamDecoder(encoding, rate)
        self.srtp = srtp_session(key, inbound=True) if key else None
        self.refused = 0  # packets that failed SRTP authentication or were not RTP of this codec
        self.wrong_type: int | None = None  # the payload type of the last RTP packet refused as another codec

    def payload(self, packet: bytes) -> bytes | None:
        """The audio of `packet`, authenticated and decrypted; None when the packet is refused
        (it then does not count as the stream playing: a forged packet takes no speaker)."""
        if self.srtp is not None:
            try:
                packet = self.srtp.unprotect(packet)
            except pylibsrtp.Error:
                self.refused += 1
                return None
        found = rtp_payload(packet)
        if found is None or (found[0] != self.payload_type and found[0] not in c.DYNAMIC_PAYLOAD_TYPES):
            self.refused += 1
            self.wrong_type = found[0] if found is not None else None
            return None
        return found[1]

    def samples(self, payload: bytes) -> np.ndarray:
        """The samples `payload` completes (none while less than a block is held)."""
        return self.decoder.decode(payload)


class Receiver(asyncio.DatagramProtocol):
    """Hands each datagram of one source to `on_packet`."""

    def __init__(self, on_packet: Callable[[bytes], None]) -> None:
        self.on_packet = on_packet

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.on_packet(data)
