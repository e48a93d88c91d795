"""The design documents name files that exist: docs/map.md's packages, pages and tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def map_rows() -> list[list[str]]:
    rows = []
    for line in (ROOT / "docs" / "map.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and not set(cells[0]) <= {"-"} and cells[0] != "manual section":
            rows.append(cells)
    return rows


def named(cell: str) -> list[str]:
    """The file and folder names of a cell (not the functions it names, such as `factory_reset`)."""
    return [n for n in re.findall(r"`([^`]+)`", cell) if n.endswith((".py", ".js", "/"))]


def exists(base: Path, name: str, context: str) -> bool:
    """A name is a path below `base`, a glob (`test_export*.py`), or a file of the folder named
    before it in the same cell (`features/recording/` (`export.py` ...))."""
    name = name.split(" ")[0]
    candidates = [base / name] + [base / folder / name for folder in re.findall(r"`([\w/]+/)`", context)]
    candidates += [base / folder.rsplit("/", 1)[0] / name for folder in re.findall(r"`([\w/]+\.py)`", context)
                   if "/" in folder]
    return any(c.exists() or list(c.parent.glob(c.name)) for c in candidates)


def test_the_map_has_a_row_per_chapter_built() -> None:
    assert len(map_rows()) >= 25


def test_every_file_the_map_names_exists() -> None:
    missing = []
    for section, package, page, tests in map_rows():
        for name in named(package):
            if not exists(ROOT / "vigil", name, package):
                missing.append((section, name))
        for name in named(page):
            if not (ROOT / "vigil" / "web" / name).exists():
                missing.append((section, name))
        for name in named(tests):
            if not exists(ROOT / "tests", name, tests) and not exists(ROOT, name, tests):
                missing.append((section, name))
    assert missing == []
