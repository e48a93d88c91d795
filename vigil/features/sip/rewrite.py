"""The manual's "Allow via rewrite" and "Allow contact rewrite" (SIP settings > Additional): the
device behind a NAT learns the address its server sees it at from the server's answers, and
writes that address where the server or the PBX must reach it.

A server that answers writes, in the top Via of its response, the source address the request
came from (`received`, RFC 3261 §18.2.1) and its source port (`rport`, RFC 3581: the device asks
for it in every Via). When those differ from the Via's sent-by, a NAT stands between them; the
address is kept per next hop (a NAT may map each destination apart).

The manual's one line for both ("send the local IP address instead of the router's public IP
address") reads inverted; Vigil follows pjsip's allow_via_rewrite / allow_contact_rewrite, what
SIP stacks of this kind mean by the names:
- contact rewrite on: when a REGISTER's answer shows another address than its Contact, the
  device registers again at once with the public address in Contact and removes the old binding
  (the old Contact with `expires=0` in the same REGISTER), so that calls from the PBX reach it;
  the Contact of its calls and answers toward that server carries the public address too.
- via rewrite on: requests toward that server after the first answer carry the public address
  as Via sent-by.
Both are off by default (the manual presents them as options to select): with them off the
device keeps its own address, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.features.sip import message as m

Address = tuple[str, int]


def seen_at(response: m.Message) -> Address | None:
    """Where the server saw the request `response` answers come from: the top Via's sent-by
    corrected by its `received` and `rport` parameters (None when the Via says nothing readable)."""
    via = response.get("via")
    sent_by = via.split(";")[0].split()[-1] if via.strip() else ""
    if not sent_by:
        return None
    host, _, port = sent_by.rpartition(":") if sent_by.count(":") == 1 else (sent_by, "", "5060")
    received, rport = m.param(via, "received"), m.param(via, "rport")
    port = rport or port
    if not port.isdigit():
        return None
    return received or host, int(port)


@dataclass
class Rewrite:
    """The two settings and what the agent learnt with them, per next hop."""

    contact: bool = False
    via: bool = False
    public: dict[Address, Address] = field(default_factory=dict)  # next hop -> where it sees the device

    def learn(self, hop: Address, response: m.Message, contact_sent: Address | None) -> bool:
        """Keep the address `hop` saw the device at; True when the Contact it was sent (a REGISTER's)
        differs and contact rewrite is on: the device must register again with the public address."""
        if not (self.contact or self.via):
            return False
        seen = seen_at(response)
        if seen is None:
            return False
        self.public[hop] = seen
        return self.contact and contact_sent is not None and seen != contact_sent

    def via_address(self, hop: Address) -> Address | None:
        return self.public.get(hop) if self.via else None

    def contact_address(self, hop: Address) -> Address | None:
        return self.public.get(hop) if self.contact else None
