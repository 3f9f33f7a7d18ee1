"""Issue 21, privilege holes: every role × scope cell through HTTP against a real ``trainboard serve``.

A token acts with the lower of its scope and its user's role *now*: the users below are all admins when their
tokens are made, then demoted through ``PUT /api/users`` before anything is asked, so every cell checks the cap
applied at request time, not at creation. Launching needs the launch permission (admin, or an admin's grant)
and a ``launch`` or ``admin`` token (or a session); cancelling needs to be the launcher or an admin.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tests.support.auth import Seeded, seed
from tests.support.launch import ended, wait_for
from tests.support.servers import API_HEADERS, ServerProcess, postgres_database

from trainboard.server.auth import manage
from trainboard.server.settings import Settings

PASSWORD = "a long enough passphrase"
#: name: (role, granted launch)
USERS = {
    "vera": ("viewer", False),
    "eli": ("editor", False),
    "lee": ("editor", True),
    "ada": ("admin", False),
}
SCOPES = ("read", "write", "admin", "launch")
#: What each token may do: R read runs, W write (create a run), A admin (list users), L launch. The README's
#: matrix says the same.
MATRIX = {
    "vera": {"read": "R", "write": "R", "admin": "R", "launch": "R"},
    "eli": {"read": "R", "write": "RW", "admin": "RW", "launch": "R"},
    "lee": {"read": "R", "write": "RW", "admin": "RW", "launch": "RL"},
    "ada": {"read": "R", "write": "RW", "admin": "RWAL", "launch": "RL"},
}
ROLE_NOW = {**{name: role for name, (role, _granted) in USERS.items()}, "val": "viewer"}
#: val, a granted editor when demoted to viewer, lost the grant with the role: vera's equal (see ``world``).
MATRIX["val"] = MATRIX["vera"]
#: A browser session (password login) acts with the role itself.
SESSIONS = {"vera": "R", "val": "R", "eli": "RW", "lee": "RWL", "ada": "RWAL"}
#: Which tokens a user may be given at all (else 403 naming ``scope``, from the API and the CLI alike).
CREATABLE = {
    "vera": {"read"},
    "val": {"read"},
    "eli": {"read", "write"},
    "lee": {"read", "write", "launch"},
    "ada": {"read", "write", "admin", "launch"},
}
#: The launch probe names no provider that exists: past the permission check it is 422 naming ``provider``.
PROBE = {"provider": "no-such-provider", "argv": ["true"]}


@dataclass
class World:
    server: ServerProcess
    seeded: Seeded
    root: Path
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def bearer(self, token: str) -> dict[str, str]:
        return {**API_HEADERS, "Authorization": f"Bearer {token}"}

    def admin(self) -> dict[str, str]:
        return self.seeded.headers("ann")

    def settings(self) -> Settings:
        return Settings(data_dir=self.server.data_dir, db_url=self.server.db_url)

    def store_args(self) -> list[str]:
        """``--data`` (and ``--db``) for the server-side CLI commands."""
        return ["--data", str(self.server.data_dir), *(["--db", self.server.db_url] if self.server.db_url else [])]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The module's server runs on SQLite, then on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, database: str | None) -> Iterator[World]:
    data = tmp_path_factory.mktemp("data")
    root = tmp_path_factory.mktemp("launch-root")
    (root / "sleepy.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(300)\n")
    seeded = seed(data, database)
    engine = manage.open_engine(Settings(data_dir=data, db_url=database))
    tokens = {}
    try:
        for name in [*USERS, "val"]:  # every user an admin while their tokens are made: all four scopes allowed
            manage.create_user(engine, name, "admin", PASSWORD)
            for scope in SCOPES:
                tokens[(name, scope)] = manage.create_token(engine, name=f"{name}-{scope}", scope=scope, user=name)[1]
    finally:
        engine.dispose()
    server = ServerProcess(data_dir=data, db_url=database, extra_args=["--allow-launch", "--launch-root", str(root)])
    server.start()
    world = World(server=server, seeded=seeded, root=root, tokens=tokens)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for name, (role, granted) in USERS.items():  # demoted through the API, after the tokens exist
            r = c.put(f"/api/users/{name}", json={"role": role, "can_launch": granted}, headers=world.admin())
            assert r.status_code == 200 and r.json()["role"] == role and r.json()["can_launch"] is granted, r.text
        # a granted editor demoted to viewer: the grant goes with the role (a launched job writes its run)
        r = c.put("/api/users/val", json={"role": "editor", "can_launch": True}, headers=world.admin())
        assert r.status_code == 200 and r.json()["can_launch"] is True
        r = c.put("/api/users/val", json={"role": "viewer"}, headers=world.admin())
        assert r.status_code == 200 and r.json()["can_launch"] is False
    yield world
    server.stop()


def abilities(c: httpx.Client, headers: dict[str, str]) -> str:
    """Which of R, W, A, L these credentials may do, each asked of the real route."""
    found = ""
    read = c.get("/api/runs", headers=headers).status_code
    assert read in (200, 403), read
    found += "R" if read == 200 else ""
    write = c.post("/api/runs", json={"name": "probe"}, headers=headers)
    assert write.status_code in (201, 403), write.text
    found += "W" if write.status_code == 201 else ""
    admin = c.get("/api/users", headers=headers).status_code
    assert admin in (200, 403), admin
    found += "A" if admin == 200 else ""
    launch = c.post("/api/launch", json=PROBE, headers=headers)
    if launch.status_code == 422:
        assert launch.json()["detail"][0]["loc"][-1] == "provider", launch.text
        found += "L"
    else:
        assert launch.status_code == 403 and "launch permission" in launch.json()["detail"], launch.text
    return found


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("name", [*USERS, "val"])
def test_a_token_is_capped_by_its_users_current_role(world: World, name: str, scope: str) -> None:
    with httpx.Client(base_url=world.server.url, timeout=30) as c:
        assert abilities(c, world.bearer(world.tokens[(name, scope)])) == MATRIX[name][scope]


@pytest.mark.parametrize("name", [*USERS, "val"])
def test_a_session_acts_with_the_role_and_the_grant(world: World, name: str) -> None:
    with httpx.Client(base_url=world.server.url, timeout=30, headers=API_HEADERS) as c:
        assert c.post("/api/auth/login", json={"username": name, "password": PASSWORD}).status_code == 200
        assert abilities(c, {}) == SESSIONS[name]


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("name", [*USERS, "val"])
def test_a_token_beyond_the_users_role_is_not_made(world: World, name: str, scope: str) -> None:
    with httpx.Client(base_url=world.server.url, timeout=30) as c:
        r = c.post("/api/tokens", json={"name": "t", "scope": scope, "user": name}, headers=world.admin())
    if scope in CREATABLE[name]:
        assert r.status_code == 201, r.text
    else:
        assert r.status_code == 403, r.text
        assert r.json()["detail"].startswith(f"scope: user {name!r} is {ROLE_NOW[name]}")


def test_users_create_their_own_launch_tokens_only_with_the_permission(world: World) -> None:
    for name, status in (("lee", 201), ("eli", 403), ("vera", 403), ("val", 403)):
        with httpx.Client(base_url=world.server.url, timeout=30, headers=API_HEADERS) as c:
            assert c.post("/api/auth/login", json={"username": name, "password": PASSWORD}).status_code == 200
            own = c.post("/api/tokens", json={"name": "mine", "scope": "launch"})
            assert own.status_code == status, (name, own.text)
            if status == 403:
                assert "launch permission" in own.json()["detail"]
            # nor through one of their own tokens without the permission: a read token mints no launch token
            by_token = c.post(
                "/api/tokens", json={"name": "m", "scope": "launch"}, headers=world.bearer(world.tokens[(name, "read")])
            )
            assert by_token.status_code == 403


def test_a_demoted_admins_tokens_lose_admin_and_launch_at_once(world: World) -> None:
    engine = manage.open_engine(world.settings())
    try:
        manage.create_user(engine, "dan", "admin", PASSWORD)
        launch = world.bearer(manage.create_token(engine, name="dan-l", scope="launch", user="dan")[1])
        admin = world.bearer(manage.create_token(engine, name="dan-a", scope="admin", user="dan")[1])
    finally:
        engine.dispose()
    with httpx.Client(base_url=world.server.url, timeout=30) as c:
        assert abilities(c, launch) == "RL" and abilities(c, admin) == "RWAL"
        assert c.put("/api/users/dan", json={"role": "viewer"}, headers=world.admin()).status_code == 200
        assert abilities(c, launch) == "R" and abilities(c, admin) == "R"  # the very next request


def test_a_withdrawn_grant_stops_launching_at_once_from_the_cli(world: World) -> None:
    engine = manage.open_engine(world.settings())
    try:
        manage.create_user(engine, "gus", "editor", PASSWORD, can_launch=True)
        token = world.bearer(manage.create_token(engine, name="gus-l", scope="launch", user="gus")[1])
    finally:
        engine.dispose()
    with httpx.Client(base_url=world.server.url, timeout=30) as c:
        assert abilities(c, token) == "RL"
        done = cli("user", "update", "gus", "--no-launch", *world.store_args())
        assert done.returncode == 0 and "may not launch" in done.stdout, done.stderr
        assert abilities(c, token) == "R"
        again = cli("user", "update", "gus", "--launch", *world.store_args())
        assert again.returncode == 0 and "may launch" in again.stdout, again.stderr
        assert abilities(c, token) == "RL"


def test_cancel_needs_the_launcher_or_an_admin(world: World) -> None:
    server = world.server
    body = {"provider": "local", "argv": [sys.executable, "sleepy.py"]}
    with httpx.Client(base_url=server.url, timeout=30) as c:

        def launch(headers: dict[str, str]) -> str:
            r = c.post("/api/launch", json=body, headers=headers)
            assert r.status_code == 201, r.text
            run_id: str = r.json()["id"]
            wait_for("output", lambda: b"up" in c.get(f"/api/runs/{run_id}/logs", headers=world.admin()).content)
            return run_id

        lee = world.bearer(world.tokens[("lee", "launch")])
        val = world.bearer(world.tokens[("val", "launch")])
        ada = world.bearer(world.tokens[("ada", "launch")])
        eli = world.bearer(world.tokens[("eli", "admin")])  # acts as write: no launch, not an admin
        by_ada, by_lee, by_lee_2 = launch(ada), launch(lee), launch(lee)

        def cancel(run_id: str, headers: dict[str, str]) -> httpx.Response:
            return c.post(f"/api/runs/{run_id}/cancel", headers=headers)

        refused = cancel(by_ada, lee)  # another launcher's run
        assert refused.status_code == 403 and "launched by 'ada'" in refused.json()["detail"]
        assert cancel(by_lee, val).status_code == 403
        assert cancel(by_lee, eli).status_code == 403
        assert cancel(by_lee, world.bearer(world.tokens[("vera", "launch")])).status_code == 403
        assert c.get(f"/api/runs/{by_ada}", headers=world.admin()).json()["status"] in ("queued", "running")
        assert cancel(by_lee, lee).status_code == 200  # the launcher
        assert cancel(by_lee_2, ada).status_code == 200  # an admin (with the admin's launch token)
        assert cancel(by_ada, world.admin()).status_code == 200  # an admin's admin token
        with httpx.Client(base_url=server.url, timeout=30, headers=world.admin()) as http:
            for run_id in (by_ada, by_lee, by_lee_2):
                assert ended(http, run_id, 60)["status"] == "interrupted"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainboard.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_token_create_help_lists_the_launch_scope() -> None:
    done = cli("token", "create", "--help")
    assert done.returncode == 0
    assert "launch" in done.stdout.split("--scope", 1)[1].split("--expires", 1)[0]


def test_the_cli_refuses_a_launch_token_for_a_user_without_the_permission(tmp_path: Path) -> None:
    seed(tmp_path / "data")
    data = str(tmp_path / "data")
    refused = cli("token", "create", "--name", "x", "--scope", "launch", "--user", "ed", "--data", data)
    assert refused.returncode == 1 and "no launch grant" in refused.stderr and "tb_" not in refused.stdout
    viewer = cli("user", "update", "vic", "--launch", "--data", data)
    assert viewer.returncode == 1 and "a viewer may not be granted launch" in viewer.stderr
    assert cli("user", "update", "ed", "--launch", "--data", data).returncode == 0
    made = cli("token", "create", "--name", "x", "--scope", "launch", "--user", "ed", "--data", data)
    assert made.returncode == 0 and made.stdout.split()[-1].startswith("tb_")


def test_a_viewer_is_not_granted_launch(world: World) -> None:
    with httpx.Client(base_url=world.server.url, timeout=30) as c:
        refused = c.put("/api/users/vera", json={"can_launch": True}, headers=world.admin())
        assert refused.status_code == 409 and refused.json()["detail"].startswith("can_launch: a viewer"), refused.text
        made = c.post(
            "/api/users",
            json={"name": "vik", "role": "viewer", "password": PASSWORD, "can_launch": True},
            headers=world.admin(),
        )
        assert made.status_code == 409 and "can_launch" in made.json()["detail"]
        assert "vik" not in [u["name"] for u in c.get("/api/users", headers=world.admin()).json()["users"]]
