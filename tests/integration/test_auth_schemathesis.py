"""schemathesis against a live server with authentication ON and an admin token: zero 5xx, zero schema
violations, every status declared (the 401/403 of the gate included). Same checks and settings as
test_schemathesis.py (auth off); see there for the exclusions.

The token is a service token (no user): user edits schemathesis makes (disable, delete) cannot take it away.
``DELETE /api/tokens/{token_id}`` is left out: a generated id may be the test's own token, and revoking it
would turn the rest of the run into 401s (revocation has its own tests in test_auth_streams.py).
The coverage phase (boundary values of every parameter, several thousand requests) runs in the auth-off test;
here the gate is what differs, so the examples, fuzzing and stateful phases are enough and the file stays
within its time."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.test_schemathesis import run_schemathesis
from tests.support.auth import add_token, seed
from tests.support.servers import ServerProcess


@pytest.mark.timeout(900)
def test_schemathesis_with_auth_on_finds_nothing(tmp_path: Path, db_url: str | None) -> None:
    """On SQLite and PostgreSQL (issue 21: PostgreSQL answered 500 to integers up to 2**53 - 1 that the schema
    allows, where a 32-bit column met them)."""
    seed(tmp_path / "data", db_url)
    _, token = add_token(tmp_path / "data", name="fuzz", scope="admin", db_url=db_url)
    server = ServerProcess(data_dir=tmp_path / "data", db_url=db_url).start()
    try:
        result = run_schemathesis(
            server,
            tmp_path,
            "--header",
            f"Authorization: Bearer {token}",
            "--exclude-path",
            "/api/tokens/{token_id}",
            "--phases",
            "examples,fuzzing,stateful",
        )
    finally:
        server.stop()
    output = (result.stdout + result.stderr).replace(token, "<token>")
    assert result.returncode == 0, output[-20_000:]
    assert " generated" in output and "Tested:" in output, output[-5000:]
    server_log = server.log_path.read_text() if server.log_path else ""
    assert "Traceback" not in server_log, server_log[-10_000:]
