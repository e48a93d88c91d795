"""baresip (Debian `baresip`) as the far end of SIP calls: one instance per test on loopback,
its account auto-answering, its microphone a WAV file (8 kHz mono, what G.711 carries), driven
over ctrl_tcp (netstring JSON: `dial`, `hangup`, `sndcode` for DTMF in RTP per RFC 4733). With a
`Lan` it runs in the peers' network namespace on its address instead (tests/peers/lan.py)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.peers.lan import Lan
from tests.peers.processes import free_port, stop_process, wait_port


def write_tone(path: Path, frequency: float, seconds: float = 20.0) -> None:
    t = np.arange(int(seconds * 8000)) / 8000
    samples = (np.sin(2 * np.pi * frequency * t) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())


@dataclass
class Baresip:
    process: subprocess.Popen
    sip_port: int
    ctrl_port: int
    user: str
    host: str = "127.0.0.1"

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.host}:{self.sip_port}"

    async def command(self, command: str, params: str = "") -> dict:
        reader, writer = await asyncio.open_connection(self.host, self.ctrl_port)
        body = json.dumps({"command": command, "params": params, "token": "t"}).encode()
        writer.write(str(len(body)).encode() + b":" + body + b",")
        await writer.drain()
        try:
            while True:  # events may come first; the response has "response": true
                length = int((await reader.readuntil(b":"))[:-1])
                reply = json.loads(await reader.readexactly(length))
                await reader.readexactly(1)
                if reply.get("response"):
                    return reply
        finally:
            writer.close()

    @property
    def folder(self) -> Path:
        return Path(self.process.args[-1])

    def log_text(self) -> str:
        """What it printed so far (call progress, the status of a failed call)."""
        return (self.folder / "log.txt").read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def start_baresip(folder: Path, tone_hz: float = 1000.0, account: str = "peer", extra: str = "",
                  modules: tuple[str, ...] = (), transports: str = "udp", config: str = "",
                  accounts: tuple[str, ...] = (), lan: Lan | None = None) -> Baresip:
    """A started instance; a port taken meanwhile by another process (baresip exits 98) is tried again.
    `modules`: extra baresip modules (e.g. ice, turn); `transports` "udp,tls": it also calls over TLS
    (`;transport=tls` in the dialled URI); `config`: more lines of its config; `accounts`: more
    accounts, each `user;params` (e.g. `secure;mediaenc=srtp-mand`), on the same port."""
    for _ in range(3):
        try:
            return _start(folder, tone_hz, account, extra, modules, transports, config, accounts, lan)
        except RuntimeError as err:
            if "exited with 98" not in str(err):
                raise
            error = err
    raise error


def _start(folder: Path, tone_hz: float, account: str, extra: str, modules: tuple[str, ...],
           transports: str, config: str, accounts: tuple[str, ...], lan: Lan | None) -> Baresip:
    folder.mkdir(parents=True, exist_ok=True)
    host = lan.peer_address if lan is not None else "127.0.0.1"
    sip_port, ctrl_port = free_port(), free_port()
    rtp = min(free_port() & ~1, 60000)
    write_tone(folder / "tone.wav", tone_hz)
    (folder / "config").write_text(
        f"poll_method epoll\nsip_listen {host}:{sip_port}\nsip_transports {transports}\nnet_interface {host}\n"
        f"dns_server 127.0.0.1:53\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n"
        f"audio_source aufile,{folder / 'tone.wav'}\naudio_alert aufile,{folder / 'tone.wav'}\n"
        f"module_app account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so\nctrl_tcp_listen {host}:{ctrl_port}\n"
        f"rtp_ports {rtp}-{rtp + 100}\n" + "".join(f"module {x}.so\n" for x in modules) + config)  # e.g. ice, turn
    register = "" if "regint=" in extra else ";regint=0"  # registering: `extra` gives regint and outbound
    lines = [f"<sip:{account}@{host}:{sip_port}>{register};answermode=auto{extra}"]
    for more in accounts:
        user, _, params = more.partition(";")
        lines.append(f"<sip:{user}@{host}:{sip_port}>;regint=0;answermode=auto;{params}")
    (folder / "accounts").write_text("\n".join(lines) + "\n")
    (folder / "contacts").write_text("")
    command = ["baresip", "-f", str(folder)]
    process = subprocess.Popen(lan.command(*command) if lan is not None else command, stdin=subprocess.DEVNULL,
                               stdout=open(folder / "log.txt", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                               start_new_session=True)
    wait_port(ctrl_port, 5, process, host)
    return Baresip(process, sip_port, ctrl_port, account, host)
