"""The import directions of the package, read from the source with ``ast`` (nothing is imported).

The rooms: the client (``trainboard.sdk`` and the top-level modules it uses) runs beside training and
never reaches the server or its dependencies; ``trainboard.wire`` is shared by both sides and needs only
the standard library; inside the server, storage, streams and line splitting sit below the API and never
call up into it; ``trainboard.cli`` is a leaf that only its console-script entry point imports.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "trainboard"

#: What only the dashboard may load: the server itself and the ``[server]`` extra's packages.
SERVER_ONLY = (
    "trainboard.server",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "numpy",
    "alembic",
    "uvicorn",
    "redis",
    "psycopg",
)
#: Top-level modules that the client (SDK, ``trainboard run``, ``sync``, ``ls``, ``logs``, ``export``) loads.
CLIENT_TOP = ("trainboard", "trainboard._version", "trainboard.paths", "trainboard.sysinfo", "trainboard.wire")
#: The CLI's modules: the server only inside the server commands' functions, never at import.
#: The modules holding commands (and their shared helpers): the server only inside server commands there.
CLI_COMMANDS = ("trainboard.cli", "trainboard.cli_serve", "trainboard.cli_common")
CLI = (
    *CLI_COMMANDS,
    "trainboard.cli_accounts",
    "trainboard.cli_client",
    "trainboard.cli_color",
    "trainboard.cli_launch",
    "trainboard.cli_logs",
    "trainboard.cli_runs",
    "trainboard.cli_query",
    "trainboard.cli_sync",
    "trainboard.cli_run",
    "trainboard.cli_record",
    "trainboard.cli_import_commands",
    "trainboard.cli_alerts",
    "trainboard.cli_plugins",
    "trainboard.cli_bookmarks",
)
#: The server's database administration (db, user, token): a server module built on the CLI's shared options.
ADMIN_CLI = "trainboard.server.admin_cli"
#: CLI helpers that only server commands call (after ``need_server``).
SERVER_HELPERS = {"server_settings", "safe_db"}
#: Server modules that wire the API together (and so may import it).
API_WIRING = (
    "trainboard.server.app",
    "trainboard.server.http.routes",
    "trainboard.server.http.asgi",
    "trainboard.server.lifecycle.serve",
    "trainboard.server.lifecycle.uvicorn_server",
)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (``from a import b`` counts as ``a`` and ``a.b``)
    line: int
    function: str | None  # the (outermost) function it is in; None at module level (run at import)

    @property
    def top_level(self) -> bool:
        return self.function is None

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_in(path: Path) -> Iterator[Import]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    in_function: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                in_function.setdefault(inner, node.name)  # ast.walk is breadth-first: outermost first
    for node in ast.walk(tree):
        top = in_function.get(node)
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno, top)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield Import(name, base, node.lineno, top)
            for alias in node.names:
                yield Import(name, f"{base}.{alias.name}", node.lineno, top)


ALL = [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in imports_in(path)]


def within(name: str, *roots: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def broken(*, by: tuple[str, ...], to: tuple[str, ...]) -> list[str]:
    """Every import from a module under ``by`` of a module under ``to``."""
    return [str(imp) for imp in ALL if within(imp.module, *by) and within(imp.target, *to)]


def test_the_walk_sees_the_package() -> None:
    """The rules below would pass on nothing: make sure they read the real tree."""
    modules = {imp.module for imp in ALL}
    assert {"trainboard.sdk.monitor", "trainboard.sdk.pty_runner", "trainboard.cli", "trainboard.server.app"} <= modules
    assert ("trainboard.sdk.runner", "trainboard.sdk.pty_runner") in {(imp.module, imp.target) for imp in ALL}


def test_the_client_never_imports_the_server() -> None:
    assert broken(by=("trainboard.sdk",), to=SERVER_ONLY) == []
    client_top = [imp for imp in ALL if imp.module in CLIENT_TOP and within(imp.target, *SERVER_ONLY)]
    assert [str(i) for i in client_top] == []


def server_commands(path: Path) -> set[str]:
    """The functions in ``path`` that call ``need_server(...)``: the dashboard's commands (serve, demo, db ...)."""
    return {
        node.name
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "need_server"
            for call in ast.walk(node)
        )
    }


def test_the_cli_loads_the_server_only_inside_server_commands() -> None:
    """``run``, ``sync``, ``ls``, ``logs`` and ``export`` work with the client alone installed: only a command
    that first checks for the ``[server]`` extra with ``need_server`` (and its helpers) may import the server."""
    allowed = server_commands(PACKAGE / "cli.py") | server_commands(PACKAGE / "cli_serve.py") | SERVER_HELPERS
    assert {"serve", "demo"} <= allowed
    admin = {"db_upgrade", "user_add", "user_update", "user_list", "user_remove", "token_create", "token_list"}
    assert admin | {"token_revoke"} <= server_commands(PACKAGE / "server" / "admin_cli.py")
    outside = [
        str(imp)
        for imp in ALL
        if within(imp.module, *CLI)
        and within(imp.target, *SERVER_ONLY)
        and imp.function not in allowed
        and not within(imp.target, ADMIN_CLI)  # registered by name; its commands check need_server themselves
    ]
    assert outside == []
    eager = [str(i) for i in ALL if i.module == ADMIN_CLI and i.top_level and within(i.target, *SERVER_ONLY)]
    assert eager == []
    assert broken(by=CLI[len(CLI_COMMANDS) :], to=SERVER_ONLY) == []


def test_wire_needs_only_the_standard_library() -> None:
    outside = [
        str(imp)
        for imp in ALL
        if within(imp.module, "trainboard.wire")
        and not within(imp.target, "trainboard.wire")
        and imp.target.split(".")[0] not in sys.stdlib_module_names
        and imp.target.split(".")[0] != "__future__"
        and not within(imp.target.rpartition(".")[0], *sys.stdlib_module_names)
    ]
    assert outside == []


def test_store_and_stream_never_import_the_api() -> None:
    lower = ("trainboard.server.store", "trainboard.server.stream")
    assert broken(by=lower, to=("trainboard.server.api", "fastapi", "trainboard.cli")) == []


def test_loglines_is_pure() -> None:
    """Line splitting is terminal semantics alone: no storage, API, streams, database or web framework."""
    outside = [
        str(imp)
        for imp in ALL
        if within(imp.module, "trainboard.server.loglines")
        and within(imp.target, "trainboard", *SERVER_ONLY)
        and not within(imp.target, "trainboard.server.loglines")
    ]
    assert outside == []


def test_nothing_imports_the_cli() -> None:
    """``trainboard.cli`` is reached through the console script (pyproject's ``[project.scripts]``) only."""
    importers = [str(imp) for imp in ALL if within(imp.target, *CLI) and not within(imp.module, *CLI, ADMIN_CLI)]
    assert importers == []
    assert broken(by=("trainboard.sdk", "trainboard.server", "trainboard.wire"), to=("trainboard.cli",)) == []


def test_the_server_never_imports_the_client_cli_or_demo() -> None:
    assert broken(by=("trainboard.server",), to=("trainboard.cli", "trainboard.demo")) == []


def test_only_the_app_wiring_imports_the_api() -> None:
    """Below the API (background jobs, guards, the indexer) nothing reaches up into ``server.api``."""
    offenders = [
        str(imp)
        for imp in ALL
        if within(imp.target, "trainboard.server.api")
        and within(imp.module, "trainboard.server")
        and not within(imp.module, "trainboard.server.api", *API_WIRING)
    ]
    assert offenders == []


#: The frameworks the integrations wrap: each is imported only by its own module.
FRAMEWORKS = {"transformers": "transformers", "lightning": "lightning", "keras": "keras"}


def test_integrations_import_only_the_sdk_and_their_own_framework() -> None:
    """``trainboard.integrations`` / ``trainboard.compat`` sit on the SDK: never the server or the CLI, and a
    framework only in its own module (or, in ``autolog``, inside functions), so one missing framework
    breaks nothing else; the SDK and the package root import no integration at module level."""
    ours = ("trainboard.integrations", "trainboard.compat")
    assert broken(by=ours, to=(*SERVER_ONLY, *CLI)) == []
    for framework, owner in FRAMEWORKS.items():
        wrong = [
            str(imp)
            for imp in ALL
            if within(imp.target, framework)
            and imp.module != f"trainboard.integrations.{owner}"
            and not (imp.module == "trainboard.integrations.autolog" and not imp.top_level)
        ]
        assert wrong == [], framework
    eager = [str(imp) for imp in ALL if imp.top_level and within(imp.target, *ours) and not within(imp.module, *ours)]
    assert eager == []


#: API modules that still write with ``state.writer.run`` (they should call ``state.ingest.commit``). Shrink it,
#: never grow it.
WRITER_RUN_NOT_YET: set[str] = set()


def test_routers_leave_writing_and_publishing_to_the_write_path() -> None:
    """``server.api`` parses, authorises, calls ``server.ingest`` and answers: it imports no publishing
    (``stream.publish``), no line indexer, no writer; and no ``writer.run(``, ``writer.submit(``,
    ``writer.cache`` or ``publish_`` occurs in its text."""
    api = ("trainboard.server.api",)
    forbidden = (
        "trainboard.server.stream.publish",
        "trainboard.server.ingest.log_indexer",
        "trainboard.server.store.writer",
    )
    assert broken(by=api, to=forbidden) == []
    texts = {path.name: path.read_text() for path in sorted((PACKAGE / "server" / "api").glob("*.py"))}
    assert len(texts) > 10
    words = ("publish_", "indexer_of", "writer.cache", "writer.submit(")
    assert [(name, w) for name, text in texts.items() for w in words if w in text] == []
    writes = [name for name, text in texts.items() if "writer.run(" in text]
    assert sorted(set(writes) - WRITER_RUN_NOT_YET) == []


def test_the_write_path_sits_below_the_api() -> None:
    """``server.ingest`` is called by the API, the background jobs and the launch service: it never reaches
    up into any of them (nor into FastAPI)."""
    up = ("trainboard.server.api", "trainboard.server.lifecycle", "trainboard.server.providers", "fastapi", "starlette")
    assert broken(by=("trainboard.server.ingest",), to=up) == []


def test_observability_sits_below_state_and_streams() -> None:
    """``server.observability`` holds the low-level counters the broker and the write path count with (and
    the request observer): it never reaches the app's state, streams, storage, write path or API, so
    nothing below the API points back up through it."""
    up = (
        "trainboard.server.state",
        "trainboard.server.stream",
        "trainboard.server.store",
        "trainboard.server.ingest",
        "trainboard.server.api",
        "trainboard.server.lifecycle",
        "fastapi",
    )
    assert broken(by=("trainboard.server.observability",), to=up) == []
