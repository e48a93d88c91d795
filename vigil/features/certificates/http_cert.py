"""VAPIX Certificate Management (Device Configuration API `cert.v1`, /config/rest/cert/v1): the
certificates with private keys, the CA certificates, the keystores and the default keystore;
`create_certificate`, `install_from_pkcs12` and `get_csr` as the API page describes them.

Reads are open to viewers (the page's GET permissions), every change needs an administrator.
Beyond the page: each listed entry also carries `info` (subject, issuer, validity, names, key
type, fingerprint) for the Security page, a certificate may also be given in DER as base64
(`certificate_der`), as a .cer file often is, a private key may come encrypted with its
`private_key_password`, and `os_certificates` holds the custom signed OS certificates
(administrators only: list, install, delete by the id the install returns)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.certificates import pki
from vigil.features.certificates.const import API_ROOT, SOFTWARE_KEYSTORE
from vigil.features.certificates.rest import RestError, answering, body_data, fields, ok
from vigil.features.certificates.service import KEYSTORE, Entry, Keystore
from vigil.http.routing import Endpoint


def keystore_of(request: Request) -> Keystore:
    return request.app.state.device.features[KEYSTORE]


def shown(entry: Entry) -> dict[str, Any]:
    return {**entry.shown(), "info": pki.describe(entry.leaf)}


def _certificate_text(data: dict[str, Any]) -> bytes | str:
    if data.get("certificate_der"):
        try:
            return base64.b64decode(str(data["certificate_der"]), validate=True)
        except (binascii.Error, ValueError):
            raise RestError(400, "certificate_der is not base64") from None
    if not data.get("certificate"):
        raise RestError(400, "the field 'certificate' is required")
    return str(data["certificate"])


# -- the whole root --------------------------------------------------------------------
@answering
async def get_root(request: Request, who: Principal) -> Response:
    keystore = keystore_of(request)
    return ok({"certificates": [shown(e) for e in keystore.certificates()],
               "ca_certificates": [shown(e) for e in keystore.ca_certificates()],
               "keystores": keystore.keystores(), "settings": {"keystore": keystore.default_keystore}})


# -- certificates with private keys ----------------------------------------------------
@answering
async def list_certificates(request: Request, who: Principal) -> Response:
    return ok([shown(e) for e in keystore_of(request).certificates()])


@answering
async def get_certificate(request: Request, who: Principal) -> Response:
    return ok(shown(keystore_of(request).certificate(request.path_params["alias"])))


@answering
async def add_certificate(request: Request, who: Principal) -> Response:
    data = fields(await body_data(request), ("alias", "private_key"),
                  ("certificate", "certificate_der", "keystore", "private_key_password"))
    keystore_of(request).add_certificate(data["alias"], _certificate_text(data), str(data["private_key"]), who.name,
                                         password=str(data.get("private_key_password") or ""),
                                         keystore=data.get("keystore"))
    return ok()


@answering
async def replace_certificate(request: Request, who: Principal) -> Response:
    data = fields(await body_data(request), (), ("certificate", "certificate_der"))
    keystore_of(request).replace_certificate(request.path_params["alias"], _certificate_text(data), who.name)
    return ok()


@answering
async def delete_certificate(request: Request, who: Principal) -> Response:
    keystore_of(request).delete(request.path_params["alias"], who.name, ca=False)
    return ok()


@answering
async def get_csr(request: Request, who: Principal) -> Response:
    raw = await request.body()
    data = fields(await body_data(request), (), ("subject", "subject_alt_names")) if raw.strip() else {}
    keystore = keystore_of(request)
    alias = request.path_params["alias"]
    request_pem = keystore.csr(alias, data.get("subject"), data.get("subject_alt_names"))
    request.app.state.device.logs.audit(who.name, f"made a certificate signing request for {alias!r}", "certificates")
    return ok(request_pem)


@answering
async def create_certificate(request: Request, who: Principal) -> Response:
    data = fields(await body_data(request), ("alias", "subject"),
                  ("key_type", "keystore", "subject_alt_names", "valid_from", "valid_to"))
    keystore_of(request).create(data["alias"], data["subject"], data.get("subject_alt_names"), data.get("key_type"),
                                data.get("valid_from"), data.get("valid_to"), who.name, keystore=data.get("keystore"))
    return ok()


@answering
async def install_from_pkcs12(request: Request, who: Principal) -> Response:
    data = fields(await body_data(request), ("alias", "pkcs12"), ("passphrase", "keystore"))
    try:
        archive = base64.b64decode(str(data["pkcs12"]), validate=True)
    except (binascii.Error, ValueError):
        raise RestError(400, "pkcs12 is the archive in base64") from None
    keystore_of(request).add_pkcs12(data["alias"], archive, str(data.get("passphrase") or ""), who.name,
                                    keystore=data.get("keystore"))
    return ok()


# -- CA certificates ----------------------------------------------------------------------
@answering
async def list_ca_certificates(request: Request, who: Principal) -> Response:
    return ok([shown(e) for e in keystore_of(request).ca_certificates()])


@answering
async def get_ca_certificate(request: Request, who: Principal) -> Response:
    return ok(shown(keystore_of(request).ca_certificate(request.path_params["alias"])))


@answering
async def add_ca_certificate(request: Request, who: Principal) -> Response:
    data = fields(await body_data(request), ("alias",), ("certificate", "certificate_der"))
    keystore_of(request).add_ca(data["alias"], _certificate_text(data), who.name)
    return ok()


@answering
async def replace_ca_certificate(request: Request, who: Principal) -> Response:
    data = fields(await body_data(request), (), ("certificate", "certificate_der"))
    keystore_of(request).replace_ca(request.path_params["alias"], _certificate_text(data), who.name)
    return ok()


@answering
async def delete_ca_certificate(request: Request, who: Principal) -> Response:
    keystore_of(request).delete(request.path_params["alias"], who.name, ca=True)
    return ok()


# -- keystores and settings ----------------------------------------------------------------
@answering
async def list_keystores(request: Request, who: Principal) -> Response:
    return ok(keystore_of(request).keystores())


@answering
async def get_keystore(request: Request, who: Principal) -> Response:
    for keystore in keystore_of(request).keystores():
        if keystore["id"] == request.path_params["id"]:
            return ok(keystore)
    raise RestError(404, f"no keystore {request.path_params['id'][:40]!r} on this device")


@answering
async def get_settings(request: Request, who: Principal) -> Response:
    return ok({"keystore": keystore_of(request).default_keystore})


@answering
async def get_default_keystore(request: Request, who: Principal) -> Response:
    return ok(keystore_of(request).default_keystore)


@answering
async def set_default_keystore(request: Request, who: Principal) -> Response:
    value = await body_data(request)
    if value != SOFTWARE_KEYSTORE:
        raise RestError(400, f"the keystore {str(value)[:40]!r} is not one of this device's: {SOFTWARE_KEYSTORE}")
    request.app.state.device.logs.audit(who.name, f"set the default keystore to {value}", "certificates")
    return ok()


# -- custom signed OS certificates (Vigil's own collection: the page's "Custom signed OS certificate") --
@answering
async def list_os_certificates(request: Request, who: Principal) -> Response:
    keystore = keystore_of(request)
    return ok([{**e, "info": pki.describe(pki.read_certificates(e["certificate"])[0])}
               for e in keystore.os_certificate_entries()])


@answering
async def add_os_certificate(request: Request, who: Principal) -> Response:
    data = fields(await body_data(request), (), ("certificate", "certificate_der"))
    return ok({"id": keystore_of(request).add_os_certificate(_certificate_text(data), who.name)})


@answering
async def delete_os_certificate(request: Request, who: Principal) -> Response:
    keystore_of(request).delete_os_certificate(request.path_params["id"], who.name)
    return ok()


def _route(path: str, handler, role: Role, method: str) -> Endpoint:
    return Endpoint(API_ROOT + path, handler, role, methods=(method,), kind="json", safe_get=method == "GET")


V, A = Role.VIEWER, Role.ADMIN
ROUTES = [
    _route("", get_root, V, "GET"),
    _route("/certificates", list_certificates, V, "GET"),
    _route("/certificates", add_certificate, A, "POST"),
    _route("/certificates/{alias}", get_certificate, V, "GET"),
    _route("/certificates/{alias}", replace_certificate, A, "PATCH"),
    _route("/certificates/{alias}", delete_certificate, A, "DELETE"),
    _route("/certificates/{alias}/get_csr", get_csr, A, "POST"),
    _route("/create_certificate", create_certificate, A, "POST"),
    _route("/install_from_pkcs12", install_from_pkcs12, A, "POST"),
    _route("/ca_certificates", list_ca_certificates, V, "GET"),
    _route("/ca_certificates", add_ca_certificate, A, "POST"),
    _route("/ca_certificates/{alias}", get_ca_certificate, V, "GET"),
    _route("/ca_certificates/{alias}", replace_ca_certificate, A, "PATCH"),
    _route("/ca_certificates/{alias}", delete_ca_certificate, A, "DELETE"),
    _route("/keystores", list_keystores, V, "GET"),
    _route("/keystores/{id}", get_keystore, V, "GET"),
    _route("/settings", get_settings, V, "GET"),
    _route("/settings/keystore", get_default_keystore, V, "GET"),
    _route("/settings/keystore", set_default_keystore, A, "PATCH"),
    _route("/os_certificates", list_os_certificates, A, "GET"),
    _route("/os_certificates", add_os_certificate, A, "POST"),
    _route("/os_certificates/{id}", delete_os_certificate, A, "DELETE"),
]
