"""The browser's side of the OpenID login: `/vigil/oidc` tells the login page whether to offer
the provider, `/oidc/login` sends the browser to it (with a cookie that binds the login to this
browser), and `/oidc/oauth2callback` takes it back, checks state, code and ID token and starts
a session with the role the claims give. A refused login says why on a page that leads back
to the login form, where local accounts still log in."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.oidc.const import BINDING_COOKIE, CALLBACK_PATH, LOGIN_LIFETIME, LOGIN_PATH, STATE_PATH
from vigil.features.oidc.service import OIDC_SERVICE, LoginError
from vigil.http.routing import SESSION_COOKIE, Endpoint, client_address


def _page(title: str, body: str, status: int = 200, refresh: str = "") -> Response:
    meta = f'<meta http-equiv="refresh" content="0;url={escape(refresh)}">' if refresh else ""
    return Response(f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}<title>{escape(title)}'
                    f"</title></head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>\n",
                    status_code=status, media_type="text/html")


def _refused(request: Request, reason: str, status: int = 400) -> Response:
    device = request.app.state.device
    device.logs.access(f"OpenID login refused from {client_address(request)}: {reason}")
    # The binding cookie stays: a forged answer must not spoil the login this browser has under way.
    return _page("OpenID login failed", f"<p>{escape(reason)}.</p><p><a href=\"/\">Back to the login page"
                 "</a> (local accounts log in there as before).</p>", status)


async def oidc_state(request: Request, who: Principal) -> Response:
    service = request.app.state.device.features[OIDC_SERVICE]
    return JSONResponse({"offered": service.offered, "login": LOGIN_PATH})


async def oidc_login(request: Request, who: Principal) -> Response:
    service = request.app.state.device.features[OIDC_SERVICE]
    redirect_uri = f"{request.url.scheme}://{request.url.netloc}{CALLBACK_PATH}"
    try:
        url, binding = await service.begin(redirect_uri)
    except LoginError as err:
        return _refused(request, str(err), err.status)
    response = RedirectResponse(url, status_code=303)
    # Lax: the provider sends the browser back with a top-level GET from its own site.
    response.set_cookie(BINDING_COOKIE, binding, max_age=int(LOGIN_LIFETIME), path="/oidc", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")
    return response


async def oidc_callback(request: Request, who: Principal) -> Response:
    device = request.app.state.device
    service = device.features[OIDC_SERVICE]
    query = request.query_params
    if "error" in query:
        return _refused(request, f"the provider refused the login ({query.get('error', '')[:80]})")
    try:
        principal = await service.finish(query.get("state", ""), query.get("code", ""),
                                         request.cookies.get(BINDING_COOKIE, ""))
    except LoginError as err:
        return _refused(request, str(err))
    token = device.auth.start_session(principal, client_address(request))
    # A page of the device's own moves on to the pages: a strict cookie set in answer to the
    # provider's cross-site redirect goes along on a navigation the device's page starts.
    response = _page("Logged in", f"<p>Logged in as {escape(principal.name)}.</p>", refresh="/#/status")
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    response.delete_cookie(BINDING_COOKIE, path="/oidc")
    return response


ROUTES = (
    Endpoint(STATE_PATH, oidc_state, Role.ANONYMOUS, methods=("GET",), kind="json", safe_get=True),
    Endpoint(LOGIN_PATH, oidc_login, Role.ANONYMOUS, methods=("GET",), safe_get=True),
    Endpoint(CALLBACK_PATH, oidc_callback, Role.ANONYMOUS, methods=("GET",), safe_get=True),
)
