"""The restricted shell an SSH account gets: no system shell, only the device's own commands
(status, logs, parameters, restart), each one line in, text out, as a session or as the command
of `ssh user@device <command>`. Every command is in the audit log."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from vigil.core.roles import Role

if TYPE_CHECKING:
    from vigil.device import Device

LOG_KINDS = ("system", "access", "audit")
DEFAULT_LINES, MAX_LINES = 20, 500
PROMPT = "vigil> "


@dataclass
class Outcome:
    text: str
    status: int = 0  # the exit status of `ssh user@device <command>`
    end: bool = False  # the session ends (exit, restart)
    restart: bool = False  # the device restarts once the answer is out


class Shell:
    def __init__(self, device: Device, user: str, address: str, started: float) -> None:
        self.device, self.user, self.address, self.started = device, user, address, started
        self.commands: dict[str, tuple[Callable[[list[str]], Outcome], str]] = {
            "help": (self.help, "help                      this list"),
            "status": (self.status, "status                    product, firmware, serial number, uptime"),
            "logs": (self.logs, f"logs [{'|'.join(LOG_KINDS)}] [N]  the newest N lines of a log (default {DEFAULT_LINES})"),
            "param": (self.param, "param [GROUP]             the parameters, as param.cgi lists them"),
            "restart": (self.restart, "restart                   restart the device"),
            "exit": (self.exit, "exit                      end the session"),
        }

    def run(self, line: str) -> Outcome:
        try:
            words = shlex.split(line)
        except ValueError as err:
            return Outcome(f"vsh: {err}\n", 2)
        if not words:
            return Outcome("")
        entry = self.commands.get(words[0]) or (self.exit if words[0] in ("logout", "quit") else None, "")
        handler = entry[0]
        if handler is None:
            return Outcome(f"vsh: {words[0][:64]}: command not found (try help)\n", 127)
        self.device.logs.audit(self.user, f"ran '{line.strip()[:200]}' over SSH from {self.address}", "ssh")
        return handler(words[1:])

    def help(self, args: list[str]) -> Outcome:
        return Outcome("".join(text + "\n" for _, text in self.commands.values()))

    def status(self, args: list[str]) -> Outcome:
        p = self.device.params.get
        uptime = int(time.monotonic() - self.started)
        return Outcome(f"Product: {p('Brand.ProdFullName')}\nFirmware: {p('Properties.Firmware.Version')}\n"
                       f"Serial number: {self.device.identity.serial}\n"
                       f"Time: {datetime.fromtimestamp(self.device.clock.time(), UTC).isoformat(timespec='seconds')}\n"
                       f"SSH service uptime: {uptime} s\n")

    def logs(self, args: list[str]) -> Outcome:
        kind, lines = "system", DEFAULT_LINES
        for arg in args:
            if arg in LOG_KINDS:
                kind = arg
            elif arg.isdigit() and 1 <= int(arg) <= MAX_LINES:
                lines = int(arg)
            else:
                return Outcome(f"logs: expected {', '.join(LOG_KINDS)} or a number of lines up to {MAX_LINES}\n", 2)
        entries = self.device.logs.entries(kind, limit=lines)
        return Outcome("".join(e.line(self.device.logs.host) + "\n" for e in reversed(entries)))

    def param(self, args: list[str]) -> Outcome:
        params = self.device.params
        names, missing = params.select(args or None, Role.ADMIN)
        if missing:
            return Outcome(f"param: no parameters in {', '.join(m[:64] for m in missing)}\n", 1)
        return Outcome("".join(line + "\n" for line in params.lines(names)))

    def restart(self, args: list[str]) -> Outcome:
        return Outcome("Restarting.\n", end=True, restart=True)

    def exit(self, args: list[str]) -> Outcome:
        return Outcome("", end=True)
