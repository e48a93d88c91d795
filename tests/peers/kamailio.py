"""Kamailio (Debian `kamailio`) as a SIP registrar with digest authentication, no database:
every user's password is `PASSWORD` (pv_auth_check against the From user), bindings are kept
in memory (usrloc db_mode 0), and requests to a registered user are relayed to its binding
(record-routed); UDP and TCP on one port, and with `tls` TLS on another (Debian `kamailio-tls-modules`;
a self-signed certificate; `tls_method` such as "TLSv1.2" to offer one version only). As `proxy`, it
is an outbound proxy instead: a preloaded Route naming it is dropped, INVITEs are record-routed and
everything is relayed to its Request-URI (in a dialog: loose routing); with `proxy_login` it first
demands proxy authentication of requests out of a dialog (407, its address as realm; a refusal
logged as `PROXYAUTH refused <method> <user>`). It logs every request it
gets as `REQ <method> from <address>:<port>` and `GOT <method> over <udp|tcp|tls> expires <Expires
header> size <bytes>` (`arrivals`), and as registrar each removal of a binding as
`UNREGISTER <user>`, and the top Via of each as `VIA <method> <value>`; `location()` is what its
location table holds (kamcmd over the ctl module's socket, in a short temporary folder: a Unix
socket's path has at most 107 bytes). With a `Lan` it runs in the peers'
network namespace on its address (tests/peers/lan.py). One instance per test, on free loopback ports (or the
ports given: a registrar that comes back), in the foreground (-DD) so that stopping its main process
by pid stops its children."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.peers.lan import Lan
from tests.peers.processes import free_port, stop_process
from vigil.http.tls import ensure_certificate

PASSWORD = "secret"
CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
dns=no
rev_dns=no
children=1
listen=udp:{host}:{port}
listen=tcp:{host}:{port}
{tls_listen}
loadpath "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
{tls_module}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
loadmodule "ctl.so"
modparam("ctl", "binrpc", "unix:{control}")
modparam("usrloc", "db_mode", 0)
request_route {{
    xlog("L_INFO", "REQ $rm from $si:$sp\\n");
    xlog("L_INFO", "GOT $rm over $pr expires $hdr(Expires) size $ml\\n");
    xlog("L_INFO", "VIA $rm $hdr(Via)\\n");
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
{route}
}}
"""
REGISTRAR = """\
    if (is_method("REGISTER")) {{
        if (!pv_auth_check("$fd", "{password}", "0", "1")) {{ auth_challenge("$fd", "1"); exit; }}
        if ($hdr(Expires) == "0") xlog("L_INFO", "UNREGISTER $fU\\n");
        if (!save("location")) sl_reply_error();
        exit;
    }}
    if (has_totag()) {{ loose_route(); t_relay(); exit; }}
    if (is_method("INVITE")) record_route();
    if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
    t_relay();"""
PROXY = """\
{proxy_auth}
    if (has_totag()) {{ loose_route(); t_relay(); exit; }}
    loose_route();
    if (is_method("INVITE")) record_route();
    t_relay();"""
PROXY_AUTH = """\
    if (!has_totag() && !is_method("ACK|CANCEL")) {{
        if (!pv_proxy_authenticate("{realm}", "{password}", "0") || $au != "{user}") {{
            xlog("L_INFO", "PROXYAUTH refused $rm $au\\n");
            proxy_challenge("{realm}", "0");
            exit;
        }}
        consume_credentials();
    }}"""
TLS_MODULE = """enable_tls=yes
loadmodule "tls.so"
modparam("tls", "config", "{folder}/tls.cfg")"""
TLS_CONFIG = """[server:default]
method = {method}
{clients}
private_key = {folder}/key.pem
certificate = {folder}/cert.pem

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
"""


@dataclass
class Kamailio:
    process: subprocess.Popen
    port: int
    log: Path
    tls_port: int = 0
    host: str = "127.0.0.1"
    control: Path = Path()  # the ctl module's socket

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def location(self, user: str) -> list[str]:
        """The contacts its location table holds for `user` (the registered bindings)."""
        out = subprocess.run(["kamcmd", "-s", f"unix:{self.control}", "ul.lookup", "location", user],
                             capture_output=True, text=True, timeout=10).stdout
        return [line.split(":", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("Address:")]

    def vias(self, method: str) -> list[str]:
        """The top Via of each `method` request it got, oldest first."""
        return [line.split(f"VIA {method} ", 1)[1] for line in self.log.read_text(errors="replace").splitlines()
                if f"VIA {method} " in line]

    @property
    def tls_address(self) -> str:
        return f"127.0.0.1:{self.tls_port}"

    def requests(self) -> list[str]:
        """What it got, as `<method> from <address>:<port>`, oldest first."""
        return [line.split("REQ ", 1)[1] for line in self.log.read_text(errors="replace").splitlines() if "REQ " in line]

    def arrivals(self, method: str) -> list[dict[str, str]]:
        """How each `method` request came, oldest first: `over` (udp, tcp, tls), `expires` (the
        Expires header, `<null>` without one) and `size` (bytes)."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            words = line.split("GOT ", 1)[-1].split() if "GOT " in line else []
            if words[:1] == [method] and len(words) == 7:
                found.append({"over": words[2], "expires": words[4], "size": words[6]})
        return found

    def stop(self) -> None:
        stop_process(self.process, group=True)  # its own session: only the processes it forked
        shutil.rmtree(self.control.parent, ignore_errors=True)


def start_kamailio(folder: Path, tls: bool = False, tls_method: str = "TLSv1.2+", proxy: bool = False,
                   ports: tuple[int, int] | None = None, client_ca: str = "", lan: Lan | None = None,
                   proxy_login: tuple[str, str] = ("", "")) -> Kamailio:
    """`ports`: (SIP port, TLS port) to listen on again, as a restarted server does; `client_ca`
    (PEM): TLS clients must present a certificate that chains to it; `proxy_login` (user, password):
    as proxy, requests out of a dialog must carry those credentials (407, realm: its address)."""
    folder.mkdir(parents=True, exist_ok=True)
    host = lan.peer_address if lan is not None else "127.0.0.1"
    control = Path(tempfile.mkdtemp(prefix="vigil-kam-")) / "ctl"
    port, tls_port = ports or (free_port(), free_port() if tls else 0)
    if tls:
        ensure_certificate(folder / "cert.pem", folder / "key.pem", "kamailio", ["localhost"])
        clients = "verify_certificate = no\nrequire_certificate = no"
        if client_ca:
            (folder / "clients.pem").write_text(client_ca)
            clients = f"verify_certificate = yes\nrequire_certificate = yes\nca_list = {folder}/clients.pem"
        (folder / "tls.cfg").write_text(TLS_CONFIG.format(method=tls_method, folder=folder, clients=clients))
    user, secret = proxy_login
    proxy_auth = PROXY_AUTH.format(realm=f"{host}:{port}", password=secret, user=user) if user else ""
    route = (PROXY if proxy else REGISTRAR).format(password=PASSWORD, proxy_auth=proxy_auth)
    (folder / "kamailio.cfg").write_text(CONFIG.format(
        port=port, host=host, control=control, route=route, tls_listen=f"listen=tls:127.0.0.1:{tls_port}" if tls else "",
        tls_module=TLS_MODULE.format(folder=folder) if tls else ""))
    log = folder / "log.txt"
    command = ["kamailio", "-DD", "-E", "-f", str(folder / "kamailio.cfg"), "-Y", str(folder), "-w", str(folder)]
    process = subprocess.Popen(lan.command(*command) if lan is not None else command, stdin=subprocess.DEVNULL, stdout=open(log, "wb"),  # noqa: SIM115
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 5
    while b"processes (at least)" not in log.read_bytes():  # its log says when it listens
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process, group=True)
            shutil.rmtree(control.parent, ignore_errors=True)
            raise RuntimeError(f"kamailio did not start: {log.read_text()[-2000:]}")
        time.sleep(0.02)
    return Kamailio(process, port, log, tls_port, host, control)
