"""System settings benchmarks, one after the other: the SNMP walk, remote syslog throughput and
NTP convergence. Each is its own script (bench/system_*.py) that prints its figures with the
baseline it measured in the same run; this runs them in turn and says which one failed.

    .venv/bin/python bench/system.py              # all three, default runs
    .venv/bin/python bench/system.py -n 2 snmp    # only the SNMP walk, 2 runs per case
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name: (script, what it measures, whether it repeats its cases --runs times)
BENCHES = {
    "snmp": ("system_snmp.py", "snmpwalk of the whole agent (goal >= 2,000 varbinds/s)", True),
    "syslog": ("system_syslog.py", "remote syslog over TCP without loss (goal >= 5,000 messages/s, event p99 kept)",
               False),
    "ntp": ("system_ntp.py", "NTP convergence from a 2 s offset", True),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, help="runs per case of the benches that repeat (SNMP, NTP)")
    parser.add_argument("only", nargs="*", metavar="BENCH", help=f"of {', '.join(BENCHES)} (default: all)")
    args = parser.parse_args()
    if unknown := set(args.only) - set(BENCHES):
        parser.error(f"no bench named {', '.join(sorted(unknown))}: choose from {', '.join(BENCHES)}")
    failed = []
    for name in args.only or BENCHES:
        script, what, repeats = BENCHES[name]
        print(f"\n== {name}: {what}", flush=True)
        command = [sys.executable, str(HERE / script)] + (["--runs", str(args.runs)] if args.runs and repeats else [])
        started = time.monotonic()
        code = subprocess.call(command)
        print(f"-- {name}: {'done' if code == 0 else f'FAILED (exit {code})'} in {time.monotonic() - started:.0f} s",
              flush=True)
        if code:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
