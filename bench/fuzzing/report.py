"""The walk's figures as a table, and its failures grouped by target, kind and cause: the text
report and the Markdown findings."""

from __future__ import annotations

import re

from bench.fuzzing.answers import Failure, Figures

COLUMNS = (("profile", "profile"), ("endpoints", "endpoints"), ("JSON methods", "json_methods"),
           ("SOAP ops", "soap_operations"), ("requests", "requests"), ("SOAP 500 (designed)", "soap_faults_500"),
           ("other 5xx", "other_5xx"), ("internal errors", "internal_errors"),
           ("exceptions logged", "exceptions_logged"), ("role violations", "role_violations"), ("hangs", "hangs"),
           ("slow", "slow"), ("s", "seconds"))


def table(results: list[Figures]) -> str:
    rows = [[label for label, _ in COLUMNS]]
    for r in results:
        rows.append([f"{getattr(r, key):.0f}" if isinstance(getattr(r, key), float) else str(getattr(r, key))
                     for _, key in COLUMNS])
    if len(results) > 1:
        total = ["all"] + [str(sum(getattr(r, key) for r in results)) for _, key in COLUMNS[1:-1]]
        rows.append(total + [f"{sum(r.seconds for r in results):.0f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def groups(results: list[Figures]) -> dict[tuple[str, str, str], list[tuple[str, Failure]]]:
    """Failures by (target, kind, place at fault or answer), across profiles."""
    out: dict[tuple[str, str, str], list[tuple[str, Failure]]] = {}
    for r in results:
        for failure in r.failures:
            cause = f"{failure.cause} at {failure.where}" if failure.cause else re.sub(r"\d+", "N", failure.body[:80])
            out.setdefault((failure.target, failure.kind, cause), []).append((r.profile, failure))
    return out


def report(results: list[Figures], every: bool = False) -> str:
    out = [table(results), ""]
    stops = {}
    for r in results:
        for action, n in r.stops.items():
            stops[action] = stops.get(action, 0) + n
    if stops:
        out.append("Destructive endpoints ran for real on throwaway data; the device stopped and was built again "
                   "(as `vigil run` does): " + ", ".join(f"{a} {n}x" for a, n in sorted(stops.items())) + ".")
        out.append("")
    notes = [f"{r.profile}: {n}" for r in results for n in r.notes]
    if notes:
        out += ["Not counted (the machine, not the device):", *(f"  {n}" for n in notes[:20]), ""]
    found = groups(results)
    if not found:
        out.append("No failures.")
        return "\n".join(out)
    out.append(f"{sum(len(v) for v in found.values())} failing requests in {len(found)} groups "
               f"(target, kind, cause), {'all of them' if every else 'with up to three examples each'}:")
    for (target, kind, cause), items in sorted(found.items()):
        profiles = sorted({p for p, _ in items})
        out.append(f"\n[{kind}] {target} x{len(items)} ({', '.join(profiles)}): {cause}")
        for profile, failure in items if every else _examples(items):
            out.append(f"  {profile}: {failure.line()}")
    return "\n".join(out)


_FUZZED = re.compile(r"([\w@./\[\]-]+)\"?[=:] ?<([\w.+-]+)>")


def _examples(items: list[tuple[str, Failure]], limit: int = 3) -> list[tuple[str, Failure]]:
    """Up to `limit` failures that differ in the parameter that held the bad value, or its value."""
    seen: set[str] = set()
    out = []
    for profile, failure in items:
        found = _FUZZED.search(failure.params)
        key = found.group(0) if found else failure.params[:60]
        if key not in seen:
            seen.add(key)
            out.append((profile, failure))
    return out[:limit]


def findings_markdown(results: list[Figures]) -> str:
    out = ["# Fuzz walk findings", "", table(results), ""]
    for (target, kind, cause), items in sorted(groups(results).items()):
        profiles = sorted({p for p, _ in items})
        out += [f"## {kind}: {target}", "", f"- profiles: {', '.join(profiles)}; {len(items)} requests",
                f"- cause: {cause}"]
        for _, f in _examples(items):
            out += [f"- {f.role}: `{f.request} {f.params[:400]}` -> {f.status} `{f.body[:200]!r}`"]
        out.append("")
    return "\n".join(out)
