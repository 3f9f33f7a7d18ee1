"""Subscribers: code that is told about every change the server has made durable.

The write path (``server.ingest``) commits a change, publishes it to live viewers, then hands it — a
frozen dataclass from ``ingest.changes`` — to every subscriber registered when the app started. This is
the seam for alert rules, per-rank views, exporters and plugins.

Registering:

- ``create_app(settings, subscribers=[...])`` (tests, embedding applications);
- the entry point group ``trainboard.subscribers``: each entry point is a callable taking no argument and
  returning a ``Subscriber`` or a list of them (installed plugins the operator enabled: ``serve --plugin``);
- ``TRAINBOARD_SUBSCRIBERS=module:function[,module:function...]`` in the server's environment: the same
  kind of callable, named explicitly (a plugin seam that needs no installed package; the subscriber tests
  use it to plug a recorder into a real ``trainboard serve`` process).

A subscriber is any object with a ``name`` and a ``__call__(change)`` that returns ``None`` or an
awaitable (``subscriber(name, fn)`` makes one from a function). It is called on the event loop: a
subscriber with blocking work to do hands it to a thread (``asyncio.to_thread``).

The guarantee:

- **Each committed change is handed to each subscriber once**, after its commit, never for a write that
  rolled back, never twice for a retried request the store recognised as a duplicate.
- **In commit order per run** (in fact in commit order across all runs of a process): changes are queued
  from the writer thread right after each commit, before the writing request is answered, so a client
  that waits for its answer before sending again sees its changes delivered in the order it sent them.
- **With ``serve --workers N``** each change is delivered by the process that committed it, to that
  process's subscribers: every change is seen once in the cluster, not once per process, and no Redis
  round trip sits between a commit and its subscribers. A subscriber that needs one view of the whole
  cluster (counting across processes) keeps its state in the database or in Redis, not in memory.
- **A subscriber cannot block ingest or the other subscribers.** Each has its own bounded queue
  (``max_queue`` changes) drained by its own task. A subscriber that raises is logged with its name and
  the change's kind and run (``trainboard_subscriber_errors_total{subscriber}``), and gets the next
  change; the others are not affected. When a subscriber falls ``max_queue`` changes behind, further
  changes are dropped **for that subscriber only**: a warning names it, the count goes to
  ``trainboard_subscriber_dropped_total{subscriber}``, and once it has room again it is handed a
  ``SubscriberLagged(dropped=N)`` so it knows what it missed.
- **Within the life of the process.** Queues are in memory: a change committed moments before the process
  is killed may never reach its subscribers (at shutdown the queues are drained for up to
  ``drain_seconds``, and what is left is logged and counted as dropped). A subscriber that must not miss
  anything after a crash reconciles from the database when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import os
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from trainboard.server.ingest.changes import (
    Change,
    CheckpointBest,
    CheckpointRegistered,
    LaunchStateChange,
    Line,
    LineBatch,
    MetricBatch,
    MetricStep,
    RawChunk,
    RunAnnotated,
    RunCreated,
    RunDeleted,
    StatusChange,
    SubscriberLagged,
    TerminalOutput,
)
from trainboard.server.observability.metrics import SUBSCRIBER_DROPPED, SUBSCRIBER_ERRORS

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "Change",
    "CheckpointBest",
    "CheckpointRegistered",
    "LaunchStateChange",
    "Line",
    "LineBatch",
    "MetricBatch",
    "MetricStep",
    "RawChunk",
    "RunAnnotated",
    "RunCreated",
    "RunDeleted",
    "StatusChange",
    "Subscriber",
    "SubscriberLagged",
    "Subscribers",
    "TerminalOutput",
    "load_configured",
    "subscriber",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "trainboard.subscribers"
ENV_VAR = "TRAINBOARD_SUBSCRIBERS"
#: Changes one subscriber may have waiting by default.
DEFAULT_MAX_QUEUE = 10_000


@runtime_checkable
class Subscriber(Protocol):
    """Told about every committed change. ``__call__`` may be a plain or an ``async`` function."""

    name: str

    def __call__(self, change: Change) -> Awaitable[None] | None: ...


@dataclass
class _FunctionSubscriber:
    name: str
    fn: Callable[[Change], Awaitable[None] | None]

    def __call__(self, change: Change) -> Awaitable[None] | None:
        return self.fn(change)


def subscriber(name: str, fn: Callable[[Change], Awaitable[None] | None]) -> Subscriber:
    """A subscriber named ``name`` that calls ``fn(change)`` (plain or ``async``)."""
    return _FunctionSubscriber(name, fn)


@dataclass
class _Mailbox:
    """One subscriber's bounded queue and the task draining it."""

    sub: Subscriber
    max_queue: int
    queue: deque[Change] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0  # since the subscriber was last told (SubscriberLagged)
    first_dropped: Change | None = None
    task: asyncio.Task[None] | None = None
    #: Set while nothing is queued and the subscriber is not running (what ``close`` waits for).
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, change: Change) -> None:
        if len(self.queue) >= self.max_queue:
            if self.dropped == 0:
                self.first_dropped = change
                log.warning(
                    "subscriber %r is %d changes behind: changes are dropped for it until it catches up",
                    self.sub.name,
                    len(self.queue),
                )
            self.dropped += 1
            SUBSCRIBER_DROPPED.labels(self.sub.name).inc()
            return
        if self.dropped:
            self._tell_lagged()
        self.queue.append(change)
        self.idle.clear()
        self.wake.set()

    def _tell_lagged(self) -> None:
        first = self.first_dropped
        assert first is not None
        log.warning("subscriber %r caught up after %d dropped changes", self.sub.name, self.dropped)
        self.queue.append(
            SubscriberLagged(
                run_id=first.run_id, project=first.project, committed_at=first.committed_at, dropped=self.dropped
            )
        )
        self.dropped = 0
        self.first_dropped = None

    async def drain(self) -> None:
        while True:
            if not self.queue:
                self.idle.set()
                self.wake.clear()
                await self.wake.wait()
                continue
            change = self.queue.popleft()
            try:
                result = self.sub(change)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                SUBSCRIBER_ERRORS.labels(self.sub.name).inc()
                log.exception(
                    "subscriber %r failed on %s of run %s (the other subscribers still got it)",
                    self.sub.name,
                    type(change).__name__,
                    change.run_id,
                )


class Subscribers:
    """The subscribers of one app: ``deliver`` queues a committed change for each of them.

    ``deliver`` must run on the event loop's thread; ``deliver_threadsafe`` is for the writer thread (it
    keeps commit order: ``call_soon_threadsafe`` callbacks run in the order they were scheduled).
    """

    def __init__(self, subscribers: Iterable[Subscriber] = (), *, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        self._max_queue = max_queue
        self._pending: list[tuple[Subscriber, int]] = [(s, max_queue) for s in subscribers]
        self._boxes: list[_Mailbox] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether anyone subscribed (the write path builds changes only then)."""
        return bool(self._pending or self._boxes)

    @property
    def names(self) -> list[str]:
        return [b.sub.name for b in self._boxes] + [s.name for s, _n in self._pending]

    def add(self, sub: Subscriber, *, max_queue: int | None = None) -> None:
        """Register ``sub`` (before or after ``start``)."""
        if not isinstance(getattr(sub, "name", None), str) or not callable(sub):
            raise TypeError(f"a subscriber needs a `name` and must be callable: {sub!r}")
        with self._lock:
            if self._loop is None:
                self._pending.append((sub, max_queue or self._max_queue))
                return
        self._open(sub, max_queue or self._max_queue)

    def start(self) -> None:
        """Start one delivery task per subscriber (call on the event loop, at app start)."""
        self._loop = asyncio.get_running_loop()
        with self._lock:
            pending, self._pending = self._pending, []
        for sub, max_queue in pending:
            self._open(sub, max_queue)
        if self._boxes:
            log.info("subscribers: %s", ", ".join(b.sub.name for b in self._boxes))

    def _open(self, sub: Subscriber, max_queue: int) -> None:
        box = _Mailbox(sub, max_queue)
        box.task = asyncio.get_running_loop().create_task(box.drain(), name=f"subscriber:{sub.name}")
        self._boxes.append(box)

    def deliver(self, changes: Sequence[Change]) -> None:
        """Queue ``changes`` (committed, in commit order) for every subscriber; never waits."""
        for box in self._boxes:
            for change in changes:
                box.offer(change)

    def deliver_threadsafe(self, changes: Sequence[Change]) -> None:
        """``deliver`` from another thread (the writer's, right after the commit)."""
        if changes and self._loop is not None and self._boxes:
            with contextlib.suppress(RuntimeError):  # the loop already closed: the app is gone
                self._loop.call_soon_threadsafe(self.deliver, changes)

    async def close(self, drain_seconds: float = 5.0) -> None:
        """Let the subscribers finish what is queued (up to ``drain_seconds``), then stop their tasks."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(b.idle.wait() for b in self._boxes)), drain_seconds)
        for box in self._boxes:
            left = len(box.queue)
            if left:
                log.warning("subscriber %r: %d changes not delivered at shutdown", box.sub.name, left)
                SUBSCRIBER_DROPPED.labels(box.sub.name).inc(left)
            if box.task is not None:
                box.task.cancel()
        await asyncio.gather(*(b.task for b in self._boxes if b.task is not None), return_exceptions=True)
        self._boxes.clear()
        self._loop = None


def _made(factory: Callable[[], object], origin: str) -> list[Subscriber]:
    made = factory()
    subs = list(made) if isinstance(made, (list, tuple)) else [made]
    for sub in subs:
        if not isinstance(sub, Subscriber):
            raise TypeError(f"{origin} returned {sub!r}, which is not a subscriber (needs `name` and `__call__`)")
    return subs  # type: ignore[return-value]  # checked just above


def load_configured(environ: dict[str, str] | None = None, *, plugins: Collection[str] = ()) -> list[Subscriber]:
    """The subscribers of the enabled plugins (entry points; ``plugins`` is ``Settings.plugins``: an installed
    plugin not named there is never imported) and those ``TRAINBOARD_SUBSCRIBERS`` names.

    A plugin that fails to load is logged with its name and skipped (the server still starts); a name in
    ``TRAINBOARD_SUBSCRIBERS`` that fails raises: it was asked for explicitly.
    """
    from trainboard.plugins import load_group

    subs: list[Subscriber] = []
    group = load_group(ENTRY_POINT_GROUP, enabled=plugins)
    for name, error in group.errors.items():
        log.error("subscriber plugin %r could not be loaded; it gets no changes: %s", name, error)
    for name, factory in group.loaded.items():
        try:
            subs += _made(factory, f"entry point {name!r}")  # type: ignore[arg-type]  # _made checks the result
        except Exception:
            log.exception("subscriber plugin %r could not be made; it gets no changes", name)
    spec = (os.environ if environ is None else environ).get(ENV_VAR, "")
    for item in filter(None, (s.strip() for s in spec.split(","))):
        module, _, attr = item.partition(":")
        if not attr:
            raise ValueError(f"{ENV_VAR}: {item!r} must be module:function")
        subs += _made(getattr(importlib.import_module(module), attr), f"{ENV_VAR} {item!r}")
    return subs
