"""SIPp (Debian `sip-tester`) as a far end that answers with its built-in `uas` scenario and
echoes the RTP it receives back to the sender (-rtp_echo): what the device's microphone sends
comes back to its speaker, which proves the audio of both directions end to end."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.peers.processes import free_port, stop_process


@dataclass
class Sipp:
    process: subprocess.Popen
    port: int

    @property
    def uri(self) -> str:
        return f"sip:service@127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)


def start_sipp_echo(folder: Path) -> Sipp:
    folder.mkdir(parents=True, exist_ok=True)
    port, media = free_port(), free_port()
    process = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
                                "-mp", str(media), "-rtp_echo", "-nostdin", "-trace_err",
                                "-m", "1"], cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=open(folder / "stderr.txt", "wb"), start_new_session=True)  # noqa: SIM115
    return Sipp(process, port)
