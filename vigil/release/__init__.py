"""Vigil's own software updates: the signed release package (package.py: build, verify), the
A/B slots in the data folder with their trial boot and rollback (slots.py), and the launcher
that `vigil run` is, which starts the device from the active slot (launcher.py).

Standard library and `cryptography` only, and nothing from the device: the launcher must start
(and roll back) even when the device code of a slot is broken. The firmware management API on
top of it is vigil/features/firmware."""
