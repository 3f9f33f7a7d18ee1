"""Servers with authentication on: users and tokens made through the store functions the CLI uses, and a
``serve`` process started from a Settings object (for the flags a test needs, e.g. the auth proxy)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import API_HEADERS, ServerProcess
from trainboard.server.auth import manage
from trainboard.server.settings import Settings

PASSWORDS = {"ann": "ann-secret-1", "ed": "ed-secret-22", "vic": "vic-secret-3"}
ROLES = {"ann": "admin", "ed": "editor", "vic": "viewer"}


@dataclass
class Seeded:
    """Users ann (admin), ed (editor), vic (viewer) and one token each with their role's scope."""

    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {**API_HEADERS, "Authorization": f"Bearer {self.tokens[who]}"}


def seed(data_dir: Path, db_url: str | None = None) -> Seeded:
    engine = manage.open_engine(Settings(data_dir=data_dir, db_url=db_url))
    out = Seeded()
    try:
        for name, role in ROLES.items():
            manage.create_user(engine, name, role, PASSWORDS[name])
        for name, scope in (("ann", "admin"), ("ed", "write"), ("vic", "read")):
            record, secret = manage.create_token(engine, name=f"{name}-token", scope=scope, user=name)
            out.tokens[name], out.token_ids[name] = secret, record["id"]
    finally:
        engine.dispose()
    return out


def add_token(data_dir: Path, db_url: str | None = None, **kw: Any) -> tuple[int, str]:
    engine = manage.open_engine(Settings(data_dir=data_dir, db_url=db_url))
    try:
        record, secret = manage.create_token(engine, **kw)
    finally:
        engine.dispose()
    return int(record["id"]), secret


def grant_launch(data_dir: Path, name: str, db_url: str | None = None) -> None:
    """Let ``name`` launch runs without being an admin (``trainboard user update NAME --launch``)."""
    engine = manage.open_engine(Settings(data_dir=data_dir, db_url=db_url))
    try:
        manage.update_user(engine, name, can_launch=True)
    finally:
        engine.dispose()


@dataclass
class SettingsServer(ServerProcess):
    """``trainboard.server.lifecycle.serve.serve(Settings(...))`` in a child process, for settings the CLI may
    not expose."""

    settings: dict[str, Any] = field(default_factory=dict)

    def start(self, timeout: float = 30.0) -> SettingsServer:
        self.log_path = self.data_dir / f"server-{self.port}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        spec = {"data_dir": str(self.data_dir), "port": self.port, "db_url": self.db_url, **self.settings}
        code = (
            "import json, sys; from pathlib import Path; from trainboard.server.settings import Settings; "
            "from trainboard.server.lifecycle.serve import serve; s = json.loads(sys.argv[1]); "
            "s['data_dir'] = Path(s['data_dir']); "
            "s = {k: tuple(v) if isinstance(v, list) else v for k, v in s.items()}; serve(Settings(**s))"
        )
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(spec)], stdout=log, stderr=subprocess.STDOUT, env=self.env()
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start in {timeout} s:\n{self.log_path.read_text()}")
