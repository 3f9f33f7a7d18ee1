"""HF transformers: ``TrainboardCallback`` for ``Trainer(callbacks=[...])``.

    from trainboard.integrations.transformers import TrainboardCallback

    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[TrainboardCallback()])

Records the ``TrainingArguments`` (as ``args.*``) and the model config (as ``model.*``) as the run's
config, every ``on_log`` (loss, learning_rate, grad_norm, eval metrics, the final train summary) at
``state.global_step``, and every checkpoint the Trainer saves (``output_dir/checkpoint-N``) with the
metrics logged at its step. At the end of training the run is marked completed and flushed; it stays open
so that a later ``trainer.evaluate()`` still lands, and is finished at interpreter exit.
Only the global main process (``state.is_world_process_zero``) logs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from trainboard.integrations._common import RunHandle, env_rank, numeric, plain_config

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from trainboard.sdk.monitor import TrainingMonitor

#: Keys of ``on_log`` that are bookkeeping, not metrics.
SKIPPED_KEYS = frozenset({"step", "total_flos"})


class TrainboardCallback(TrainerCallback):
    """Logs an HF ``Trainer`` to trainboard.

    Args:
        run_name: default: ``args.run_name`` when set, else the script's name.
        project: the run's project.
        monitor: log to this ``TrainingMonitor`` instead of making one (it is not finished here).
        **monitor_kwargs: passed to ``TrainingMonitor`` (``dashboard_url``, ``data_dir``, ...).
    """

    def __init__(
        self,
        run_name: str | None = None,
        project: str | None = None,
        monitor: TrainingMonitor | None = None,
        **monitor_kwargs: Any,
    ) -> None:
        self.run = RunHandle(monitor, run_name, project, monitor_kwargs)
        self._last_logs: dict[int, dict[str, float]] = {}

    @property
    def monitor(self) -> TrainingMonitor | None:
        """The run's monitor once training started (None on other ranks)."""
        return self.run.get() if self.run.started else None

    def _main(self, state: TrainerState) -> bool:
        return bool(state.is_world_process_zero) and env_rank() == 0

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not self._main(state):
            return
        self._start(args, kwargs.get("model"))

    def _start(self, args: TrainingArguments, model: Any) -> TrainingMonitor:
        args_dict: Any = args.to_dict  # untyped in transformers
        config: dict[str, Any] = {"args": plain_config(args_dict())}
        model_config = getattr(model, "config", None)
        to_dict: Any = getattr(model_config, "to_dict", None)
        if callable(to_dict):
            config["model"] = plain_config(to_dict())
        if model is not None:
            config["model_class"] = type(model).__name__
        if self.run.run_name is None and args.run_name and args.run_name != args.output_dir:
            self.run.run_name = args.run_name
        return self.run.get(config)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._main(state) or not logs:
            return
        monitor = self.run.get() if self.run.started else self._start(args, kwargs.get("model"))
        values = numeric({k: v for k, v in logs.items() if k not in SKIPPED_KEYS})
        if values:
            self._last_logs.setdefault(state.global_step, {}).update(values)
            monitor.log_metrics(values, step=state.global_step)

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if not self._main(state) or not self.run.started:
            return
        step = state.global_step
        path = os.path.join(args.output_dir or ".", f"checkpoint-{step}")
        metrics = dict(self._last_logs.get(step, {}))
        metadata = {"epoch": state.epoch, "global_step": step, "framework": "transformers"}
        if state.best_model_checkpoint:
            metadata["best_model_checkpoint"] = state.best_model_checkpoint
        self.run.get().save_checkpoint(path, metrics=metrics, metadata=metadata, step=step)
        for old in [s for s in self._last_logs if s < step]:
            del self._last_logs[old]

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self._main(state):
            self._last_logs.clear()
            self.run.end_of_training("completed")
