"""Where the device listens: the HTTP, HTTPS and RTSP ports, HTTPS on or off and "allow access
through", from their parameters, moved at once when they change, without a restart.

`vigil run`'s flags (--http-port, --https-port, --rtsp-port) are the factory values: the
defaults of Network.HTTP.Port, HTTPS.Port and Network.RTSP.Port. A fresh device, or one after a
restore, listens on them; a port the user set is stored and wins at every start. When a stored
port is taken at start, that listener uses its factory port for the run and the log says so, so
that the device stays reachable.

A change is checked before it is stored (`ParamTree.vetoes`): the three listeners' ports differ,
the new port is free (its socket is bound and listening from then on, so that nothing takes it
before the listener moves), and a client can still get in (HTTPS only, with HTTPS turned off,
would lock everyone out). A refused change stores nothing and moves nothing. Once stored, the
listener of each changed port serves on its new socket and its old port closes: requests under
way finish, idle connections close, the RTSP sessions of the old port end. The reply to the
request that made the change carries `X-Vigil-Origin`: where that client reaches the device
from now on (the web pages go there).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from vigil.core import checks
from vigil.core.logs import Logs
from vigil.core.params import Change, ParamDef, ParamTree, applied

log = logging.getLogger("vigil.ports")

HTTP_PORT = "Network.HTTP.Port"
HTTPS_PORT = "HTTPS.Port"
HTTPS_ENABLED = "HTTPS.Enabled"
ACCESS = "HTTPS.AllowAccessThrough"
RTSP_PORT = "Network.RTSP.Port"
RTSP_ENABLED = "Network.RTSP.Enabled"
# The reply header naming the origin (`https://host:port`) where the client that sent the
# request reaches the device from now on; sent when the request changed it.
ORIGIN_HEADER = "X-Vigil-Origin"
# Set (within one request's task) when the request changed where HTTP clients get in.
ACCESS_CHANGED: ContextVar[bool] = ContextVar("vigil_access_changed", default=False)


class PortInUse(SystemExit):
    """A listener cannot start: the message says which port and why."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; OSError when the port is taken or not allowed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


@dataclass(frozen=True)
class Kind:
    """One listener: its name in messages, its port parameter, the parameter that turns it
    on and off (None: always on), and the port below 1024 that is its standard."""

    name: str
    port: str
    enabled: str | None
    standard: int


HTTP = Kind("HTTP", HTTP_PORT, None, 80)
HTTPS = Kind("HTTPS", HTTPS_PORT, HTTPS_ENABLED, 443)
RTSP = Kind("RTSP", RTSP_PORT, RTSP_ENABLED, 554)
KINDS = (HTTP, HTTPS, RTSP)
# Parameters whose change changes where a browser gets in.
WAY_IN = {HTTP_PORT, HTTPS_PORT, HTTPS_ENABLED, ACCESS}
# A listener's move: serve on this socket from now on (None: stop listening).
Move = Callable[[socket.socket | None], None]
# Whether traffic from a peer address to one of the device's ports, over TCP or UDP, is served
# (see `Listening.filter_peers`).
PeerFilter = Callable[[str, int, str], bool]


def port_params(http: int, https: int, rtsp: int) -> list[ParamDef]:
    """The listeners' parameters; the ports' defaults are the factory values (`vigil run`'s flags)."""
    moved = applied("http", how="listener", note="the listener moves at once; the flag of `vigil run` is the default")
    port = {"kind": "int", "minimum": 1, "maximum": 65535, "check": checks.service_port}
    return [
        ParamDef(HTTP_PORT, str(http), **port, owner=moved),
        ParamDef(HTTPS_ENABLED, "yes", "bool", owner=applied("http", how="listener", note="opens or closes at once")),
        ParamDef(HTTPS_PORT, str(https), **port, owner=moved),
        ParamDef(ACCESS, "both", "enum", ("http", "https", "both"), owner=applied("http", "eventstream")),
        ParamDef(RTSP_ENABLED, "yes", "bool", owner=applied(
            "http", how="listener", note="the RTSP event stream's port (eventstream) opens or closes at once")),
        ParamDef(RTSP_PORT, str(rtsp), **port, owner=applied(
            "http", how="listener", note="the RTSP event stream (eventstream) moves at once")),
    ]


class Listening:
    """The device's listening ports: declares their parameters, checks a change before it is
    stored, and tells each listener that runs (`attach`) where to serve once one is stored.

    `port(kind)` is where a listener serves now: 0 while it is off; for a listener that does not
    run (a device tested without sockets), where it would."""

    def __init__(self, params: ParamTree, logs: Logs, host: str, http: int, https: int, rtsp: int) -> None:
        self.params = params
        self.logs = logs
        self.host = host
        self.factory = {HTTP: http, HTTPS: https, RTSP: rtsp}
        self._live: dict[Kind, int] = {}
        self._moves: dict[Kind, Move] = {}
        self._reserved: dict[Kind, socket.socket] = {}
        self._peer_filter: PeerFilter | None = None
        params.declare(port_params(http, https, rtsp))
        params.vetoes.append(self._veto)
        params.listeners.append(self._follow)

    # -- what the listeners and the HTTP layer ask ----------------------------------------
    def port(self, kind: Kind) -> int:
        if kind in self._moves:
            return self._live.get(kind, 0)
        return self._wanted(kind, {})

    @property
    def http(self) -> int:
        return self.port(HTTP)

    @property
    def https(self) -> int:
        return self.port(HTTPS)

    @property
    def rtsp(self) -> int:
        return self.port(RTSP)

    def origin(self, scheme: str, host: str) -> str:
        """Where a client that came in over `scheme` (http or https) to `host` gets in now:
        its own scheme while that is served and allowed, else the other one."""
        policy = self.params.get(ACCESS)
        https = self.https
        use_https = bool(https) and (policy == "https" or (scheme == "https" and policy != "http"))
        name = f"[{host}]" if ":" in host else host
        return f"https://{name}:{https}" if use_https else f"http://{name}:{self.http}"

    def filter_peers(self, admits: PeerFilter) -> None:
        """Register the check the device's own servers make of what comes in:
        `admits(peer_address, local_port, "TCP" | "UDP")`. False: the HTTP, HTTPS and RTSP
        listeners close the connection at once, unanswered; a UDP service (the SNMP agent) drops
        the datagram (the simulated firewall, vigil/hal/sim/firewall.py)."""
        self._peer_filter = admits

    def admits(self, peer: str, port: int, protocol: str = "TCP") -> bool:
        return self._peer_filter is None or self._peer_filter(peer, port, protocol)

    # -- listeners start and stop ---------------------------------------------------------
    def attach(self, kind: Kind, move: Move) -> socket.socket | None:
        """A listener of `kind` starts: the socket to serve on (None: it is turned off); `move`
        is called whenever a stored change moves it. PortInUse when neither the stored port nor
        the factory port can be bound; the listener still follows later changes then."""
        self._moves[kind] = move
        self._live[kind] = 0
        port = self._wanted(kind, {})
        if not port:
            return None
        try:
            sock = bind(self.host, port)
        except OSError as err:
            factory = self.factory[kind]
            if port == factory:
                raise PortInUse(f"vigil: cannot listen on {self.host}:{port} ({kind.name}): {err.strerror}") from None
            try:
                sock = bind(self.host, factory)
            except OSError as again:
                raise PortInUse(f"vigil: cannot listen on {self.host}:{port} ({kind.name}, root.{kind.port}): "
                                f"{err.strerror}, nor on the factory port {factory}: {again.strerror}") from None
            log.warning("root.%s=%d cannot be used (%s): %s listens on its factory port %d for this run",
                        kind.port, port, err.strerror, kind.name, factory)
            port = factory
        self._live[kind] = port
        return sock

    def detach(self, kind: Kind) -> None:
        self._moves.pop(kind, None)
        self._live.pop(kind, None)
        reserved = self._reserved.pop(kind, None)
        if reserved is not None:
            reserved.close()

    # -- a change: checked before it is stored, applied after -----------------------------
    def _wanted(self, kind: Kind, new: dict[str, str]) -> int:
        """The port `kind` should serve on with the `new` values over the stored ones; 0: off."""
        value = new.get(kind.port) or self.params.get(kind.port)
        enabled = kind.enabled is None or (new.get(kind.enabled) or self.params.get(kind.enabled)) == "yes"
        return int(value) if enabled else 0

    def _veto(self, new: dict[str, str]) -> tuple[str, str] | None:
        touched = [k for k in KINDS if k.port in new or (k.enabled is not None and k.enabled in new)]
        if not touched and ACCESS not in new:
            return None
        for kind in touched:
            if kind.port not in new:
                continue
            port = int(new[kind.port])
            for other in KINDS:
                if other is not kind and int(new.get(other.port) or self.params.get(other.port)) == port:
                    return kind.port, f"port {port} is the {other.name} port (root.{other.port})"
        policy = new.get(ACCESS) or self.params.get(ACCESS)
        if policy == "https" and not self._wanted(HTTPS, new):
            if HTTPS_ENABLED in new:
                return HTTPS_ENABLED, ("HTTPS is the only way in (root.HTTPS.AllowAccessThrough=https): turned off, "
                                       "it would lock every client out; allow HTTP first")
            return ACCESS, "HTTPS is turned off (root.HTTPS.Enabled=no): HTTPS only would lock every client out"
        reserved: dict[Kind, socket.socket] = {}
        for kind in touched:
            port = self._wanted(kind, new)
            if kind not in self._moves or not port or port == self._live.get(kind):
                continue
            try:
                reserved[kind] = bind(self.host, port)
            except OSError as err:
                for sock in reserved.values():
                    sock.close()
                name = kind.port if kind.port in new else kind.enabled
                assert name is not None
                return name, f"port {port} cannot be used: {err.strerror}"
        if reserved:
            self._reserved.update(reserved)
            # Should a later check refuse the change, or storing it fail, nothing claims them:
            # they close once this turn of the event loop (which stores and applies it) is over.
            asyncio.get_running_loop().call_soon(self._release)
        return None

    def _release(self) -> None:
        for sock in self._reserved.values():
            sock.close()
        self._reserved.clear()

    def _follow(self, changes: list[Change], actor: str) -> None:
        names = {c.name for c in changes}
        for kind in KINDS:
            if kind.port not in names and kind.enabled not in names:
                continue
            port = self._wanted(kind, {})
            if kind.port in names and port and port < 1024 and port != kind.standard:
                self.logs.system(f"root.{kind.port}={port}: a port below 1024 other than {kind.standard} "
                                 "is meant for another service", "warning")
            move = self._moves.get(kind)
            was = self._live.get(kind, 0)
            if move is None or port == was:
                continue
            sock = self._reserved.pop(kind, None)
            if port and sock is None:  # stored by a path that was not checked (cannot happen through the tree)
                try:
                    sock = bind(self.host, port)
                except OSError as err:
                    self.logs.system(f"{kind.name} stays on port {was}: port {port} cannot be used: {err.strerror}",
                                     "error")
                    continue
            move(sock)
            self._live[kind] = port
            what = f"moved from port {was} to {port}" if was and port else f"now on port {port}" if port else (
                f"turned off, port {was} closed")
            self.logs.system(f"{kind.name} listener {what} (by {actor})")
        if names & WAY_IN:
            ACCESS_CHANGED.set(True)
