"""wandb names scripts touch besides runs and metrics: ``Settings``, ``Artifact``, ``Api``, ``errors``,
``sweep``/``agent``. Implemented where trainboard has the feature (an artifact's files become checkpoints of the
run, see ``Run.log_artifact``), otherwise accepted with one warning by name."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from trainboard.compat._wandb_notes import warn_once

__all__ = ["Api", "Artifact", "Error", "Settings", "agent", "errors", "sweep"]


class Settings(SimpleNamespace):
    """``wandb.Settings(...)``: accepted (any keyword), kept as attributes; nothing in it changes what is
    recorded."""


class Error(Exception):
    """``wandb.Error`` (base of ``wandb.errors.*``)."""


class CommError(Error):
    pass


class UsageError(Error):
    pass


class AuthenticationError(CommError):
    pass


#: ``wandb.errors``: the exception classes scripts catch (the shim raises none of them itself).
errors = SimpleNamespace(
    Error=Error, CommError=CommError, UsageError=UsageError, AuthenticationError=AuthenticationError
)


class Artifact:
    """``wandb.Artifact``: collects file paths; ``log_artifact`` registers each as a checkpoint of the run."""

    def __init__(
        self, name: str, type: str = "artifact", description: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self.name = name
        self.type = type
        self.description = description
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.files: list[Path] = []
        self.references: list[str] = []

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None, **kwargs: Any) -> None:
        self.files.append(Path(local_path))

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None, **kwargs: Any) -> None:
        self.files.extend(sorted(p for p in Path(local_path).rglob("*") if p.is_file()))

    def add_reference(self, uri: str, name: str | None = None, **kwargs: Any) -> None:
        self.references.append(str(uri))

    def new_file(self, name: str, mode: str = "w", encoding: str | None = None) -> Any:
        warn_once("wandb.Artifact.new_file", "writes into the current directory here (no artifact store)")
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.files.append(path)
        return open(path, mode, encoding=encoding)  # (the caller closes it, as with wandb)

    def download(self, root: str | None = None, **kwargs: Any) -> str:
        warn_once("wandb.Artifact.download", "downloads nothing here (no artifact store): returns the current folder")
        return str(root or os.getcwd())

    def wait(self, timeout: int | None = None) -> Artifact:
        return self

    def __repr__(self) -> str:
        return f"Artifact(name={self.name!r}, type={self.type!r}, files={len(self.files)})"


class Api:
    """``wandb.Api()``: reading the wandb server is not available; every query answers empty (one warning)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warn_once("wandb.Api", "does nothing here (query trainboard with `trainboard ls` or GET /api/runs)")

    def runs(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def run(self, *args: Any, **kwargs: Any) -> None:
        return None

    def artifact(self, *args: Any, **kwargs: Any) -> None:
        return None

    def projects(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


def sweep(sweep: Any = None, entity: str | None = None, project: str | None = None, **kwargs: Any) -> str:
    """``wandb.sweep``: no sweep controller here; returns a placeholder id (one warning)."""
    warn_once("wandb.sweep", "does nothing here (no sweeps yet): wandb.agent runs the function once, unswept")
    return "trainboard-no-sweep"


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
) -> None:
    """``wandb.agent``: calls ``function`` once with the config given to ``init`` (no sweep parameters)."""
    warn_once("wandb.agent", f"runs the function once without sweep parameters here (count={count} ignored)")
    if function is not None:
        function()
