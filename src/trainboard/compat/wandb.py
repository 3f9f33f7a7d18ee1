"""A drop-in for the wandb API scripts use: ``import trainboard.compat.wandb as wandb``.

A typical wandb script runs unchanged apart from the import::

    run = wandb.init(project="p", name="exp", config={"lr": 1e-3}, tags=["baseline"], notes="first try")
    wandb.config.update({"batch_size": 32})
    for step in range(100):
        wandb.log({"loss": loss}, commit=False)
        wandb.log({"acc": acc})             # both at the same step, then the step advances
    wandb.summary["best_acc"] = 0.9
    wandb.finish()

What maps to what:

- ``init``: a ``TrainingMonitor`` (attached to ``trainboard run``'s run when inside one) in trainboard project
  ``project`` (else ``$WANDB_PROJECT``, else ``default``); ``tags`` are the run's tags, ``notes`` its notes;
  ``group`` and ``job_type`` become the tags ``group:NAME`` / ``job_type:NAME`` and the config keys
  ``wandb_group`` / ``wandb_job_type`` (the runs table's GROUP BY and filters use either); ``resume``
  (``True``/``"allow"``/``"must"``) reattaches to the newest unfinished run of that name; ``id`` is the run id.
- ``log(data, step=None, commit=None)``: wandb's step rules — values are collected until committed
  (``commit`` defaults to True without ``step``); a larger ``step`` commits what was pending; a ``step`` below
  the current one is dropped with wandb's own warning; nested dicts become ``a/b`` keys. Strings (and booleans)
  become a structured log line of the run (``key = value (step N)``, logger ``wandb.log``). ``wandb.Image``,
  ``wandb.Histogram`` and ``wandb.Table`` are recorded as trainboard's rich values at their step; other media and
  charts are not recorded: counted, and named once at ``finish`` (on stderr and as a WARNING line of the run).
- ``define_metric(name, step_metric=...)``: recorded in the run's config under ``define_metric``. As in wandb,
  the values stay at the step they were logged at (the step metric is an x-axis choice, not a new step), and
  the step metric is stored once, at that same step.
- ``config``: the run's config (attribute and item access, ``update``).
- ``summary``: dict-like; reading a key gives what was set, else the last logged value; what was set
  explicitly is stored in the run's config under ``"summary"`` (at every set and at ``finish``).
- ``alert(title, text, level)``: a structured log line of the run (logger ``wandb.alert``) at that level.
- ``save(glob)``, ``log_artifact(artifact or path)`` and ``log_model(path)``: each file registered as a checkpoint of
  the run (``link_model`` too, saying once that there is no model registry).
- ``finish(exit_code)``: ``completed``, or ``failed`` with that exit code when it is not 0.
- Accepted with one warning by name (trainboard has no such feature yet): ``watch``, ``use_artifact``,
  ``Api``, ``sweep``/``agent`` (the function runs once), ``Audio``,
  ``Video``, ``Html``, ``plot.*``, ``restore``, ``log_code``, ``use_model``. ``Settings``, ``errors``,
  ``termlog``/``termwarn``/``termerror``, ``login``, ``setup``, ``require``, ``teardown`` (finishes the run) and
  ``util.generate_id`` work as in wandb.
"""

from __future__ import annotations

import glob as _glob
import os
import re
import secrets
import string
from collections import Counter
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

from trainboard.compat._wandb_extras import Api, Artifact, Error, Settings, agent, errors, sweep
from trainboard.compat._wandb_media import (
    Audio,
    Histogram,
    Html,
    Image,
    Media,
    Molecule,
    Object3D,
    Plotly,
    Table,
    Video,
    plot,
)
from trainboard.compat._wandb_notes import PREFIX, termerror, termlog, termwarn, warn_once
from trainboard.integrations._common import numeric, plain_config
from trainboard.sdk.monitor import TrainingMonitor

__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",
    "Error",
    "Histogram",
    "Html",
    "Image",
    "Molecule",
    "Object3D",
    "Plotly",
    "Settings",
    "Table",
    "Video",
    "agent",
    "alert",
    "config",
    "define_metric",
    "errors",
    "finish",
    "init",
    "link_model",
    "log",
    "log_artifact",
    "log_code",
    "log_model",
    "login",
    "mark_preempting",
    "plot",
    "require",
    "restore",
    "run",
    "save",
    "setup",
    "summary",
    "sweep",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "use_model",
    "util",
    "watch",
]

__version__ = "0.0.0+trainboard"

#: wandb's text for a step below the current one (the values are dropped, as wandb drops them).
STEP_BEHIND = (
    "Tried to log to step {step} that is less than the current step {current}. Steps must be monotonically "
    "increasing, so this data will be ignored. See https://wandb.me/define-metric to log data out of order."
)
_BAD_TAG_CHARS = re.compile(r"[,()'\"\x00-\x1f\x7f-\x9f]")


def _tag(text: str) -> str:
    """``text`` as a trainboard tag (1-64 characters, no commas, quotes or parentheses)."""
    return _BAD_TAG_CHARS.sub("_", str(text)).strip()[:64].strip() or "_"


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
        self.entity: str | None = None
        self.group: str | None = None
        self.job_type: str | None = None
        self.config = cfg
        self.summary = summ
        self._step = monitor.next_step  # a resumed run continues after its last step
        self._pending: dict[str, float] = {}
        self._pending_text: dict[str, str] = {}
        self._pending_rich: dict[str, Any] = {}  # wandb.Image/Histogram/Table as trainboard rich values
        self._tags: tuple[str, ...] = ()
        self._skipped: dict[str, Counter[str]] = {}  # type name -> keys (counted) of values not recorded
        self._finished = False

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

    @property
    def dir(self) -> str:
        """A folder for the run's files, ``wandb/run-<id>/files`` under the current directory as with wandb."""
        path = Path("wandb") / f"run-{self.id}" / "files"
        path.mkdir(parents=True, exist_ok=True)
        return str(path.resolve())

    @property
    def tags(self) -> tuple[str, ...]:
        return self._tags

    @tags.setter
    def tags(self, tags: Sequence[str]) -> None:
        wanted = tuple(dict.fromkeys(_tag(t) for t in tags))
        gone = [t for t in self._tags if t not in wanted]
        new = [t for t in wanted if t not in self._tags]
        if gone:
            self.monitor.remove_tags(*gone)
        if new:
            self.monitor.add_tags(*new)
        self._tags = wanted

    @property
    def notes(self) -> str:
        return self.monitor.notes

    @notes.setter
    def notes(self, text: str) -> None:
        self.monitor.notes = str(text)

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        if step is not None:
            step = int(step)
            if step < self._step:
                termwarn(STEP_BEHIND.format(step=step, current=self._step))
                return
            if step > self._step:
                self._commit()
                self._step = step
        values, texts = self._sort(_flatten(data))
        self._pending.update(values)
        self._pending_rich.update(self._rich(_flatten(data)))
        self._pending_text.update(texts)
        self.summary._last.update(values)
        if commit if commit is not None else step is None:
            self._commit()
            self._step += 1

    def _sort(self, flat: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
        """Numbers (to record as metrics) and text (strings, booleans: a log line); the rest is counted."""
        values = numeric({k: v for k, v in flat.items() if not isinstance(v, Media)})
        texts: dict[str, str] = {}
        for key, value in flat.items():
            if key in values:
                continue
            if isinstance(value, str | bool):
                texts[key] = str(value)
            elif not hasattr(value, "to_trainboard"):  # recorded by _rich
                kind = value.wandb_name() if isinstance(value, Media) else type(value).__name__
                self._skipped.setdefault(kind, Counter())[key] += 1
        return values, texts

    def _rich(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """The values of a ``log`` call trainboard records as rich values (wandb.Image/Histogram/Table)."""
        out: dict[str, Any] = {}
        for key, value in flat.items():
            convert = getattr(value, "to_trainboard", None)
            if convert is None:
                continue
            try:
                out[key] = convert()
            except (TypeError, ValueError, OSError) as exc:
                skipped = self._skipped.setdefault(value.wandb_name(), Counter())
                if not skipped[key]:  # once per key; the run's end counts them all
                    termwarn(f"{value.wandb_name()} {key!r} not recorded: {exc}")
                skipped[key] += 1
        return out

    def _commit(self) -> None:
        if self._pending or self._pending_rich:
            self.monitor.log_metrics({**self._pending, **self._pending_rich}, step=self._step)
            self._pending = {}
            self._pending_rich = {}
        for key, text in self._pending_text.items():
            self.monitor.log_event(f"{key} = {text} (step {self._step})", "INFO", "wandb.log")
        self._pending_text = {}

    def define_metric(self, name: str, step_metric: str | None = None, **kwargs: Any) -> None:
        self.monitor.update_config({"define_metric": {name: plain_config({"step_metric": step_metric, **kwargs})}})

    def alert(self, title: str, text: str, level: str | None = None, wait_duration: Any = None) -> None:
        self.monitor.alert(title, text, str(level or AlertLevel.INFO))  # wandb's INFO/WARNING/ERROR

    def save(self, glob_str: str | os.PathLike[str], base_path: str | None = None, policy: str = "live") -> list[str]:
        paths = sorted(p for p in _glob.glob(os.fspath(glob_str)) if os.path.isfile(p))
        for path in paths:
            self.monitor.save_checkpoint(path, metadata={"source": "wandb.save", "policy": policy})
        return paths

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        **kwargs: Any,
    ) -> Artifact:
        """Each file of the artifact (or the path: a file or a folder) registered as a checkpoint of the run,
        with the artifact's name, type, aliases and metadata in the checkpoint's metadata."""
        if isinstance(artifact_or_path, Artifact):
            artifact = artifact_or_path
        else:
            path = Path(artifact_or_path)
            artifact = Artifact(name or path.name, type or "unspecified")
            (artifact.add_dir if path.is_dir() else artifact.add_file)(path)
        meta: dict[str, Any] = {"source": "wandb.log_artifact", "artifact": artifact.name, "type": artifact.type}
        meta |= {"aliases": list(aliases or []), "metadata": plain_config(artifact.metadata)}
        for file in artifact.files:
            self.monitor.save_checkpoint(file, metadata=meta)
        if artifact.references:
            warn_once("wandb.Artifact.add_reference", "references are not recorded here (only files)")
        return artifact

    def log_model(
        self, path: str | os.PathLike[str], name: str | None = None, aliases: list[str] | None = None
    ) -> None:
        """As wandb: an artifact of type ``model`` (its files registered as checkpoints of the run)."""
        self.log_artifact(path, name or f"run-{self.id}-model", "model", aliases)

    def link_model(
        self,
        path: str | os.PathLike[str],
        registered_model_name: str,
        name: str | None = None,
        aliases: list[str] | None = None,
    ) -> None:
        """The files kept as checkpoints (as ``log_model``); the link to a registry is said once not to exist."""
        warn_once("wandb.link_model", "keeps the files as checkpoints of the run (no model registry here)")
        self.log_artifact(path, name or registered_model_name, "model", aliases)

    def use_model(self, name: str) -> None:
        warn_once("wandb.use_model", "does nothing here (no artifact store): returns None")

    def use_artifact(self, artifact_or_name: Any, type: str | None = None, **kwargs: Any) -> Artifact:
        warn_once("wandb.use_artifact", "does nothing here (no artifact store): returns an empty Artifact")
        if isinstance(artifact_or_name, Artifact):
            return artifact_or_name
        return Artifact(str(artifact_or_name).split(":")[0], type or "unspecified")

    def watch(self, *args: Any, **kwargs: Any) -> None:
        watch(*args, **kwargs)

    def unwatch(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_code(self, *args: Any, **kwargs: Any) -> None:
        log_code(*args, **kwargs)

    def restore(self, *args: Any, **kwargs: Any) -> None:
        restore(*args, **kwargs)

    def mark_preempting(self) -> None:
        pass

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        global run
        if self._finished:
            return
        self._finished = True
        self._commit()
        self.summary._store()
        self._report_skipped()
        if exit_code:
            self.monitor.set_status("failed", int(exit_code), reason=f"wandb.finish(exit_code={exit_code})")
        elif exit_code == 0:
            self.monitor.set_status("completed", 0)
        self.monitor.finish()
        if run is self:
            run = None

    def _report_skipped(self) -> None:
        """Say once, on stderr and in the run, which logged values were not recorded."""
        if not self._skipped:
            return
        parts = []
        for kind, keys in sorted(self._skipped.items()):
            shown = ", ".join(sorted(keys))
            parts.append(f"{sum(keys.values())} {kind} value(s) ({shown})")
        text = "not recorded (trainboard keeps no such values from the wandb shim): " + "; ".join(parts)
        termlog(f"{PREFIX} {text}", prefix=False)
        self.monitor.log_event(text, "WARNING", "wandb")

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
    entity: str | None = None,
    config: Mapping[str, Any] | Any | None = None,
    name: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    group: str | None = None,
    job_type: str | None = None,
    resume: bool | str | None = None,
    id: str | None = None,
    mode: str | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Run:
    """Start a run (see the module docstring); a previous live run is finished first. Other wandb arguments
    (``dir``, ``reinit``, ``save_code``, ...) are accepted and change nothing."""
    global run, summary
    if run is not None:
        run.finish()
    if (mode or os.environ.get("WANDB_MODE")) == "disabled":
        warn_once("wandb.init(mode='disabled')", "still records the run here")
    cfg = globals()["config"]
    object.__setattr__(cfg, "_run", None)
    cfg._data.clear()
    if config is not None:
        cfg.update(config)
    name = name or kwargs.get("display_name") or os.environ.get("WANDB_NAME")
    group = group or os.environ.get("WANDB_RUN_GROUP")
    job_type = job_type or os.environ.get("WANDB_JOB_TYPE")
    extra = {k: v for k, v in (("wandb_group", group), ("wandb_job_type", job_type)) if v}
    monitor_kwargs: dict[str, Any] = {"project": project or os.environ.get("WANDB_PROJECT") or None}
    if id:
        monitor_kwargs["run_id"] = id
    start_config = plain_config(cfg.as_dict()) | extra
    if resume in (True, "allow", "must", "auto") and name and not id:
        monitor = TrainingMonitor.resume_or_create(name, config=start_config, **monitor_kwargs)
    else:
        monitor = TrainingMonitor(name, start_config, **monitor_kwargs)
    summary = Summary()
    run = Run(monitor, monitor.project, cfg, summary)
    run.entity, run.group, run.job_type = entity, group, job_type
    object.__setattr__(cfg, "_run", run)
    summary._run = run
    if tags is None and os.environ.get("WANDB_TAGS"):
        tags = [t for t in os.environ["WANDB_TAGS"].split(",") if t.strip()]
    labels = [*(tags or ()), *([f"group:{group}"] if group else []), *([f"job_type:{job_type}"] if job_type else [])]
    if labels:
        run.tags = labels
    notes = notes if notes is not None else os.environ.get("WANDB_NOTES")
    if notes:
        run.notes = notes
    return run


def _live() -> Run:
    if run is None:
        raise Error("You must call wandb.init() before this call (trainboard.compat.wandb)")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    _live().log(data, step=step, commit=commit)


def define_metric(name: str, step_metric: str | None = None, **kwargs: Any) -> None:
    _live().define_metric(name, step_metric=step_metric, **kwargs)


def alert(title: str, text: str, level: str | None = None, wait_duration: Any = None) -> None:
    _live().alert(title, text, level)


def save(glob_str: str | os.PathLike[str], base_path: str | None = None, policy: str = "live") -> list[str]:
    return _live().save(glob_str, base_path, policy)


def log_artifact(
    artifact_or_path: Artifact | str | os.PathLike[str],
    name: str | None = None,
    type: str | None = None,
    aliases: list[str] | None = None,
    **kwargs: Any,
) -> Artifact:
    return _live().log_artifact(artifact_or_path, name, type, aliases, **kwargs)


def use_artifact(artifact_or_name: Any, type: str | None = None, **kwargs: Any) -> Artifact:
    return _live().use_artifact(artifact_or_name, type, **kwargs)


def log_model(path: str | os.PathLike[str], name: str | None = None, aliases: list[str] | None = None) -> None:
    _live().log_model(path, name, aliases)


def link_model(
    path: str | os.PathLike[str], registered_model_name: str, name: str | None = None, aliases: list[str] | None = None
) -> None:
    _live().link_model(path, registered_model_name, name, aliases)


def use_model(name: str) -> None:
    _live().use_model(name)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    if run is not None:
        run.finish(exit_code)


def login(*args: Any, **kwargs: Any) -> bool:
    return True


def setup(*args: Any, **kwargs: Any) -> None:
    pass


def watch(*args: Any, **kwargs: Any) -> None:
    warn_once("wandb.watch", "does nothing here (no gradient histograms yet)")


def unwatch(*args: Any, **kwargs: Any) -> None:
    pass


def log_code(*args: Any, **kwargs: Any) -> None:
    warn_once("wandb.log_code", "does nothing here (code is not saved with the run)")


def restore(*args: Any, **kwargs: Any) -> None:
    warn_once("wandb.restore", "does nothing here (no file store): returns None")


def mark_preempting() -> None:
    pass


def require(*args: Any, **kwargs: Any) -> None:
    """wandb's opt-in to its own internal features: nothing to turn on here."""


def teardown(exit_code: int | None = None) -> None:
    """wandb ends its background service, finishing a run still open: here, ``finish``."""
    finish(exit_code)


def _generate_id(length: int = 8) -> str:
    """As ``wandb.util.generate_id``: random lowercase letters and digits (a run id to resume with)."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


#: the one ``wandb.util`` helper scripts commonly call
util = SimpleNamespace(generate_id=_generate_id)
