"""Fuzz walk: every registered endpoint of every profile, bad values in every parameter, every role.

    .venv/bin/python bench/fuzz.py                       # the five profiles, every bad value
    .venv/bin/python bench/fuzz.py -p s3016 -p w401      # some profiles
    .venv/bin/python bench/fuzz.py --sample              # the bounded form tests/http/test_fuzz.py runs
    .venv/bin/python bench/fuzz.py --json out.json --findings out.md

Each profile's device is built in this process and served on free loopback ports by
`serve_device` (RTSP server, WebSocket stream and background services running); HTTP requests
go straight into its ASGI app, liveness is checked over the real listeners. What is walked
comes from the device, never from a list kept here: the router's endpoints, the method tables
of JSON APIs and the operations of SOAP services, each with its declared role; the parameters
each handler reads, from its source (`inspect` + `ast`); plausible values from what the device
lists to its administrator. One bad value at a time goes out as anonymous, viewer, operator and
administrator, and the walk counts 5xx (SOAP's designed 500 faults apart), internal errors,
role violations and hangs. Destructive endpoints run for real on throwaway data: the device is
rebuilt as `vigil run` would. The walk is the package bench/fuzzing, one module per stage;
bench/README.md has the details.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder is first on sys.path and bench/http.py would hide the
# standard library's `http` package (used by uvicorn): drop the folder, and put the source tree
# first so that the walk's package imports as bench.fuzzing.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import dataclasses
import json
import os

from bench.fuzzing.report import findings_markdown, report
from bench.fuzzing.values import SAMPLE_PER_TARGET
from bench.fuzzing.walk import Options, walk
from vigil.profiles import NAMES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-p", "--profile", action="append", choices=NAMES, help="profile (repeat); default: all five")
    parser.add_argument("--sample", action="store_true", help="a sample of the bad values (the test suite's form)")
    parser.add_argument("--per-target", type=int, default=None, metavar="N",
                        help="at most N requests with a bad value per target (default: none; "
                             f"{SAMPLE_PER_TARGET} with --sample)")
    parser.add_argument("--only", default="", help="only targets whose label holds this text")
    parser.add_argument("--bound", type=float, default=3.0, help="liveness bound in seconds (default 3)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one request may take (default 30)")
    parser.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="profiles walked in parallel processes (default 2)")
    parser.add_argument("--json", metavar="FILE", help="write the figures and every failing request as JSON")
    parser.add_argument("--findings", metavar="FILE", help="write the failures grouped as Markdown")
    parser.add_argument("--all", action="store_true", help="list every failing request, not three per group")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    profiles = args.profile or list(NAMES)
    per_target = args.per_target if args.per_target is not None else SAMPLE_PER_TARGET if args.sample else 0
    options = Options(sample=args.sample, bound=args.bound, timeout=args.timeout, only=args.only,
                      per_target=per_target, progress=args.verbose)
    results = walk(profiles, options, args.jobs)
    print(report(results, every=args.all))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "options": {"sample": args.sample, "bound": args.bound, "timeout": args.timeout, "only": args.only},
            "profiles": [dataclasses.asdict(r) for r in results]}, indent=1))
    if args.findings:
        Path(args.findings).write_text(findings_markdown(results))
    bad = sum(r.internal_errors + r.role_violations + r.hangs + r.other_5xx for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
