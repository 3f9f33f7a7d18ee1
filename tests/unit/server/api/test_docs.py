"""``/docs`` and ``/redoc`` from the package's own assets: pages that point at nothing off this server, only the
named assets served, and a plain explanation (never a CDN) when the web build is missing."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from trainboard.server.api import docs

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""")


def app_with(assets: Path) -> TestClient:
    app = FastAPI(docs_url=None, redoc_url=None)
    app.include_router(docs.make_router(title="trainboard", assets_dir=assets))
    return TestClient(app)


def built(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in docs.ASSETS:
        (tmp_path / name).write_text(f"/* {name} */")
    return tmp_path


def test_pages_load_only_local_assets_under_a_local_only_policy(tmp_path: Path) -> None:
    client = app_with(built(tmp_path))
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200 and not EXTERNAL.search(page.text), page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "img-src 'self' data:" in policy and "http" not in policy
        for asset in re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page.text):
            assert client.get(asset).status_code == 200, asset
    assert '"validatorUrl": null' in client.get("/docs").text  # no badge from validator.swagger.io


def test_only_the_named_assets_are_served(tmp_path: Path) -> None:
    assets = built(tmp_path / "apidocs")
    (tmp_path / "secret.txt").write_text("no")
    (assets / "other.js").write_text("no")
    client = app_with(assets)
    assert client.get("/apidocs/swagger-ui-bundle.js").text == "/* swagger-ui-bundle.js */"
    for path in ("/apidocs/other.js", "/apidocs/..%2Fsecret.txt", "/apidocs/%2e%2e/secret.txt"):
        assert client.get(path).status_code == 404, path


def test_without_the_web_build_the_pages_say_so(tmp_path: Path) -> None:
    client = app_with(tmp_path / "missing")
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200 and "not have" in page.text and "/openapi.json" in page.text
        assert not EXTERNAL.search(page.text)
