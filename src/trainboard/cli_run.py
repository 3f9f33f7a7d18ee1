"""``trainboard run -- CMD``: the Typer command (its options and help). A plain command line is read without
Typer by ``cli_record.fast_run`` (see there); both end in ``cli_record.record``."""

from __future__ import annotations

from typing import Annotated

import typer

from trainboard.cli_common import DataOpt, TokenOpt, UrlOpt, fail


def register(app: typer.Typer) -> None:
    """Add ``run`` to ``app``."""
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(run)


def run(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Run name [default: the command's name]")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project [default: default]")] = None,
    url: UrlOpt = None,
    data: DataOpt = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            help="Record into this existing run (created beforehand, e.g. by `trainboard launch`: it turns "
            "from queued to running) [default: a new run]",
        ),
    ] = None,
    mirror: Annotated[
        bool,
        typer.Option(
            "--mirror/--no-mirror",
            help="Echo CMD's output on this terminal, or only record it (a job started by a server has no terminal)",
        ),
    ] = True,
    flush_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds the end waits without upload progress (it goes on while the upload makes progress, "
            "300 s at most in all; what is left stays spooled for `trainboard sync`)"
        ),
    ] = 10.0,
    system_interval: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds between system samples (CPU, RAM, the command's RSS, disk, network, GPUs); 0 turns them off",
        ),
    ] = 5.0,
    separate_stderr: Annotated[
        bool | None,
        typer.Option(
            "--separate-stderr/--merge-stderr",
            help="Keep stderr apart on its own pseudo-terminal, or merge it with stdout on one (exact order, as "
            "a terminal shows it) [default: merged when this command's stdout and stderr are the same terminal "
            "or file, else separate]",
            show_default=False,
        ),
    ] = None,
    token: TokenOpt = None,
    parse_metrics: Annotated[
        bool,
        typer.Option(
            "--parse-metrics/--no-parse-metrics",
            help="Turn the metric reports CMD prints (HF Trainer log dicts, Keras epoch lines, tqdm postfixes that "
            "name a step, key=value lines; never banners, tables or tracebacks) and the TensorBoard event files it "
            "writes under the working directory into metrics; parsed keys are listed in the run's config under "
            "trainboard.parsed_keys with their printed digits (trainboard.parsed_digits) and never override what "
            "its SDK logs",
        ),
    ] = True,
) -> None:
    """Run CMD under a pseudo-terminal, mirror its output unchanged and record it as a run.

    Usage: trainboard run [--name N] [--project P] -- CMD [ARGS...]. Exits with CMD's exit code.
    """
    argv = list(ctx.args)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    from trainboard.cli_record import RunError, record

    try:
        code = record(
            argv,
            name=name,
            project=project,
            url=url,
            data=data,
            run_id=run_id,
            mirror=mirror,
            flush_timeout=flush_timeout,
            system_interval=system_interval,
            separate_stderr=separate_stderr,
            token=token,
            parse_metrics=parse_metrics,
        )
    except RunError as exc:
        raise fail(str(exc), code=exc.code) from None
    raise typer.Exit(code)
