"""The SIP agent's failures, with text for the account status and the log."""

from __future__ import annotations


class SipError(Exception):
    """A request that did not succeed; the text is for the account status and the log."""


class SipUnreachable(SipError):
    """No answer came, or no connection could be made: the server, not the request, failed
    (a secondary server may stand in)."""
