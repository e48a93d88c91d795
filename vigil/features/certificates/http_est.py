"""Certificate enrollment over EST (Device Configuration API `cert-est.v1`, /config/rest/cert-est/v1):
the enrollment profiles (list, add, read, delete) with their status (UNCONNECTED, CONNECTED,
ENROLLED, the last error, when the certificate is renewed), and `enroll` to enroll or renew now.
Administrators only. A server that refuses or cannot be reached is answered with 502 and the
server's reason."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.certificates.const import EST_ROOT
from vigil.features.certificates.enrollment import ENROLLMENT, Enrollment, ProfileError, read_profile
from vigil.features.certificates.est import EstError
from vigil.features.certificates.rest import RestError, answering, body_data, ok
from vigil.features.certificates.service import KEYSTORE
from vigil.http.routing import Endpoint


def enrollment_of(request: Request) -> Enrollment:
    return request.app.state.device.features[ENROLLMENT]


def _profile_error(err: ProfileError) -> RestError:
    return RestError(err.status, str(err))


@answering
async def list_profiles(request: Request, who: Principal) -> Response:
    enrollment = enrollment_of(request)
    return ok([enrollment.status(p) for p in enrollment.profiles()])


@answering
async def get_profile(request: Request, who: Principal) -> Response:
    enrollment = enrollment_of(request)
    try:
        return ok(enrollment.status(enrollment.profile(request.path_params["id"])))
    except ProfileError as err:
        raise _profile_error(err) from None


@answering
async def add_profile(request: Request, who: Principal) -> Response:
    enrollment = enrollment_of(request)
    try:
        profile = read_profile(await body_data(request), request.app.state.device.features[KEYSTORE])
        enrollment.add(profile, who.name)
    except ProfileError as err:
        raise _profile_error(err) from None
    return ok(enrollment.status(profile))


@answering
async def delete_profile(request: Request, who: Principal) -> Response:
    try:
        enrollment_of(request).delete(request.path_params["id"], who.name)
    except ProfileError as err:
        raise _profile_error(err) from None
    return ok()


@answering
async def enroll(request: Request, who: Principal) -> Response:
    try:
        return ok(await enrollment_of(request).enroll(request.path_params["id"], who.name))
    except ProfileError as err:
        raise _profile_error(err) from None
    except EstError as err:
        raise RestError(502, str(err)) from None


def _route(path: str, handler, method: str) -> Endpoint:
    return Endpoint(EST_ROOT + path, handler, Role.ADMIN, methods=(method,), kind="json", safe_get=method == "GET")


ROUTES = [
    _route("/profiles", list_profiles, "GET"),
    _route("/profiles", add_profile, "POST"),
    _route("/profiles/{id}", get_profile, "GET"),
    _route("/profiles/{id}", delete_profile, "DELETE"),
    _route("/profiles/{id}/enroll", enroll, "POST"),
]
