"""The virtual input tests keep running against the W401 (its clients are the I/O tests'), and
prove the same on the profiles without I/O in test_every_profile.py."""

from tests.io.conftest import admin, operator, viewer  # noqa: F401
