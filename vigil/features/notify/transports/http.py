"""HTTP and HTTPS recipients: the message is POSTed to the URL (text, or a multipart upload with
the attachment), with Basic or Digest authentication, through the recipient's own HTTP proxy or
else the device's global proxy for the URL's scheme."""

from __future__ import annotations

import contextlib
import functools
import mimetypes

from vigil.core.proxies import Proxies
from vigil.features.notify.model import Message, RecipientError
from vigil.features.notify.transports.common import (
    TRUSTED_CAS,
    USER_AGENT,
    safe_name,
    trusted_context,
    unverified_context,
)


@functools.cache
def _auto_auth_class():  # noqa: ANN202 - built lazily so that httpx is imported only when needed
    import httpx

    class AutoAuth(httpx.Auth):
        """Answer the server's challenge: Digest when offered, else Basic."""

        def __init__(self, username: str, password: str) -> None:
            self._basic = httpx.BasicAuth(username, password)
            self._digest = httpx.DigestAuth(username, password)

        def auth_flow(self, request):  # noqa: ANN001, ANN202
            response = yield request
            if response.status_code != 401:
                return
            schemes = {h.split(" ", 1)[0].strip().lower()
                       for h in response.headers.get_list("www-authenticate")}
            if "digest" in schemes:
                flow = self._digest.auth_flow(request)
                next(flow)  # the unauthenticated request, already answered by `response`
                try:
                    retry = flow.send(response)
                except StopIteration:
                    return
                answer = yield retry
                with contextlib.suppress(StopIteration):
                    flow.send(answer)
            elif "basic" in schemes:
                yield next(self._basic.auth_flow(request))

    return AutoAuth


_HTTP_REASONS = {
    401: "the server refused the user name or password",
    403: "the server forbids this request (check the user's rights)",
    404: "the server has no such page (check the path in the URL)",
    405: "the server does not accept POST requests at this URL",
    407: "the proxy refused the proxy user name or password",
    413: "the server refused the upload as too large",
}


async def send(settings: dict[str, str], message: Message, timeout: float, proxies: Proxies) -> None:
    import httpx

    verify = trusted_context(settings.get(TRUSTED_CAS, "")) if settings.get("validate_cert", "yes") == "yes" \
        else unverified_context()
    auth: httpx.Auth | None = None
    if settings["username"]:
        user, pw = settings["username"], settings["password"]
        auth = {"basic": httpx.BasicAuth, "digest": httpx.DigestAuth}.get(settings["auth"], _auto_auth_class())(
            user, pw)
    proxy = None
    if settings["proxy"]:
        proxy_auth = (settings["proxy_username"], settings["proxy_password"]) if settings["proxy_username"] else None
        proxy = httpx.Proxy(settings["proxy"], auth=proxy_auth)
    elif (chosen := proxies.for_url(settings["url"])) is not None:  # the device's global proxy
        proxy = httpx.Proxy(chosen.endpoint, auth=(chosen.username, chosen.password) if chosen.username else None)
    kwargs: dict = {}
    if message.attachment is not None:
        name, data = message.attachment
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        kwargs["files"] = {"file": (safe_name(name), bytes(data), mime)}
        kwargs["data"] = {"subject": message.subject, "message": message.body}
    else:
        kwargs["content"] = message.body.encode("utf-8")
        kwargs["headers"] = {"Content-Type": "text/plain; charset=utf-8"}
    async with httpx.AsyncClient(verify=verify, proxy=proxy, timeout=httpx.Timeout(timeout), trust_env=False,
                                 follow_redirects=False, headers={"User-Agent": USER_AGENT}) as client:
        response = await client.post(settings["url"], auth=auth, **kwargs)
    if not 200 <= response.status_code < 300:
        code = response.status_code
        if code == 401 and not settings["username"]:
            why = "the server requires a user name and password"
        elif 300 <= code < 400:
            why = f"the server redirects to {response.headers.get('location', 'another address')}; enter that URL"
        else:
            why = _HTTP_REASONS.get(code, "the server refused the notification")
        raise RecipientError(f"{why} (HTTP {code} {response.reason_phrase})")
