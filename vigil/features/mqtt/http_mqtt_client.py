"""VAPIX: the MQTT client API, /axis-cgi/mqtt/client.cgi (configureClient, activateClient,
deactivateClient, getClientStatus). Administrator only; errors in the API's own codes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.certificates.service import KEYSTORE
from vigil.features.mqtt import model
from vigil.features.mqtt.const import CLIENT_VERSIONS
from vigil.features.mqtt.http_common import ERRORS, bind, checked
from vigil.features.mqtt.service import MqttService
from vigil.features.mqtt.transport import ConnectFailure, check_client_certificate, resolve_certificate
from vigil.http.vapix import ConfigCodes, JsonApiError, JsonCall

if TYPE_CHECKING:
    from vigil.device import Device


async def configure_client(service: MqttService, call: JsonCall, who: Any) -> dict[str, Any]:
    config = checked(model.parse_client, call.params, service.serial)
    password, keep = checked(model.parse_password, call.params)
    ssl = config["ssl"]
    if config["server"]["protocol"] in ("ssl", "wss"):
        for key in ("CACertID", "clientCertID"):
            if ssl[key] and (key == "clientCertID" or ssl["validateServerCert"]):
                keystore = service.device.features[KEYSTORE]
                try:
                    if key == "CACertID":
                        resolve_certificate(ssl[key], keystore)
                    else:
                        check_client_certificate(ssl[key], keystore)
                except ConnectFailure as err:
                    raise JsonApiError(ConfigCodes.INVALID, f"Parameter 'ssl.{key}': {err.message}") from None
    service.configure_client(config, None if keep else password, who.name)
    return {}


async def activate_client(service: MqttService, call: JsonCall, who: Any) -> dict[str, Any]:
    if not service.config["server"]["host"]:
        raise JsonApiError(ConfigCodes.INVALID,
                           "Configure the broker (configureClient) before activating the client")
    service.set_active(True, who.name)
    return {}


async def deactivate_client(service: MqttService, call: JsonCall, who: Any) -> dict[str, Any]:
    service.set_active(False, who.name)
    return {}


async def get_client_status(service: MqttService, call: JsonCall, who: Any) -> dict[str, Any]:
    return {"status": service.status(), "config": model.shown_client(service.config, service.has_password)}


def register(device: Device, service: MqttService) -> None:
    device.router.json_api(PATH, CLIENT_VERSIONS, bind(METHODS, service), ERRORS)
    device.apis.append(Api("mqtt-client", CLIENT_VERSIONS[-1], "MQTT Client API"))


PATH = "/axis-cgi/mqtt/client.cgi"
METHODS = {
    "configureClient": (Role.ADMIN, configure_client),
    "activateClient": (Role.ADMIN, activate_client),
    "deactivateClient": (Role.ADMIN, deactivate_client),
    "getClientStatus": (Role.ADMIN, get_client_status),
}
