"""rsyslogd (Debian's rsyslog with rsyslog-gnutls) as a real syslog server on free loopback ports:
UDP, TCP and TLS (octet-counted framing as RFC 5425 has it; the server's certificate from a test
CA) inputs, each received message written as one line of its parsed fields. rsyslog parses
RFC 5424 and RFC 3164 strictly, so what it reads back is what any syslog server would see.
Standard library only, so that the benchmarks can use it too."""

from __future__ import annotations

import glob
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.peers.processes import free_port, stop_process, wait_port

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
FIELDS = ("input", "version", "hostname", "app", "procid", "msgid", "severity", "facility", "sd", "msg")


def available() -> bool:
    """rsyslogd with its TLS driver (rsyslog-gnutls) is installed."""
    return Path(RSYSLOGD).exists() and bool(glob.glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"))


@dataclass(frozen=True)
class Record:
    """One message as rsyslog parsed it; `input` is udp, tcp or tls (the listener it came in on)."""

    input: str
    version: str  # 1 for RFC 5424, 0 for RFC 3164 (and anything else rsyslog had to guess)
    hostname: str
    app: str
    procid: str
    msgid: str
    severity: int
    facility: int
    sd: str
    msg: str


class Rsyslog:
    def __init__(self, folder: Path, ca: Path, cert: Path, key: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.udp, self.tcp, self.tls = free_port(), free_port(), free_port()
        self.output = folder / "received.log"
        self.process: subprocess.Popen | None = None
        template = "|".join(f"%{p}%" for p in ("inputname", "protocol-version", "hostname", "app-name", "procid",
                                                "msgid", "syslogseverity", "syslogfacility", "structured-data",
                                                "msg"))
        self.conf = folder / "rsyslog.conf"
        self.conf.write_text(f"""
global(workDirectory="{folder}" defaultNetstreamDriverCAFile="{ca}"
       defaultNetstreamDriverCertFile="{cert}" defaultNetstreamDriverKeyFile="{key}")
module(load="imudp")
module(load="imtcp" maxSessions="1000")
input(type="imudp" address="127.0.0.1" port="{self.udp}" name="udp")
input(type="imtcp" address="127.0.0.1" port="{self.tcp}" name="tcp")
input(type="imtcp" address="127.0.0.1" port="{self.tls}" name="tls" streamDriver.name="gtls"
      streamDriver.mode="1" streamDriver.authMode="anon")
template(name="fields" type="string" string="{template}\\n")
action(type="omfile" file="{self.output}" template="fields")
""")

    def start(self) -> Rsyslog:
        with open(self.folder / "rsyslogd.err", "ab") as errors:
            self.process = subprocess.Popen([RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(self.folder / "pid")],
                                            stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        wait_port(self.tcp, process=self.process)
        wait_port(self.tls, process=self.process)
        self._udp_ready()
        return self

    def _udp_ready(self, timeout: float = 5.0) -> None:
        """The UDP input reads (it has no port to wait for): probes until one comes back."""
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            while not any(r.msgid == "PROBE" for r in self.records(probes=True)):
                if time.monotonic() > deadline:
                    raise TimeoutError("rsyslogd does not read its UDP input")
                s.sendto(b"<14>1 - probe peer - PROBE - ready", ("127.0.0.1", self.udp))
                time.sleep(0.05)

    def records(self, probes: bool = False) -> list[Record]:
        """What was received so far (rsyslog writes each batch as it ends)."""
        try:
            lines = self.output.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            parts = line.split("|", len(FIELDS) - 1)
            if len(parts) != len(FIELDS):
                continue
            fields = dict(zip(FIELDS, parts, strict=True))
            record = Record(**{**fields, "severity": int(fields["severity"]), "facility": int(fields["facility"]),
                               "msg": fields["msg"].lstrip().removeprefix("\ufeff")})
            if probes or record.msgid != "PROBE":
                out.append(record)
        return out

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None
