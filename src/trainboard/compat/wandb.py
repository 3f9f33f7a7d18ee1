"""A drop-in for the common part of the ``wandb`` API: ``import trainboard.compat.wandb as wandb``.

A typical wandb script runs unchanged apart from the import::

    run = wandb.init(project="p", name="exp", config={"lr": 1e-3})
    wandb.config.update({"batch_size": 32})
    for step in range(100):
        wandb.log({"loss": loss}, commit=False)
        wandb.log({"acc": acc})             # both at the same step, then the step advances
    wandb.summary["best_acc"] = 0.9
    wandb.finish()

What maps to what:

- ``init(project, name, config, resume, id)``: a ``TrainingMonitor`` (attached to ``trainboard run``'s run
  when inside one); ``resume`` (``True``/``"allow"``/``"must"``) reattaches to the newest unfinished run of
  that name; ``id`` is the run id.
- ``log(data, step=None, commit=None)``: wandb's step rules — values are collected until committed
  (``commit`` defaults to True without ``step``); an explicit larger ``step`` commits what was pending;
  nested dicts become ``a/b`` keys. ``define_metric(name, step_metric=...)`` logs matching keys at that
  metric's value instead (``name`` may end in ``*``).
- ``config``: the run's config (attribute and item access, ``update``).
- ``summary``: dict-like; reading a key gives what was set, else the last logged value; what was set
  explicitly is stored in the run's config under ``"summary"`` (at every set and at ``finish``).
- ``alert(title, text, level)``: a structured log line of the run (logger ``wandb.alert``) at that level.
- ``save(glob)``: each matching file is registered as a checkpoint of the run.
- ``Image``, ``Table``, ``Histogram``, ``Audio``, ``Video``, ``Html``, ``Artifact``: accepted but not recorded;
  one warning on stderr names the type.
- ``login``, ``watch``, ``unwatch``: accepted, do nothing.
"""

from __future__ import annotations

import fnmatch
import glob as _glob
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from types import TracebackType
from typing import Any

from trainboard.integrations._common import numeric, plain_config
from trainboard.sdk.monitor import TrainingMonitor

__all__ = [
    "Artifact",
    "Audio",
    "Histogram",
    "Html",
    "Image",
    "Table",
    "Video",
    "alert",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "login",
    "run",
    "save",
    "summary",
    "unwatch",
    "watch",
]

_warned: set[str] = set()


def _warn_once(what: str) -> None:
    if what not in _warned:
        _warned.add(what)
        print(f"trainboard.compat.wandb: {what} is not supported by trainboard; it is not recorded", file=sys.stderr)


class _Unsupported:
    """Base of the media/table types: accepted, never recorded (one warning per type)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _warn_once(f"wandb.{type(self).__name__}")


class Image(_Unsupported):
    pass


class Table(_Unsupported):
    def add_data(self, *args: Any) -> None:
        pass


class Histogram(_Unsupported):
    pass


class Audio(_Unsupported):
    pass


class Video(_Unsupported):
    pass


class Html(_Unsupported):
    pass


class Artifact(_Unsupported):
    def add_file(self, *args: Any, **kwargs: Any) -> None:
        pass

    def add_dir(self, *args: Any, **kwargs: Any) -> None:
        pass


class AlertLevel:
    INFO = "INFO"
    WARN = "WARNING"
    ERROR = "ERROR"


class Config(MutableMapping[str, Any]):
    """``wandb.config``: a dict with attribute access; changes go to the run's config."""

    def __init__(self) -> None:
        object.__setattr__(self, "_data", {})
        object.__setattr__(self, "_run", None)

    def _push(self, values: Mapping[str, Any]) -> None:
        run_ = self._run
        if run_ is not None and values:
            run_.monitor.update_config(plain_config(values))

    def update(self, values: Any = None, allow_val_change: bool = False, **kwargs: Any) -> None:  # type: ignore[override]
        merged = dict(vars(values) if hasattr(values, "__dict__") and not isinstance(values, Mapping) else values or {})
        merged.update(kwargs)
        self._data.update(merged)
        self._push(merged)

    def setdefaults(self, values: Mapping[str, Any]) -> None:
        self.update({k: v for k, v in values.items() if k not in self._data})

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __repr__(self) -> str:
        return repr(self._data)


class Summary(MutableMapping[str, Any]):
    """``wandb.summary``: explicit values (stored in the run's config under ``summary``) over the last
    logged value of each metric."""

    def __init__(self) -> None:
        self._set: dict[str, Any] = {}
        self._last: dict[str, float] = {}
        self._run: Run | None = None

    def _store(self) -> None:
        if self._run is not None and self._set:
            self._run.monitor.update_config({"summary": plain_config(self._set)})

    def update(self, values: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        self._set.update(dict(values or {}), **kwargs)
        self._store()

    def __getitem__(self, key: str) -> Any:
        return self._set[key] if key in self._set else self._last[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._set[key]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._last, **self._set})

    def __len__(self) -> int:
        return len({**self._last, **self._set})

    def __repr__(self) -> str:
        return repr({**self._last, **self._set})


class Run:
    """What ``wandb.init`` returns; ``wandb.run`` while it is live."""

    def __init__(self, monitor: TrainingMonitor, project: str, cfg: Config, summ: Summary) -> None:
        self.monitor = monitor
        self.project = project
        self.config = cfg
        self.summary = summ
        self._step = monitor.next_step  # a resumed run continues after its last step
        self._pending: dict[str, float] = {}
        self._step_metrics: list[tuple[str, str]] = []  # (pattern, step metric)

    @property
    def id(self) -> str:
        return self.monitor.run_id

    @property
    def name(self) -> str:
        return self.monitor.run_name

    @property
    def step(self) -> int:
        return self._step

    @property
    def url(self) -> str:
        return f"{self.monitor.url}/runs/{self.monitor.run_id}"

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        flat = _flatten(data)
        for value in flat.values():
            if isinstance(value, _Unsupported):
                _warn_once(f"wandb.{type(value).__name__}")
        values = numeric({k: v for k, v in flat.items() if not isinstance(v, _Unsupported)})
        values = self._by_step_metric(values)
        if step is not None:
            if step > self._step:
                self._commit()
            self._step = max(self._step, int(step))
        self._pending.update(values)
        self.summary._last.update(values)
        if commit if commit is not None else step is None:
            self._commit()
            self._step += 1

    def _by_step_metric(self, values: dict[str, float]) -> dict[str, float]:
        """Log the keys ``define_metric(..., step_metric=...)`` covers at that metric's value now."""
        for pattern, step_key in self._step_metrics:
            matched = {k: v for k, v in values.items() if k != step_key and fnmatch.fnmatchcase(k, pattern)}
            if matched and step_key in values:
                step_value = values[step_key]
                self.monitor.log_metrics(matched | {step_key: step_value}, step=max(0, int(step_value)))
                values = {k: v for k, v in values.items() if k not in matched}
        return values

    def _commit(self) -> None:
        if self._pending:
            self.monitor.log_metrics(self._pending, step=self._step)
            self._pending = {}

    def define_metric(self, name: str, step_metric: str | None = None, **kwargs: Any) -> None:
        if step_metric:
            self._step_metrics.append((name, step_metric))
        self.monitor.update_config({"define_metric": {name: plain_config({"step_metric": step_metric, **kwargs})}})

    def alert(self, title: str, text: str, level: str | None = None, wait_duration: Any = None) -> None:
        self.monitor.log_event(f"{title}: {text}", str(level or AlertLevel.INFO), "wandb.alert")

    def save(self, glob_str: str | os.PathLike[str], base_path: str | None = None, policy: str = "live") -> list[str]:
        paths = sorted(p for p in _glob.glob(os.fspath(glob_str)) if os.path.isfile(p))
        for path in paths:
            self.monitor.save_checkpoint(path, metadata={"source": "wandb.save", "policy": policy})
        return paths

    def watch(self, *args: Any, **kwargs: Any) -> None:
        pass

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        global run
        self._commit()
        self.summary._store()
        self.monitor.finish("failed" if exit_code else "completed")
        if run is self:
            run = None

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish(exit_code=1 if exc is not None else None)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = value
    return out


run: Run | None = None
config = Config()
summary = Summary()


def init(
    project: str | None = None,
    name: str | None = None,
    config: Mapping[str, Any] | Any | None = None,
    resume: bool | str | None = None,
    id: str | None = None,
    **kwargs: Any,
) -> Run:
    """Start a run (see the module docstring); a previous live run is finished first."""
    global run, summary
    if run is not None:
        run.finish()
    cfg = globals()["config"]
    object.__setattr__(cfg, "_run", None)
    cfg._data.clear()
    if config is not None:
        cfg.update(config)
    name = name or kwargs.get("display_name")
    monitor_kwargs: dict[str, Any] = {"project": project or os.environ.get("WANDB_PROJECT") or None}
    if id:
        monitor_kwargs["run_id"] = id
    if resume in (True, "allow", "must", "auto") and name and not id:
        monitor = TrainingMonitor.resume_or_create(name, config=plain_config(cfg.as_dict()), **monitor_kwargs)
    else:
        monitor = TrainingMonitor(name, plain_config(cfg.as_dict()), **monitor_kwargs)
    summary = Summary()
    run = Run(monitor, monitor.project, cfg, summary)
    object.__setattr__(cfg, "_run", run)
    summary._run = run
    return run


def _live() -> Run:
    if run is None:
        raise RuntimeError("You must call wandb.init() before this call (trainboard.compat.wandb)")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    _live().log(data, step=step, commit=commit)


def define_metric(name: str, step_metric: str | None = None, **kwargs: Any) -> None:
    _live().define_metric(name, step_metric=step_metric, **kwargs)


def alert(title: str, text: str, level: str | None = None, wait_duration: Any = None) -> None:
    _live().alert(title, text, level)


def save(glob_str: str | os.PathLike[str], base_path: str | None = None, policy: str = "live") -> list[str]:
    return _live().save(glob_str, base_path, policy)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    if run is not None:
        run.finish(exit_code)


def login(*args: Any, **kwargs: Any) -> bool:
    return True


def watch(*args: Any, **kwargs: Any) -> None:
    pass


def unwatch(*args: Any, **kwargs: Any) -> None:
    pass
