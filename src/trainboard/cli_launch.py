"""``trainboard launch`` and ``trainboard cancel``: start a command on a provider of the server, follow it, stop it.

Client side only (httpx, nothing of the server). ``cli`` calls :func:`register` with its own error, client and
run-resolving helpers, so these commands report problems exactly as the others do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import typer

from trainboard import paths
from trainboard.cli_client import unreachable
from trainboard.cli_logs import follow_raw

Fail = Callable[..., Exception]
ClientFactory = Callable[..., Any]
Resolve = Callable[[str | None, str | None, str], str]


def parse_env(items: list[str], fail: Fail) -> dict[str, str]:
    """``KEY=VALUE`` pairs (``--env``); a bad item is a usage error naming it."""
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise fail(f"--env expects KEY=VALUE, got {item!r}", code=2)
        env[key] = value
    return env


def read_secrets(names: list[str], fail: Fail) -> dict[str, str]:
    """``--secret NAME``: the value of ``$NAME`` in this shell (so it is in neither argv nor shell history)."""
    out: dict[str, str] = {}
    for name in names:
        if name not in os.environ:
            raise fail(f"--secret {name}: ${name} is not set in this shell (export it first)", code=2)
        out[name] = os.environ[name]
    return out


def detail_of(resp: httpx.Response) -> str:
    """A refusal's ``detail`` as one line (422s list each field and problem)."""
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        return resp.text[:300]
    if isinstance(detail, list):
        parts = []
        for err in detail:
            loc = ".".join(str(p) for p in err.get("loc", []) if p != "body")
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return "; ".join(parts)
    return str(detail)


def final_code(run: dict[str, Any]) -> int:
    """The exit code ``--follow`` ends with: the job's, else 0 for completed and 1 for any other end."""
    code = run.get("exit_code")
    if isinstance(code, int):
        return code if 0 <= code <= 255 else 1
    return 0 if run.get("status") == "completed" else 1


def register(app: typer.Typer, *, fail: Fail, client: ClientFactory, resolve: Resolve, err: Any) -> None:
    """Add ``launch`` and ``cancel`` to ``app``."""

    @app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def launch(
        ctx: typer.Context,
        provider: Annotated[str, typer.Option("--provider", "-p", help="local, ray, slurm or runpod")] = "local",
        gpus: Annotated[int, typer.Option(min=0, max=64, help="GPUs (RunPod: 0 is a CPU-only pod)")] = 0,
        gpu_type: Annotated[str | None, typer.Option(help="GPU model (RunPod's GPU type id)")] = None,
        cpus: Annotated[float | None, typer.Option(min=0.001, help="CPU cores")] = None,
        memory: Annotated[int | None, typer.Option(min=1, help="Memory in MiB")] = None,
        time_limit: Annotated[int | None, typer.Option(min=1, help="Wall-clock limit in seconds")] = None,
        image: Annotated[str | None, typer.Option(help="Container image (RunPod; default: the server's)")] = None,
        cwd: Annotated[
            str | None,
            typer.Option(help="Working directory on the execution side (local: inside the server's --launch-root)"),
        ] = None,
        env: Annotated[
            list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE from the server's allowlist (repeatable)")
        ] = None,
        secret: Annotated[
            list[str] | None,
            typer.Option(help="NAME: pass $NAME of this shell to the job, never stored or shown (repeatable)"),
        ] = None,
        name: Annotated[str | None, typer.Option(help="Run name [default: the command's name]")] = None,
        project: Annotated[str, typer.Option(help="Project")] = "default",
        follow: Annotated[
            bool,
            typer.Option("--follow", "-f", help="Stream the output until the run ends and exit with its exit code"),
        ] = False,
        url: Annotated[
            str | None,
            typer.Option("--url", envvar="TRAINBOARD_URL", help="Server URL [default: http://127.0.0.1:8000]"),
        ] = None,
        token: Annotated[
            str | None, typer.Option("--token", help="A token with the launch scope [default: $TRAINBOARD_TOKEN]")
        ] = None,
    ) -> None:
        """Start CMD on a provider of the server as a new run and print its URL.

        Usage: trainboard launch --provider local [--gpus N] [--follow] -- CMD [ARGS...]. CMD is sent as a list of
        words and runs without a shell. With --follow, Ctrl-C stops following (the job goes on).
        """
        argv = list(ctx.args)
        if argv[:1] == ["--"]:
            argv = argv[1:]
        if not argv:
            raise fail("no command given: trainboard launch --provider P -- CMD [ARGS...]", code=2)
        body: dict[str, Any] = {
            "provider": provider,
            "argv": argv,
            "env": parse_env(env or [], fail),
            "secrets": read_secrets(secret or [], fail),
            "project": project,
            "resources": {
                "gpus": gpus,
                "cpus": cpus,
                "memory_mb": memory,
                "time_limit": time_limit,
                "gpu_type": gpu_type,
            },
        }
        for key, value in (("cwd", cwd), ("image", image), ("name", name)):
            if value is not None:
                body[key] = value
        base = paths.server_url(url)
        try:
            with client(url, token, read_timeout=None) as http:
                resp = http.post("/api/launch", json=body)
                if resp.status_code >= 400:
                    raise fail(f"launch refused ({resp.status_code}): {detail_of(resp)}")
                run = resp.json()
                run_id = str(run["id"])
                err.print(f"launched {run_id} on {provider}: {base}/runs/{run_id}", highlight=False, soft_wrap=True)
                if not follow:
                    print(f"{base}/runs/{run_id}")
                    return
                try:
                    follow_raw(http, run_id, fail=fail)
                except KeyboardInterrupt:
                    err.print(f"stopped following; the job goes on (trainboard cancel {run_id})", highlight=False)
                    raise typer.Exit(130) from None
                ended = http.get(f"/api/runs/{run_id}").json()
                if not ended.get("log_size"):  # it never printed: show the provider's own log
                    native = http.get(f"/api/runs/{run_id}/launch/logs")
                    if native.status_code == 200 and native.content:
                        err.print(f"{provider} log (before trainboard run took over):", highlight=False)
                        sys.stderr.buffer.write(native.content)
                        sys.stderr.buffer.flush()
                code = final_code(ended)
                err.print(f"run {run_id} {ended.get('status')} (exit {ended.get('exit_code')})", highlight=False)
        except httpx.HTTPError as exc:
            raise fail(unreachable(base, exc)) from None
        raise typer.Exit(code)

    @app.command()
    def cancel(
        run: Annotated[str, typer.Argument(metavar="RUN", help="Run id, name or short id", show_default=False)],
        url: Annotated[
            str | None,
            typer.Option("--url", envvar="TRAINBOARD_URL", help="Server URL [default: http://127.0.0.1:8000]"),
        ] = None,
        token: Annotated[
            str | None, typer.Option("--token", help="A token with the launch scope [default: $TRAINBOARD_TOKEN]")
        ] = None,
    ) -> None:
        """Stop a launched run (SIGTERM / stop / scancel / terminate; forced after the server's grace period)."""
        run_id = resolve(url, token, run)
        base = paths.server_url(url)
        try:
            with client(url, token) as http:
                resp = http.post(f"/api/runs/{run_id}/cancel", headers={"X-Trainboard": "1"})
                if resp.status_code >= 400:
                    raise fail(f"cancel refused ({resp.status_code}): {detail_of(resp)}")
                print(f"cancel sent to {run_id}: {resp.json().get('status')}")
        except httpx.HTTPError as exc:
            raise fail(unreachable(base, exc)) from None
