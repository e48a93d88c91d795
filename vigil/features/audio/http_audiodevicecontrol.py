"""VAPIX Audio Device Control, /axis-cgi/audiodevicecontrol.cgi: getDevicesCapabilities,
getDevicesSettings, setDevicesSettings, getHazardousSettings and getSupportedVersions, with the
API's error codes. The device has one audio device ("0") with the built-in microphone (input
"0") and the speaker (output "0"), one channel each.

The settings are the Audio parameters (service.py): setDevicesSettings turns what it is given
into parameter values and writes them in one audited change, so param.cgi, the Audio page and
ONVIF always agree. Input and output names are fixed: a request that renames one is refused.
Operators and administrators read and set (the manual: audio is not a System setting)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.audio import const as c
from vigil.features.audio.service import AudioService
from vigil.http.vapix import CONFIG_ERRORS, ConfigCodes, JsonApiError, JsonCall, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = CONFIG_ERRORS


def invalid(why: str) -> JsonApiError:
    return JsonApiError(ConfigCodes.INVALID, f"Invalid parameter value specified: {why}")


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


async def get_capabilities(service: AudioService, call: JsonCall, who: Any) -> dict[str, Any]:
    caps = service.hardware.capabilities
    inputs = [{"id": c.INPUT_ID, "connectionTypes": [
        {"id": kind, "signalingTypes": [{"id": c.SIGNALING, "gainValues": list(caps.input_gains),
                                         "powerTypes": list(caps.power_types.get(kind, ()))}]}
        for kind in caps.input_types]}]
    outputs = [{"id": c.OUTPUT_ID, "connectionTypes": [
        {"id": caps.output_type, "signalingTypes": [{"id": c.SIGNALING, "gainValues": list(caps.output_gains)}]}]}]
    return {"devices": [{"id": c.DEVICE_ID, "inputs": inputs, "outputs": outputs}]}


async def get_settings(service: AudioService, call: JsonCall, who: Any) -> dict[str, Any]:
    s = service.settings()
    caps = service.hardware.capabilities
    inputs = [{"id": c.INPUT_ID, "name": c.INPUT_NAME, "enabled": s.input_enabled,
               "connectionTypeSelected": s.input_type, "connectionTypes": [
                   {"id": kind, "signalingTypeSelected": c.SIGNALING, "signalingTypes": [
                       {"id": c.SIGNALING, "powerType": s.power_type if kind == s.input_type
                        else caps.power_types[kind][0],
                        "channels": [{"id": c.CHANNEL, "gain": s.input_gain, "mute": s.input_mute}]}]}
                   for kind in caps.input_types]}]
    outputs = [{"id": c.OUTPUT_ID, "name": c.OUTPUT_NAME, "enabled": True,
                "connectionTypeSelected": caps.output_type, "connectionTypes": [
                    {"id": caps.output_type, "signalingTypeSelected": c.SIGNALING, "signalingTypes": [
                        {"id": c.SIGNALING, "channels": [{"id": c.CHANNEL, "gain": s.output_gain,
                                                          "mute": s.output_mute}]}]}]}]
    return {"devices": [{"id": c.DEVICE_ID, "name": c.DEVICE_NAME, "inputs": inputs, "outputs": outputs}]}


def _list(value: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise invalid(f"'{what}' must be a list of objects")
    return value


def _one(items: list[dict[str, Any]], wanted: str, what: str) -> None:
    for item in items:
        if item.get("id") != wanted:
            raise invalid(f"there is no {what} {str(item.get('id'))[:32]!r}; this device has {what} {wanted!r}")


def _port(item: dict[str, Any], kind: str, fixed_name: str, types: tuple[str, ...], pairs: dict[str, str], gain: str,
          mute: str, selected_type: str | None = None, power: str | None = None, enabled: str | None = None) -> None:
    """The parameter values one input or output of a request asks for."""
    if "name" in item and item["name"] != fixed_name:
        raise invalid(f"the {kind} is named {fixed_name!r} and cannot be renamed")
    if "enabled" in item:
        if not isinstance(item["enabled"], bool):
            raise invalid(f"the {kind}'s 'enabled' must be true or false")
        if enabled is None:
            if not item["enabled"]:
                raise invalid(f"the {kind} cannot be turned off")
        else:
            pairs[enabled] = yes(item["enabled"])
    chosen = item.get("connectionTypeSelected")
    if chosen is not None:
        if not isinstance(chosen, str):
            raise invalid(f"the {kind}'s 'connectionTypeSelected' must be a string")
        if selected_type is not None:  # the output has one type, checked by the caller
            pairs[selected_type] = chosen
    for connection in _list(item.get("connectionTypes", []), "connectionTypes"):
        if connection.get("id") not in types:
            raise invalid(f"the {kind} has no connection type {str(connection.get('id'))[:32]!r}: {', '.join(types)}")
        if chosen is not None and connection.get("id") != chosen:
            continue  # settings of a connection type not selected are not kept
        selected = connection.get("signalingTypeSelected", c.SIGNALING)
        if selected != c.SIGNALING:
            raise invalid(f"signaling type {str(selected)[:32]!r} is not available: {c.SIGNALING}")
        for signaling in _list(connection.get("signalingTypes", []), "signalingTypes"):
            if signaling.get("id") != c.SIGNALING:
                raise invalid(f"signaling type {str(signaling.get('id'))[:32]!r} is not available: {c.SIGNALING}")
            if "powerType" in signaling:
                if power is None:
                    raise invalid(f"the {kind} has no power type")
                if not isinstance(signaling["powerType"], str):
                    raise invalid("'powerType' must be a string")
                pairs[power] = signaling["powerType"]
                if selected_type is not None and chosen is None:
                    pairs[selected_type] = str(connection.get("id"))
            for channel in _list(signaling.get("channels", []), "channels"):
                if channel.get("id") != c.CHANNEL:
                    raise invalid(f"the {kind} has channel {c.CHANNEL} only")
                if "gain" in channel:
                    value = channel["gain"]
                    if not isinstance(value, int) or isinstance(value, bool):
                        raise invalid(f"the {kind}'s gain must be a whole number of dB")
                    pairs[gain] = str(value)
                if "mute" in channel:
                    if not isinstance(channel["mute"], bool):
                        raise invalid(f"the {kind}'s mute must be true or false")
                    pairs[mute] = yes(channel["mute"])


async def set_settings(service: AudioService, call: JsonCall, who: Any) -> dict[str, Any]:
    if "devices" not in call.params:
        raise JsonApiError(ConfigCodes.MISSING, "Required parameter missing: 'devices'")
    devices = _list(call.params["devices"], "devices")
    _one(devices, c.DEVICE_ID, "audio device")
    caps = service.hardware.capabilities
    pairs: dict[str, str] = {}
    for device in devices:
        inputs = _list(device.get("inputs", []), "inputs")
        _one(inputs, c.INPUT_ID, "input")
        for item in inputs:
            _port(item, "input", c.INPUT_NAME, caps.input_types, pairs, c.INPUT_GAIN, c.INPUT_MUTE,
                  selected_type=c.INPUT_TYPE, power=c.POWER_TYPE, enabled=c.INPUT_ENABLED)
        outputs = _list(device.get("outputs", []), "outputs")
        _one(outputs, c.OUTPUT_ID, "output")
        for item in outputs:
            if item.get("connectionTypeSelected", caps.output_type) != caps.output_type:
                raise invalid(f"the output's connection type is {caps.output_type!r}")
            _port(item, "output", c.OUTPUT_NAME, (caps.output_type,), pairs, c.OUTPUT_GAIN, c.OUTPUT_MUTE)
    try:
        service.params.update(list(pairs.items()), who.role, who.name)
    except ParamError as err:
        raise invalid(str(err)) from None
    return {}


async def get_hazardous(service: AudioService, call: JsonCall, who: Any) -> dict[str, Any]:
    return {"powerTypes": []}  # the built-in microphone has no power type that could harm equipment


Handler = Callable[[AudioService, JsonCall, Any], Awaitable[dict[str, Any]]]
METHODS: dict[str, tuple[Role, Handler]] = {
    "getDevicesCapabilities": (Role.OPERATOR, get_capabilities),
    "getDevicesSettings": (Role.OPERATOR, get_settings),
    "setDevicesSettings": (Role.OPERATOR, set_settings),
    "getHazardousSettings": (Role.OPERATOR, get_hazardous),
}


def register(device: Device, service: AudioService) -> None:
    methods = {name: JsonMethod(role, functools.partial(handler, service)) for name, (role, handler) in METHODS.items()}
    device.router.json_api(c.ADC_PATH, c.ADC_VERSIONS, methods, ERRORS)
    device.apis.append(Api("audio-device-control", c.ADC_VERSIONS[-1], "Audio Device Control"))
