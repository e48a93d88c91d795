"""`vigil run` serves a device; `vigil reset` returns a data folder to factory state; `vigil check`
verifies (and repairs) a stopped device's footage against its index (vigil.footage.check)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from vigil.profiles import NAMES


def _run(args: argparse.Namespace) -> int:
    from vigil.device import Device, Ports
    from vigil.http.ports import RTSP_ENABLED
    from vigil.http.server import run

    try:
        import uvloop
    except ImportError:  # uvloop is an optional speed-up
        uvloop = None
    ports = Ports(http=args.http_port, https=args.https_port, rtsp=args.rtsp_port, test_cameras=args.test_cameras,
                  host=args.host, snmp=args.snmp_port, ssh=args.ssh_port)

    def listening(device: Device) -> None:
        at = device.listening
        https = f" and https://{args.host}:{at.https}" if at.https else ""
        rtsp = f", RTSP on {at.rtsp or 'no port'}" if device.params.get_bool(RTSP_ENABLED) else ""
        print(f"vigil: {args.profile.upper()} on http://{args.host}:{at.http}{https}{rtsp}, data in {args.data}",
              flush=True)

    runner = uvloop.run if uvloop else asyncio.run
    runner(run(args.profile, Path(args.data), ports, on_listening=listening))
    return 0


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (1-65535)")
    return port


def _reset(args: argparse.Namespace) -> int:
    from vigil.boot import factory_reset

    factory_reset(Path(args.data), hard=args.hard)
    print(f"vigil: {'factory default' if args.hard else 'restore'} done in {args.data}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from vigil.core.store import Store
    from vigil.device import DB_FILE
    from vigil.footage.check import Options, Scope, check, no_progress

    data = Path(args.data)
    if not (data / DB_FILE).exists():
        print(f"vigil: no device data in {data}", file=sys.stderr)
        return 2
    password = Path(args.password_file).read_text().strip() if args.password_file else None
    options = Options(repair=not args.no_repair, password=password,
                      progress=_show_progress if sys.stderr.isatty() else no_progress)
    store = Store(data / DB_FILE)
    try:
        report = check(store, Scope.device(data), options)
    finally:
        store.close()
    print(report.text())
    return 0 if report.ok else 1


def _show_progress(percent: float, text: str) -> None:
    print(f"\r{percent:3.0f}% {text:<60}", end="" if percent < 100 else "\n", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vigil", description="Vigil device platform")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve a device")
    run.add_argument("--profile", default="s3016", choices=NAMES, type=str.lower)
    run.add_argument("--data", default="data", help="folder for configuration and recordings")
    run.add_argument("--host", default="0.0.0.0", help="address to listen on")
    # The ports are factory values: a port set on the device (Network page, param.cgi) is stored
    # and wins at every start, until a restore or factory default (vigil/http/ports.py).
    for name, default, parameter in (("http", 8080, "Network.HTTP.Port"), ("https", 8443, "HTTPS.Port"),
                                     ("rtsp", 8554, "Network.RTSP.Port")):
        run.add_argument(f"--{name}-port", type=_port, default=default, metavar="PORT",
                         help=f"factory value of {parameter} (default {default}): a port set on the device wins")
    run.add_argument("--snmp-port", type=_port, default=161, metavar="PORT",
                     help="UDP port of the SNMP agent (when SNMP is on)")
    run.add_argument("--ssh-port", type=_port, default=22, metavar="PORT",
                     help="TCP port of the SSH server (when SSH is on)")
    run.add_argument("--test-cameras", type=int, default=0, metavar="N",
                     help="recorders: serve N built-in test cameras and record them")
    run.set_defaults(func=_run)
    reset = sub.add_parser("reset", help="restore (or with --hard, factory default) a stopped device")
    reset.add_argument("--data", default="data")
    reset.add_argument("--hard", action="store_true")
    reset.set_defaults(func=_reset)
    checker = sub.add_parser("check", help="verify (and repair) the recordings index against the footage; "
                                          "run while the device is stopped")
    checker.add_argument("--data", default="data")
    checker.add_argument("--no-repair", action="store_true", help="only report")
    checker.add_argument("--password-file", metavar="FILE",
                         help="the password of an encrypted volume, so that its footage is read as well "
                              "(without it only the stored files' checksums are verified)")
    checker.set_defaults(func=_check)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sys.exit(args.func(args))
