"""Simulated hardware: behaves like the device and is driven from tests."""
