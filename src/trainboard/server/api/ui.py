"""The built web UI at ``/``: static assets, and index.html for client-side routes (``/runs/<id>``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from trainboard.server.http.routes import iter_routes

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

_MISSING = """<!doctype html><meta charset="utf-8"><title>trainboard</title>
<body style="background:#000;color:#FFD700;font-family:monospace;padding:2em">
<h1>trainboard</h1><p>The web UI is not built in this installation. Install with
<code>pip install .</code> from a clone (Node.js needed), or use the API at <a href="/docs"
style="color:#0ff">/docs</a>.</p></body>"""


def make_router(static_dir: Path = STATIC_DIR) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    root = static_dir.resolve()

    @router.get("/{path:path}", response_model=None)
    def spa(path: str, request: Request) -> FileResponse | HTMLResponse:
        if path.startswith(("api/", "ws")) or path in {"health", "docs", "openapi.json"} or not path.isprintable():
            if _other_methods(request):  # e.g. GET on a POST-only route: this catch-all must not make it a 404
                raise HTTPException(status_code=405, detail="method not allowed")
            raise HTTPException(status_code=404, detail="not found")
        index = root / "index.html"
        if path:
            candidate = _file_inside(root, path)
            if candidate is not None:
                return FileResponse(candidate)
            if path.startswith("assets/"):
                raise HTTPException(status_code=404, detail="not found")
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(_MISSING)

    return router


def _other_methods(request: Request) -> bool:
    """Whether an API route (not this catch-all) has this path, for other methods."""
    path = request.url.path
    return any(
        info.route.name != "spa" and info.methods and info.regex.match(path) for info in iter_routes(request.app.routes)
    )


def _file_inside(root: Path, path: str) -> Path | None:
    """``root / path`` when it is a file inside ``root``; ``None`` otherwise, also for paths the file system
    cannot even look up (a NUL byte, an over-long name)."""
    if "\x00" in path:
        return None
    try:
        candidate = (root / path).resolve()
        return candidate if candidate.is_relative_to(root) and candidate.is_file() else None
    except (OSError, ValueError):
        return None
