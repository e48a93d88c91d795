"""Who is asking: Basic and Digest authentication of RTSP requests with the device accounts
(the same Authenticator as HTTP, so nonces, brute-force blocking and the access log are shared).

Written for the clients as they are: the `axis` library (Home Assistant) finds realm, nonce
and `stale=` by position in the Digest challenge, answers without qop, and signs every method
with the URL it started from; ffmpeg signs with the request URL. So the challenge is exactly
`Digest realm="..", nonce="..", stale=FALSE`, and a signature over any URL of the same mount
is accepted.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from vigil.core.auth import Authenticator, AuthFailure, Principal, parse_digest
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.roles import Role
from vigil.rtsp.protocol import Request, RtspError


class RtspAuth:
    def __init__(self, auth: Authenticator, params: ParamTree, logs: Logs) -> None:
        self.auth = auth
        self.params = params
        self.logs = logs

    def blocked(self, address: str) -> bool:
        return self.auth.guard.blocked(address)

    def seen(self, address: str, principal: Principal) -> None:
        self.auth.seen(address, principal.name, "rtsp")

    def authorize(self, request: Request, mount_path: str, address: str, role: Role = Role.VIEWER) -> Principal:
        """The principal of `request` on the mount at `mount_path`; RtspError 401 (with the
        challenges) or 403 when it may not have it."""
        header = request.headers.get("authorization", "")
        principal: Principal | None = None
        if header:
            uri = request.url
            if header[:7].lower() == "digest ":
                try:
                    signed = parse_digest(header).get("uri", "")
                except ValueError:
                    signed = ""
                path = urlsplit(signed).path if signed else ""
                request_path = urlsplit(request.url).path if request.url != "*" else mount_path
                if path.rstrip("/") in (mount_path, request_path.rstrip("/")):
                    uri = signed
            try:
                principal = self.auth.authenticate(header, request.method, uri, address)
            except AuthFailure as failure:
                if not failure.stale:  # a stale nonce answered with the right password is no guess
                    self.auth.guard.failure(address, "rtsp")
                self.logs.access(f"RTSP authentication failed for {failure.user or '?'} from {address}: {failure}",
                                 source="rtsp")
                raise RtspError(401, headers=self.challenges(failure.stale)) from None
        if principal is None:
            if self.params.get("Network.RTSP.ProtViewer") == "anonymous" and role <= Role.VIEWER:
                return Principal("anonymous", Role.VIEWER)
            raise RtspError(401, headers=self.challenges())
        if principal.role < role:
            raise RtspError(403, "this account may not view streams")
        return principal

    def challenges(self, stale: bool = False) -> list[tuple[str, str]]:
        # Realm first, nonce second, stale last: the axis library reads them by position.
        headers = [("WWW-Authenticate",
                    f'Digest realm="{self.auth.realm}", nonce="{self.auth.nonce()}", '
                    f'stale={"TRUE" if stale else "FALSE"}')]
        if self.params.get("Network.HTTP.AuthenticationPolicy") in ("basic", "basic_digest"):
            headers.append(("WWW-Authenticate", f'Basic realm="{self.auth.realm}"'))
        return headers
