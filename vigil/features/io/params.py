"""The I/O ports a profile has, and their parameters: `IOPort.I<n>` for each physical port,
the input and output counts, and the I/O product properties."""

from __future__ import annotations

from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.features.io.const import (
    CONFIGURABLE,
    DIRECTION,
    INPUT_NAME,
    INPUT_SUPERVISED,
    INPUT_TRIG,
    MAX_PULSE_MILLIS,
    OUTPUT_ACTIVE,
    OUTPUT_BUTTON,
    OUTPUT_NAME,
    OUTPUT_PULSE_TIME,
    USAGE,
    port_group,
)
from vigil.hal.io import PortSpec
from vigil.profiles import Hardware

V, A = Role.VIEWER, Role.ADMIN
BY_IO = applied("io")  # the service reads them for each port view (names, normal states, supervision)
ON_CHANGE = applied("io", how="listener")  # the service drives the hardware when they change
# The Accessories page draws each output's button from these: activate/deactivate, a pulse of
# Output.PulseTime milliseconds (0: no pulse until one is set), or none.
BY_PAGE = applied("web")


def port_kinds(hardware: Hardware) -> list[str]:
    """Each port's kind, in port order: inputs, outputs, configurable ports, relays."""
    return (["input"] * hardware.io_inputs + ["output"] * hardware.io_outputs
            + ["configurable"] * hardware.configurable_io + ["relay"] * hardware.relays)


def port_specs(hardware: Hardware) -> list[PortSpec]:
    return [PortSpec(i, kind, kind == "configurable") for i, kind in enumerate(port_kinds(hardware))]


def fixed(name: str, value: str) -> ParamDef:
    return ParamDef(name, value, read=V, write=None)


def param_defs(hardware: Hardware) -> list[ParamDef]:
    kinds = port_kinds(hardware)
    defs: list[ParamDef] = []
    for index, kind in enumerate(kinds):
        g = port_group(index)
        configurable = kind == "configurable"
        direction = "output" if kind in ("output", "relay") else "input"
        label = "Relay" if kind == "relay" else f"I/O {index + 1}"
        defs += [
            fixed(g + CONFIGURABLE, "yes" if configurable else "no"),
            ParamDef(g + DIRECTION, direction, "enum", ("input", "output"), read=V,
                     write=A if configurable else None, owner=ON_CHANGE),
            ParamDef(g + USAGE, "Relay" if kind == "relay" else "", maxlen=64, read=V, owner=BY_IO),
            ParamDef(g + INPUT_NAME, label, maxlen=64, read=V, owner=BY_IO),
            ParamDef(g + INPUT_TRIG, "closed", "enum", ("closed", "open"), read=V, owner=BY_IO),
            ParamDef(g + INPUT_SUPERVISED, "no", "bool", read=V, owner=BY_IO),
            ParamDef(g + OUTPUT_NAME, label, maxlen=64, read=V, owner=BY_IO),
            ParamDef(g + OUTPUT_ACTIVE, "closed", "enum", ("closed", "open"), read=V, owner=ON_CHANGE),
            ParamDef(g + OUTPUT_BUTTON, "actinact", "enum", ("none", "pulse", "actinact"), read=V, owner=BY_PAGE),
            ParamDef(g + OUTPUT_PULSE_TIME, "0", "int", minimum=0, maximum=MAX_PULSE_MILLIS, read=V, owner=BY_PAGE),
        ]
    inputs = sum(1 for k in kinds if k in ("input", "configurable"))
    outputs = sum(1 for k in kinds if k in ("output", "configurable", "relay"))
    return defs + [
        fixed("Input.NbrOfInputs", str(inputs)),
        fixed("Output.NbrOfOutputs", str(outputs)),
        fixed("Properties.IO.ManualTriggerNbr", "6"),
    ]
