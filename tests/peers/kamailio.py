"""Kamailio (Debian `kamailio`) as a SIP registrar with digest authentication, no database:
every user's password is `PASSWORD` (pv_auth_check against the From user), bindings are kept
in memory (usrloc db_mode 0), and requests to a registered user are relayed to its binding
(record-routed); UDP and TCP on one port. One instance per test, on a free loopback UDP port, in the foreground (-DD)
so that stopping its main process by pid stops its children."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.peers.processes import free_port, stop_process

PASSWORD = "secret"
CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
children=1
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
loadpath "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
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
modparam("usrloc", "db_mode", 0)
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (is_method("REGISTER")) {{
        if (!pv_auth_check("$fd", "{password}", "0", "1")) {{ auth_challenge("$fd", "1"); exit; }}
        if (!save("location")) sl_reply_error();
        exit;
    }}
    if (has_totag()) {{ loose_route(); t_relay(); exit; }}
    if (is_method("INVITE")) record_route();
    if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
    t_relay();
}}
"""


@dataclass
class Kamailio:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process, group=True)  # its own session: only the processes it forked


def start_kamailio(folder: Path) -> Kamailio:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "kamailio.cfg").write_text(CONFIG.format(port=port, password=PASSWORD))
    log = folder / "log.txt"
    process = subprocess.Popen(["kamailio", "-DD", "-E", "-f", str(folder / "kamailio.cfg"), "-Y", str(folder),
                                "-w", str(folder)], stdin=subprocess.DEVNULL, stdout=open(log, "wb"),  # noqa: SIM115
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 5
    while b"processes (at least)" not in log.read_bytes():  # its log says when it listens
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process, group=True)
            raise RuntimeError(f"kamailio did not start: {log.read_text()[-2000:]}")
        time.sleep(0.02)
    return Kamailio(process, port, log)
