"""VAPIX: the MQTT client API (/axis-cgi/mqtt/client.cgi) and the MQTT event bridge API
(/axis-cgi/mqtt/event.cgi: event publication and MQTT subscriptions). Administrator only,
errors in the APIs' own codes (1100, 2100-2106)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.mqtt import model
from vigil.features.mqtt.service import MqttService
from vigil.features.mqtt.transport import ConnectFailure, resolve_certificate
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

CLIENT_VERSIONS = ["1.0"]
BRIDGE_VERSIONS = ["1.2"]
ERRORS = JsonErrors(wrong_http_method=model.BAD_METHOD, bad_version=model.BAD_VERSION,
                    unknown_method=model.BAD_METHOD, bad_json=model.BAD_JSON, bad_params=model.MISSING,
                    internal=model.INTERNAL)


def _checked(parse, *args: Any) -> Any:
    try:
        return parse(*args)
    except model.ConfigError as err:
        raise JsonApiError(err.code, err.message) from None


def register(device: Device, service: MqttService) -> None:

    serial = device.identity.serial

    # -- client.cgi ------------------------------------------------------------------------
    async def configure_client(call: JsonCall, who: Any) -> dict[str, Any]:
        config = _checked(model.parse_client, call.params, serial)
        password, keep = _checked(model.parse_password, call.params)
        ssl = config["ssl"]
        if config["server"]["protocol"] in ("ssl", "wss"):
            for key in ("CACertID", "clientCertID"):
                if ssl[key] and (key == "clientCertID" or ssl["validateServerCert"]):
                    try:
                        resolve_certificate(ssl[key], device.data)
                    except ConnectFailure as err:
                        raise JsonApiError(model.INVALID, f"Parameter 'ssl.{key}': {err.message}") from None
        service.configure_client(config, None if keep else password, who.name)
        return {}

    async def activate(call: JsonCall, who: Any) -> dict[str, Any]:
        if not service.config["server"]["host"]:
            raise JsonApiError(model.INVALID, "Configure the broker (configureClient) before activating the client")
        service.set_active(True, who.name)
        return {}

    async def deactivate(call: JsonCall, who: Any) -> dict[str, Any]:
        service.set_active(False, who.name)
        return {}

    async def client_status(call: JsonCall, who: Any) -> dict[str, Any]:
        return {"status": service.status(), "config": model.shown_client(service.config, service.has_password)}

    device.router.json_api("/axis-cgi/mqtt/client.cgi", CLIENT_VERSIONS, {
        "configureClient": JsonMethod(Role.ADMIN, configure_client),
        "activateClient": JsonMethod(Role.ADMIN, activate),
        "deactivateClient": JsonMethod(Role.ADMIN, deactivate),
        "getClientStatus": JsonMethod(Role.ADMIN, client_status),
    }, ERRORS)

    # -- event.cgi -------------------------------------------------------------------------
    async def configure_publication(call: JsonCall, who: Any) -> dict[str, Any]:
        service.configure_publication(_checked(model.parse_publication, call.params), who.name)
        return {}

    async def publication_config(call: JsonCall, who: Any) -> dict[str, Any]:
        return {"eventPublicationConfig": service.publication}

    async def configure_subscription(call: JsonCall, who: Any) -> dict[str, Any]:
        service.configure_subscriptions(_checked(model.parse_subscriptions, call.params), who.name)
        return {}

    async def subscription_config(call: JsonCall, who: Any) -> dict[str, Any]:
        return {"mqttSubscriptionConfig": {"mqttFilterList": service.subscriptions}}

    device.router.json_api("/axis-cgi/mqtt/event.cgi", BRIDGE_VERSIONS, {
        "configureEventPublication": JsonMethod(Role.ADMIN, configure_publication),
        "getEventPublicationConfig": JsonMethod(Role.ADMIN, publication_config),
        "configureMqttSubscription": JsonMethod(Role.ADMIN, configure_subscription),
        "getMqttSubscriptionConfig": JsonMethod(Role.ADMIN, subscription_config),
    }, ERRORS)

    device.apis += [
        Api("mqtt-client", CLIENT_VERSIONS[-1], "MQTT Client API"),
        Api("event-mqtt-bridge", BRIDGE_VERSIONS[-1], "MQTT Event Bridge"),
    ]
