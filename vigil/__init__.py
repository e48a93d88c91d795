"""Vigil: one device platform for recorders, speakers and I/O devices."""

__version__ = "0.1.0"
