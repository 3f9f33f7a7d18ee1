"""Keras 3: ``TrainboardCallback`` for ``model.fit(callbacks=[...])`` (any backend).

    from trainboard.integrations.keras import TrainboardCallback

    model.fit(x, y, epochs=5, callbacks=[TrainboardCallback(log_every_n_batches=10)])

Epoch-level logs (``loss``, ``val_loss``, ...) are logged at the epoch number (``epoch/`` series are not
mixed with batch ones: batch-level logs go to ``batch/<name>`` at the global batch index, every
``log_every_n_batches`` batches; 0 turns them off). The model's config and summary (text) are the run's
config. At the end of ``fit`` the run is marked completed and flushed; it stays open for a later
``model.evaluate(..., callbacks=[the same callback])`` (logged as ``test/<name>`` at the last epoch) and is
finished at interpreter exit. Only global rank zero logs.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from typing import TYPE_CHECKING, Any

import keras

from trainboard.integrations._common import RunHandle, env_rank, numeric, plain_config

if TYPE_CHECKING:
    from trainboard.sdk.monitor import TrainingMonitor


class TrainboardCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Logs Keras ``fit`` to trainboard.

    Args:
        run_name: default: the script's name.
        project: the run's project.
        log_every_n_batches: log batch-level values every this many batches (0: never).
        monitor: log to this ``TrainingMonitor`` instead of making one (it is not finished here).
        **monitor_kwargs: passed to ``TrainingMonitor`` (``dashboard_url``, ``data_dir``, ...).
    """

    def __init__(
        self,
        run_name: str | None = None,
        project: str | None = None,
        log_every_n_batches: int = 100,
        monitor: TrainingMonitor | None = None,
        **monitor_kwargs: Any,
    ) -> None:
        super().__init__()
        if log_every_n_batches < 0:
            raise ValueError(f"log_every_n_batches must be >= 0, got {log_every_n_batches}")
        self.run = RunHandle(monitor, run_name, project, monitor_kwargs)
        self.log_every_n_batches = log_every_n_batches
        self._batches = 0
        self._epoch = 0
        self._in_fit = False

    @property
    def monitor(self) -> TrainingMonitor | None:
        """The run's monitor once training started."""
        return self.run.get() if self.run.started else None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._in_fit = True
        if env_rank() != 0:
            return
        config: dict[str, Any] = {"params": plain_config(dict(self.params or {}))}
        model = self.model
        if model is not None:
            try:
                config["model"] = plain_config(model.get_config())
            except (NotImplementedError, TypeError, ValueError):  # subclassed models without get_config
                config["model"] = {"class": type(model).__name__}
            config["model_summary"] = _summary(model)
            optimizer = getattr(model, "optimizer", None)
            if optimizer is not None:
                config["optimizer"] = plain_config(optimizer.get_config())
        self.run.get(config)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches += 1
        n = self.log_every_n_batches
        if n and self._batches % n == 0 and logs and env_rank() == 0:
            self.run.get().log_metrics(numeric(logs, "batch/"), step=self._batches)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch
        if logs and env_rank() == 0:
            self.run.get().log_metrics(numeric(logs), step=epoch)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        # model.evaluate() after fit (fit's own validation also ends here: skipped, it is in val_*)
        if logs and not self._in_fit and env_rank() == 0 and self.run.started:
            self.run.get().log_metrics(numeric(logs, "test/"), step=self._epoch)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._in_fit = False
        if env_rank() == 0:
            self.run.end_of_training("completed")


def _summary(model: Any) -> str:
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            model.summary(print_fn=lambda line, *a, **k: print(line))
    except (ValueError, TypeError) as exc:  # a model not built yet
        return f"(no summary: {exc})"
    return out.getvalue()
