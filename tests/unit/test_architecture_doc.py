"""docs/architecture.md names only what exists: every path and module it mentions, every table, every live
publishing function (read from the source with ``ast``; nothing is imported)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "src" / "trainboard"
#: Where a relative path in the doc may start: the repository, the package, the server package.
BASES = (ROOT, PACKAGE, PACKAGE / "server")
#: A path in prose: directories joined by slashes, ending in a file with one of these suffixes or in a slash.
PATH = re.compile(
    r"(?<![\w/.{}-])((?:[\w-]+/)+(?:[\w.-]+\.(?:py|ts|tsx|md|toml|json|css))?)(?![\w/{}-])"
    r"|(?<![\w/.{}-])([\w-]+\.(?:py|tsx?))(?![\w/-])"
)


def doc() -> str:
    return DOC.read_text()


def prose() -> str:
    """The doc without its module index (generated from the docstrings and checked on its own, below)."""
    text = doc()
    start, end = "<!-- module index:", "<!-- end of module index -->"
    return text.split(start, 1)[0] + text.split(end, 1)[1] if start in text else text


def layout_paths() -> list[str]:
    """The paths of the Layout tree, rebuilt from its indentation (two spaces a level)."""
    block = doc().split("## Layout", 1)[1].split("```", 2)[1]
    paths: list[str] = []
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        name = line.split()[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "".join(p for _i, p in stack) + name
        paths.append(path)
        if name.endswith("/"):
            stack.append((indent, name))
    return paths


def exists(path: str) -> bool:
    if "/" not in path:  # a bare file name: somewhere in the sources
        return any(any(base.rglob(path)) for base in (PACKAGE, ROOT / "web" / "src"))
    return any((base / path).exists() for base in BASES)


def test_every_path_in_the_layout_exists() -> None:
    paths = layout_paths()
    assert "src/trainboard/server/stream/publish.py" in paths  # the tree is read as a tree
    assert [p for p in paths if not (ROOT / p).exists()] == []


def test_every_path_in_the_text_exists() -> None:
    before, _layout, after = prose().partition("## Layout")
    text = before + after.split("```", 2)[-1]  # all but the tree (its names are relative to their folders)
    named = {a or b for a, b in PATH.findall(text)}
    assert {"server/stream/catch_up.py", "web/src/terminal/TerminalPanel.tsx", "sdk/"} <= named
    assert sorted(p for p in named if not exists(p)) == []


def _module_file(parts: list[str]) -> Path | None:
    base = ROOT / "src" / Path(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_every_module_named_exists() -> None:
    """``trainboard.x.y`` is a module, or a name defined at the top of one."""
    missing = []
    for dotted in set(re.findall(r"\btrainboard(?:\.\w+)+", doc())):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            found = _module_file(parts[:cut])
            if found is not None:
                rest = parts[cut:]
                if rest and (len(rest) > 1 or rest[0] not in _top_level_names(found)):
                    missing.append(dotted)
                break
        else:
            missing.append(dotted)
    assert missing == []


def _tables() -> set[str]:
    names = set()
    for path in (PACKAGE / "server" / "store" / "tables.py", PACKAGE / "server" / "store" / "auth_tables.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Table":
                first = node.args[0]
                assert isinstance(first, ast.Constant)
                names.add(str(first.value))
    return names


def test_the_tables_are_the_ones_the_code_has() -> None:
    """Each ``name(columns)`` in the doc is a table, and every table is described."""
    described = set(re.findall(r"`(\w+)\((?:\.\.\.|\w+[,)])", prose()))  # name(col, ...) or name(...)
    tables = _tables()
    assert {"metric_segments", "terminal_sizes", "log_index_state"} <= tables
    assert sorted(described - tables) == []
    assert sorted(tables - described) == []


def test_every_live_publishing_function_is_named_and_exists() -> None:
    defined = {
        name for name in _top_level_names(PACKAGE / "server" / "stream" / "publish.py") if name.startswith("publish_")
    }
    named = set(re.findall(r"`(publish_\w+)`", doc()))
    assert defined and named == defined


def test_every_module_is_in_the_index_and_the_index_is_current() -> None:
    """The other way round: every module under src/trainboard is named in the doc with its purpose (the module
    index that scripts/module_index.py writes from the docstrings), and no module that is gone."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("module_index", ROOT / "scripts" / "module_index.py")
    assert spec is not None and spec.loader is not None
    module_index = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module_index)
    block = module_index.index()
    assert block in doc(), "docs/architecture.md's module index is stale: run python scripts/module_index.py"
    listed = set(re.findall(r"^- `([\w/]+\.py)` — ", block, flags=re.M))
    on_disk = {p.relative_to(PACKAGE).as_posix() for p in module_index.modules()}
    assert listed == on_disk and "server/ingest/subscribers.py" in listed
