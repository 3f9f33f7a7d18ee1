"""The server's settings: one object, built by the caller (CLI or test), never read at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trainboard.server.http.loopback import is_loopback


@dataclass(frozen=True)
class Settings:
    """Everything ``create_app`` needs. Paths are absolute."""

    data_dir: Path
    #: SQLAlchemy URL; ``None`` means SQLite ``trainboard.db`` in ``data_dir``.
    db_url: str | None = None
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    #: Directories whose checkpoint files may be downloaded or deleted through the API.
    checkpoint_roots: tuple[Path, ...] = field(default_factory=tuple)
    #: A running run with no heartbeat for this long is marked interrupted (seconds).
    heartbeat_timeout: float = 60.0
    #: Log retention: bytes kept per run and in total (oldest bytes trimmed first); 0 = unlimited.
    log_limit_per_run: int = 0
    log_limit_total: int = 0
    #: Host system sampling for /api/system/*: interval and retention (seconds).
    system_interval: float = 5.0
    system_retention: float = 24 * 3600.0
    #: Serve the built web UI at / when present.
    serve_ui: bool = True
    #: Host headers accepted (``*`` any, ``*.example.org`` a domain's names). ``None``: the server's own names
    #: (``server/http/hosts.py``), so a web page using DNS rebinding cannot reach the API on any bind.
    allowed_hosts: tuple[str, ...] | None = None
    #: Origins (``scheme://host[:port]``) whose pages may use the API besides the server's own (e.g. a
    #: reverse proxy's public address when it does not forward the Host header). See ``guard``.
    allowed_origins: tuple[str, ...] = ()
    #: Open streams (Server-Sent Events and WebSockets) per client address and in total (``limits``).
    max_streams_per_client: int = 128
    max_streams: int = 1024
    #: Bytes queued for one stream subscriber at most; a client further behind is disconnected with a
    #: reason and resumes from its offset.
    stream_buffer_bytes: int = 1024 * 1024
    #: Seconds a client may take to send a request's headers, then its body; and that a response may
    #: stay stalled on a client that does not read (``protocol``).
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    write_stall_timeout: float = 60.0
    #: Authentication (``server/auth``): off only on loopback with no users, or with ``no_auth`` (warned).
    no_auth: bool = False
    #: A header an SSO proxy sets to the user's name/email, trusted only from ``auth_proxy_from`` peers
    #: (addresses or CIDRs); unknown users are created with ``auth_proxy_role``.
    auth_proxy_header: str | None = None
    auth_proxy_from: tuple[str, ...] = ()
    auth_proxy_role: str = "viewer"
    #: Reverse proxies (addresses or CIDRs, ``*`` for any) whose ``X-Forwarded-For``/``-Proto`` are believed;
    #: the ``auth_proxy_from`` peers are trusted too. Nobody else's (``server/http/forwarded.py``).
    forwarded_allow_ips: tuple[str, ...] = ()
    #: The shortest password accepted for a user (``auth/accounts.check_password``).
    min_password_length: int = 12
    #: Browser sessions end after this long unused, and this long after login in any case (seconds).
    session_idle_seconds: float = 12 * 3600.0
    session_max_seconds: float = 7 * 86400.0
    #: Failed logins per user name and per client address in ``login_window`` seconds, then 429.
    login_failures: int = 5
    login_window: float = 60.0
    #: Seconds between the credential re-checks of an open stream (a revoked token closes it).
    stream_recheck_seconds: float = 2.0
    #: Server processes sharing the listening socket (``serve --workers``); more than one needs PostgreSQL
    #: (and Redis for live fan-out between them): see ``server.workers``.
    workers: int = 1
    #: The server's own log (``observability.logs``): "text" or "json" (one event per line, requests
    #: included), to stderr or to ``log_file`` (reopened after logrotate moves it).
    log_format: str = "text"
    log_file: str | None = None
    #: TLS (uvicorn's): HSTS and ``Secure`` cookies when set.
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    #: Launching runs (``server/providers``): off unless set; local jobs' working directories lie inside
    #: ``launch_root``; ``cancel_grace`` (seconds from SIGTERM to SIGKILL) overrides ``providers.toml``.
    allow_launch: bool = False
    launch_root: Path | None = None
    cancel_grace: float | None = None
    #: Log export (``server/export``): the ``exporters.toml`` naming the sinks; ``None``: no export.
    exporters: Path | None = None
    #: Plugins the operator enabled (``serve --plugin NAME``): entry point names, distribution names or
    #: ``GROUP:NAME`` (``trainboard.plugins``); installed plugins not named here are never imported.
    plugins: tuple[str, ...] = ()

    @property
    def is_loopback(self) -> bool:
        """Bound to a loopback address only: an IP in 127.0.0.0/8, ::1, or the name ``localhost``."""
        return is_loopback(self.host)

    @property
    def database_url(self) -> str:
        """The effective database URL."""
        if self.db_url:
            url = self.db_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            elif url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url[len("postgres://") :]
            return url
        return f"sqlite:///{self.data_dir / 'trainboard.db'}"
