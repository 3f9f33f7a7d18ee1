"""Lightning: ``TrainboardLogger`` for ``Trainer(logger=...)``, usable next to other loggers.

    from lightning.pytorch.loggers import CSVLogger
    from trainboard.integrations.lightning import TrainboardLogger

    trainer = Trainer(logger=[TrainboardLogger(), CSVLogger("logs")])

``log_hyperparams`` becomes the run's config, ``log_metrics`` metrics at Lightning's step, and every
checkpoint ``ModelCheckpoint`` saves is registered (with its monitored score). ``finalize`` marks the run
with the outcome of ``fit``/``test`` and flushes; the run stays open for a later ``trainer.test()`` and
is finished at interpreter exit. Only global rank zero logs (Lightning's ``rank_zero_only``).
"""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from trainboard.integrations._common import RunHandle, env_rank, numeric, plain_config

if TYPE_CHECKING:
    from lightning.pytorch.callbacks import ModelCheckpoint

    from trainboard.sdk.monitor import TrainingMonitor

#: Lightning's ``finalize`` statuses mapped to run statuses.
STATUSES = {"success": "completed", "failed": "failed", "finished": "completed", "interrupted": "interrupted"}


def _main() -> bool:
    return int(getattr(rank_zero_only, "rank", 0) or 0) == 0 and env_rank() == 0


class TrainboardLogger(Logger):
    """Logs a Lightning ``Trainer`` to trainboard.

    Args:
        name: the run's name (default: the script's name); also Lightning's logger ``name``.
        project: the run's project.
        save_dir: where Lightning may put this logger's files (``None``: this logger writes none).
        monitor: log to this ``TrainingMonitor`` instead of making one (it is not finished here).
        **monitor_kwargs: passed to ``TrainingMonitor`` (``dashboard_url``, ``data_dir``, ...).
    """

    def __init__(
        self,
        name: str | None = None,
        project: str | None = None,
        save_dir: str | None = None,
        monitor: TrainingMonitor | None = None,
        **monitor_kwargs: Any,
    ) -> None:
        super().__init__()
        self.run = RunHandle(monitor, name, project, monitor_kwargs)
        self._save_dir = save_dir
        self._registered: set[str] = set()
        self._last: dict[str, float] = {}

    # ---- the names Lightning asks for ----
    @property
    def name(self) -> str:
        return self.run.run_name or "trainboard"

    @property
    def version(self) -> str:
        """The run's id once it started (rank zero), else an empty string."""
        return self.experiment.run_id if _main() else ""

    @property
    def save_dir(self) -> str | None:
        return self._save_dir

    @property
    def experiment(self) -> TrainingMonitor:
        """The run's ``TrainingMonitor`` (made on first use)."""
        return self.run.get()

    # ---- logging ----
    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        if env_rank() != 0:
            return
        values = vars(params) if isinstance(params, Namespace) else dict(params)
        self.run.get(plain_config(values))

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        if env_rank() != 0:
            return
        values = numeric(metrics)
        if values:
            self._last.update(values)
            self.run.get().log_metrics(values, step=step)

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        if env_rank() != 0:
            return
        monitor = self.run.get()
        scores = {str(p): s for p, s in getattr(checkpoint_callback, "best_k_models", {}).items()}
        paths = [*scores, checkpoint_callback.last_model_path, checkpoint_callback.best_model_path]
        step = int(getattr(checkpoint_callback, "_last_global_step_saved", 0) or 0)
        key = checkpoint_callback.monitor
        for path in paths:
            if not path or path in self._registered or not os.path.exists(path):
                continue
            self._registered.add(path)
            metrics = dict(self._last)
            score = scores.get(path)
            if key and score is not None:
                metrics[key] = float(score)
            metadata = {"framework": "lightning", "best": path == checkpoint_callback.best_model_path}
            monitor.save_checkpoint(path, metrics=metrics, metadata=metadata, step=step)

    def save(self) -> None:
        """Nothing to do: Lightning calls this after every ``log_metrics``, and the SDK's journal already has
        every point on disk within its documented latency (forcing a flush here cost milliseconds a step)."""

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if env_rank() == 0 and self.run.started:
            self.run.end_of_training(STATUSES.get(status, "completed"))
