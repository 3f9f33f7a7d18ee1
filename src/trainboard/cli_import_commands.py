"""``trainboard import tensorboard|wandb|mlflow|neptune``: runs read from other tools' files (the readers are
``trainboard.importers``, the upload ``cli_import``) and sent to the running server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from trainboard import cli_common as common
from trainboard import paths
from trainboard.cli_common import TokenOpt, UrlOpt, fail

import_app = typer.Typer(help="Import runs from other tools into the running server.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``import`` group to ``app``."""
    app.add_typer(import_app, name="import")


@import_app.command("tensorboard")
def import_tensorboard(
    logdir: Annotated[Path, typer.Argument(help="A TensorBoard log directory (searched recursively)")],
    project: Annotated[str, typer.Option("--project", help="Project of the imported runs")] = "default",
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import every scalar (step, wall time) of a TensorBoard log directory: one run per folder holding event
    files. Sent to the running server; importing the same directory again adds nothing. What is not imported
    (histograms, images, text, ...) is counted per run."""
    _need_reader("tensorboard", "pip install 'trainboard[tensorboard]'")
    from trainboard.importers.tensorboard import read_logdir

    if not logdir.is_dir():
        raise fail(f"{logdir} is not a directory", code=2)
    _import_runs(read_logdir(logdir), url, token, project, what=f"TensorBoard event files under {logdir}")


@import_app.command("wandb")
def import_wandb(
    path: Annotated[
        Path, typer.Argument(help="An offline wandb run directory (wandb/offline-run-*), a .wandb file or a folder")
    ],
    project: Annotated[
        str | None, typer.Option("--project", help="Project of the imported runs [default: the wandb project]")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import offline or synced wandb run directories (history with steps and times, config, summary, tags,
    notes, exit code), read with wandb's own log reader (needs wandb installed). Importing the same run again
    adds nothing. What is not imported (media, tables, histograms, text values) is counted per run."""
    _need_reader("wandb", "pip install wandb")
    from trainboard.importers.wandb import read_path

    if not path.exists():
        raise fail(f"{path} does not exist", code=2)
    _import_runs(read_path(path), url, token, project, what=f".wandb run files under {path}")


@import_app.command("mlflow")
def import_mlflow(
    source: Annotated[
        str, typer.Argument(help="An mlruns directory (MLflow's file store) or a tracking server's URL (http://...)")
    ],
    project: Annotated[
        str | None, typer.Option("--project", help="Project of the imported runs [default: the MLflow experiment]")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import MLflow runs (params as config, every metric point with its step and timestamp, tags, notes, status,
    start time) from an mlruns directory, read directly, or through a tracking server's REST API. Importing the
    same runs again adds nothing. What is not imported (artifacts, logged models, dataset inputs, deleted runs) is
    counted."""
    from trainboard.cli_import import left_out_line, mlflow_runs
    from trainboard.importers.mlflow import LeftOut
    from trainboard.importers.mlflow_rest import MlflowServerError

    if not source.startswith(("http://", "https://", "file:")) and not Path(source).is_dir():
        raise fail(f"{source} is not a directory (an mlruns folder) or an http(s):// URL", code=2)
    left_out = LeftOut()
    try:
        _import_runs(mlflow_runs(source, left_out), url, token, project, what=f"MLflow runs in {source}")
    except MlflowServerError as exc:
        raise fail(str(exc)) from None
    if line := left_out_line(left_out.counts):
        common.console.print(line, highlight=False, soft_wrap=True)


@import_app.command("neptune")
def import_neptune(
    path: Annotated[Path, typer.Argument(help="neptune-exporter's --data-path (or one .parquet file)")],
    project: Annotated[
        str | None, typer.Option("--project", help="Project of the imported runs [default: the Neptune project]")
    ] = None,
    step_multiplier: Annotated[
        int, typer.Option(min=1, help="Multiplies Neptune's decimal steps into integers (as the exporter's loaders)")
    ] = 1,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import the Parquet files neptune-exporter wrote: float series as metrics (steps and times), single values
    as config, tags, description, failed state, creation time. Importing the same files again adds nothing. What
    is not imported (text series, histograms, files, points at fractional steps) is counted per run."""
    _need_reader("pyarrow", "pip install 'trainboard[parquet]'")
    from collections import Counter

    from trainboard.cli_import import left_out_line
    from trainboard.importers.neptune import read_exports

    if not path.exists():
        raise fail(f"{path} does not exist", code=2)
    left_out: Counter[str] = Counter()
    runs = read_exports(path, step_multiplier=step_multiplier, left_out=left_out)
    _import_runs(runs, url, token, project, what=f"neptune-exporter Parquet files under {path}")
    if line := left_out_line(left_out):
        common.console.print(line, highlight=False, soft_wrap=True)


@import_app.command("aim")
def import_aim(
    path: Annotated[Path, typer.Argument(help="An Aim repository: the folder holding .aim (or .aim itself)")],
    project: Annotated[
        str | None, typer.Option("--project", help="Project of the imported runs [default: the Aim experiment]")
    ] = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import an Aim repository's runs (params as config, every metric point with step, epoch and time; a context
    makes its own key, e.g. loss/subset=train), tags, description, end state. Importing again adds nothing. What
    is not imported (images, distributions, texts, figures, audios, terminal logs) is counted per run."""
    from trainboard.cli_import import aim_runs

    _import_runs(aim_runs(path, fail), url, token, project, what=f"Aim runs in {path}")


def _need_reader(module: str, how: str) -> None:
    """``trainboard import`` reads through the tool's own library: a clear line when it is not installed."""
    from importlib.util import find_spec

    if find_spec(module) is None:
        raise fail(f"trainboard import {module} reads with the {module} package, which is not installed: {how}")


def _import_runs(runs: Any, url: str | None, token: str | None, project: str | None, *, what: str) -> None:
    import httpx

    from trainboard.cli_client import unreachable
    from trainboard.cli_import import import_runs

    base = paths.server_url(url)
    count = 0
    try:
        with common.client(url, token) as client:
            count = import_runs(
                client,
                runs,
                project=project,
                fail=fail,
                echo=lambda line: common.console.print(line, highlight=False, soft_wrap=True),
            )
    except httpx.HTTPError as exc:
        raise fail(unreachable(base, exc)) from None
    if count == 0:
        raise fail(f"no {what}")
