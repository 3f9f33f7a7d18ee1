"""Writes the module index of docs/architecture.md: every module under src/trainboard with the first sentence
of its docstring, grouped by package, between the index's two marker lines.

Run it after adding, moving or removing a module (``python scripts/module_index.py``);
tests/unit/test_architecture_doc.py fails while the index in the doc differs from what this prints, so the doc
names every module there is and nothing that is gone. ``--check`` exits 1 when the doc is stale.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "trainboard"
DOC = ROOT / "docs" / "architecture.md"
START = "<!-- module index: written by scripts/module_index.py from the modules' docstrings; do not edit -->"
END = "<!-- end of module index -->"
#: Folders whose files are data or numbered revisions rather than modules to describe one by one.
SUMMARISED = {"server/migrations/versions": "one Alembic revision per schema change, numbered in order"}
MAX_CHARS = 180


def purpose(path: Path) -> str:
    """The first sentence of the module's docstring, on one line (a module without one is an error)."""
    doc = ast.get_docstring(ast.parse(path.read_text()))
    if not doc:
        raise SystemExit(f"{path.relative_to(ROOT)} has no docstring: say in one sentence what it is for")
    text = " ".join(doc.split("\n\n", 1)[0].split()).replace("``", "`")
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z`(])", text)
    if match and match.start() > 20:
        text = text[: match.start()]
    if len(text) > MAX_CHARS:
        text = text[: text.rfind(" ", 0, MAX_CHARS)].rstrip(",;:") + " …"
    return text


def modules() -> list[Path]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if any(rel.startswith(folder + "/") for folder in SUMMARISED):
            continue
        found.append(path)
    return found


def index() -> str:
    """The index block, markers included."""
    lines = [START]
    group = None
    for path in modules():
        rel = path.relative_to(PACKAGE).as_posix()
        package = rel.rsplit("/", 1)[0] + "/" if "/" in rel else "trainboard/"
        if package != group:
            group = package
            lines += ["", f"**{package}**" if package != "trainboard/" else "**src/trainboard/** (top level)", ""]
        lines.append(f"- `{rel}` — {purpose(path)}")
    for folder, what in SUMMARISED.items():
        lines += ["", f"**{folder}/**: {what}."]
    lines += ["", END]
    return "\n".join(lines)


def rewritten(doc: str) -> str:
    if START in doc:
        before, rest = doc.split(START, 1)
        after = rest.split(END, 1)[1]
        return before + index() + after
    return doc.rstrip("\n") + "\n\n## Module index\n\nEvery module, with what it is for.\n\n" + index() + "\n"


def main() -> int:
    current = DOC.read_text()
    new = rewritten(current)
    if "--check" in sys.argv[1:]:
        if new != current:
            print("docs/architecture.md's module index is stale: run python scripts/module_index.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
