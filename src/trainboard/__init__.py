"""trainboard: a self-hosted, real-time dashboard for ML training runs.

The public SDK is small::

    from trainboard import TrainingMonitor

    with TrainingMonitor(run_name="exp", config={"lr": 1e-3}) as monitor:
        monitor.log_metrics({"loss": 0.42}, step=1)

or, module-level: ``trainboard.init(...)``, ``trainboard.log(metrics, step=None)``,
``trainboard.finish(status="completed")``, ``trainboard.current_monitor()`` (the run ``init`` started, or
``None``: what integrations log to); ``trainboard.autolog()`` for HF and Lightning trainers
(``trainboard.integrations`` holds the callbacks). Importing ``trainboard`` loads nothing heavy: the
monitor (and httpx) load on first use, and the server is never imported by the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainboard._version import __version__

if TYPE_CHECKING:
    from trainboard.sdk.monitor import TrainingMonitor
    from trainboard.sdk.rich import Histogram, Image, Table, Text

__all__ = [
    "Histogram",
    "Image",
    "Table",
    "Text",
    "TrainingMonitor",
    "__version__",
    "autolog",
    "current_monitor",
    "finish",
    "init",
    "log",
]

_current: TrainingMonitor | None = None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name == "TrainingMonitor":
        from trainboard.sdk.monitor import TrainingMonitor

        return TrainingMonitor
    if name in ("Histogram", "Image", "Table", "Text"):  # rich values for log_metrics (sdk/rich.py)
        from trainboard.sdk import rich

        return getattr(rich, name)
    raise AttributeError(f"module 'trainboard' has no attribute {name!r}")


def init(run_name: str | None = None, config: dict[str, Any] | None = None, **kwargs: Any) -> TrainingMonitor:
    """Start a run and make it the current one for ``log``/``finish``; arguments as ``TrainingMonitor``."""
    global _current
    from trainboard.sdk.monitor import TrainingMonitor

    if _current is not None:
        _current.finish()
    _current = TrainingMonitor(run_name, config, **kwargs)
    return _current


def current_monitor() -> TrainingMonitor | None:
    """The run ``trainboard.init()`` started and ``finish()`` has not ended yet, else ``None``. Integrations
    (``trainboard.integrations``) log to it when they were given no monitor of their own."""
    return _current


def log(metrics: dict[str, Any], step: int | None = None) -> None:
    """Log metrics to the current run (see ``TrainingMonitor.log_metrics``)."""
    if _current is None:
        raise RuntimeError("trainboard.log() called before trainboard.init()")
    _current.log_metrics(metrics, step=step)


def autolog(disable: bool = False) -> list[str]:
    """Make every HF ``Trainer`` and Lightning ``Trainer`` created from now on log to trainboard (adds
    ``TrainboardCallback`` / ``TrainboardLogger``); idempotent, ``disable=True`` undoes it. Returns the
    frameworks patched. See ``trainboard.integrations.autolog``."""
    from trainboard.integrations.autolog import autolog as _autolog

    return _autolog(disable)


def finish(status: str = "completed") -> bool:
    """Finish the current run with ``status``; returns whether all data was uploaded."""
    global _current
    if _current is None:
        return True
    monitor, _current = _current, None
    return monitor.finish(status)
