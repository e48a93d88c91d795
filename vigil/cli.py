"""`vigil run` serves a device (from the active software slot: vigil/release/launcher.py);
`vigil reset` returns a data folder to factory state; `vigil check` verifies (and repairs) a
stopped device's footage against its index (vigil.footage.check); `vigil package` builds a signed
release of a source tree (vigil/release/package.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from vigil.profiles import NAMES


def _run(args: argparse.Namespace) -> int:
    """The launcher first (it picks the software slot); then, in the slot's program, the device."""
    from vigil.release import launcher

    if os.environ.get(launcher.ENV_SLOT) is None:
        return launcher.launch(Path(args.data), args.argv, lambda: _serve(args))
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    from vigil.boot import factory_reset
    from vigil.core import crashes
    from vigil.device import Device, Ports
    from vigil.http.ports import RTSP_ENABLED
    from vigil.http.server import run
    from vigil.release import launcher
    from vigil.release.slots import Slots

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

    data = Path(args.data)
    mode = Slots(data).take_factory_default()  # asked for by the upgrade that made this slot
    if mode != "none":
        factory_reset(data, hard=mode == "hard")
    runner = uvloop.run if uvloop else asyncio.run
    with crashes.recorded(data):
        action = runner(run(args.profile, data, ports, on_listening=listening))
    if action == "reboot":
        return launcher.relaunch(args.argv)
    return 0


def _package(args: argparse.Namespace) -> int:
    from vigil.release.package import build

    profiles = [p.strip().lower() for p in args.profiles.split(",") if p.strip()]
    unknown = sorted(set(profiles) - set(NAMES))
    if unknown or not profiles:
        print(f"vigil: unknown profiles {unknown}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    try:
        manifest = build(Path(args.source), Path(args.out), args.version, profiles, Path(args.key).read_bytes(),
                         Path(args.cert).read_bytes() if args.cert else None,
                         [v.strip() for v in args.revokes.split(",") if v.strip()])
    except (OSError, ValueError) as err:
        print(f"vigil: {err}", file=sys.stderr)
        return 2
    print(f"vigil: release {manifest.version} for {', '.join(manifest.profiles)} "
          f"({len(manifest.files)} files) written to {args.out}")
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
    packager = sub.add_parser("package", help="build a signed release package from a source tree")
    packager.add_argument("--source", default=str(Path(__file__).resolve().parent.parent),
                          help="the folder holding the vigil package (default: this program's)")
    packager.add_argument("--version", required=True, help="the release's version, such as 0.2.0")
    packager.add_argument("--profiles", default=",".join(NAMES),
                          help="comma-separated profiles the release is for (default: all)")
    packager.add_argument("--key", required=True, help="the release key: an Ed25519 or ECDSA P-256 private key (PEM)")
    packager.add_argument("--cert", help="the key's certificate (the custom signed OS certificate), PEM; "
                                         "without it the release names the bare public key")
    packager.add_argument("--revokes", default="", help="comma-separated versions this release revokes")
    packager.add_argument("--out", required=True, help="the package file to write")
    packager.set_defaults(func=_package)
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    args.argv = raw
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sys.exit(args.func(args))
