"""What the two MQTT APIs share: their error codes for the JSON API layer, the mapping of a
refused setting onto an API error, and binding the handler tables to the service."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from vigil.core.roles import Role
from vigil.features.mqtt import model
from vigil.features.mqtt.service import MqttService
from vigil.http.vapix import CONFIG_ERRORS, JsonApiError, JsonCall, JsonMethod

ERRORS = CONFIG_ERRORS

Handler = Callable[[MqttService, JsonCall, Any], Awaitable[dict[str, Any]]]


def checked(parse: Callable[..., Any], *args: Any) -> Any:
    """Run a model parser; its ConfigError becomes the API error with the same code."""
    try:
        return parse(*args)
    except model.ConfigError as err:
        raise JsonApiError(err.code, err.message) from None


def bind(methods: Mapping[str, tuple[Role, Handler]], service: MqttService) -> dict[str, JsonMethod]:
    return {name: JsonMethod(role, functools.partial(handler, service)) for name, (role, handler) in methods.items()}
