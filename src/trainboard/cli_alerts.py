"""``trainboard alert add|list|remove|test``: alert rules on a server, through its HTTP API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from trainboard import cli_common as common
from trainboard import paths
from trainboard.cli_common import TokenOpt, UrlOpt, fail

alert_app = typer.Typer(help="Alert rules: notify Slack, Discord, e-mail or a webhook when a run needs you.")


def register(app: typer.Typer) -> None:
    """Add the ``alert`` group to ``app``."""
    app.add_typer(alert_app, name="alert")


def _param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise fail(f'--param {text!r}: expected NAME=VALUE (VALUE as JSON when it parses: 10, 0.5, ["failed"])')
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


def _call(url: str | None, token: str | None, method: str, path: str, body: Any = None) -> Any:
    import httpx

    from trainboard.cli_client import unreachable
    from trainboard.sdk.transport import response_detail

    try:
        with common.client(url, token) as c:
            # a request without a JSON body says it is not from a web page (the server's CSRF guard)
            resp = c.request(method, path, json=body, headers={"X-Trainboard": "1"})
    except httpx.HTTPError as exc:
        raise fail(unreachable(paths.server_url(url), exc)) from None
    if resp.status_code >= 400:
        raise fail(f"{method} {path}: {response_detail(resp)}")
    return resp.json() if resp.content else None


@alert_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="What the alert is called in notifications")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="nan | threshold | change | divergence | plateau | stall | queued | throughput | system | status "
            "| log",
        ),
    ],
    project: Annotated[
        str | None, typer.Option("--project", help="Every run of this project (present and future)")
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Or one run (id or name)")] = None,
    key: Annotated[
        str | None, typer.Option("--key", help="The metric key (globs allowed: 'sys/gpu*/utilization')")
    ] = None,
    params: Annotated[
        list[str] | None,
        typer.Option("--param", help="A condition parameter NAME=VALUE (repeatable): value=10, op=below"),
    ] = None,
    channels: Annotated[
        list[str] | None,
        typer.Option(
            "--channel", help="An Apprise URL (slack://, discord://, mailto://, json://...) or webhook+https://"
        ),
    ] = None,
    for_seconds: Annotated[float, typer.Option("--for", help="Seconds the condition must hold before firing")] = 0.0,
    repeat: Annotated[float | None, typer.Option("--repeat", help="Re-notify every N seconds while firing")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Add a rule; prints its id."""
    if (project is None) == (run is None):
        raise fail("give --project (every run of it) or --run (one run)")
    condition: dict[str, Any] = {"kind": kind, **dict(_param(p) for p in params or [])}
    if key is not None:
        condition["key"] = key
    body: dict[str, Any] = {
        "name": name,
        "condition": condition,
        "channels": channels or [],
        "for_seconds": for_seconds,
        "repeat_seconds": repeat,
    }
    if project is not None:
        body["project"] = project
    else:
        assert run is not None
        body["run_id"] = common.resolve(url, token, run)
    rule = _call(url, token, "POST", "/api/alert-rules", body)
    typer.echo(f"rule {rule['id']}: {rule['name']} — {rule['description']}")


@alert_app.command("list")
def list_rules(
    project: Annotated[str | None, typer.Option("--project")] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """The rules, with what each watches and where it notifies (channel secrets are never shown)."""
    rules = common.get(url, token, "/api/alert-rules", project=project)["rules"]
    if not rules:
        typer.echo("no alert rules")
        return
    for r in rules:
        scope = f"project {r['project']}" if r["project"] is not None else f"run {r['run_id']}"
        state = "" if r["enabled"] else " (disabled)"
        channels = ", ".join(r["channels"]) or "no channels: the dashboard only"
        typer.echo(f"{r['id']:>4}  {r['name']}{state}  [{scope}]  {r['description']}  -> {channels}")


@alert_app.command("remove")
def remove(
    rule_id: Annotated[int, typer.Argument(help="The rule's id (trainboard alert list)")],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Remove a rule (its open alerts resolve; their history stays)."""
    _call(url, token, "DELETE", f"/api/alert-rules/{rule_id}")
    typer.echo(f"removed rule {rule_id}")


@alert_app.command("test")
def test(
    rule_id: Annotated[int, typer.Argument(help="The rule's id (trainboard alert list)")],
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Send a test notification to each of the rule's channels now; exit 1 if any failed."""
    results = _call(url, token, "POST", f"/api/alert-rules/{rule_id}/test")["results"]
    if not results:
        typer.echo("the rule has no channels (its alerts show in the dashboard only)")
    for r in results:
        typer.echo(f"{'ok    ' if r['ok'] else 'FAILED'} {r['channel']}" + (f": {r['error']}" if r["error"] else ""))
    if any(not r["ok"] for r in results):
        raise typer.Exit(1)
