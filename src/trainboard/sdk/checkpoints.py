"""Checkpoint validation off the training thread, in submission order.

A checkpoint is valid when the file exists and is readable, and - when the program has already imported
PyTorch (``"torch" in sys.modules``) - when ``torch.load(path, map_location="cpu", weights_only=True)``
succeeds. The SDK never imports PyTorch itself: a first import of a multi-GB library on a background
thread is slow, races the program's own import, and a Keras or JAX script must not pay for it. An invalid
file is still registered, with ``valid=false`` and the reason; so is a checkpoint whose validation failed
in any other way (``validate`` never raises): a registration is never dropped.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from trainboard.sdk.task_thread import TaskThread

#: Where a launched job saves its checkpoints (set by the server when the job has a volume that outlives it:
#: RunPod's ``<mount>/trainboard/<run id>``); ``resume_or_create``'s default ``checkpoint_dir``.
CHECKPOINT_DIR_ENV = "TRAINBOARD_CHECKPOINT_DIR"
#: The checkpoint a relaunched job resumes from ("Run again" of a preempted run): a path or a URL.
RESUME_ENV = "TRAINBOARD_RESUME_FROM"


def default_checkpoint_dir() -> str | None:
    """``$TRAINBOARD_CHECKPOINT_DIR`` when set (a launched job on a volume), else None."""
    return os.environ.get(CHECKPOINT_DIR_ENV) or None


def resume_record() -> dict[str, Any] | None:
    """The checkpoint ``$TRAINBOARD_RESUME_FROM`` names, as a record (``{"path": ...}``), else None."""
    path = os.environ.get(RESUME_ENV)
    return {"path": path, "resumed_from": True} if path else None


def torch_loaded() -> bool:
    """Whether the program has imported PyTorch (the SDK never imports it on its own)."""
    return sys.modules.get("torch") is not None


def torch_available() -> bool:
    """Whether PyTorch can be imported (imports it: only for calls the user makes, never in the background)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def load_torch(path: str) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def validate(path: str) -> tuple[bool, str | None, int | None]:
    """(valid, reason when invalid, size in bytes when readable). A directory (a framework's checkpoint
    folder, e.g. HF ``checkpoint-500/``) is valid when it holds at least one readable file; its size is the
    sum of its files' sizes. Never raises: a validation that fails in any way makes the checkpoint invalid,
    with the error as the reason."""
    try:
        return _validate(path)
    except Exception as exc:
        return False, f"validation failed: {type(exc).__name__}: {str(exc)[:500]}", None


def _validate(path: str) -> tuple[bool, str | None, int | None]:
    if os.path.isdir(path):
        return _validate_dir(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        return False, f"cannot read the file: {exc.strerror or exc}", None
    if torch_loaded():
        try:
            load_torch(path)
        except Exception as exc:
            return False, f"torch.load failed: {type(exc).__name__}: {str(exc)[:500]}", size
    return True, None, size


def _validate_dir(path: str) -> tuple[bool, str | None, int | None]:
    size = 0
    files = 0
    try:
        for root, _dirs, names in os.walk(path):
            for name in names:
                size += os.path.getsize(os.path.join(root, name))
                files += 1
    except OSError as exc:
        return False, f"cannot read the directory: {exc.strerror or exc}", None
    if files == 0:
        return False, "the directory is empty", 0
    return True, None, size


class CheckpointWorker(TaskThread):
    """One daemon thread running tasks (validate+register, mark best) in order."""

    def __init__(self) -> None:
        super().__init__("trainboard-checkpoints", "checkpoint task failed")
