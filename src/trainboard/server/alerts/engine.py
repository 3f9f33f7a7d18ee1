"""The rule engine: a write-path subscriber that evaluates the rules on every committed change.

Metric batches feed the metric conditions (one evaluator per rule, run and key, in memory); status changes
fire the status rules, with the failure diagnosis as the message (and as a ``diagnosis`` event of the run);
log lines feed the log rules. Episodes are kept in memory and in the database (``transitions``); the
time-based conditions (stall, queued) are the leader's (``watcher``), fed by the progress written here.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import logging
import re
import statistics
import time
from collections import deque
from typing import Any

from sqlalchemy import Connection

from trainboard.server.alerts import conditions, diagnosis, episodes, evaluators
from trainboard.server.alerts.transitions import Episode, Op, announce, apply
from trainboard.server.ingest.changes import Change, LineBatch, MetricBatch, MetricStep, StatusChange
from trainboard.server.state import AppState
from trainboard.server.store import alerts as store
from trainboard.server.store import events as events_store

log = logging.getLogger(__name__)

#: Seconds a loaded rule list is trusted (rules changed by another server process show up this late).
RULES_TTL = 2.0
#: Seconds between two progress writes of one run.
PROGRESS_EVERY = 1.0
#: The built-in log condition (``log`` without a pattern): a line that names a failure.
FAILURE_LINE = re.compile(
    r"Traceback \(most recent call last\)|CUDA out of memory|NCCL (?:error|WARN)|No space left on device|"
    r"CUDA error:|^Killed\s*$|DUE TO TIME LIMIT"
)
LEVEL = {"nan": "error", "divergence": "error", "status": "error", "log": "error"}


@functools.lru_cache(maxsize=65536)
def _key_matches(pattern: str, key: str) -> bool:
    return key == pattern or fnmatch.fnmatchcase(key, pattern)


class _Progress:
    """A run's last step and the intervals between its steps (for the stall watcher)."""

    def __init__(self) -> None:
        self.step = -1
        self.at = 0.0
        self.intervals: deque[float] = deque(maxlen=50)
        self.written = 0.0

    def see(self, step: int, wall: float) -> None:
        if step > self.step:
            if self.step >= 0 and wall > self.at:
                self.intervals.append((wall - self.at) / (step - self.step))
            self.step, self.at = step, max(wall, self.at)


class AlertEngine:
    """The ``alerts`` subscriber (``Subscriber`` protocol: ``name`` and ``__call__(change)``)."""

    name = "alerts"

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._rules: list[dict[str, Any]] = []
        self._loaded = -1.0
        self._episodes: dict[tuple[int, str, str], Episode] = {}
        self._evaluators: dict[tuple[int, str, str], evaluators.Evaluator] = {}
        self._progress: dict[str, _Progress] = {}
        self._started = False

    def invalidate(self) -> None:
        """Reload the rules before the next change (a rule was added, changed or removed)."""
        self._loaded = -1.0

    async def _load(self) -> list[dict[str, Any]]:
        if time.monotonic() - self._loaded > RULES_TTL:

            def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
                with self.state.engines.reader.connect() as conn:
                    return store.enabled_rules(conn), (store.open_alerts(conn) if not self._started else [])

            rules, opened = await asyncio.to_thread(read)
            for rule in rules:
                rule["condition"] = conditions.parse(rule["condition"])
            ids = {r["id"] for r in rules}
            self._evaluators = {k: v for k, v in self._evaluators.items() if k[0] in ids}
            self._rules, self._loaded = rules, time.monotonic()
            for row in opened:
                ep = Episode(int(row["rule_id"]), row["run_id"], row["key"], row["state"], row["started_at"])
                ep.alert_id, ep.notified_at, ep.acked = int(row["id"]), row["notified_at"], row["acked_at"] is not None
                self._episodes[(ep.rule_id, ep.run_id, ep.key)] = ep
            self._started = True
        return self._rules

    def _episode(self, rule_id: int, run_id: str, key: str, at: float) -> Episode:
        ep = self._episodes.get((rule_id, run_id, key))
        if ep is None or ep.state == "closed":
            ep = Episode(rule_id, run_id, key, "closed", at)
            self._episodes[(rule_id, run_id, key)] = ep
        return ep

    def _decide(
        self, rule: dict[str, Any], run_id: str, key: str, active: bool, at: float, **details: Any
    ) -> Op | None:
        """The op for one verdict, if any; updates nothing (``apply`` does)."""
        ep = self._episode(rule["id"], run_id, key, at)
        current = None if ep.state == "closed" else episodes.Open(ep.state, ep.started_at, ep.notified_at)  # type: ignore[arg-type]
        action = episodes.step(
            current, active=active, now=at, for_seconds=rule["for_seconds"], repeat_seconds=rule["repeat_seconds"]
        )
        if action == "none":
            return None
        if action == "pend":
            ep.started_at = at
        kind = rule["condition"]["kind"]
        return Op(action, ep, rule, title=rule["name"], level=LEVEL.get(kind, "warning"), at=at, **details)

    async def __call__(self, change: Change) -> None:
        if isinstance(change, MetricBatch):
            await self._metrics(change)
        elif isinstance(change, StatusChange):
            await self._status(change)
        elif isinstance(change, LineBatch):
            await self._lines(change)

    async def _commit(self, ops: list[Op], extra: Any = None) -> None:
        if not ops and extra is None:
            return

        def job(conn: Connection) -> Any:
            if extra is not None:
                extra(conn)
            return apply(conn, ops)

        applied = await self.state.writer.run(job)
        announce(self.state, applied)

    async def _metrics(self, batch: MetricBatch) -> None:
        rules = store.rules_matching(await self._load(), run_id=batch.run_id, project=batch.project)
        mine = [r for r in rules if r["condition"]["kind"] in conditions.METRIC_KINDS]
        if not mine and not any(r["condition"]["kind"] == "stall" for r in rules):
            return  # no rule watches this run's metrics: the batch's points are never built
        ops: list[Op] = []
        steps = batch.steps  # built on each read: read once
        series: dict[str, list[evaluators.Point]] = {}  # each key's points, built once for every rule
        for step, wall, values in steps:
            for k, v in values.items():
                points = series.get(k)
                if points is None:
                    points = series[k] = []
                points.append((step, wall, v))
        for rule in mine:
            cond = rule["condition"]
            if cond["kind"] == "throughput":
                watched = [("", [(step, wall, 0.0) for step, wall, _values in steps])]
            else:
                watched = [(k, pts) for k, pts in series.items() if _key_matches(cond["key"], k)]
            for key, points in watched:
                ident = (rule["id"], batch.run_id, key)
                ev = self._evaluators.get(ident)
                if ev is None:
                    ev = self._evaluators[ident] = evaluators.make(cond, key)
                for verdict in ev.scan(points):
                    if not verdict.active:  # nothing open, nothing to do
                        ep = self._episodes.get(ident)
                        if ep is None or ep.state == "closed":
                            continue
                    op = self._decide(
                        rule,
                        batch.run_id,
                        key,
                        verdict.active,
                        verdict.wall,
                        message=verdict.message,
                        value=verdict.value,
                        step=verdict.step,
                    )
                    if op is not None:
                        ops.append(op)
                        self._shadow(op)
        progress = self._track(batch.run_id, steps, rules)
        extra = (lambda conn: store.put_progress(conn, rows=progress)) if progress else None
        await self._commit(ops, extra)

    @staticmethod
    def _shadow(op: Op) -> None:
        """Move the in-memory episode as ``apply`` will, so later points of the same batch see it."""
        ep = op.episode
        if op.action == "pend":
            ep.state = "pending"
        elif op.action == "fire":
            ep.state, ep.notified_at = "firing", op.at
        elif op.action in ("resolve", "drop"):
            ep.state = "closed"
            ep.alert_id = None if op.action == "drop" else ep.alert_id
        elif op.action == "repeat":
            ep.notified_at = op.at

    def _track(
        self, run_id: str, steps: tuple[MetricStep, ...], rules: list[dict[str, Any]]
    ) -> list[tuple[str, int, float, float | None]]:
        """Progress rows to write (at most one per ``PROGRESS_EVERY`` per run, only while a stall rule applies to
        the run: ``rules`` are the run's)."""
        if not any(r["condition"]["kind"] == "stall" for r in rules):
            return []
        prog = self._progress.setdefault(run_id, _Progress())
        for step, wall, _values in steps:
            prog.see(step, wall)
        now = time.monotonic()
        if prog.step < 0 or now - prog.written < PROGRESS_EVERY:
            return []
        prog.written = now
        median = statistics.median(prog.intervals) if prog.intervals else None
        return [(run_id, prog.step, prog.at, median)]

    async def _status(self, change: StatusChange) -> None:
        rules = await self._load()
        at = change.committed_at
        ops: list[Op] = []
        found: diagnosis.Diagnosis | None = None
        if change.new_status in ("failed", "interrupted"):
            found = await asyncio.to_thread(self._diagnose, change)
        ended = change.new_status not in ("running", "queued")
        for rule in store.rules_matching(rules, run_id=change.run_id, project=change.project):
            kind = rule["condition"]["kind"]
            if kind == "status":
                active = change.new_status in rule["condition"]["statuses"]
                text = f"run {change.old_status} -> {change.new_status}"
                if change.exit_code is not None:
                    text += f" (exit code {change.exit_code})"
                text += f": {found.summary}" if found else (f": {change.reason}" if change.reason else "")
                op = self._decide(rule, change.run_id, "", active, at, message=text)
                if op is not None:
                    ops.append(op)
                    self._shadow(op)
            elif ended:  # the run ended: its open metric and log episodes end with it
                for (rule_id, run_id, key), ep in list(self._episodes.items()):
                    if rule_id == rule["id"] and run_id == change.run_id and ep.state != "closed":
                        op = self._decide(rule, run_id, key, False, at, message=f"run {change.new_status}")
                        if op is not None:
                            ops.append(op)
                            self._shadow(op)
        if ended:
            self._forget(change.run_id)
        extra = None
        if found is not None:
            data = {
                "summary": found.summary,
                "kind": found.kind,
                "line": found.line,
                "exception": found.exception,
                "location": found.location,
            }
            run_id = change.run_id

            def extra(conn: Connection) -> None:
                events_store.add_event(conn, run_id=run_id, kind="diagnosis", message=found.summary, data=data)

        await self._commit(ops, extra)

    def _forget(self, run_id: str) -> None:
        """The run ended: drop its evaluators and its closed episodes (memory stays bounded by live runs)."""
        self._evaluators = {k: v for k, v in self._evaluators.items() if k[1] != run_id}
        self._episodes = {k: v for k, v in self._episodes.items() if k[1] != run_id or v.state != "closed"}
        self._progress.pop(run_id, None)

    def _diagnose(self, change: StatusChange) -> diagnosis.Diagnosis | None:
        from trainboard.server.store import ranks as ranks_store
        from trainboard.server.store.runs import get_run

        with self.state.engines.reader.connect() as conn:
            first = ranks_store.first_failure(ranks_store.list_ranks(conn, run_id=change.run_id))
            rank = None if first is None else int(first["rank"])
            rows = tail_lines(conn, run_id=change.run_id, limit=diagnosis.TAIL_LINES, rank=rank)
            run = get_run(conn, run_id=change.run_id)
        step = run.get("last_step") if run else None
        found = diagnosis.diagnose(rows, exit_code=change.exit_code, step=step)
        if first is None:
            return found
        return diagnosis.first_failing_rank(first, found)

    async def _lines(self, batch: LineBatch) -> None:
        rules = await self._load()
        ops: list[Op] = []
        for rule in store.rules_matching(rules, run_id=batch.run_id, project=batch.project):
            cond = rule["condition"]
            if cond["kind"] != "log":
                continue
            pattern = re.compile(cond["pattern"]) if cond["pattern"] else FAILURE_LINE
            for line in batch.lines:
                if pattern.search(line.text):
                    message = f"line {line.number + 1}: {line.text.strip()[:300]}"
                    op = self._decide(rule, batch.run_id, "", True, line.time, message=message)
                    if op is not None:
                        ops.append(op)
                        self._shadow(op)
                    break
        await self._commit(ops)


def tail_lines(conn: Connection, *, run_id: str, limit: int, rank: int | None = None) -> list[tuple[int, str]]:
    """The run's last ``limit`` log lines (final ones, then the open tail), oldest first; with ``rank``, that
    rank's final lines only (in a distributed run the other ranks' output tells the consequences: their
    collectives timing out, the launcher's report)."""
    from trainboard.server.store import log_lines
    from trainboard.server.store.sql import placeholder

    ph = placeholder(conn)
    where = f"run_id = {ph}" if rank is None else f"run_id = {ph} AND rank = {ph}"
    params: tuple[object, ...] = (run_id,) if rank is None else (run_id, rank)
    rows = conn.exec_driver_sql(
        f"SELECT line_number, text FROM log_lines WHERE {where} ORDER BY line_number DESC LIMIT {int(limit)}",
        params,
    ).all()
    out = [(int(n), str(t)) for n, t in reversed(rows)]
    if rank is None:
        out += [(int(r[0]), str(r[4])) for r in log_lines.open_rows(conn, run_id=run_id)]
    return out[-limit:]
