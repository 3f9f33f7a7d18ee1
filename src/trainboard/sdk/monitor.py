"""``TrainingMonitor``: the SDK's public class.

``log_metrics`` only validates and appends to an in-memory queue; a background thread spools to disk
and uploads (see ``pipeline``). Nothing here raises into the training loop for bad values or an
unreachable server: problems are reported once on stderr and training goes on.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from trainboard import paths
from trainboard.sdk import credentials, exits, notices, ranks
from trainboard.sdk.checkpoints import (
    CheckpointWorker,
    default_checkpoint_dir,
    load_torch,
    resume_record,
    torch_available,
    validate,
)
from trainboard.sdk.encoding import jsonable, safe_str
from trainboard.sdk.logging_handler import TrainboardHandler
from trainboard.sdk.pipeline import Pipeline
from trainboard.sdk.rank_errors import where_of
from trainboard.sdk.rank_member import RankMember, first_failure_reason
from trainboard.sdk.rich import RichValue
from trainboard.sdk.rich_sender import RichSender
from trainboard.sdk.sdk_keys import KeyNote
from trainboard.sdk.spool import Journal
from trainboard.sdk.transport import Transport
from trainboard.wire import ID_RE, MAX_STEP, check_key, check_step

#: Environment variables set by ``trainboard run`` for the child process.
ENV_RUN_ID = "TRAINBOARD_RUN_ID"
ENV_CAPTURED = "TRAINBOARD_CAPTURED"
ENV_SYSTEM_SAMPLED = "TRAINBOARD_SYSTEM_SAMPLED"

STATUSES: tuple[str, ...] = ("running", "completed", "failed", "interrupted")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def new_run_id() -> str:
    """A fresh run id: sortable by creation time, unique enough across machines."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class TrainingMonitor:
    """Records one training run: metrics, terminal output, status (and checkpoints).

    Args:
        run_name: display name (default: the script's name).
        config: hyper-parameters etc., stored with the run (must be JSON-serialisable).
        dashboard_url: server URL (http(s):// or ws(s)://); default ``$TRAINBOARD_URL`` or
            ``http://127.0.0.1:8000``.
        project: groups runs (default ``"default"``).
        run_id: attach to this run id (default ``$TRAINBOARD_RUN_ID`` set by ``trainboard run``, else new).
        capture_output: capture this process's stdout/stderr at the file-descriptor level (the output
            still reaches the terminal unchanged). Off when running under ``trainboard run``, which
            captures through its pseudo-terminal instead.
        system_metrics: sample CPU/RAM/disk/network/GPU every ``system_interval`` seconds as ``sys/*`` keys.
        data_dir: where the journal is spooled (default ``$TRAINBOARD_DATA`` or ``~/.trainboard``).
        flush_timeout: how long ``finish()`` waits for the upload without any progress (seconds): while
            requests keep being acknowledged it goes on, up to ``pipeline.FINISH_MAX_WAIT_S`` (300 s) in all,
            saying once on stderr what it waits for; whatever is left then stays spooled for
            ``trainboard sync`` (or the next SDK start), and it says so.

    However the process ends — the ``with`` block, ``finish()``, a normal return without either, an
    uncaught exception in any thread, ``sys.exit(n)``, SIGTERM, Ctrl-C — the run ends with the matching
    status, the exit code and the exception as the reason of its status change, and with every metric
    and every byte of output (the traceback included) logged before; see ``trainboard.sdk.exits``.
        heartbeat_interval: seconds between heartbeats; the server marks a run whose heartbeats stop
            (process killed, machine lost) ``interrupted`` after its ``--heartbeat-timeout``.
        best_metric, best_mode: track the best checkpoint automatically by this metric of
            ``save_checkpoint(metrics=...)``, ``"min"`` or ``"max"`` (one best per run).
        token: API token for a server with authentication on (sent as ``Authorization: Bearer``, never
            printed); default ``$TRAINBOARD_TOKEN``, else what ``trainboard login URL`` stored for the URL.
            When the server refuses it (401/403) this warns once and keeps the data spooled for
            ``trainboard sync --token``.
    """

    def __init__(
        self,
        run_name: str | None = None,
        config: dict[str, Any] | None = None,
        dashboard_url: str | None = None,
        *,
        project: str | None = None,
        run_id: str | None = None,
        capture_output: bool = True,
        system_metrics: bool = True,
        system_interval: float = 5.0,
        data_dir: str | os.PathLike[str] | None = None,
        flush_timeout: float = 10.0,
        heartbeat_interval: float = 10.0,
        best_metric: str | None = None,
        best_mode: str = "min",
        token: str | None = None,
    ) -> None:
        self.rank_info = ranks.detect()  # a rank of a distributed job (torchrun, srun, MPI ...) or None
        attach_id = run_id or os.environ.get(ENV_RUN_ID) or ranks.shared_run_id(self.rank_info) or None
        self._owned_by_runner = (
            run_id is None and bool(os.environ.get(ENV_RUN_ID)) and bool(os.environ.get(ENV_CAPTURED))
        )
        self.run_id: str = attach_id or new_run_id()
        if not ID_RE.match(self.run_id):
            raise ValueError(f"run_id must be 1-64 characters of A-Z a-z 0-9 _ -, got {self.run_id!r}")
        self.run_name = safe_str(run_name or Path(sys.argv[0] or "run").stem or "run")
        self.project = safe_str(project or "default")
        self.config = jsonable(dict(config or {}))
        self.url = paths.server_url(dashboard_url)
        self.flush_timeout = flush_timeout
        self.is_resumed = False
        if best_mode not in ("min", "max"):
            raise ValueError(f"best_mode must be 'min' or 'max', got {best_mode!r}")
        self.best_metric = best_metric
        self.best_mode = best_mode
        self._checkpoints = CheckpointWorker()
        self._rich: RichSender | None = None  # started with the first rich value
        self._next_step = 0
        self._status: str | None = None
        self._notes = ""
        self._finished = False
        self._warned_keys: set[str] = set()
        self._key_note = KeyNote.from_env()  # under `trainboard run`: parsed output never overrides these keys
        self._checkpoint_dir: str | None = None
        self._log_handlers: list[tuple[logging.Logger, logging.Handler]] = []
        self._stream = secrets.token_hex(8)
        spool_root = paths.spool_dir(paths.data_dir(data_dir))
        self._journal = Journal.create(spool_root, self.run_id, self._stream, server=self.url)
        self._token = credentials.resolve_token(self.url, token)  # for the background uploader, never printed
        self._pipeline = Pipeline(
            run_id=self.run_id,
            stream=self._stream,
            journal=self._journal,
            transport=Transport(self.url, token=self._token),
            heartbeat_interval=heartbeat_interval,
            rank=None if self.rank_info is None else self.rank_info.rank,
        )
        self._pipeline.op(
            "POST",
            "/api/runs",
            {
                "id": self.run_id,
                "name": self.run_name,
                "project": self.project,
                "config": self.config,
                "start_time": datetime.now(UTC).isoformat(),
            },
        )
        self._rank: RankMember | None = None
        self._ending_exc: BaseException | None = None  # what ended the `with` block (a rank's record says where)
        if self.rank_info is not None:
            self._rank = RankMember(self.rank_info, self.run_id, self._pipeline.op)
            self._rank.register()
        self._capture: Any = None
        if capture_output and not os.environ.get(ENV_CAPTURED):
            self._start_capture()
        self._sampler: Any = None
        if system_metrics and not os.environ.get(ENV_SYSTEM_SAMPLED):
            self.start_system_sampler(system_interval)
        self._thread_failures = exits.thread_failures()
        exits.register(self)

    # ---- metrics ----
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        """Record ``metrics`` (key -> number) at ``step`` (default: previous step + 1).

        Values may be ints, floats (NaN and +/-Inf included) or anything with ``__float__`` (numpy
        scalars, 0-d tensors), or ``trainboard.Histogram``/``Image``/``Text``/``Table`` values (encoded and sent off
        the training loop, see ``sdk/rich.py``). A repeated step replaces that step's earlier values on the server.
        Invalid keys, values or steps are reported once on stderr and skipped; this never raises.
        """
        if step is None:
            step = self._next_step
        elif type(step) is not int or step < 0 or step > MAX_STEP:
            self._bad_step(step)
            return
        self._next_step = step + 1
        values = dict(metrics)
        for k, v in values.items():
            if (type(v) is not float and type(v) is not int) or type(k) is not str:
                values = self._clean(values, step)
                break
        if values:
            if self._key_note is not None:
                self._key_note.add(values)
            self._pipeline.metrics(step, time.time(), values)

    def _bad_step(self, step: object) -> None:
        why = check_step(step) if not isinstance(step, bool) else "step must be an integer, got bool"
        if "step" not in self._warned_keys:
            self._warned_keys.add("step")
            print(f"trainboard: log_metrics ignored a call: {why}", file=sys.stderr, flush=True)

    def _clean(self, values: dict[Any, Any], step: int) -> dict[str, float]:
        out: dict[str, float] = {}
        rich: dict[str, RichValue] = {}
        for k, v in values.items():
            why = check_key(k)
            if why is None and isinstance(v, RichValue):
                rich[k] = v
                continue
            if why is None:
                try:
                    if type(v) is float or type(v) is int:
                        out[k] = v
                        continue
                    if isinstance(v, str | bytes) or not hasattr(v, "__float__"):
                        raise TypeError(f"expected a number, got {type(v).__name__}")
                    out[k] = float(v)
                    continue
                except (TypeError, ValueError) as exc:
                    why = f"value of {k!r} skipped: {exc}"
            name = str(k)[:64]
            if name not in self._warned_keys:
                self._warned_keys.add(name)
                print(f"trainboard: log_metrics: {why}", file=sys.stderr, flush=True)
        if rich:
            self._log_rich(step, rich)
        return out

    def _log_rich(self, step: int, values: dict[str, RichValue]) -> None:
        """Hand ``Histogram``/``Image``/``Text``/``Table`` values to the rich-value thread (``sdk/rich_sender``)."""
        if self._rich is None:
            self._rich = RichSender(self.run_id, self._pipeline.op)
        self._rich.submit(step, time.time(), values)

    @property
    def next_step(self) -> int:
        """The step ``log_metrics`` uses when none is given: one past the last logged step (after
        ``resume_or_create``, one past the resumed run's last step)."""
        return self._next_step

    def update_config(self, values: dict[str, Any]) -> None:
        """Merge ``values`` into the run's config (keys given here replace the same keys stored before);
        integrations call this when the hyper-parameters are known only after the run started."""
        extra = jsonable(dict(values))
        self.config.update(extra)
        self._pipeline.op(
            "POST", "/api/runs", {"id": self.run_id, "name": self.run_name, "project": self.project, "config": extra}
        )

    def add_tags(self, *tags: str) -> None:
        """Tag the run (``monitor.add_tags("baseline", "seed-sweep")``); a tag it has already is kept once.
        Sent in the background like every other call: a tag the server refuses (over 64 characters, a comma,
        quote or parenthesis in it) is reported once as a warning, never raised into training."""
        self._pipeline.op("POST", f"/api/runs/{self.run_id}/tags", {"add": [safe_str(t) for t in tags]})

    def remove_tags(self, *tags: str) -> None:
        """Remove tags from the run (one it does not have is ignored)."""
        self._pipeline.op("POST", f"/api/runs/{self.run_id}/tags", {"remove": [safe_str(t) for t in tags]})

    @property
    def notes(self) -> str:
        """The run's notes (Markdown) as last set here; setting them replaces the notes on the server."""
        return self._notes

    @notes.setter
    def notes(self, text: str) -> None:
        self._notes = safe_str(text)
        self._pipeline.op("PUT", f"/api/runs/{self.run_id}", {"notes": self._notes})

    def alert(self, title: str, text: str = "", level: str = "warning") -> None:
        """Raise an alert now (``monitor.alert("loss spiked", f"loss={loss:.3f}")``): the server sends it through
        the channels of the alert rules that apply to this run (its project's) and lists it under /alerts;
        the run's log gets it as a line too. ``level`` is info, warning or error (anything else: warning).
        Sent in the background like every other call; never raises into training."""
        lowered = str(level).lower()
        level = {"warn": "warning", "critical": "error"}.get(lowered, lowered)
        if level not in ("info", "warning", "error"):
            level = "warning"
        title, text = safe_str(title)[:512] or "alert", safe_str(text)[:10_000]
        body = {"id": secrets.token_hex(16), "title": title, "text": text, "level": level}  # id: a retry alerts once
        self._pipeline.op("POST", f"/api/runs/{self.run_id}/alerts", body)
        self.log_event(f"ALERT {title}: {text}" if text else f"ALERT {title}", level.upper(), "trainboard.alert")

    def log_event(self, message: str, level: str = "INFO", source: str = "trainboard") -> None:
        """Record ``message`` as a structured line of the run with ``level`` (DEBUG, INFO, WARNING, ERROR,
        CRITICAL) and ``source`` as its logger name, like a record of ``attach_logging``."""
        self._pipeline.log_record(time.time(), level if level in _LEVELS else "INFO", source, message)

    @classmethod
    def resume_or_create(
        cls, run_name: str, checkpoint_dir: str | os.PathLike[str] | None = None, **kwargs: Any
    ) -> TrainingMonitor:
        """Reattach to the newest unfinished run named ``run_name`` (running, interrupted or failed):
        its status goes back to running (recorded as a ``resumed`` event) and ``is_resumed`` is True;
        otherwise (or when the server cannot be reached) start a new run. Other arguments are as for
        ``TrainingMonitor``. ``checkpoint_dir`` is where ``get_last_checkpoint`` looks when the server
        knows no checkpoint."""
        from urllib.parse import quote

        url = paths.server_url(kwargs.get("dashboard_url"))
        transport = Transport(url, timeout=10.0, token=credentials.resolve_token(url, kwargs.get("token")))
        try:
            found = transport.get_json(f"/api/runs?name={quote(run_name)}&status=running,interrupted,failed&limit=1")
        finally:
            transport.close()
        runs = found.get("runs") if isinstance(found, dict) else None
        previous = runs[0] if runs else None
        if previous is None:
            monitor = cls(run_name, **kwargs)
        else:
            kwargs.pop("run_id", None)
            monitor = cls(run_name, run_id=previous["id"], **kwargs)
            monitor.is_resumed = True
            last = previous.get("last_step")
            monitor._next_step = 0 if last is None else int(last) + 1
            monitor._pipeline.op(
                "PUT", f"/api/runs/{monitor.run_id}", {"status": "running", "reason": "resumed by resume_or_create"}
            )
        checkpoint_dir = default_checkpoint_dir() if checkpoint_dir is None else checkpoint_dir
        monitor._checkpoint_dir = None if checkpoint_dir is None else os.fspath(checkpoint_dir)
        return monitor

    # ---- checkpoints ----
    def save_checkpoint(
        self,
        filepath: str | os.PathLike[str],
        metrics: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        step: int | None = None,
    ) -> str:
        """Register a checkpoint file you have saved; returns its id at once.

        The file is validated on a background thread (exists, readable, and loads with
        ``torch.load(..., weights_only=True)`` when the program has imported PyTorch: the SDK never imports
        it); an invalid file, or one whose validation failed in any way, is recorded with ``valid=false``
        and the reason. ``step`` defaults to the last logged step.
        """
        ckpt_id = secrets.token_hex(8)
        path = os.path.abspath(os.fspath(filepath))
        body: dict[str, Any] = {
            "id": ckpt_id,
            "path": safe_str(path),
            "metrics": jsonable(metrics or {}),
            "metadata": jsonable(metadata or {}),
            "step": step if step is not None else max(0, self._next_step - 1),
        }
        if self.best_metric:
            body |= {"best_metric": self.best_metric, "best_mode": self.best_mode}

        def task() -> None:
            valid, reason, size = validate(path)
            self._pipeline.op(
                "POST",
                f"/api/runs/{self.run_id}/checkpoints",
                body | {"valid": valid, "invalid_reason": reason, "size": size},
            )

        self._checkpoints.submit(task)
        return ckpt_id

    def mark_best_checkpoint(self, checkpoint_id: str) -> None:
        """Make ``checkpoint_id`` the run's best checkpoint (the previous best loses its mark)."""
        self._checkpoints.submit(lambda: self._pipeline.op("POST", f"/api/checkpoints/{checkpoint_id}/best", {}))

    def get_last_checkpoint(self) -> Any:
        """The newest valid checkpoint of this run: loaded as a dict with PyTorch present
        (``torch.load(..., map_location="cpu", weights_only=True)``), else its record (path, step,
        metrics, metadata). ``None`` when there is none. Asks the server (waits for pending uploads)."""
        self._checkpoints.wait(self.flush_timeout)
        self.flush()
        records = self._pipeline.transport.get_json(f"/api/runs/{self.run_id}/checkpoints?sort=created_at&order=desc")
        record = None
        if isinstance(records, dict):
            record = next((c for c in records.get("checkpoints", []) if c.get("valid")), None)
        if record is None and self._checkpoint_dir is not None:
            record = _newest_file(self._checkpoint_dir)
        if record is None:  # a relaunch resuming an earlier run ($TRAINBOARD_RESUME_FROM)
            record = resume_record()
        if record is None:
            return None
        if torch_available() and os.path.isfile(record["path"]):
            return load_torch(record["path"])
        return record

    # ---- status and lifecycle ----
    def set_status(self, status: str, exit_code: int | None = None, *, reason: str | None = None) -> None:
        """Set the run's status: ``running``, ``completed``, ``failed`` or ``interrupted``; ``reason`` is
        kept with the status change in the run's events."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        self._status = status
        body: dict[str, Any] = {"status": status}
        if exit_code is not None:
            body["exit_code"] = exit_code
        if reason:
            body["reason"] = safe_str(reason)[: exits.REASON_MAX]
        self._pipeline.op("PUT", f"/api/runs/{self.run_id}", body)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything logged so far is stored by the server; False on timeout."""
        if self._rich is not None:
            self._rich.wait(self.flush_timeout if timeout is None else timeout)
        return self._pipeline.flush(self.flush_timeout if timeout is None else timeout)

    def finish(self, status: str | None = None, timeout: float | None = None) -> bool:
        """Mark the run ``status`` (default: completed unless a status was set), flush and stop.

        Waits for the upload while it makes progress: until ``timeout`` (default ``flush_timeout``) seconds
        pass without any, or ``pipeline.FINISH_MAX_WAIT_S`` in all; what is not uploaded by then stays
        spooled on disk for ``trainboard sync`` (said on stderr). Returns whether all was uploaded.
        """
        return self._end(status, timeout=timeout)

    def _end(
        self,
        status: str | None,
        *,
        exit_code: int | None = None,
        reason: str | None = None,
        output: bytes = b"",
        timeout: float | None = None,
        final: bool = False,
    ) -> bool:
        """Stop capturing (everything printed so far is queued), queue ``output`` (what Python prints
        after the capture stopped: a traceback), set the status, flush (bounded) and stop.
        ``final``: the process is ending, so the status is set even if one was set before."""
        if self._finished:
            return True
        self._finished = True
        exits.unregister(self)
        self._pipeline.stop_heartbeats()
        self._stop_helpers()
        if output and not self._owned_by_runner:  # under `trainboard run` the pseudo-terminal records it
            self._pipeline.log_bytes("stderr", output, time.time())
        self._checkpoints.close(self.flush_timeout)
        if self._rich is not None:
            self._rich.close(self.flush_timeout)
        crashed = exits.thread_failure_since(self._thread_failures)
        if crashed is not None and status in (None, "completed"):
            status, reason = "failed", f"uncaught exception {crashed}"
        if status is not None or self._status is None or final:
            if self._owned_by_runner:
                # under `trainboard run` the runner sets the final status (with the exit code) once the
                # last output is stored; ending the run here would come before that output
                pass
            elif self._rank is not None:
                self._end_rank(status or self._status or "completed", exit_code, reason)
            else:
                self.set_status(status or self._status or "completed", exit_code, reason=reason)
        ok = self._pipeline.close(self.flush_timeout if timeout is None else timeout)
        if not ok:  # on the real stderr only: recorded into the run's terminal it would outlive the upload
            self._hand_over()
        return ok

    def _end_rank(self, status: str, exit_code: int | None, reason: str | None) -> None:
        """A rank's end (the SDK without ``trainboard run``): its rank record gets the exit code and error; only
        global rank 0 sets the run's status — failed, naming the first failing rank, when any rank's record says it
        failed by then (a rank failing after rank 0 ended is on its rank record only)."""
        assert self._rank is not None
        code = exit_code if exit_code is not None else (0 if status == "completed" else 1)
        error = None if status == "completed" else reason
        exc = self._ending_exc or exits.uncaught()
        if error and exc is not None and error == exits.describe(exc) and (where := where_of(exc)):
            error = f"{error} ({where})"  # the wire's "ExcType: message" + where
        self._rank.ended(code, error)
        if not self._rank.info.owns_lifecycle:
            return
        if self._pipeline.flush(self.flush_timeout):
            # another rank may have failed already (its record is on the server; the launcher then stops the others,
            # this one too): the run failed, and that rank first
            wait = 0.0 if status == "completed" else 2.0
            first = first_failure_reason(self._pipeline.transport.get_json, self.run_id, [], wait=wait)
            if first is not None:
                status, reason = "failed", first
        self.set_status(status, exit_code, reason=reason)

    def _hand_over(self) -> None:
        """What is not uploaded goes to a background uploader that outlives this process (``sdk.uploader``),
        said once; with a refused token, or when no uploader can be started, it stays for ``trainboard sync``."""
        left = f"{self._pipeline.unacked_bytes} bytes of run {self.run_id} are not uploaded yet"
        if self._pipeline.denied:
            notices.notice(
                f"{left}; they are spooled in {self._journal.path.parent} — run `trainboard sync --token TOKEN` "
                "with a token that may write runs"
            )
            return
        from trainboard.sdk import uploader

        handed = uploader.spawn(self._journal.path, self.url, self._token)
        if handed is None:
            notices.notice(
                f"{left}; they are spooled in {self._journal.path.parent} — run `trainboard sync` when the server "
                "is reachable (the next SDK start does it too)"
            )
            return
        notices.notice(
            f"{left}; a background uploader goes on with them after this process ends (log: {handed.log}; "
            f"`trainboard sync` does the same by hand)"
        )

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.finish()
            return
        # Python prints the traceback only after this returns, when the capture has stopped: record
        # now what its default excepthook will print (it is then shown on the terminal only, once).
        status, exit_code, reason = exits.classify(exc)
        exits.mark_recorded(exc)
        self._ending_exc = exc
        self._end(status, exit_code=exit_code, reason=reason, output=exits.render_uncaught(exc))

    def _end_process(self, status: str, *, exit_code: int | None, reason: str | None) -> None:
        """Called by ``exits`` when the process ends (exception, signal, exit) with this run live."""
        self._end(status, exit_code=exit_code, reason=reason, final=True)

    def log_output(self, data: bytes, source: str = "stdout") -> None:
        """Record raw terminal bytes (``source`` ``"stdout"`` or ``"stderr"``) as if the script printed them.

        ``capture_output=True`` does this for everything the process writes; use it to forward a
        subprocess's output captured some other way.
        """
        if source not in ("stdout", "stderr"):
            raise ValueError(f"source must be 'stdout' or 'stderr', got {source!r}")
        if data:
            self._pipeline.log_bytes(source, bytes(data), time.time())

    def log_terminal_size(self, columns: int, rows: int) -> None:
        """Record that the terminal is ``columns`` x ``rows`` from the next ``log_output`` byte on, so the
        dashboard replays the output at that width (the in-process capture and ``trainboard run`` do this)."""
        if 0 < columns <= 65535 and 0 < rows <= 65535:
            self._pipeline.terminal_size(columns, rows)

    def attach_logging(self, logger: logging.Logger | str | None = None, level: int = logging.INFO) -> logging.Handler:
        """Send ``logger``'s records (default: the root logger) to the run as structured lines with their
        real level and logger name (source ``sdk``). Returns the handler; it is removed at ``finish()``."""
        target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
        handler = TrainboardHandler(self._pipeline.log_record, level)
        target.addHandler(handler)
        if target.level == logging.NOTSET or target.level > level:
            target.setLevel(level)
        self._log_handlers.append((target, handler))
        return handler

    # ---- helpers started with the monitor ----
    def _on_output(self, source: str, data: bytes) -> None:
        self._pipeline.log_bytes(source, data, time.time())

    def _start_capture(self) -> None:
        try:
            from trainboard.sdk.capture import OutputCapture
        except ImportError:  # pragma: no cover - capture module missing in a partial install
            return
        try:
            self._capture = OutputCapture(self._on_output, on_size=self.log_terminal_size)
            self._capture.start()
        except OSError as exc:
            print(f"trainboard: output capture is off: {exc}", file=sys.stderr, flush=True)
            self._capture = None

    def _on_system_sample(self, sample: dict[str, float]) -> None:
        # System series are stepped by wall-clock milliseconds, independent of the training step.
        self._pipeline.metrics(int(time.time() * 1000), time.time(), sample)

    def start_system_sampler(self, interval: float, pid: int | None = None) -> bool:
        """Sample the system (CPU, RAM, disk, network, GPUs) every ``interval`` seconds as ``sys/*`` series until
        ``finish()``; ``sys/proc_rss`` is process ``pid``'s memory (default: this process's).

        ``system_metrics=True`` starts it with the monitor; ``trainboard run`` starts it for the command it runs.
        A sampler already running is replaced. Returns False when ``pid`` is no longer there.
        """
        import psutil

        from trainboard.sdk.system import SystemSampler

        try:
            process = psutil.Process(pid) if pid is not None else None
        except psutil.Error:
            return False
        if self._sampler is not None:
            self._sampler.stop()
        self._sampler = SystemSampler(interval=interval, on_sample=self._on_system_sample, process=process)
        self._sampler.start()
        return True

    def _stop_helpers(self) -> None:
        for target, handler in self._log_handlers:
            target.removeHandler(handler)
        self._log_handlers.clear()
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None
        if self._capture is not None:
            self._capture.stop()
            self._capture = None

    def __repr__(self) -> str:
        return f"TrainingMonitor(run_id={self.run_id!r}, run_name={self.run_name!r}, url={self.url!r})"


def _newest_file(directory: str) -> dict[str, Any] | None:
    """A record for the newest file in a checkpoint directory (used when the server has none)."""
    try:
        files = [e for e in os.scandir(directory) if e.is_file()]
    except OSError:
        return None
    if not files:
        return None
    newest = max(files, key=lambda e: e.stat().st_mtime)
    return {"path": os.path.abspath(newest.path), "step": None, "metrics": {}, "metadata": {}, "valid": True}
