"""Authentication in chromium against a real ``trainboard serve`` with users (issue 12): the login page, the
user in the top bar, the tokens page (a secret shown once, revocation), logout, an ended session returning to the
login page and back to the run, and the one-time login URL removed from the address bar."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import OUTPUT, ROOT, STATIC_INDEX, ensure_bundle
from tests.support.servers import API_HEADERS, ServerProcess, free_port

PASSWORD = "correct horse battery staple"
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LOGIN_URL = re.compile(r"(http://\S+/login\?code=(\S+))")
# untrusted text: must show as these characters, never become markup
TOKEN_NAME = '<img src=x onerror="alert(1)">ci'


@dataclass
class AuthServer:
    proc: ServerProcess
    run_id: str

    @property
    def url(self) -> str:
        return self.proc.url

    def login_url(self) -> str:
        """The one-time login URL ``serve`` printed at start."""
        assert self.proc.log_path is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = LOGIN_URL.search(self.proc.log_path.read_text())
            if found:
                return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no login URL in the server's output:\n{self.proc.log_path.read_text()}")


def _bundle_has_login_page() -> bool:
    assets = STATIC_INDEX.parent / "assets"
    return any("login-box" in p.read_text(errors="replace") for p in assets.glob("index-*.js"))


def ensure_auth_bundle() -> None:
    """The built UI, rebuilt when it predates the login page (ensure_bundle only builds a missing one)."""
    ensure_bundle()
    if not _bundle_has_login_page():
        subprocess.run(["npm", "run", "build"], cwd=ROOT / "web", check=True, capture_output=True)
    assert _bundle_has_login_page(), "the built UI has no login page"


def cli(*args: str, stdin: str = "") -> str:
    """``trainboard ARGS`` (the server-side commands work on the data directory); its output."""
    done = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", *args], input=stdin.encode(), capture_output=True, timeout=60
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0, output
    return done.stdout.decode()


def add_user(data: Path, name: str, role: str, password: str) -> None:
    """``trainboard user add NAME --role ROLE`` with the password on standard input."""
    cli("user", "add", name, "--role", role, "--data", str(data), stdin=f"{password}\n")


def admin_token(data: Path) -> str:
    """``trainboard token create``: the token is the last word of its output."""
    out = cli("token", "create", "--name", "fixture", "--scope", "admin", "--user", "ada", "--data", str(data))
    return out.split()[-1]


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[AuthServer]:
    """A real ``trainboard serve`` on loopback with an admin ``ada`` (so authentication is on) and one run."""
    ensure_auth_bundle()
    data = tmp_path / "data"
    data.mkdir()
    add_user(data, "ada", "admin", PASSWORD)
    token = admin_token(data)
    proc = ServerProcess(data_dir=data, db_url=None).start()
    try:
        headers = {**API_HEADERS, "Authorization": f"Bearer {token}"}
        made = httpx.post(f"{proc.url}/api/runs", json={"name": "resnet-auth"}, headers=headers, timeout=30)
        assert made.status_code in (200, 201), made.text
        yield AuthServer(proc=proc, run_id=str(made.json()["id"]))
    finally:
        proc.stop()


def shot(page: Any, name: str) -> None:
    """Screenshots at a desktop and a phone size (test-output/e2e/auth-NAME-WxH.png)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for size in (WIDE, PHONE):
        page.set_viewport_size(size)
        page.wait_for_timeout(150)  # let the layout settle before the picture (not an assertion)
        page.screenshot(path=str(OUTPUT / f"auth-{name}-{size['width']}x{size['height']}.png"), full_page=True)
    page.set_viewport_size(WIDE)


def log_in(page: Any, user: str, password: str) -> None:
    page.get_by_label("user name").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="LOG IN").click()


def current_user(page: Any) -> Any:
    return page.locator('[aria-label="current user"]')


def test_login_token_once_revoke_logout(page: Any, auth_server: AuthServer) -> None:
    run_path = f"/runs/{auth_server.run_id}"
    response = page.goto(auth_server.url + run_path)
    # the page works under a policy that forbids inline script (the fixture fails the test on page errors)
    assert "script-src 'self';" in response.headers["content-security-policy"]
    page.get_by_role("button", name="LOG IN").wait_for()
    assert page.url.endswith("/login?next=" + run_path.replace("/", "%2F"))
    assert "resnet-auth" not in page.inner_text("body")  # nothing of the runs before login
    shot(page, "login")

    log_in(page, "ada", "wrong password")
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    assert current_user(page).count() == 0

    log_in(page, "ada", PASSWORD)
    current_user(page).wait_for()
    assert page.url == auth_server.url + run_path  # back where the user wanted to go
    bar = current_user(page).inner_text()
    assert "ada" in bar and "ADMIN" in bar
    page.get_by_text("resnet-auth").first.wait_for()
    shot(page, "topbar")

    page.get_by_role("link", name="TOKENS").click()
    page.get_by_role("button", name="CREATE TOKEN").wait_for()
    page.get_by_placeholder("e.g. gpu-box").fill(TOKEN_NAME)
    page.locator('select[name="token-scope"]').select_option("write")
    page.get_by_role("button", name="CREATE TOKEN").click()
    secret = page.get_by_label("token secret").input_value()
    assert re.fullmatch(r"tb_[A-Za-z0-9_-]{43}", secret), secret
    assert "shown only this once" in page.get_by_role("region", name="new token").inner_text()
    me = httpx.get(f"{auth_server.url}/api/auth/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me["user"]["name"] == "ada" and me["via"] == "token"

    own = page.get_by_role("table", name="your tokens")
    row = own.locator("tr", has_text=TOKEN_NAME)
    row.wait_for()
    assert row.locator("td.token-name").inner_text() == TOKEN_NAME  # the name as text
    assert page.locator("table img").count() == 0
    assert secret[:9] in row.inner_text() and secret not in own.inner_text()
    page.get_by_role("table", name="users").locator("tr", has_text="ada").wait_for()
    page.get_by_role("table", name="audit log").locator("td.audit-action", has_text="token_create").first.wait_for()
    shot(page, "tokens")

    page.get_by_role("button", name="DONE").click()
    assert secret not in page.content()
    page.reload()
    page.get_by_role("table", name="your tokens").locator("tr", has_text=TOKEN_NAME).wait_for()
    assert secret not in page.content()  # shown once: never again

    row = page.get_by_role("table", name="your tokens").locator("tr", has_text=TOKEN_NAME)
    row.get_by_role("button", name="REVOKE").click()
    row.get_by_role("button", name="YES, REVOKE").click()
    row.locator("td.token-state", has_text="revoked").wait_for()
    refused = httpx.get(f"{auth_server.url}/api/runs", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401

    page.get_by_role("button", name="LOGOUT").click()
    page.get_by_role("button", name="LOG IN").wait_for()
    assert current_user(page).count() == 0
    assert page.request.get(f"{auth_server.url}/api/runs").status == 401  # the cookie no longer works


def test_ended_session_returns_to_login_and_back_to_the_run(page: Any, auth_server: AuthServer) -> None:
    run_path = f"/runs/{auth_server.run_id}"
    page.goto(auth_server.url + "/login")
    log_in(page, "ada", PASSWORD)
    current_user(page).wait_for()
    page.goto(auth_server.url + run_path)
    page.get_by_text("resnet-auth").first.wait_for()

    # the session ends on the server (as an expiry does): the page's next request answers 401
    cookie = next(c for c in page.context.cookies() if c["name"] == "trainboard_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    ended = httpx.post(
        f"{auth_server.url}/api/auth/logout", headers=API_HEADERS, cookies={cookie["name"]: cookie["value"]}
    )
    assert ended.status_code == 204

    page.get_by_text("Your session ended. Log in again to continue where you were.").wait_for(timeout=30_000)
    assert page.url.endswith("/login?next=" + run_path.replace("/", "%2F"))
    log_in(page, "ada", PASSWORD)
    current_user(page).wait_for()
    assert page.url == auth_server.url + run_path
    page.get_by_text("resnet-auth").first.wait_for()


# ``trainboard serve`` has no flag for the session lifetime (a setting): the same ``serve()`` the command runs,
# with a 6-second absolute lifetime
SHORT_SESSION_SERVE = """
import sys
from pathlib import Path
from trainboard.server.lifecycle.serve import serve
from trainboard.server.settings import Settings
serve(Settings(data_dir=Path(sys.argv[1]), port=int(sys.argv[2]), session_max_seconds=6.0))
"""


@pytest.fixture
def short_session_server(tmp_path: Path) -> Iterator[str]:
    ensure_auth_bundle()
    data = tmp_path / "data"
    data.mkdir()
    add_user(data, "ada", "admin", PASSWORD)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (data / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", SHORT_SESSION_SERVE, str(data), str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (data / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_expired_session_returns_to_the_login_page(page: Any, short_session_server: str) -> None:
    url = short_session_server
    page.goto(url + "/tokens")
    log_in(page, "ada", PASSWORD)
    page.get_by_role("button", name="CREATE TOKEN").wait_for()
    # nothing else happens: the lifetime runs out, the next request (the audit log refreshes) answers 401
    page.get_by_text("Your session ended. Log in again to continue where you were.").wait_for(timeout=60_000)
    assert page.url == url + "/login?next=%2Ftokens"
    assert page.get_by_role("button", name="LOG IN").is_visible()


def test_one_time_login_url_logs_in_and_leaves_the_address_bar(
    page: Any, browser: Any, auth_server: AuthServer
) -> None:
    url = auth_server.login_url()
    code = LOGIN_URL.search(url).group(2)  # type: ignore[union-attr]
    page.goto(url)
    current_user(page).wait_for()
    assert "ada" in current_user(page).inner_text()
    assert code not in page.url
    assert code not in page.evaluate("location.href")
    assert "code=" not in page.evaluate("location.href")

    # used once: a second browser gets the password form and an explanation
    other = browser.new_context(viewport=WIDE)
    try:
        second = other.new_page()
        second.goto(url)
        second.get_by_text("This login link was already used or has expired").wait_for()
        assert code not in second.evaluate("location.href")
        assert second.locator('[aria-label="current user"]').count() == 0
    finally:
        other.close()


def test_no_login_and_no_user_when_auth_is_off(page: Any, tmp_path: Path) -> None:
    ensure_auth_bundle()
    proc = ServerProcess(data_dir=tmp_path / "data", db_url=None).start()
    try:
        page.goto(proc.url)
        page.get_by_text("no runs yet").first.wait_for()
        assert page.get_by_role("button", name="LOGOUT").count() == 0
        assert current_user(page).count() == 0
        assert "/login" not in page.url
        page.goto(proc.url + "/tokens")
        page.get_by_text("authentication is off on this server").wait_for()
    finally:
        proc.stop()


def test_admin_manages_users_and_a_viewer_sees_only_their_own(page: Any, browser: Any, auth_server: AuthServer) -> None:
    page.goto(auth_server.url + "/tokens")
    log_in(page, "ada", PASSWORD)
    form = page.get_by_role("form", name="add a user")
    form.get_by_label("name").fill("bob")
    form.get_by_label("role").select_option("editor")
    form.get_by_label("password").fill("bob's long password")
    form.get_by_role("button", name="ADD USER").click()
    users = page.get_by_role("table", name="users")
    users.locator('tr[data-user="bob"]').wait_for()
    users.get_by_label("role of bob").select_option("viewer")
    page.get_by_role("table", name="audit log").locator("td.audit-action", has_text="user_update").first.wait_for()

    other = browser.new_context(viewport=WIDE)
    try:
        bob = other.new_page()
        bob.goto(auth_server.url + "/tokens")
        log_in(bob, "bob", "bob's long password")
        bob.get_by_role("button", name="CREATE TOKEN").wait_for()
        assert "VIEWER" in current_user(bob).inner_text()
        scopes = bob.locator('select[name="token-scope"] option').all_inner_texts()
        assert scopes == ["read"]
        assert bob.get_by_role("table", name="users").count() == 0
        assert bob.get_by_role("table", name="audit log").count() == 0

        # disabled by the admin: bob cannot log in again
        row = users.locator('tr[data-user="bob"]')
        row.get_by_role("button", name="DISABLE").click()
        row.get_by_text("disabled", exact=True).wait_for()
        bob.get_by_role("button", name="LOGOUT").click()
        log_in(bob, "bob", "bob's long password")
        bob.get_by_role("alert").wait_for()
        assert current_user(bob).count() == 0
    finally:
        other.close()

    row = users.locator('tr[data-user="bob"]')
    row.get_by_role("button", name="REMOVE").click()
    row.get_by_role("button", name="YES, REMOVE").click()
    users.locator('tr[data-user="bob"]').wait_for(state="detached")
