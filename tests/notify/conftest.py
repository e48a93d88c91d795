"""Fixtures of the notify tests: a Samba server for network share recipients."""

from tests.peers.samba import samba  # noqa: F401 - a fixture of these tests
