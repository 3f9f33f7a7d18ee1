"""``/docs`` (Swagger UI) and ``/redoc`` from assets inside the package, never from a CDN.

Self-hosted clusters are often air-gapped: FastAPI's default pages load Swagger UI from jsDelivr and a
favicon from fastapi.tiangolo.com, and show a blank page offline. The web build copies the npm packages'
bundles (``swagger-ui-dist``, ``redoc``) into ``static/apidocs/``; this router serves them and pages that
point only at them (FastAPI's documented self-hosting: ``get_swagger_ui_html`` / ``get_redoc_html``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from trainboard.server.api.ui import STATIC_DIR

ASSETS_DIR = STATIC_DIR / "apidocs"
ASSETS_URL = "/apidocs"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon.png"
# Only these names are served (with their licences), so the route cannot be used to read anything else.
ASSETS = frozenset(
    {
        SWAGGER_JS,
        SWAGGER_CSS,
        REDOC_JS,
        FAVICON,
        "swagger-ui-LICENSE.txt",
        "swagger-ui-NOTICE.txt",
        "swagger-ui-bundle.js.LICENSE.txt",
        "redoc.standalone.js.LICENSE.txt",
        "redoc-LICENSE.txt",
    }
)
# No "validator" badge: Swagger UI would fetch it from validator.swagger.io.
SWAGGER_PARAMETERS = {"validatorUrl": None}
# The pages may load nothing from anywhere but this server. Redoc 2's menu footer always shows a logo from
# cdn.redoc.ly; under this policy the browser never requests it (the image hides itself when it fails).
POLICY = (
    "default-src 'none'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>trainboard API docs</title>
<body style="font-family:sans-serif;padding:2em"><h1>trainboard API docs</h1>
<p>The documentation pages are part of the web UI build, which this installation does not have
(installed with <code>TRAINBOARD_SKIP_WEB_BUILD</code>, or without Node.js). The OpenAPI document is at
<a href="{openapi_url}">{openapi_url}</a>.</p></body>"""


def _local_only(page: HTMLResponse) -> HTMLResponse:
    """``page`` with a Content-Security-Policy that allows this server only (and its own inline scripts)."""
    body = bytes(page.body).decode()
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.findall(body)
    ]
    page.headers["Content-Security-Policy"] = POLICY.format(scripts=" ".join(hashes))
    return page


def make_router(*, title: str, openapi_url: str = "/openapi.json", assets_dir: Path = ASSETS_DIR) -> APIRouter:
    """The two pages and their assets; a page says so when the assets are not built (never a CDN)."""
    router = APIRouter(include_in_schema=False)

    def built(*names: str) -> bool:
        return all((assets_dir / name).is_file() for name in names)

    @router.get("/docs", response_model=None)
    def swagger_ui() -> HTMLResponse:
        if not built(SWAGGER_JS, SWAGGER_CSS):
            return HTMLResponse(_NOT_BUILT.format(openapi_url=openapi_url))
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API docs",
            swagger_js_url=f"{ASSETS_URL}/{SWAGGER_JS}",
            swagger_css_url=f"{ASSETS_URL}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{ASSETS_URL}/{FAVICON}",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )
        return _local_only(page)

    @router.get("/redoc", response_model=None)
    def redoc() -> HTMLResponse:
        if not built(REDOC_JS):
            return HTMLResponse(_NOT_BUILT.format(openapi_url=openapi_url))
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - API reference",
            redoc_js_url=f"{ASSETS_URL}/{REDOC_JS}",
            redoc_favicon_url=f"{ASSETS_URL}/{FAVICON}",
            with_google_fonts=False,
        )
        return _local_only(page)

    @router.get(ASSETS_URL + "/{name}", response_model=None)
    def asset(name: str) -> FileResponse:
        path = assets_dir / name
        if name not in ASSETS or not path.is_file():
            raise HTTPException(status_code=404, detail=f"no API docs asset {name!r}")
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    return router
