"""What every framework integration shares: rank-zero detection and the run it logs to.

An integration logs only on global rank zero (``RANK``, else ``SLURM_PROCID``, else ``LOCAL_RANK``;
frameworks' own checks are used on top where they have one). It logs to, in this order: the monitor it
was given, the current run of ``trainboard.init()``, or a new ``TrainingMonitor`` — which attaches to
the run of ``trainboard run`` when ``TRAINBOARD_RUN_ID`` is set. A monitor it created is finished by the
integration at the end of training and, failing that, at interpreter exit by the SDK's exit hooks, so
the last metrics are never lost.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainboard.sdk.monitor import TrainingMonitor

RANK_VARIABLES = ("RANK", "SLURM_PROCID", "LOCAL_RANK")


def env_rank() -> int:
    """This process's global rank as the launcher's environment tells it (0 when none is set)."""
    for name in RANK_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return int(value)
            except ValueError:
                continue
    return 0


class RunHandle:
    """The run an integration logs to, created on first use; ``owned`` when the integration made it."""

    def __init__(
        self,
        monitor: TrainingMonitor | None,
        run_name: str | None,
        project: str | None,
        monitor_kwargs: Mapping[str, Any],
    ) -> None:
        self._monitor = monitor
        self.owned = False
        self.run_name = run_name
        self.project = project
        self.monitor_kwargs = dict(monitor_kwargs)

    @property
    def started(self) -> bool:
        return self._monitor is not None

    def get(self, config: Mapping[str, Any] | None = None) -> TrainingMonitor:
        """The monitor, made now if needed (with ``config``); a given or current one gets ``config`` merged."""
        if self._monitor is None:
            import trainboard

            current = trainboard.current_monitor()
            if current is not None:
                self._monitor = current
            else:
                from trainboard.sdk.monitor import TrainingMonitor

                kwargs = dict(self.monitor_kwargs)
                if self.project is not None:
                    kwargs.setdefault("project", self.project)
                self._monitor = TrainingMonitor(self.run_name, dict(config or {}), **kwargs)
                self.owned = True
                return self._monitor
        if config:
            self._monitor.update_config(dict(config))
        return self._monitor

    def end_of_training(self, status: str = "completed") -> None:
        """Training ended: wait until everything logged is stored and show the run ``status``.

        A run this integration made stays open until the interpreter exits (the SDK's exit hooks then
        finish it with the process's real outcome), so metrics logged after training — a final
        ``trainer.evaluate()``, ``trainer.test()`` — still land. Under ``trainboard run`` the runner sets
        the status when the command exits."""
        if self._monitor is None:
            return
        from trainboard.sdk.monitor import ENV_CAPTURED, ENV_RUN_ID

        under_runner = bool(os.environ.get(ENV_RUN_ID)) and bool(os.environ.get(ENV_CAPTURED))
        if self.owned and not under_runner:
            self._monitor.set_status(status)
        self._monitor.flush()

    def finish(self) -> None:
        """Finish the run if this integration made it, else only flush it (its owner finishes it)."""
        if self._monitor is None:
            return
        if self.owned:
            self._monitor.finish()
        else:
            self._monitor.flush()


def numeric(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The entries of ``metrics`` that are numbers (0-d tensors and numpy scalars included), keyed
    ``prefix + key``; strings, lists and the like are left out silently (frameworks mix them in)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool | str | bytes):
            continue
        if isinstance(value, int | float):
            out[prefix + str(key)] = value
            continue
        item = getattr(value, "item", None)
        try:
            number = float(item() if callable(item) and getattr(value, "ndim", 0) == 0 else value)
        except (TypeError, ValueError, RuntimeError):
            continue
        out[prefix + str(key)] = number
    return out


def plain_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` made JSON-friendly: numbers, strings, booleans and None kept, nested mappings and
    sequences converted, anything else as its ``str``."""
    return {str(k): _plain(v) for k, v in values.items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return plain_config(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    enum_value = getattr(value, "value", None)
    if isinstance(enum_value, str | int) and type(value).__module__ != "builtins":
        return enum_value
    return str(value)
