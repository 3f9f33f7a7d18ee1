"""``trainboard serve`` and ``trainboard demo``: the dashboard's options, checked before anything starts (a bad
value is one line and exit 2), turned into ``server.settings.Settings``; the server itself is
``server/lifecycle/serve.py``, the demo's runs ``demo/runner.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trainboard import cli_common as common
from trainboard import paths
from trainboard.cli_color import ColorMode
from trainboard.cli_common import ColorOpt, DataOpt, DbOpt, fail, need_server, safe_db, server_settings, version


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``demo`` to ``app``."""
    app.command()(serve)
    app.command()(demo)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (use 0.0.0.0 to expose it)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    data: DataOpt = None,
    db: DbOpt = None,
    redis: Annotated[
        str | None,
        typer.Option("--redis", envvar="TRAINBOARD_REDIS", help="Redis URL for live fan-out between server processes"),
    ] = None,
    heartbeat_timeout: Annotated[
        float, typer.Option(help="Seconds without a heartbeat before a running run is marked interrupted")
    ] = 60.0,
    checkpoint_root: Annotated[
        list[Path] | None,
        typer.Option(help="Directory whose checkpoint files may be downloaded/deleted through the API (repeatable)"),
    ] = None,
    log_limit_per_run: Annotated[
        str,
        typer.Option(
            help="Log bytes kept per run, e.g. 500MB (oldest trimmed first, recorded in the run's "
            "events); 0 = unlimited"
        ),
    ] = "0",
    log_limit_total: Annotated[
        str, typer.Option(help="Log bytes kept for all runs together, e.g. 20GB; 0 = unlimited")
    ] = "0",
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Host header name to accept (repeatable; '*.example.org' for a domain, '*' for any) [default: "
            "the bind address, the TLS certificate's names, the loopback names on loopback, this machine's names "
            "and addresses on 0.0.0.0; a DNS-rebinding page's name is refused]"
        ),
    ] = None,
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="Origin (scheme://host[:port]) whose pages may use the API besides the server's own, e.g. a "
            "reverse proxy's public address (repeatable)"
        ),
    ] = None,
    max_streams_per_client: Annotated[
        int, typer.Option(min=1, help="Open live streams (SSE, WebSockets) per client address (then 429)")
    ] = 128,
    max_streams: Annotated[int, typer.Option(min=1, help="Open live streams in total (then 503)")] = 1024,
    header_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a client may take to send a request's headers (then 408)")
    ] = 10.0,
    body_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a client may take to send a request's body (then 408)")
    ] = 60.0,
    write_stall_timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds a response may stay blocked on a client that reads nothing (then the connection is "
            "closed; a slow but steady reader is never cut)",
        ),
    ] = 60.0,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Serve without authentication even on a non-loopback address (warned at every start); "
            "only behind something else that authenticates",
        ),
    ] = False,
    auth_proxy_header: Annotated[
        str | None,
        typer.Option(
            help="Header an SSO proxy sets to the signed-in user (e.g. X-Forwarded-Email), trusted only from "
            "--auth-proxy-from"
        ),
    ] = None,
    auth_proxy_from: Annotated[
        list[str] | None,
        typer.Option(help="Address or CIDR of the SSO proxy whose --auth-proxy-header is trusted (repeatable)"),
    ] = None,
    forwarded_allow_ips: Annotated[
        list[str] | None,
        typer.Option(
            "--forwarded-allow-ips",
            envvar="FORWARDED_ALLOW_IPS",
            help="Address or CIDR of a reverse proxy whose X-Forwarded-For/-Proto are believed (repeatable or "
            "comma-separated; e.g. 127.0.0.1 for nginx on this machine) [default: none; --auth-proxy-from is "
            "trusted too]",
        ),
    ] = None,
    min_password_length: Annotated[
        int,
        typer.Option(
            min=1, envvar="TRAINBOARD_MIN_PASSWORD_LENGTH", help="Shortest password accepted for a user (the API)"
        ),
    ] = 12,
    auth_proxy_role: Annotated[
        str, typer.Option(help="Role of users the SSO proxy brings in for the first time: viewer, editor or admin")
    ] = "viewer",
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM, with its chain) to serve HTTPS; needs --ssl-keyfile")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM) for --ssl-certfile")] = None,
    allow_launch: Annotated[
        bool,
        typer.Option(
            "--allow-launch",
            help="Let admins and users granted launch (trainboard user update NAME --launch) start commands on "
            "the providers of <data>/providers.toml (local: on this machine): remote code execution by design, "
            "off by default; refused with --no-auth off loopback",
        ),
    ] = False,
    launch_root: Annotated[
        Path | None,
        typer.Option(help="Directory local launches must run inside (their working directory; symlinks resolved)"),
    ] = None,
    cancel_grace: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Seconds from a cancel's SIGTERM to SIGKILL [default: providers.toml's cancel_grace, else 10]"
        ),
    ] = None,
    exporters: Annotated[
        Path | None,
        typer.Option(
            envvar="TRAINBOARD_EXPORTERS",
            help="Log export config (Loki, OpenTelemetry, syslog sinks; see the README) [default: "
            "<data>/exporters.toml when present]",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port; more than 1 needs PostgreSQL (--db) and Redis (--redis). "
            "Stream caps apply per process",
        ),
    ] = 1,
    log_format: Annotated[
        str, typer.Option(help="Server log: text, or json (one event per line, every request with its duration)")
    ] = "text",
    log_file: Annotated[
        Path | None, typer.Option(help="Write the server log to this file (reopened when logrotate moves it)")
    ] = None,
    plugin: Annotated[
        list[str] | None,
        typer.Option(
            envvar="TRAINBOARD_PLUGINS",
            help="Enable an installed plugin (entry point or package name; repeatable; plugins run code, so "
            "none is loaded unless named). trainboard plugins lists them",
        ),
    ] = None,
) -> None:
    """Run the server and web UI."""
    need_server("serve")
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise fail("--ssl-certfile and --ssl-keyfile go together: give both to serve HTTPS", code=2)
    for option, file in (("--ssl-certfile", ssl_certfile), ("--ssl-keyfile", ssl_keyfile)):
        if file is not None and not file.is_file():
            raise fail(f"{option}: {file} is not a readable file", code=2)
    if log_format not in ("text", "json"):
        raise fail(f"--log-format: use text or json, not {log_format!r}", code=2)
    if auth_proxy_from and not auth_proxy_header:
        raise fail("--auth-proxy-from needs --auth-proxy-header (the header the proxy sets)", code=2)
    if launch_root is not None and not launch_root.is_dir():
        raise fail(f"--launch-root: {launch_root} is not a directory", code=2)
    from trainboard.plugins import parse_names

    if allow_launch:
        from trainboard.server.providers.registry import ConfigError, load_config

        try:
            load_config(paths.data_dir(data) / "providers.toml", plugins=parse_names(plugin))
        except ConfigError as exc:
            raise fail(str(exc), code=2) from None
    if exporters is None and (paths.data_dir(data) / "exporters.toml").is_file():
        exporters = paths.data_dir(data) / "exporters.toml"
    if exporters is not None:  # checked now: a bad file is one line naming the file, the sink and the field
        from trainboard.server.export.config import ConfigError as ExportConfigError
        from trainboard.server.export.config import load_exporters

        try:
            load_exporters(exporters.resolve())
        except ExportConfigError as exc:
            raise fail(f"--exporters: {exc}", code=2) from None
    settings = server_settings(
        data,
        db,
        redis_url=redis,
        host=host,
        port=port,
        heartbeat_timeout=heartbeat_timeout,
        checkpoint_roots=tuple(p.resolve() for p in checkpoint_root or ()),
        log_limit_per_run=parse_size(log_limit_per_run, "--log-limit-per-run"),
        log_limit_total=parse_size(log_limit_total, "--log-limit-total"),
        allowed_hosts=tuple(allowed_host) if allowed_host else None,
        allowed_origins=tuple(allowed_origin or ()),
        max_streams_per_client=max_streams_per_client,
        max_streams=max_streams,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        write_stall_timeout=write_stall_timeout,
        no_auth=no_auth,
        auth_proxy_header=auth_proxy_header,
        auth_proxy_from=tuple(auth_proxy_from or ()),
        forwarded_allow_ips=tuple(forwarded_allow_ips or ()),
        min_password_length=min_password_length,
        allow_launch=allow_launch,
        launch_root=launch_root.resolve() if launch_root is not None else None,
        cancel_grace=cancel_grace,
        auth_proxy_role=auth_proxy_role,
        ssl_certfile=str(ssl_certfile.resolve()) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile.resolve()) if ssl_keyfile else None,
        workers=workers,
        exporters=exporters.resolve() if exporters is not None else None,
        log_format=log_format,
        log_file=str(log_file.resolve()) if log_file else None,
        plugins=parse_names(plugin),
    )
    from trainboard.server.http.guard import parse_origins

    try:
        parse_origins(settings.allowed_origins)
    except ValueError as exc:
        raise fail(f"--allowed-origin: {exc}", code=2) from None
    from trainboard.server.lifecycle.serve import ServeRefused, check_workers
    from trainboard.server.lifecycle.serve import serve as run_server

    try:
        check_workers(settings)
    except ServeRefused as exc:
        raise fail(str(exc), code=2) from None

    banner = (
        f"trainboard {version()} serving on {'https' if ssl_certfile else 'http'}://{host}:{port}  "
        f"(data: {settings.data_dir}, db: {safe_db(settings.database_url)})"
    )
    run_server(settings, log_level=log_level, banner=banner)  # prints it once every refusal is ruled out


def parse_size(text: str, option: str) -> int:
    """Parse a size such as ``500MB``, ``2GiB`` or ``1048576``."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?\s*", text, re.I)
    if not m:
        raise fail(f"{option}: expected a size such as 500MB or 1048576, got {text!r}", code=2)
    scale = 1024 if (m.group(3) or "").lower() == "ib" else 1000
    power = " KMGT".index((m.group(2) or " ").upper())
    return int(float(m.group(1)) * scale**power)


def demo(
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    data: DataOpt = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run each demo run once, then only serve (default: again and again)")
    ] = False,
    loop: Annotated[bool, typer.Option("--loop", hidden=True, help="The default now; kept for old scripts")] = False,
    scale: Annotated[
        float, typer.Option("--scale", hidden=True, min=0.001, max=100.0, help="Steps per epoch, times this")
    ] = 1.0,
    color: ColorOpt = ColorMode.AUTO,
) -> None:
    """Serve the dashboard on the embedded default (SQLite) and keep synthetic training runs going live
    until Ctrl-C, each starting again when it ends (tqdm bars, ANSI colours, metrics, checkpoints, warnings,
    and a run whose 10x learning rate makes it diverge), printing the URL and what happens."""
    common.set_color(color)
    need_server("demo", "tqdm")
    settings = server_settings(data, None, host=host, port=port)
    from trainboard.demo.runner import run_demo

    raise typer.Exit(run_demo(settings, once=once and not loop, console=common.err, scale=scale))
